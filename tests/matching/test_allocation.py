"""Allocation: exact optimum over feasible pairs, never worse than greedy, strictly better when
greedy blocks someone; infeasible pairs never assigned; nothing held."""

from __future__ import annotations

import itertools
import random
import uuid

import pytest
from fastapi.testclient import TestClient

from housing_match.matching.allocation import greedy_assignment, optimal_assignment, total_score
from housing_match.matching.schemas import AllocationObjective
from tests.conftest import OrgFixture
from tests.matching.factories import at, create_person, home, matches

Scores = dict[tuple[int, str], float]


def brute_force(scores: Scores, persons: int) -> float:
    """The best total over every way to give each person one of their homes or none."""
    options = [
        [None, *sorted({v for (p, v) in scores if p == person})] for person in range(persons)
    ]
    best = 0.0
    for choice in itertools.product(*options):
        homes = [v for v in choice if v is not None]
        if len(homes) != len(set(homes)):
            continue
        best = max(best, sum(scores[(p, v)] for p, v in enumerate(choice) if v is not None))
    return best


def random_scores(rng: random.Random, persons: int, vacancies: int, density: float) -> Scores:
    return {
        (person, f"v{vacancy}"): round(rng.uniform(0.1, 10.0), 3)
        for person in range(persons)
        for vacancy in range(vacancies)
        if rng.random() < density
    }


def check_valid(scores: Scores, assignment: dict[int, str]) -> None:
    assert len(set(assignment.values())) == len(assignment)  # a vacancy at most once
    assert all((person, vacancy) in scores for person, vacancy in assignment.items())


def test_never_worse_than_greedy_and_exactly_optimal_on_random_cases() -> None:
    rng = random.Random(20261124)
    strictly_better = 0
    for _ in range(300):
        persons, vacancies = rng.randint(1, 5), rng.randint(1, 6)
        scores = random_scores(rng, persons, vacancies, rng.uniform(0.2, 0.9))
        optimal = optimal_assignment(scores, persons)
        greedy = greedy_assignment(scores)
        check_valid(scores, optimal)
        check_valid(scores, greedy)
        assert total_score(scores, optimal) >= total_score(scores, greedy) - 1e-9
        assert total_score(scores, optimal) == pytest.approx(brute_force(scores, persons))
        strictly_better += total_score(scores, optimal) > total_score(scores, greedy) + 1e-9
    assert strictly_better > 0


def test_larger_random_cases_against_greedy() -> None:
    rng = random.Random(7)
    for _ in range(20):
        scores = random_scores(rng, 40, 60, 0.15)
        optimal = optimal_assignment(scores, 40)
        check_valid(scores, optimal)
        assert total_score(scores, optimal) >= total_score(scores, greedy_assignment(scores))


def test_strictly_better_than_greedy_on_a_constructed_case() -> None:
    # Greedy takes the best pair (A→x) and leaves B, who can only live in x, without a home.
    scores = {(0, "x"): 10.0, (0, "y"): 9.0, (1, "x"): 8.0}
    assert greedy_assignment(scores) == {0: "x"}
    assert optimal_assignment(scores, 2) == {0: "y", 1: "x"}
    assert total_score(scores, optimal_assignment(scores, 2)) == 17.0


def test_most_housed_objective_puts_people_first() -> None:
    scores = {(0, "x"): 10.0, (0, "y"): 1.0, (1, "x"): 5.0}
    assert optimal_assignment(scores, 2, AllocationObjective.TOTAL_SCORE) == {0: "x"}
    assert optimal_assignment(scores, 2, AllocationObjective.MOST_HOUSED) == {0: "y", 1: "x"}


def test_no_feasible_pair_means_no_assignment() -> None:
    assert optimal_assignment({}, 3) == {}
    assert optimal_assignment({(0, "x"): 1.0}, 3) == {0: "x"}


def test_allocation_over_the_api_beats_greedy(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    # x allows pets and sits by A's hospital; y does not allow pets. B has a dog: only x fits B.
    _, x = home(client, corporation, municipality, pets_allowed=True, location=at(north_m=300))
    _, y = home(client, corporation, municipality, location=at(north_m=-1500))
    anchor = {"kind": "psychiatric_hospital", "location": at(north_m=300), "max_distance_m": 3000}
    a = create_person(client, center, places={"anchors": [anchor]})
    b = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "has_pets": True})
    c = create_person(client, center, needs={"rent_ceiling_yen": 10_000})
    scores: Scores = {}
    for index, person in enumerate((a, b, c)):
        for candidate in matches(client, center, person)["candidates"]:
            scores[(index, candidate["vacancy"]["id"])] = candidate["score"]
    assert scores[(0, x)] > scores[(1, x)]  # so greedy gives x to A and B goes without
    greedy_total = total_score(scores, greedy_assignment(scores))

    response = client.post(
        "/v1/allocations", json={"person_ids": [a, b, c]}, headers=center.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assigned = {
        item["person_id"]: item["candidate"]["vacancy"]["id"] for item in result["assignments"]
    }
    assert assigned == {a: y, b: x}
    assert result["assigned_count"] == 2
    assert result["total_score"] == pytest.approx(scores[(0, y)] + scores[(1, x)], abs=1e-3)
    assert result["total_score"] > greedy_total
    assert result["held"] is False
    (unassigned,) = result["unassigned"]
    assert unassigned["person_id"] == c
    assert unassigned["reason"] == "no_feasible_home"
    assert unassigned["top_constraint"] == "rent_ceiling"
    assert "家賃上限" in unassigned["reason_ja"]
    explained = next(item for item in result["assignments"] if item["person_id"] == b)
    assert explained["candidate"]["factors"]
    assert explained["reference"]
    # A proposal only: both vacancies are still open.
    for vacancy in (x, y):
        status = client.get(f"/v1/vacancies/{vacancy}", headers=center.headers).json()["status"]
        assert status == "open"


def test_outcompeted_person_is_told_so(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    home(client, corporation, municipality)
    first = create_person(client, center)
    second = create_person(client, center)
    result = client.post(
        "/v1/allocations", json={"person_ids": [first, second]}, headers=center.headers
    ).json()
    assert result["assigned_count"] == 1
    (unassigned,) = result["unassigned"]
    assert unassigned["reason"] == "homes_taken_by_others"
    assert unassigned["candidate_count"] == 1


def test_allocation_requests_are_checked(client: TestClient, center: OrgFixture) -> None:
    person = create_person(client, center)
    duplicate = client.post(
        "/v1/allocations", json={"person_ids": [person, person]}, headers=center.headers
    )
    assert duplicate.status_code == 422
    unknown = client.post(
        "/v1/allocations", json={"person_ids": [str(uuid.uuid4())]}, headers=center.headers
    )
    assert unknown.status_code == 404
    empty = client.post("/v1/allocations", json={"person_ids": []}, headers=center.headers)
    assert empty.status_code == 422
