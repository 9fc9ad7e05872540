"""Between the API's nested dwelling schema and the flat ``dwellings`` row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from geoalchemy2 import WKBElement, WKTElement
from geoalchemy2.shape import to_shape

from housing_match.models import Dwelling
from housing_match.registry.schemas import (
    DWELLING_STATUS_LABELS_JA,
    REGISTRATION_CLASS_LABELS_JA,
    DwellingInput,
    DwellingRead,
    DwellingStatus,
    RegistrationClass,
)
from housing_match.registry.standards import (
    DwellingFacts,
    DwellingKind,
    FacilityProvision,
    SeismicEvidence,
    SharedHouseFacts,
)
from housing_match.schemas_common import GeoPoint


def point_wkt(point: GeoPoint) -> str:
    return f"SRID=4326;POINT({point.longitude} {point.latitude})"


def point_element(point: GeoPoint) -> WKTElement:
    return WKTElement(f"POINT({point.longitude} {point.latitude})", srid=4326, extended=False)


def geo_point(location: WKBElement | WKTElement) -> GeoPoint:
    shape = to_shape(location)
    return GeoPoint(latitude=shape.y, longitude=shape.x)


def dwelling_values(data: DwellingInput) -> dict[str, Any]:
    """Column values of a ``dwellings`` row (without ids, authority, status or standards)."""
    support = data.residential_support
    shared = data.shared_house
    return {
        "registration_number": data.registration_number,
        "registration_class": data.registration_class.value,
        "exclusive_target_categories": [c.value for c in data.exclusive_target_categories],
        "support_certifying_code": support.certifying_municipality_code if support else None,
        "support_provider_id": support.provider_organisation_id if support else None,
        "support_daily_safety_check": bool(support and support.daily_safety_check),
        "support_monthly_visit": bool(support and support.monthly_visit),
        "support_connections": list(support.connections) if support else [],
        "kind": data.kind.value,
        "shared_house": shared.model_dump(mode="json") if shared else None,
        "shared_house_capacity": shared.capacity if shared else None,
        "address": data.address,
        "municipality_code": data.municipality_code,
        "location": point_element(data.location),
        "floor_area_m2": data.floor_area_m2,
        "floor": data.floor,
        "floors_total": data.floors_total,
        "has_elevator": data.has_elevator,
        "step_free_entrance": data.step_free_entrance,
        "wheelchair_accessible": data.wheelchair_accessible,
        "kitchen": data.facilities.kitchen.value,
        "toilet": data.facilities.toilet.value,
        "storage": data.facilities.storage.value,
        "bath": data.facilities.bath.value,
        "washbasin": data.facilities.washbasin.value,
        "construction_started_on": data.construction_started_on,
        "is_existing_building": data.is_existing_building,
        "seismic_evidence": data.seismic_evidence.value,
        "rent_yen": data.rent_yen,
        "common_fee_yen": data.common_fee_yen,
        "deposit_yen": data.deposit_yen,
        "key_money_yen": data.key_money_yen,
        "accepts_all_categories": data.accepted_categories is None,
        "accepted_categories": [c.value for c in data.accepted_categories or []],
        "required_risks": sorted(risk.risk_kind.value for risk in data.required_risks),
        "required_whole_tenancy_risks": sorted(
            risk.risk_kind.value for risk in data.required_risks if risk.whole_tenancy
        ),
        "pets_allowed": data.pets_allowed,
        "smoking_allowed": data.smoking_allowed,
        "notes": data.notes,
    }


def dwelling_input(dwelling: Dwelling) -> DwellingInput:
    """The application-shaped view of a stored dwelling (for export and amendments)."""
    values = _nested(_columns(dwelling), geo_point(dwelling.location))
    return DwellingInput.model_validate({name: values[name] for name in _INPUT_FIELDS})


def dwelling_input_from_columns(columns: Mapping[str, Any], *, location: GeoPoint) -> DwellingInput:
    """``dwelling_input`` from the row's column values (every column of ``dwellings`` but the
    location, given as a point), without loading ORM objects: what a streamed export reads."""
    values = _nested(columns, location)
    return DwellingInput.model_validate({name: values[name] for name in _INPUT_FIELDS})


def dwelling_read(dwelling: Dwelling, *, distance_m: float | None = None) -> DwellingRead:
    return dwelling_read_from_columns(
        _columns(dwelling), location=geo_point(dwelling.location), distance_m=distance_m
    )


def dwelling_read_from_columns(
    columns: Mapping[str, Any], *, location: GeoPoint, distance_m: float | None = None
) -> DwellingRead:
    """The API's view of a dwelling from its row's column values (every column of
    ``dwellings`` but the location, given as a point): what the matcher reads in its own
    statement, without loading ORM objects. Stored rows met this schema when written;
    validating them again, in Rust, costs less than building the nested models by hand."""
    status = DwellingStatus(columns["status"])
    values = _nested(columns, location)
    values |= {
        "status_label_ja": DWELLING_STATUS_LABELS_JA[status],
        "registration_class_label_ja": REGISTRATION_CLASS_LABELS_JA[
            RegistrationClass(columns["registration_class"])
        ],
        "distance_m": distance_m,
    }
    return DwellingRead.model_validate(values)


# The columns of ``dwellings`` other than the location, as named in the ORM model.
DWELLING_COLUMN_KEYS = tuple(
    column.key for column in Dwelling.__table__.columns if column.key != "location"
)
_INPUT_FIELDS = tuple(DwellingInput.model_fields)


def _columns(dwelling: Dwelling) -> dict[str, Any]:
    return {key: getattr(dwelling, key) for key in DWELLING_COLUMN_KEYS}


def _nested(columns: Mapping[str, Any], location: GeoPoint) -> dict[str, Any]:
    """The flat row in the nested shape of the schemas (DwellingInput and DwellingRead)."""
    whole = set(columns["required_whole_tenancy_risks"])
    support = None
    if columns["support_certifying_code"] is not None:
        support = {
            "certifying_municipality_code": columns["support_certifying_code"],
            "provider_organisation_id": columns["support_provider_id"],
            "daily_safety_check": columns["support_daily_safety_check"],
            "monthly_visit": columns["support_monthly_visit"],
            "connections": columns["support_connections"],
        }
    return {
        **columns,
        "residential_support": support,
        "location": location,
        "facilities": {
            "kitchen": columns["kitchen"],
            "toilet": columns["toilet"],
            "storage": columns["storage"],
            "bath": columns["bath"],
            "washbasin": columns["washbasin"],
        },
        "accepted_categories": (
            None if columns["accepts_all_categories"] else columns["accepted_categories"]
        ),
        "required_risks": [
            {"risk_kind": kind, "whole_tenancy": kind in whole}
            for kind in columns["required_risks"]
        ],
    }


def dwelling_facts(data: DwellingInput) -> DwellingFacts:
    shared = data.shared_house
    return DwellingFacts(
        kind=data.kind,
        floor_area_m2=Decimal(data.floor_area_m2),
        is_existing_building=data.is_existing_building,
        construction_started_on=data.construction_started_on,
        seismic_evidence=data.seismic_evidence,
        kitchen=data.facilities.kitchen,
        toilet=data.facilities.toilet,
        storage=data.facilities.storage,
        bath=data.facilities.bath,
        washbasin=data.facilities.washbasin,
        shared_house=(
            SharedHouseFacts(
                capacity=shared.capacity,
                room_areas_m2=tuple(Decimal(area) for area in shared.room_areas_m2),
                toilets=shared.toilets,
                washbasins=shared.washbasins,
                baths=shared.baths,
                has_living_room=shared.has_living_room,
                has_dining_room=shared.has_dining_room,
                has_kitchen=shared.has_kitchen,
                has_laundry=shared.has_laundry,
            )
            if shared
            else None
        ),
    )


# The stored columns ``dwelling_facts_from_columns`` reads: what the standards judge.
FACT_COLUMN_KEYS = (
    "kind", "floor_area_m2", "is_existing_building", "construction_started_on",
    "seismic_evidence", "kitchen", "toilet", "storage", "bath", "washbasin", "shared_house",
)  # fmt: skip


def dwelling_facts_from_columns(columns: Mapping[Any, Any]) -> DwellingFacts:
    """The facts of a stored dwelling straight from its row (``FACT_COLUMN_KEYS``), the same
    as ``dwelling_facts(dwelling_input(...))`` without building the application's models: an
    audit re-checks every dwelling of a prefecture, and the models would cost more than the
    check. Stored rows met the application's schema when written."""
    shared = columns["shared_house"]
    return DwellingFacts(
        kind=DwellingKind(columns["kind"]),
        floor_area_m2=Decimal(columns["floor_area_m2"]),
        is_existing_building=columns["is_existing_building"],
        construction_started_on=columns["construction_started_on"],
        seismic_evidence=SeismicEvidence(columns["seismic_evidence"]),
        kitchen=FacilityProvision(columns["kitchen"]),
        toilet=FacilityProvision(columns["toilet"]),
        storage=FacilityProvision(columns["storage"]),
        bath=FacilityProvision(columns["bath"]),
        washbasin=FacilityProvision(columns["washbasin"]),
        shared_house=(
            SharedHouseFacts(
                capacity=shared["capacity"],
                room_areas_m2=tuple(Decimal(str(area)) for area in shared["room_areas_m2"]),
                toilets=shared["toilets"],
                washbasins=shared["washbasins"],
                baths=shared["baths"],
                has_living_room=shared["has_living_room"],
                has_dining_room=shared["has_dining_room"],
                has_kitchen=shared["has_kitchen"],
                has_laundry=shared["has_laundry"],
            )
            if shared is not None
            else None
        ),
    )


def new_dwelling(
    data: DwellingInput, *, authority_id: uuid.UUID, applicant_id: uuid.UUID
) -> Dwelling:
    return Dwelling(authority_id=authority_id, applicant_id=applicant_id, **dwelling_values(data))
