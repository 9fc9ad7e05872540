"""Ranking: a transparent weighted sum, overridable weights, deterministic ties, a limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.matching.rules import Factor
from housing_match.models import Vacancy
from housing_match.settings import DEFAULT_MATCH_WEIGHTS
from tests.conftest import OrgFixture
from tests.matching.factories import at, candidate_vacancies, create_person, home, matches


def test_factor_names_are_the_configured_weights() -> None:
    assert {factor.value for factor in Factor} == set(DEFAULT_MATCH_WEIGHTS)


def test_score_is_the_sum_of_contributions_and_orders_candidates(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    for rent in (30_000, 35_000, 40_000, 45_000):
        home(client, corporation, municipality, rent_yen=rent)
    person = create_person(client, center)
    body = matches(client, center, person)
    scores = [candidate["score"] for candidate in body["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert [c["rank"] for c in body["candidates"]] == [1, 2, 3, 4]
    for candidate in body["candidates"]:
        total = sum(factor["contribution"] for factor in candidate["factors"])
        assert total == pytest.approx(candidate["score"], abs=1e-3)
    # Everything else equal, the cheapest leaves the most headroom.
    assert [c["monthly_cost_yen"] for c in body["candidates"]] == [33_000, 38_000, 43_000, 48_000]
    assert body["weights"] == DEFAULT_MATCH_WEIGHTS


def test_ties_are_broken_by_vacancy_id_every_time(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancies = [home(client, corporation, municipality)[1] for _ in range(4)]
    # Same refresh time too, so every factor is equal.
    session.execute(
        update(Vacancy).where(Vacancy.id.in_(vacancies)).values(refreshed_at=datetime.now(UTC))
    )
    session.commit()
    person = create_person(client, center)
    first = matches(client, center, person)
    assert len({c["score"] for c in first["candidates"]}) == 1
    assert candidate_vacancies(first) == sorted(vacancies)
    assert candidate_vacancies(matches(client, center, person)) == candidate_vacancies(first)


def test_weights_can_be_overridden_per_request(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, near_dear = home(
        client, corporation, municipality, location=at(north_m=600), rent_yen=44_000
    )
    _, far_cheap = home(
        client, corporation, municipality, location=at(north_m=1900), rent_yen=30_000
    )
    person = create_person(
        client,
        center,
        places={
            "anchors": [
                {"kind": "support_office", "location": at(north_m=500), "max_distance_m": 2000}
            ]
        },
    )
    assert candidate_vacancies(matches(client, center, person)) == [near_dear, far_cheap]
    cheap_first = matches(client, center, person, weights="anchor_distance:0,rent_headroom:10")
    assert candidate_vacancies(cheap_first) == [far_cheap, near_dear]
    assert cheap_first["weights"]["anchor_distance"] == 0
    assert cheap_first["weights"]["floor_area"] == DEFAULT_MATCH_WEIGHTS["floor_area"]
    factor = next(
        f for f in cheap_first["candidates"][0]["factors"] if f["factor"] == "anchor_distance"
    )
    assert factor["weight"] == 0
    assert factor["contribution"] == 0


@pytest.mark.parametrize(
    "weights", ["nearness:2", "anchor_distance", "rent_headroom:-1", "floor_area:inf"]
)
def test_bad_weights_are_a_bad_request(
    client: TestClient, center: OrgFixture, weights: str
) -> None:
    person = create_person(client, center)
    response = client.get(
        f"/v1/persons/{person}/matches", params={"weights": weights}, headers=center.headers
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_fresher_vacancies_rank_higher(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    _, stale = home(client, corporation, municipality)
    _, fresh = home(client, corporation, municipality)
    session.execute(
        update(Vacancy)
        .where(Vacancy.id == stale)
        .values(refreshed_at=datetime.now(UTC) - timedelta(days=15))
    )
    session.commit()
    person = create_person(client, center)
    body = matches(client, center, person)
    assert candidate_vacancies(body) == [fresh, stale]
    freshness = next(f for f in body["candidates"][1]["factors"] if f["factor"] == "freshness")
    assert freshness["value"] == pytest.approx(0.5, abs=0.01)
    assert freshness["detail_ja"] == "15日前に空室を確認"


def test_class_fit_favours_residential_support_for_high_support_needs(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, plain = home(client, corporation, municipality)
    _, supported = home(
        client,
        corporation,
        municipality,
        residential_support={
            "certifying_municipality_code": "271004",
            "daily_safety_check": True,
            "monthly_visit": True,
        },
    )
    needs = {"rent_ceiling_yen": 50_000, "high_support_needs": True}
    high = create_person(client, center, needs=needs)
    body = matches(client, center, high)
    assert candidate_vacancies(body) == [supported, plain]
    fit = next(f for f in body["candidates"][0]["factors"] if f["factor"] == "class_fit")
    assert fit["value"] == 1.0
    assert fit["detail_ja"].startswith("居住サポート住宅")
    low = create_person(client, center)
    values = {
        c["vacancy"]["id"]: next(f["value"] for f in c["factors"] if f["factor"] == "class_fit")
        for c in matches(client, center, low)["candidates"]
    }
    assert values == {plain: 0.0, supported: 0.0}


def test_limit(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    for _ in range(3):
        home(client, corporation, municipality)
    person = create_person(client, center)
    body = matches(client, center, person, limit=2)
    assert len(body["candidates"]) == 2
    assert body["candidate_count"] == 3
    too_many = client.get(
        f"/v1/persons/{person}/matches", params={"limit": 101}, headers=center.headers
    )
    assert too_many.status_code == 422
