"""Payloads of believable dwellings for registry tests."""

from __future__ import annotations

from typing import Any

OSAKA_CITY = "271004"
OSAKA_STATION = (34.7025, 135.4959)  # lat, lon
SAKAI_CITY = "271403"
OTSU_CITY = "252018"


def dwelling_payload(**overrides: Any) -> dict[str, Any]:
    latitude, longitude = OSAKA_STATION
    payload: dict[str, Any] = {
        "registration_number": "R-0001",
        "registration_class": "registered",
        "kind": "ordinary",
        "address": "大阪府大阪市北区梅田3丁目1-1",
        "municipality_code": OSAKA_CITY,
        "location": {"latitude": latitude, "longitude": longitude},
        "floor_area_m2": "25.00",
        "floor": 1,
        "floors_total": 3,
        "step_free_entrance": True,
        "facilities": {
            "kitchen": "in_unit",
            "toilet": "in_unit",
            "storage": "in_unit",
            "bath": "in_unit",
            "washbasin": "in_unit",
        },
        "construction_started_on": "1995-04-01",
        "is_existing_building": True,
        "seismic_evidence": "none",
        "rent_yen": 40000,
        "common_fee_yen": 3000,
        "required_risks": [
            {"risk_kind": "emergency_contact", "whole_tenancy": False},
            {"risk_kind": "watch_over", "whole_tenancy": True},
        ],
    }
    payload.update(overrides)
    return payload


def shared_house_payload(capacity: int = 3, **overrides: Any) -> dict[str, Any]:
    return dwelling_payload(
        kind="shared_house",
        floor_area_m2=str(15 * capacity + 10),
        shared_house={
            "capacity": capacity,
            "room_areas_m2": ["9.00"] * capacity,
            "toilets": 1,
            "washbasins": 1,
            "baths": 1,
            "has_living_room": True,
            "has_dining_room": True,
            "has_kitchen": True,
            "has_laundry": True,
        },
        facilities={
            "kitchen": "shared",
            "toilet": "shared",
            "storage": "in_unit",
            "bath": "shared",
            "washbasin": "shared",
        },
        **overrides,
    )


def offset(
    latitude: float, longitude: float, *, north_m: float = 0, east_m: float = 0
) -> dict[str, float]:
    """A point the given metres from another (small distances, Osaka's latitude)."""
    return {
        "latitude": latitude + north_m / 111_320,
        "longitude": longitude + east_m / 91_290,
    }
