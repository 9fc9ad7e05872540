"""Persons, and registered homes with open vacancies, for the matcher's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import OrgFixture
from tests.registry.factories import OSAKA_CITY, OSAKA_STATION, dwelling_payload, offset

LAT, LON = OSAKA_STATION


def today() -> date:
    return datetime.now(UTC).date()


def days_from_now(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def at(*, north_m: float = 0, east_m: float = 0) -> dict[str, float]:
    """A point the given metres from Osaka station."""
    return offset(LAT, LON, north_m=north_m, east_m=east_m)


def square(*, north_m: float, east_m: float, half_side_m: float) -> dict[str, Any]:
    """A GeoJSON square polygon centred the given metres from Osaka station."""
    centre = at(north_m=north_m, east_m=east_m)
    d_lat = half_side_m / 111_320
    d_lon = half_side_m / 91_290
    lat, lon = centre["latitude"], centre["longitude"]
    ring = [
        [lon - d_lon, lat - d_lat],
        [lon + d_lon, lat - d_lat],
        [lon + d_lon, lat + d_lat],
        [lon - d_lon, lat + d_lat],
        [lon - d_lon, lat - d_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def person_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "reference": f"OSK-{uuid.uuid4().hex[:8]}",
        "home_municipality_code": OSAKA_CITY,
        "consent": {
            "given_on": days_from_now(-10),
            "sharing": {"support_corporation": ["household_size", "categories", "needs"]},
        },
        "household_size": 1,
        "categories": ["elderly", "released_from_correctional_facility"],
        "needs": {"rent_ceiling_yen": 50_000},
    }
    payload.update(overrides)
    return payload


def create_person(client: TestClient, center: OrgFixture, **overrides: Any) -> str:
    response = client.post("/v1/persons", json=person_payload(**overrides), headers=center.headers)
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


def home(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    *,
    vacancy: dict[str, Any] | None = None,
    **dwelling_overrides: Any,
) -> tuple[str, str]:
    """A registered dwelling (no landlord risks unless given) with an open vacancy."""
    body = dwelling_payload(
        registration_number=f"M-{uuid.uuid4().hex[:10]}",
        required_risks=dwelling_overrides.pop("required_risks", []),
        **dwelling_overrides,
    )
    created = client.post("/v1/dwellings", json=body, headers=corporation.headers)
    assert created.status_code == 201, created.text
    dwelling_id: str = created.json()["id"]
    approved = client.post(f"/v1/dwellings/{dwelling_id}/approve", headers=municipality.headers)
    assert approved.status_code == 200, approved.text
    offer = {
        "dwelling_id": dwelling_id,
        "available_from": days_from_now(0),
        "rent_offered_yen": body["rent_yen"],
        "common_fee_offered_yen": body.get("common_fee_yen", 0),
    } | (vacancy or {})
    posted = client.post("/v1/vacancies", json=offer, headers=corporation.headers)
    assert posted.status_code == 201, posted.text
    vacancy_id: str = posted.json()["id"]
    return dwelling_id, vacancy_id


def matches(
    client: TestClient, center: OrgFixture, person_id: str, **params: Any
) -> dict[str, Any]:
    response = client.get(f"/v1/persons/{person_id}/matches", params=params, headers=center.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def candidate_vacancies(body: dict[str, Any]) -> list[str]:
    return [candidate["vacancy"]["id"] for candidate in body["candidates"]]


def excluded(body: dict[str, Any], constraint: str) -> int:
    for item in body["excluded_by"]:
        if item["constraint"] == constraint:
            count: int = item["excluded"]
            return count
    raise AssertionError(f"{constraint} missing from excluded_by")
