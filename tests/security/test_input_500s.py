"""Input that once gave a 500: text PostgreSQL cannot store, and a bounding box of the world.

Every text a request carries (JSON bodies, forms, query strings, paths) is checked in one
place before any endpoint runs: a NUL character or an unpaired surrogate is a 422
problem+json naming the field. A bounding box spanning 180° of longitude or more (the world,
say) is answered, not an "Antipodal edge" error from PostGIS.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind
from housing_match.registry.repository import EARTH_RADIUS_M, covering_cap
from tests.conftest import MakeOrganisation, OrgFixture
from tests.matching.factories import at, create_person, home, person_payload
from tests.registry.factories import OSAKA_CITY, OSAKA_STATION, dwelling_payload
from tests.registry.test_bulk import csv_bytes, flat, post_import

NUL = "\u0000"


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))


def assert_names_field(response: Any, location: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert location in [error["location"] for error in body["errors"]], body


def anchor(label: str) -> dict[str, Any]:
    return {
        "kind": "workplace",
        "label": label,
        "location": at(north_m=300),
        "max_distance_m": 3000,
    }


def test_nul_in_a_person_is_a_422_naming_the_field(client: TestClient, center: OrgFixture) -> None:
    response = client.post(
        "/v1/persons",
        json=person_payload(places={"anchors": [anchor(f"職場{NUL}")]}),
        headers=center.headers,
    )
    assert_names_field(response, "body.places.anchors.0.label")

    response = client.post(
        "/v1/persons",
        json=person_payload(
            support_plan=[
                {
                    "risk_kind": "watch_over",
                    "coverer_kind": "welfare_service",
                    "coverer_name": f"訪問看護{NUL}",
                }
            ]
        ),
        headers=center.headers,
    )
    assert_names_field(response, "body.support_plan.0.coverer_name")

    person_id = create_person(client, center)
    response = client.patch(
        f"/v1/persons/{person_id}",
        json={"places": {"anchors": [anchor("病院"), anchor(f"職場{NUL}")]}},
        headers=center.headers,
    )
    assert_names_field(response, "body.places.anchors.1.label")
    # A key can carry it too; the location shows it escaped.
    response = client.patch(
        f"/v1/persons/{person_id}", json={f"reference{NUL}": "x"}, headers=center.headers
    )
    assert_names_field(response, "body.reference\\u0000")


def test_nul_anywhere_else_is_a_422_too(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.jp/", "description": f"本部{NUL}"},
        headers=corporation.headers,
    )
    assert_names_field(response, "body.description")

    response = client.post(
        "/v1/dwellings",
        json=dwelling_payload(address=f"大阪市北区{NUL}梅田"),
        headers=corporation.headers,
    )
    assert_names_field(response, "body.address")

    _, vacancy_id = home(client, corporation, municipality)
    response = client.patch(
        f"/v1/vacancies/{vacancy_id}",
        json={"conditions": f"ペット不可{NUL}"},
        headers=corporation.headers,
    )
    assert_names_field(response, "body.conditions")

    # Query strings and paths, percent-encoded.
    response = client.get(
        "/v1/dwellings", params={"municipality_code": f"{OSAKA_CITY}{NUL}"}, headers=center.headers
    )
    assert_names_field(response, "query.municipality_code")
    response = client.get("/v1/persons/abc%00def", headers=center.headers)
    assert_names_field(response, "path")
    # A form body (pages post forms).
    response = client.post(
        "/v1/webhooks",
        content=b"url=https%3A%2F%2Fhooks.example.jp%2F&description=a%00b",
        headers={**corporation.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_names_field(response, "body.description")


def post_raw(client: TestClient, center: OrgFixture, label_json: str) -> Any:
    """A person whose anchor label is ``label_json``, as written in the JSON text."""
    raw = json.dumps(person_payload(places={"anchors": [anchor("LABEL")]}))
    return client.post(
        "/v1/persons",
        content=raw.replace('"LABEL"', label_json).encode(),
        headers={**center.headers, "Content-Type": "application/json"},
    )


def test_unpaired_surrogates_are_a_422(client: TestClient, center: OrgFixture) -> None:
    assert_names_field(post_raw(client, center, '"職場\\ud800"'), "body.places.anchors.0.label")
    assert_names_field(post_raw(client, center, '"\\udc00職場"'), "body.places.anchors.0.label")
    # A properly paired surrogate (an escaped emoji) is ordinary text, and an escaped
    # backslash before "u0000" is a backslash, not a NUL.
    for written, meant in (('"\\ud83c\\udfe0"', "🏠"), ('"a\\\\u0000"', "a\\u0000")):
        response = post_raw(client, center, written)
        assert response.status_code == 201, response.text
        person = client.get(f"/v1/persons/{response.json()['id']}", headers=center.headers)
        assert person.json()["places"]["anchors"][0]["label"] == meant


def test_nul_in_an_imported_file_is_a_4xx_not_a_500(
    client: TestClient, municipality: OrgFixture
) -> None:
    csv_body = csv_bytes([flat("NUL-1", address=f"大阪市北区{NUL}梅田")])
    response = post_import(client, municipality, csv_body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"

    latitude, longitude = OSAKA_STATION
    properties = flat("NUL-2", address=f"大阪市北区{NUL}梅田")
    del properties["latitude"], properties["longitude"]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
                "properties": properties,
            }
        ],
    }
    response = post_import(
        client,
        municipality,
        json.dumps(document).encode(),
        content_type="application/geo+json",
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


# --- the world as a bounding box -------------------------------------------------------------


@pytest.mark.parametrize(
    "bbox",
    [
        "-180,-90,180,90",
        "-180,-90,180,46",
        "0,0,180,90",
        "-60,20,150,50",
        "120,20,150,46",
        "130,34,140,40",
    ],
)
@pytest.mark.parametrize("path", ["/v1/dwellings", "/v1/vacancies"])
def test_a_box_of_any_width_is_answered(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    bbox: str,
    path: str,
) -> None:
    home(client, corporation, municipality)
    response = client.get(path, params={"bbox": bbox, "limit": 500}, headers=center.headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"], "Osaka is inside every one of these boxes"


def test_a_wide_box_is_a_longitude_latitude_rectangle(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    # Osaka station is at about 34.70 N. A great circle between two points at 34.6 N 90°
    # apart bulges far north of it; the box's edge is the parallel, so the home is outside.
    dwelling_id, _ = home(client, corporation, municipality)
    outside = "90,20,180,34.6"
    found = client.get("/v1/dwellings", params={"bbox": outside}, headers=center.headers)
    assert found.status_code == 200, found.text
    assert dwelling_id not in {item["id"] for item in found.json()["items"]}
    inside = "90,34.65,180,60"
    found = client.get("/v1/dwellings", params={"bbox": inside}, headers=center.headers)
    assert found.status_code == 200, found.text
    assert dwelling_id in {item["id"] for item in found.json()["items"]}


@pytest.mark.parametrize(
    "bbox",
    [
        (135.4, 34.6, 135.6, 34.8),
        (120.0, 20.0, 155.0, 46.0),
        (-179.0, -89.0, 0.0, 89.0),
        (10.0, -80.0, 189.0 - 10.0, -10.0),
        (-60.0, 20.0, 119.9, 50.0),
    ],
)
def test_the_index_circle_holds_the_whole_box(bbox: tuple[float, float, float, float]) -> None:
    cap = covering_cap(bbox)
    assert cap is not None
    longitude, latitude, radius = cap
    min_lon, min_lat, max_lon, max_lat = bbox
    steps = 40
    for i in range(steps + 1):
        for j in range(steps + 1):
            lon = min_lon + (max_lon - min_lon) * i / steps
            lat = min_lat + (max_lat - min_lat) * j / steps
            assert great_circle_m(longitude, latitude, lon, lat) <= radius


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    cosine = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return math.acos(max(-1.0, min(1.0, cosine))) * EARTH_RADIUS_M


def test_a_box_half_the_world_wide_has_no_circle() -> None:
    assert covering_cap((-180.0, -90.0, 180.0, 90.0)) is None
    assert covering_cap((0.0, 0.0, 180.0, 10.0)) is None


@pytest.mark.parametrize(
    "coordinates",
    [
        [{}],  # an object where a polygon belongs
        [[{}]],  # ... where a ring belongs
        [[[{"0": 1}]]],  # ... where a position belongs
        [[[[]]]],
    ],
)
def test_a_malformed_polygon_is_a_422_not_a_500(
    client: TestClient, center: OrgFixture, coordinates: list[Any]
) -> None:
    for kind in ("MultiPolygon", "Polygon"):
        polygon = {"type": kind, "coordinates": coordinates}
        payload = person_payload(
            places={"preferred_areas": {"polygons": [polygon]}},
        )
        response = client.post("/v1/persons", json=payload, headers=center.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
