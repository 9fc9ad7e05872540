"""Absolute relaxation: an anchor distance in metres (radius_m) and a rent tolerance in yen, with
nonsense refused as a problem document."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import OrgFixture
from tests.matching.factories import at, candidate_vacancies, create_person, home, matches


def anchored(client: TestClient, center: OrgFixture, *limits: int) -> str:
    """A person who must live within each limit of a clinic at Osaka station."""
    return create_person(
        client,
        center,
        places={
            "anchors": [
                {"kind": "hospital", "location": at(), "max_distance_m": limit} for limit in limits
            ]
        },
    )


def counted(body: dict[str, Any], constraint: str) -> dict[str, Any]:
    item: dict[str, Any] = next(i for i in body["excluded_by"] if i["constraint"] == constraint)
    return item


def test_radius_m_raises_the_anchor_distance_to_so_many_metres(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    near = home(client, corporation, municipality, location=at(north_m=1000))[1]
    at_2_5_km = home(client, corporation, municipality, location=at(north_m=2500))[1]
    at_3_5_km = home(client, corporation, municipality, location=at(north_m=-3500))[1]
    person = anchored(client, center, 2000)
    assert candidate_vacancies(matches(client, center, person)) == [near]

    body = matches(client, center, person, relax="anchor_distance", radius_m=3000)
    assert set(candidate_vacancies(body)) == {near, at_2_5_km}
    assert at_3_5_km not in candidate_vacancies(body)
    flags = {c["vacancy"]["id"]: c["admitted_by_relaxation"] for c in body["candidates"]}
    assert flags == {near: False, at_2_5_km: True}
    relaxation = body["relaxation"]
    assert relaxation["radius_m"] == 3000
    assert relaxation["radius_factor"] is None
    assert relaxation["opened_up"] == 1
    assert "3,000m" in relaxation["detail_ja"]
    distance = counted(body, "anchor_distance")
    assert (distance["excluded"], distance["excluded_before_relaxation"]) == (1, 2)


def test_radius_m_never_shortens_an_anchor(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    four_km = home(client, corporation, municipality, location=at(north_m=4000))[1]
    # The 5 km limit stays 5 km under radius_m=3000; the 1 km one becomes 3 km.
    person = anchored(client, center, 1000, 5000)
    body = matches(client, center, person, relax="anchor_distance", radius_m=3000)
    assert candidate_vacancies(body) == []
    assert counted(body, "anchor_distance")["excluded"] == 1
    wider = matches(client, center, person, relax="anchor_distance", radius_m=4500)
    assert candidate_vacancies(wider) == [four_km]


def test_a_radius_that_relaxes_nothing_is_refused(client: TestClient, center: OrgFixture) -> None:
    person = anchored(client, center, 2000, 3000)
    response = client.get(
        f"/v1/persons/{person}/matches",
        params={"relax": "anchor_distance", "radius_m": 2000},
        headers=center.headers,
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "2,000 m" in response.json()["detail"]


def test_rent_tolerance_admits_homes_up_to_so_many_yen_over(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    within = home(client, corporation, municipality, rent_yen=47_000, common_fee_yen=3_000)[1]
    over_2000 = home(client, corporation, municipality, rent_yen=49_000, common_fee_yen=3_000)[1]
    over_2001 = home(client, corporation, municipality, rent_yen=49_001, common_fee_yen=3_000)[1]
    person = create_person(client, center)  # ceiling 50,000
    body = matches(client, center, person, relax="rent_ceiling", rent_tolerance_yen=2000)
    assert set(candidate_vacancies(body)) == {within, over_2000}
    assert over_2001 not in candidate_vacancies(body)
    flags = {c["vacancy"]["id"]: c["admitted_by_relaxation"] for c in body["candidates"]}
    assert flags == {within: False, over_2000: True}
    # Ranked against the ceiling itself: a home over it has no headroom left.
    over = next(c for c in body["candidates"] if c["vacancy"]["id"] == over_2000)
    headroom = next(f for f in over["factors"] if f["factor"] == "rent_headroom")
    assert headroom["value"] == 0
    relaxation = body["relaxation"]
    assert relaxation["rent_tolerance_yen"] == 2000
    assert "52,000円" in relaxation["detail_ja"]
    rent = counted(body, "rent_ceiling")
    assert (rent["excluded"], rent["excluded_before_relaxation"], rent["relaxed"]) == (1, 2, True)
    assert body["considered"] == body["candidate_count"] + body["excluded_count"] == 3


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"relax": "anchor_distance", "radius_factor": 2, "radius_m": 3000}, 400, "not both"),
        ({"radius_m": 3000}, 400, "relax=anchor_distance"),
        ({"relax": "rent_ceiling", "radius_m": 3000}, 400, "relax=anchor_distance"),
        ({"relax": "rent_ceiling", "radius_factor": 2}, 400, "relax=anchor_distance"),
        ({"rent_tolerance_yen": 2000}, 400, "relax=rent_ceiling"),
        ({"relax": "anchor_distance", "rent_tolerance_yen": 2000}, 400, "relax=rent_ceiling"),
        ({"relax": "exclusion_zone", "radius_m": 3000}, 400, "protects"),
        ({"relax": "anchor_distance", "radius_m": -1}, 422, "radius_m"),
        ({"relax": "anchor_distance", "radius_m": 0}, 422, "radius_m"),
        ({"relax": "anchor_distance", "radius_m": "3km"}, 422, "radius_m"),
        ({"relax": "anchor_distance", "radius_factor": 0.5}, 422, "radius_factor"),
        ({"relax": "rent_ceiling", "rent_tolerance_yen": -2000}, 422, "rent_tolerance_yen"),
        ({"relax": "rent_ceiling", "rent_tolerance_yen": 0}, 422, "rent_tolerance_yen"),
        ({"relax": "rent_ceiling", "rent_tolerance_yen": 10**9}, 422, "rent_tolerance_yen"),
    ],
)
def test_nonsense_relaxations_are_refused(
    client: TestClient, center: OrgFixture, params: dict[str, Any], status: int, words: str
) -> None:
    person = anchored(client, center, 2000)
    for path in ("matches", "matches/explain"):
        query = params | (
            {"vacancy_id": "00000000-0000-0000-0000-000000000000"} if "/" in path else {}
        )
        response = client.get(f"/v1/persons/{person}/{path}", params=query, headers=center.headers)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.text
