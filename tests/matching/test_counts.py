"""The counts of a match add up, relaxed or not: considered = candidates + homes excluded, each
excluded home once; each constraint counts what it excluded in the query as run.

The property test draws random persons (needs, places, plans, a relaxation) against one small
registry and checks the arithmetic through the API, and that the explanation of every home
(``/matches/explain``) agrees with the match on which homes are candidates and why not.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import OrgFixture
from tests.matching.factories import (
    at,
    candidate_vacancies,
    create_person,
    days_from_now,
    home,
    matches,
)
from tests.registry.factories import SAKAI_CITY, dwelling_payload, shared_house_payload

RELAXABLE = [
    "available_by_move_in",
    "categories",
    "rent_ceiling",
    "min_area",
    "accessibility",
    "facilities",
    "pets",
    "smoking",
    "anchor_distance",
    "shared_house",
    "risk_coverage",
]


def by_constraint(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["constraint"]: item for item in body["excluded_by"]}


def assert_adds_up(body: dict[str, Any]) -> None:
    excluded = body["excluded_count"]
    assert body["considered"] == body["candidate_count"] + excluded
    items = body["excluded_by"]
    only = sum(item["excluded_only_by_this"] for item in items)
    assert excluded == only + body["excluded_by_several"]
    for item in items:
        assert item["excluded_only_by_this"] <= item["excluded"] <= excluded
        if not item["relaxed"]:
            assert item["excluded_before_relaxation"] is None
    assert max((item["excluded"] for item in items), default=0) <= excluded
    assert excluded <= sum(item["excluded"] for item in items)
    relaxation = body["relaxation"]
    if relaxation is not None:
        relaxed = by_constraint(body)[relaxation["constraint"]]
        assert relaxed["relaxed"] is True
        assert relaxed["excluded_before_relaxation"] >= relaxed["excluded"]
        assert (
            relaxation["candidates_before_relaxation"] + relaxation["opened_up"]
            == body["candidate_count"]
        )


# --- the issue's own example -----------------------------------------------------------------


@pytest.fixture
def zone_and_clinic(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> tuple[str, dict[str, str]]:
    """Three homes in Osaka: near the clinic, 2.5 km from it, and inside an exclusion zone
    near the clinic; a person who must live within 2 km of it."""
    homes = {
        "near": home(client, corporation, municipality, location=at(north_m=1500))[1],
        "far": home(client, corporation, municipality, location=at(north_m=-2000))[1],
        "zoned": home(client, corporation, municipality, location=at(north_m=800))[1],
    }
    person = create_person(
        client,
        center,
        places={
            "anchors": [{"kind": "hospital", "location": at(north_m=500), "max_distance_m": 2000}],
            "exclusion_zones": [{"center": at(north_m=800), "radius_m": 100}],
        },
    )
    return person, homes


def test_a_dropped_constraint_excludes_nothing_as_run(
    client: TestClient, center: OrgFixture, zone_and_clinic: tuple[str, dict[str, str]]
) -> None:
    person, homes = zone_and_clinic
    strict = matches(client, center, person)
    assert (strict["considered"], strict["candidate_count"], strict["excluded_count"]) == (3, 1, 2)
    assert by_constraint(strict)["anchor_distance"]["excluded"] == 1
    assert_adds_up(strict)

    relaxed = matches(client, center, person, relax="anchor_distance")
    assert set(candidate_vacancies(relaxed)) == {homes["near"], homes["far"]}
    assert (relaxed["considered"], relaxed["candidate_count"], relaxed["excluded_count"]) == (
        3,
        2,
        1,
    )
    counted = by_constraint(relaxed)
    assert counted["exclusion_zone"]["excluded"] == 1
    assert counted["anchor_distance"]["excluded"] == 0
    assert counted["anchor_distance"]["excluded_before_relaxation"] == 1
    assert relaxed["relaxation"]["candidates_before_relaxation"] == 1
    assert relaxed["relaxation"]["opened_up"] == 1
    assert sum(item["excluded"] for item in relaxed["excluded_by"]) == relaxed["excluded_count"]
    assert_adds_up(relaxed)


@pytest.mark.parametrize(
    ("params", "still_excluded"),
    [
        ({"radius_factor": 1.1}, 1),  # 2.2 km: the home 2.5 km away is still too far
        ({"radius_factor": 1.5}, 0),
        ({"radius_m": 2400}, 1),
        ({"radius_m": 2600}, 0),
    ],
)
def test_a_loosened_constraint_counts_what_it_still_excludes(
    client: TestClient,
    center: OrgFixture,
    zone_and_clinic: tuple[str, dict[str, str]],
    params: dict[str, Any],
    still_excluded: int,
) -> None:
    person, _ = zone_and_clinic
    body = matches(client, center, person, relax="anchor_distance", **params)
    counted = by_constraint(body)["anchor_distance"]
    assert counted["excluded"] == still_excluded
    assert counted["excluded_before_relaxation"] == 1
    assert body["candidate_count"] == 2 - still_excluded
    assert_adds_up(body)


# --- the property ----------------------------------------------------------------------------


def _facilities(**changes: str) -> dict[str, str]:
    facilities: dict[str, str] = dwelling_payload()["facilities"]
    return facilities | changes


@pytest.fixture
def registry(client: TestClient, corporation: OrgFixture, municipality: OrgFixture) -> list[str]:
    """Eleven open vacancies differing in every way a hard constraint looks at."""
    shared = {
        key: value
        for key, value in shared_house_payload(capacity=3).items()
        if key in {"kind", "floor_area_m2", "shared_house", "facilities"}
    }
    variants: list[dict[str, Any]] = [
        {"rent_yen": 38_000, "common_fee_yen": 2_000, "wheelchair_accessible": True},
        {
            "rent_yen": 48_000,
            "floor_area_m2": "30.00",
            "floor": 3,
            "floors_total": 4,
            "location": at(north_m=1500),
        },
        {
            "rent_yen": 55_000,
            "floor_area_m2": "20.00",
            "floor": 2,
            "has_elevator": True,
            "step_free_entrance": False,
            "smoking_allowed": True,
            "location": at(east_m=800),
        },
        {"rent_yen": 35_000, "location": at(north_m=-1000), **shared},
        {
            "rent_yen": 45_000,
            "floor_area_m2": "22.00",
            "registration_class": "exclusive",
            "exclusive_target_categories": ["elderly"],
            "location": at(north_m=-2500),
        },
        {
            "rent_yen": 42_000,
            "accepted_categories": ["disabled"],
            "location": at(north_m=3000, east_m=1000),
        },
        {
            "rent_yen": 44_000,
            "required_risks": [{"risk_kind": "watch_over", "whole_tenancy": True}],
            "location": at(east_m=-1500),
            "vacancy": {"available_from": days_from_now(40)},
        },
        {
            "rent_yen": 41_000,
            "municipality_code": SAKAI_CITY,
            "location": at(north_m=-3500),
        },
        {
            "rent_yen": 39_000,
            "floor_area_m2": "18.00",
            "floor": 5,
            "floors_total": 6,
            "has_elevator": True,
            "facilities": _facilities(kitchen="shared"),
            "location": at(north_m=600, east_m=-600),
        },
        {
            "rent_yen": 60_000,
            "floor_area_m2": "40.00",
            "pets_allowed": True,
            "smoking_allowed": True,
            "location": at(east_m=-2200),
            "required_risks": [{"risk_kind": "rent_guarantee", "whole_tenancy": False}],
        },
        {
            "rent_yen": 47_000,
            "pets_allowed": True,
            "location": at(north_m=200, east_m=2600),
        },
    ]
    vacancies = []
    for variant in variants:
        vacancy = variant.pop("vacancy", None)
        vacancies.append(home(client, corporation, municipality, vacancy=vacancy, **variant)[1])
    return vacancies


anchors = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["hospital", "support_office", "workplace"]),
            "location": st.builds(
                lambda north, east: at(north_m=north, east_m=east),
                st.integers(-3000, 3000),
                st.integers(-3000, 3000),
            ),
            "max_distance_m": st.integers(1500, 6000),
            "required": st.booleans(),
        }
    ),
    max_size=1,
)
zones = st.lists(
    st.fixed_dictionaries(
        {
            "center": st.builds(
                lambda north, east: at(north_m=north, east_m=east),
                st.integers(-3000, 3000),
                st.integers(-3000, 3000),
            ),
            "radius_m": st.integers(100, 1000),
        }
    ),
    max_size=1,
)
# Each need mostly absent, so that most persons have candidates and several constraints bite.
rarely = st.sampled_from([False, False, False, True])
needs = st.fixed_dictionaries(
    {
        "rent_ceiling_yen": st.integers(40_000, 65_000),
        "min_area_m2": st.sampled_from([None, None, "20.00", "25.00"]),
        "wheelchair": rarely,
        "no_stairs": rarely,
        "max_floor": st.sampled_from([None, None, None, 1, 2, 4]),
        "required_facilities": st.lists(st.sampled_from(["kitchen", "bath"]), max_size=1),
        "has_pets": rarely,
        "smokes": rarely,
        "move_in_date": st.sampled_from([None, None, days_from_now(10), days_from_now(60)]),
    }
)
plans = st.lists(
    st.sampled_from(
        [
            {"risk_kind": "watch_over", "coverer_kind": "welfare_service", "coverer_name": "訪問"},
            {
                "risk_kind": "watch_over",
                "coverer_kind": "center",
                "coverer_name": "センター",
                "until": days_from_now(180),
            },
            {
                "risk_kind": "rent_guarantee",
                "coverer_kind": "guarantee_company",
                "coverer_name": "保証",
            },
        ]
    ),
    max_size=2,
    unique_by=lambda item: (item["risk_kind"], item["coverer_kind"]),
)


@st.composite
def relaxations(draw: st.DrawFn) -> dict[str, Any]:
    relax = draw(st.sampled_from([None, *RELAXABLE]))
    if relax is None:
        return {}
    params: dict[str, Any] = {"relax": relax}
    if relax == "anchor_distance":
        params |= draw(
            st.sampled_from([{}, {"radius_factor": 1.5}, {"radius_factor": 3}, {"radius_m": 8000}])
        )
    elif relax == "rent_ceiling":
        params |= draw(st.sampled_from([{}, {"rent_tolerance_yen": 3000}]))
    return params


persons = st.fixed_dictionaries(
    {
        "household_size": st.sampled_from([1, 1, 2]),
        "categories": st.sampled_from(
            [
                ["elderly"],
                ["elderly", "released_from_correctional_facility"],
                ["disabled", "released_from_correctional_facility"],
            ]
        ),
        "needs": needs,
        "places": st.fixed_dictionaries({"anchors": anchors, "exclusion_zones": zones}),
        "support_plan": plans,
    }
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(profile=persons, relaxation=relaxations())
def test_counts_add_up_and_agree_with_the_explanation_of_every_home(
    client: TestClient,
    center: OrgFixture,
    registry: list[str],
    profile: dict[str, Any],
    relaxation: dict[str, Any],
) -> None:
    person = create_person(client, center, **profile)
    body = matches(client, center, person, limit=100, **relaxation)
    assert_adds_up(body)
    assert len(body["candidates"]) == body["candidate_count"]

    # Each home judged alone, by the explanation, with the same relaxation.
    considered = 0
    excluded: dict[str, int] = dict.fromkeys(by_constraint(body), 0)
    candidates = set()
    for vacancy_id in registry:
        response = client.get(
            f"/v1/persons/{person}/matches/explain",
            params={"vacancy_id": vacancy_id, **relaxation},
            headers=center.headers,
        )
        assert response.status_code == 200, response.text
        explained = response.json()
        if not explained["in_search_area"]:
            assert explained["candidate"] is False
            continue
        considered += 1
        if explained["candidate"]:
            candidates.add(vacancy_id)
        for failure in explained["failures"]:
            assert failure["shortfalls"], failure
            if not failure["admitted_by_relaxation"]:
                excluded[failure["constraint"]] += 1
    assert considered == body["considered"]
    assert candidates == set(candidate_vacancies(body))
    assert excluded == {name: item["excluded"] for name, item in by_constraint(body).items()}
