"""Between the API's nested dwelling schema and the flat ``dwellings`` row."""

from __future__ import annotations

import uuid
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
    Facilities,
    RegistrationClass,
    RequiredRisk,
    ResidentialSupport,
    SharedHouse,
    ViolationRead,
)
from housing_match.registry.standards import (
    DwellingFacts,
    DwellingKind,
    FacilityProvision,
    SeismicEvidence,
    SharedHouseFacts,
)
from housing_match.schemas_common import GeoPoint
from housing_match.vocabulary import PersonCategory, RiskKind


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
    support = None
    if dwelling.support_certifying_code is not None:
        support = ResidentialSupport(
            certifying_municipality_code=dwelling.support_certifying_code,
            provider_organisation_id=dwelling.support_provider_id,
            daily_safety_check=dwelling.support_daily_safety_check,
            monthly_visit=dwelling.support_monthly_visit,
            connections=list(dwelling.support_connections),
        )
    whole = set(dwelling.required_whole_tenancy_risks)
    return DwellingInput.model_construct(
        registration_number=dwelling.registration_number,
        authority_id=dwelling.authority_id,
        registration_class=RegistrationClass(dwelling.registration_class),
        exclusive_target_categories=[
            PersonCategory(c) for c in dwelling.exclusive_target_categories
        ],
        residential_support=support,
        kind=DwellingKind(dwelling.kind),
        shared_house=(
            SharedHouse.model_validate(dwelling.shared_house) if dwelling.shared_house else None
        ),
        address=dwelling.address,
        municipality_code=dwelling.municipality_code,
        location=geo_point(dwelling.location),
        floor_area_m2=dwelling.floor_area_m2,
        floor=dwelling.floor,
        floors_total=dwelling.floors_total,
        has_elevator=dwelling.has_elevator,
        step_free_entrance=dwelling.step_free_entrance,
        wheelchair_accessible=dwelling.wheelchair_accessible,
        facilities=Facilities(
            kitchen=FacilityProvision(dwelling.kitchen),
            toilet=FacilityProvision(dwelling.toilet),
            storage=FacilityProvision(dwelling.storage),
            bath=FacilityProvision(dwelling.bath),
        ),
        construction_started_on=dwelling.construction_started_on,
        is_existing_building=dwelling.is_existing_building,
        seismic_evidence=SeismicEvidence(dwelling.seismic_evidence),
        rent_yen=dwelling.rent_yen,
        common_fee_yen=dwelling.common_fee_yen,
        deposit_yen=dwelling.deposit_yen,
        key_money_yen=dwelling.key_money_yen,
        accepted_categories=(
            None
            if dwelling.accepts_all_categories
            else [PersonCategory(c) for c in dwelling.accepted_categories]
        ),
        required_risks=[
            RequiredRisk(risk_kind=RiskKind(kind), whole_tenancy=kind in whole)
            for kind in dwelling.required_risks
        ],
        pets_allowed=dwelling.pets_allowed,
        smoking_allowed=dwelling.smoking_allowed,
        notes=dwelling.notes,
    )


def dwelling_read(dwelling: Dwelling, *, distance_m: float | None = None) -> DwellingRead:
    status = DwellingStatus(dwelling.status)
    registration_class = RegistrationClass(dwelling.registration_class)
    return DwellingRead.model_construct(
        **dict(dwelling_input(dwelling)),
        id=dwelling.id,
        applicant_id=dwelling.applicant_id,
        status=status,
        status_label_ja=DWELLING_STATUS_LABELS_JA[status],
        status_reason=dwelling.status_reason,
        registered_on=dwelling.registered_on,
        registration_class_label_ja=REGISTRATION_CLASS_LABELS_JA[registration_class],
        standards_compliant=dwelling.standards_compliant,
        standards_checked_at=dwelling.standards_checked_at,
        standards_violations=[
            ViolationRead.model_validate(v) for v in dwelling.standards_violations
        ],
        distance_m=distance_m,
        created_at=dwelling.created_at,
        updated_at=dwelling.updated_at,
    )


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


def new_dwelling(
    data: DwellingInput, *, authority_id: uuid.UUID, applicant_id: uuid.UUID
) -> Dwelling:
    return Dwelling(authority_id=authority_id, applicant_id=applicant_id, **dwelling_values(data))
