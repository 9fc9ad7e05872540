"""Geographic search on real PostGIS geometry: radius, bbox, distance order, filters, GeoJSON."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import OrgFixture
from tests.registry.factories import OSAKA_STATION, dwelling_payload, offset
from tests.registry.test_vacancies import post, registered_dwelling

LAT, LON = OSAKA_STATION


@pytest.fixture
def placed(client: TestClient, corporation: OrgFixture, municipality: OrgFixture) -> dict[str, str]:
    """Five registered dwellings at known distances north and east of Osaka station."""
    places = {
        "n300": offset(LAT, LON, north_m=300),
        "e800": offset(LAT, LON, east_m=800),
        "n1500": offset(LAT, LON, north_m=1500),
        "e2500": offset(LAT, LON, east_m=2500),
        "n5000": offset(LAT, LON, north_m=5000),
    }
    ids = {}
    for index, (name, location) in enumerate(places.items()):
        extra: dict[str, Any] = {}
        if name == "e800":
            extra = {"wheelchair_accessible": True, "rent_yen": 60000, "floor_area_m2": "30.00"}
        if name == "n1500":
            extra = {
                "accepted_categories": ["elderly"],
                "registration_class": "exclusive",
                "exclusive_target_categories": ["elderly"],
            }
        ids[name] = registered_dwelling(
            client,
            corporation,
            municipality,
            registration_number=f"S-{index}",
            location=location,
            **extra,
        )
    return ids


def search(client: TestClient, caller: OrgFixture, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/dwellings", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_radius_finds_only_nearby_in_distance_order(
    client: TestClient, center: OrgFixture, placed: dict[str, str]
) -> None:
    found = search(client, center, near=f"{LAT},{LON}", radius_m=2000)
    assert [item["id"] for item in found] == [placed["n300"], placed["e800"], placed["n1500"]]
    distances = [item["distance_m"] for item in found]
    assert distances == sorted(distances)
    assert 280 < distances[0] < 320
    assert 780 < distances[1] < 820


def test_bbox(client: TestClient, center: OrgFixture, placed: dict[str, str]) -> None:
    box = f"{LON + 0.001},{LAT - 0.001},{LON + 0.02},{LAT + 0.001}"  # a thin strip east
    found = {item["id"] for item in search(client, center, bbox=box)}
    assert found == {placed["e800"]}


def test_bad_bbox_is_400(client: TestClient, center: OrgFixture) -> None:
    response = client.get("/v1/dwellings", params={"bbox": "1,2,3"}, headers=center.headers)
    assert response.status_code == 400


def test_filters(client: TestClient, center: OrgFixture, placed: dict[str, str]) -> None:
    assert {i["id"] for i in search(client, center, wheelchair_accessible=True)} == {placed["e800"]}
    assert placed["e800"] not in {i["id"] for i in search(client, center, max_rent_yen=50000)}
    assert {i["id"] for i in search(client, center, min_area_m2=28)} == {placed["e800"]}
    assert {i["id"] for i in search(client, center, registration_class="exclusive")} == {
        placed["n1500"]
    }
    disabled = {i["id"] for i in search(client, center, accepted_category="disabled")}
    assert placed["n1500"] not in disabled
    assert placed["n300"] in disabled


def test_open_vacancy_filter(
    client: TestClient, corporation: OrgFixture, center: OrgFixture, placed: dict[str, str]
) -> None:
    post(client, corporation, placed["e2500"])
    assert {i["id"] for i in search(client, center, open_vacancy=True)} == {placed["e2500"]}
    vacancies = client.get(
        "/v1/vacancies", params={"near": f"{LAT},{LON}", "radius_m": 3000}, headers=center.headers
    ).json()["items"]
    assert [v["dwelling_id"] for v in vacancies] == [placed["e2500"]]


def test_cursor_pagination_by_distance(
    client: TestClient, center: OrgFixture, placed: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"near": f"{LAT},{LON}", "radius_m": 10000, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/dwellings", params=params, headers=center.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [placed[n] for n in ("n300", "e800", "n1500", "e2500", "n5000")]


def test_geojson(client: TestClient, center: OrgFixture, placed: dict[str, str]) -> None:
    response = client.get(
        "/v1/dwellings",
        params={"near": f"{LAT},{LON}", "radius_m": 500},
        headers={**center.headers, "Accept": "application/geo+json"},
    )
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    (feature,) = collection["features"]
    assert feature["id"] == placed["n300"]
    longitude, latitude = feature["geometry"]["coordinates"]
    assert abs(latitude - (LAT + 300 / 111_320)) < 1e-6
    assert abs(longitude - LON) < 1e-6


def test_applications_are_not_in_public_search(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    client.post(
        "/v1/dwellings",
        json=dwelling_payload(registration_number="A-1"),
        headers=corporation.headers,
    )
    assert search(client, center) == []
    assert (
        client.get(
            "/v1/dwellings", params={"status": "applied"}, headers=center.headers
        ).status_code
        == 403
    )
    assert len(search(client, municipality, status="applied")) == 1


def _all_pages(
    client: TestClient, caller: OrgFixture, path: str, **params: Any
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(
            path, params=params | ({"cursor": cursor} if cursor else {}), headers=caller.headers
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_pages_of_a_prefecture_follow_the_municipality_index_order(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, placed: dict[str, str]
) -> None:
    # By municipality, then id: every dwelling once, each page continuing the last.
    dwellings = _all_pages(client, center, "/v1/dwellings", prefecture="27", limit=2)
    keys = [(item["municipality_code"], item["id"]) for item in dwellings]
    assert keys == sorted(keys)
    assert {item["id"] for item in dwellings} == set(placed.values())

    for dwelling_id in placed.values():
        assert post(client, corporation, dwelling_id).status_code == 201
    vacancies = _all_pages(client, center, "/v1/vacancies", prefecture="27", limit=2)
    keys = [(item["dwelling_id"], item["id"]) for item in vacancies]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys) == 5
    bad = client.get(
        "/v1/vacancies",
        params={"prefecture": "27", "cursor": "eyJpZCI6MX0"},
        headers=center.headers,
    )
    assert bad.status_code == 400
