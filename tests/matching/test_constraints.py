"""Each hard constraint excludes what it should, admits what it should, and is counted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import MatchListing, Vacancy
from tests.conftest import OrgFixture
from tests.matching.factories import (
    at,
    candidate_vacancies,
    create_person,
    days_from_now,
    excluded,
    home,
    matches,
    square,
)
from tests.registry.factories import SAKAI_CITY, shared_house_payload


class Homes:
    def __init__(self, client: TestClient, corporation: OrgFixture, municipality: OrgFixture):
        self.client = client
        self.corporation = corporation
        self.municipality = municipality

    def __call__(self, **overrides: Any) -> str:
        _, vacancy_id = home(self.client, self.corporation, self.municipality, **overrides)
        return vacancy_id


@pytest.fixture
def homes(client: TestClient, corporation: OrgFixture, municipality: OrgFixture) -> Homes:
    return Homes(client, corporation, municipality)


def assert_constraint(
    body: dict[str, Any], constraint: str, *, admitted: list[str], refused: list[str]
) -> None:
    found = candidate_vacancies(body)
    for vacancy_id in admitted:
        assert vacancy_id in found, (constraint, body["excluded_by"])
    for vacancy_id in refused:
        assert vacancy_id not in found, constraint
    assert excluded(body, constraint) == len(refused)
    assert body["considered"] == len(admitted) + len(refused)
    assert body["candidate_count"] == len(admitted)
    others = [item for item in body["excluded_by"] if item["constraint"] != constraint]
    assert all(item["excluded"] == 0 for item in others), body["excluded_by"]


def test_available_by_move_in(client: TestClient, center: OrgFixture, homes: Homes) -> None:
    soon = homes(vacancy={"available_from": days_from_now(10)})
    late = homes(vacancy={"available_from": days_from_now(60)})
    person = create_person(
        client, center, needs={"rent_ceiling_yen": 50_000, "move_in_date": days_from_now(30)}
    )
    assert_constraint(
        matches(client, center, person), "available_by_move_in", admitted=[soon], refused=[late]
    )
    anytime = create_person(client, center)
    assert set(candidate_vacancies(matches(client, center, anytime))) == {soon, late}


def test_every_category_must_be_accepted(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    everyone = homes()
    listing_both = homes(
        accepted_categories=["elderly", "released_from_correctional_facility", "disabled"]
    )
    elderly_only = homes(accepted_categories=["elderly"])
    exclusive_for_elderly = homes(
        registration_class="exclusive", exclusive_target_categories=["elderly"]
    )
    exclusive_for_families = homes(
        registration_class="exclusive", exclusive_target_categories=["child_raising"]
    )
    person = create_person(client, center)
    body = matches(client, center, person)
    assert_constraint(
        body,
        "categories",
        admitted=[everyone, listing_both, exclusive_for_elderly],
        refused=[elderly_only, exclusive_for_families],
    )
    labels = {item["constraint"]: item["label_ja"] for item in body["excluded_by"]}
    assert labels["categories"] == "要配慮者の受入れ区分"


def test_rent_plus_common_fee_within_the_explicit_ceiling(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    within = homes(rent_yen=45_000, common_fee_yen=5_000)  # exactly 50,000
    above = homes(rent_yen=47_000, common_fee_yen=3_001)
    # The vacancy's offer counts, not the registered rent.
    discounted = homes(rent_yen=60_000, common_fee_yen=0, vacancy={"rent_offered_yen": 49_000})
    person = create_person(client, center)
    assert_constraint(
        matches(client, center, person),
        "rent_ceiling",
        admitted=[within, discounted],
        refused=[above],
    )


def test_rent_ceiling_from_the_housing_allowance(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    within = homes(rent_yen=38_000, common_fee_yen=2_000)  # 40,000: Osaka city, one person
    above = homes(rent_yen=39_000, common_fee_yen=2_000)
    person = create_person(client, center, needs={})
    body = matches(client, center, person)
    assert body["rent_ceiling"]["yen"] == 40_000
    assert_constraint(body, "rent_ceiling", admitted=[within], refused=[above])
    family = create_person(client, center, needs={}, household_size=2)
    assert matches(client, center, family)["candidate_count"] == 2  # 48,000 for two


def test_min_area_uses_the_smallest_room_of_a_shared_house(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    roomy = homes(floor_area_m2="25.00")
    small = homes(floor_area_m2="18.00")
    shared = homes(
        **{
            k: v
            for k, v in shared_house_payload(capacity=3).items()
            if k in {"kind", "floor_area_m2", "shared_house", "facilities"}
        }
    )
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "min_area_m2": "20"})
    body = matches(client, center, person)
    assert_constraint(body, "min_area", admitted=[roomy], refused=[small, shared])


def test_accessibility(client: TestClient, center: OrgFixture, homes: Homes) -> None:
    ground = homes(floor=1, floors_total=3, step_free_entrance=True, wheelchair_accessible=True)
    lift = homes(
        floor=3,
        floors_total=5,
        has_elevator=True,
        step_free_entrance=True,
        wheelchair_accessible=True,
    )
    # Without a step-free route the registry refuses the wheelchair claim itself.
    stairs = homes(floor=2, floors_total=3, step_free_entrance=True)
    step = homes(floor=1, floors_total=3, step_free_entrance=False)
    narrow = homes(floor=1, floors_total=3, step_free_entrance=True, wheelchair_accessible=False)
    person = create_person(
        client, center, needs={"rent_ceiling_yen": 50_000, "wheelchair": True, "no_stairs": True}
    )
    assert_constraint(
        matches(client, center, person),
        "accessibility",
        admitted=[ground, lift],
        refused=[stairs, step, narrow],
    )
    low = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "max_floor": 2})
    assert_constraint(
        matches(client, center, low),
        "accessibility",
        admitted=[ground, stairs, step, narrow],
        refused=[lift],
    )


def test_a_step_free_route_is_a_step_free_entrance_and_the_ground_floor_or_a_lift(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    ground = homes(floor=1, floors_total=3, step_free_entrance=True)
    lift = homes(floor=4, floors_total=5, has_elevator=True, step_free_entrance=True)
    upper = homes(floor=2, floors_total=3, step_free_entrance=True)
    basement = homes(floor=-1, floors_total=3, step_free_entrance=True)
    step = homes(floor=1, floors_total=3, step_free_entrance=False, has_elevator=True)
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "no_stairs": True})

    body = matches(client, center, person)

    assert_constraint(
        body, "accessibility", admitted=[ground, lift], refused=[upper, basement, step]
    )
    label = next(i["label_ja"] for i in body["excluded_by"] if i["constraint"] == "accessibility")
    assert label == "バリアフリー（車いす・段差・階数）"


def test_a_wheelchair_needs_the_route_whatever_the_listing_claims(
    client: TestClient, session: Session, center: OrgFixture, homes: Homes
) -> None:
    claimed = homes(floor=1, floors_total=3, step_free_entrance=True, wheelchair_accessible=True)
    route = homes(floor=1, floors_total=3, step_free_entrance=True, wheelchair_accessible=True)
    # A listing whose claim outlived its route (the registry and the database refuse such a
    # dwelling; a listing is matched on the rule, never on the flag alone).
    session.execute(
        update(MatchListing)
        .where(MatchListing.vacancy_id == claimed)
        .values(floor=3, has_elevator=False)
    )
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "wheelchair": True})

    assert_constraint(
        matches(client, center, person), "accessibility", admitted=[route], refused=[claimed]
    )


def test_facilities_in_the_unit(client: TestClient, center: OrgFixture, homes: Homes) -> None:
    own_bath = homes()
    shared_bath = homes(
        facilities={
            "kitchen": "in_unit",
            "toilet": "in_unit",
            "storage": "in_unit",
            "bath": "shared",
            "washbasin": "in_unit",
        }
    )
    person = create_person(
        client, center, needs={"rent_ceiling_yen": 50_000, "required_facilities": ["bath"]}
    )
    assert_constraint(
        matches(client, center, person), "facilities", admitted=[own_bath], refused=[shared_bath]
    )


@pytest.mark.parametrize(
    ("need", "column", "constraint"),
    [("has_pets", "pets_allowed", "pets"), ("smokes", "smoking_allowed", "smoking")],
)
def test_pets_and_smoking(
    client: TestClient, center: OrgFixture, homes: Homes, need: str, column: str, constraint: str
) -> None:
    allowed = homes(**{column: True})
    refused = homes(**{column: False})
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, need: True})
    assert_constraint(
        matches(client, center, person), constraint, admitted=[allowed], refused=[refused]
    )
    indifferent = create_person(client, center)
    assert matches(client, center, indifferent)["candidate_count"] == 2


def test_exclusion_zone_point_and_radius(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    inside = homes(location=at(east_m=1000))  # 500 m from the zone's centre
    edge = homes(location=at(east_m=1500 - 790))  # 790 m: still inside the 800 m radius
    outside = homes(location=at(east_m=-1000))
    person = create_person(
        client,
        center,
        places={
            "exclusion_zones": [
                {"label": "被害者宅周辺", "center": at(east_m=1500), "radius_m": 800}
            ]
        },
    )
    assert_constraint(
        matches(client, center, person),
        "exclusion_zone",
        admitted=[outside],
        refused=[inside, edge],
    )


def test_exclusion_zone_polygon(client: TestClient, center: OrgFixture, homes: Homes) -> None:
    inside = homes(location=at(north_m=-2000, east_m=100))
    just_outside = homes(location=at(north_m=-2000 - 350))  # the square reaches 300 m south
    person = create_person(
        client,
        center,
        places={"exclusion_zones": [{"polygon": square(north_m=-2000, east_m=0, half_side_m=300)}]},
    )
    assert_constraint(
        matches(client, center, person), "exclusion_zone", admitted=[just_outside], refused=[inside]
    )


def test_exclusion_zone_cannot_be_relaxed(client: TestClient, center: OrgFixture) -> None:
    person = create_person(client, center)
    response = client.get(
        f"/v1/persons/{person}/matches", params={"relax": "exclusion_zone"}, headers=center.headers
    )
    assert response.status_code == 400
    assert "protects" in response.json()["detail"]


def anchored(client: TestClient, center: OrgFixture, *, required: bool = True) -> str:
    return create_person(
        client,
        center,
        places={
            "anchors": [
                {
                    "kind": "psychiatric_hospital",
                    "location": at(north_m=500),
                    "max_distance_m": 2000,
                    "required": required,
                }
            ]
        },
    )


def test_required_anchor_distance(client: TestClient, center: OrgFixture, homes: Homes) -> None:
    near = homes(location=at(north_m=1500))  # 1,000 m from the hospital
    edge = homes(location=at(north_m=500 + 1990))  # 1,990 m
    far = homes(location=at(north_m=-2000))  # 2,500 m
    person = anchored(client, center)
    body = matches(client, center, person)
    assert_constraint(body, "anchor_distance", admitted=[near, edge], refused=[far])
    distances = {c["vacancy"]["id"]: c["anchors"][0] for c in body["candidates"]}
    assert distances[near]["distance_m"] == pytest.approx(1000, abs=5)
    assert distances[edge]["within"] is True
    optional = anchored(client, center, required=False)
    assert matches(client, center, optional)["candidate_count"] == 3


def test_relaxing_the_anchor_radius_shows_what_it_opens_up(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    near = homes(location=at(north_m=1500))
    far = homes(location=at(north_m=-2000))  # 2,500 m: inside 1.5 × 2,000 m
    farther = homes(location=at(north_m=-3000), municipality_code=SAKAI_CITY)  # 3,500 m, Sakai
    person = anchored(client, center)
    strict = matches(client, center, person)
    assert candidate_vacancies(strict) == [near]
    relaxed = matches(client, center, person, relax="anchor_distance", radius_factor=1.5)
    assert set(candidate_vacancies(relaxed)) == {near, far}
    assert relaxed["relaxation"]["opened_up"] == 1
    assert relaxed["relaxation"]["label_ja"] == "通院先等からの距離"
    flags = {c["vacancy"]["id"]: c["admitted_by_relaxation"] for c in relaxed["candidates"]}
    assert flags == {near: False, far: True}
    # Dropping the constraint instead: anything in the search area (Sakai is not in it).
    dropped = matches(client, center, person, relax="anchor_distance")
    assert set(candidate_vacancies(dropped)) == {near, far}
    assert farther not in candidate_vacancies(dropped)
    wider = matches(client, center, person, relax="anchor_distance", radius_factor=2)
    assert set(candidate_vacancies(wider)) == {near, far, farther}


def test_radius_factor_needs_relax_anchor_distance(client: TestClient, center: OrgFixture) -> None:
    person = create_person(client, center)
    response = client.get(
        f"/v1/persons/{person}/matches", params={"radius_factor": 2}, headers=center.headers
    )
    assert response.status_code == 400


def test_relaxing_any_other_constraint(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    cheap = homes(rent_yen=40_000)
    dear = homes(rent_yen=60_000)
    person = create_person(client, center)
    body = matches(client, center, person, relax="rent_ceiling")
    assert set(candidate_vacancies(body)) == {cheap, dear}
    assert body["relaxation"]["opened_up"] == 1
    assert body["relaxation"]["candidates_before_relaxation"] == 1
    # Dropped, the constraint excludes nothing in the query as run; before, it excluded one.
    assert excluded(body, "rent_ceiling") == 0
    rent = next(item for item in body["excluded_by"] if item["constraint"] == "rent_ceiling")
    assert rent["relaxed"] is True
    assert rent["excluded_only_by_this"] == 0
    assert rent["excluded_before_relaxation"] == 1
    assert body["considered"] == body["candidate_count"] + body["excluded_count"] == 2


def test_shared_house_only_for_one_person(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    flat = homes()
    shared = homes(
        **{
            k: v
            for k, v in shared_house_payload(capacity=3).items()
            if k in {"kind", "floor_area_m2", "shared_house", "facilities"}
        }
    )
    couple = create_person(client, center, household_size=2)
    assert_constraint(
        matches(client, center, couple), "shared_house", admitted=[flat], refused=[shared]
    )
    single = create_person(client, center)
    assert set(candidate_vacancies(matches(client, center, single))) == {flat, shared}


def test_only_open_unexpired_vacancies_on_registered_dwellings(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    homes: Homes,
) -> None:
    fresh = homes()
    expired = homes()
    session.execute(
        update(Vacancy).where(Vacancy.id == expired).values(expires_at=Vacancy.created_at)
    )
    session.commit()
    held = homes()
    client.patch(f"/v1/vacancies/{held}", json={"status": "held"}, headers=corporation.headers)
    deregistered_dwelling, _gone = home(client, corporation, municipality)
    client.post(
        f"/v1/dwellings/{deregistered_dwelling}/deregister",
        json={"reason": "取壊し"},
        headers=municipality.headers,
    )
    person = create_person(client, center)
    body = matches(client, center, person)
    assert candidate_vacancies(body) == [fresh]
    assert body["considered"] == 1


def test_search_area_is_home_and_preferred_areas_and_anchor_reach(
    client: TestClient, center: OrgFixture, homes: Homes
) -> None:
    osaka = homes()
    sakai = homes(municipality_code=SAKAI_CITY, location=at(north_m=-15_000))
    sakai_near_hospital = homes(municipality_code=SAKAI_CITY, location=at(north_m=-20_000))
    in_polygon = homes(municipality_code=SAKAI_CITY, location=at(north_m=-30_000))
    plain = create_person(client, center)
    assert candidate_vacancies(matches(client, center, plain)) == [osaka]
    wider = create_person(
        client,
        center,
        places={
            "preferred_areas": {
                "municipality_codes": [SAKAI_CITY],
                "polygons": [square(north_m=-30_000, east_m=0, half_side_m=200)],
            }
        },
    )
    body = matches(client, center, wider)
    assert set(candidate_vacancies(body)) == {osaka, sakai, sakai_near_hospital, in_polygon}
    reach = create_person(
        client,
        center,
        places={
            "anchors": [
                {
                    "kind": "hospital",
                    "location": at(north_m=-20_100),
                    "max_distance_m": 500,
                    "required": False,
                }
            ]
        },
    )
    assert set(candidate_vacancies(matches(client, center, reach))) == {osaka, sakai_near_hospital}
