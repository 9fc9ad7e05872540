"""Between the nested person schemas and the ``persons`` row with its places and plan."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping, shape

from housing_match.matching.schemas import (
    AnchorRead,
    Consent,
    ExclusionZone,
    Needs,
    PersonCreate,
    PersonRead,
    Places,
    PlacesRead,
    PolygonGeometry,
    PreferredAreas,
    ReadLogEntry,
    RentCeiling,
    SupportPlanItem,
    SupportPlanItemRead,
)
from housing_match.matching.vocabulary import (
    ANCHOR_KIND_LABELS_JA,
    COVERER_KIND_LABELS_JA,
    READ_KIND_LABELS_JA,
    READ_PURPOSES,
    AnchorKind,
    ConsentRecipient,
    CovererKind,
    Facility,
    PlaceRole,
    ReadKind,
    SharedField,
)
from housing_match.models import (
    ORGANISATION_KIND_LABELS_JA,
    Organisation,
    OrganisationKind,
    Person,
    PersonPlace,
    PersonReadLogEntry,
    SupportPlanEntry,
    User,
)
from housing_match.registry.mapping import geo_point, point_element
from housing_match.schemas_common import GeoPoint
from housing_match.vocabulary import (
    PERSON_CATEGORY_LABELS_JA,
    RISK_KIND_LABELS_JA,
    PersonCategory,
    RiskKind,
)


def ewkt(element: WKBElement | WKTElement) -> str:
    return f"SRID=4326;{to_shape(element).wkt}"


def point_ewkt(point: GeoPoint) -> str:
    return f"SRID=4326;POINT({point.longitude} {point.latitude})"


def polygon_element(polygon: PolygonGeometry) -> WKTElement:
    return WKTElement(shape(polygon.model_dump()).wkt, srid=4326, extended=False)


def polygon_of(element: WKBElement | WKTElement) -> PolygonGeometry:
    geometry: dict[str, Any] = mapping(to_shape(element))
    return PolygonGeometry.model_construct(
        type=geometry["type"], coordinates=_lists(geometry["coordinates"])
    )


def _lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def place_rows(places: Places) -> list[PersonPlace]:
    rows: list[PersonPlace] = []
    for anchor in places.anchors:
        rows.append(
            PersonPlace(
                role=PlaceRole.ANCHOR.value,
                kind=anchor.kind.value,
                label=anchor.label,
                area=point_element(anchor.location),
                radius_m=anchor.max_distance_m,
                required=anchor.required,
            )
        )
    for polygon in places.preferred_areas.polygons:
        rows.append(
            PersonPlace(
                role=PlaceRole.PREFERRED_AREA.value,
                area=polygon_element(polygon),
                label="",
                required=False,
            )
        )
    for zone in places.exclusion_zones:
        if zone.polygon is not None:
            area = polygon_element(zone.polygon)
        else:
            assert zone.center is not None  # noqa: S101  # the schema requires one form
            area = point_element(zone.center)
        rows.append(
            PersonPlace(
                role=PlaceRole.EXCLUSION_ZONE.value,
                label=zone.label,
                area=area,
                radius_m=zone.radius_m if zone.polygon is None else None,
                required=True,
            )
        )
    for position, row in enumerate(rows):
        row.position = position
    return rows


def support_plan_rows(items: list[SupportPlanItem]) -> list[SupportPlanEntry]:
    return [
        SupportPlanEntry(
            position=position,
            risk_kind=item.risk_kind.value,
            coverer_kind=item.coverer_kind.value,
            coverer_name=item.coverer_name,
            coverer_organisation_id=item.coverer_organisation_id,
            until=item.until,
        )
        for position, item in enumerate(items)
    ]


def consent_values(consent: Consent) -> dict[str, Any]:
    return {
        "consent_given_on": consent.given_on,
        "consent_sharing": {
            recipient.value: [field.value for field in fields]
            for recipient, fields in consent.sharing.items()
        },
    }


def needs_values(needs: Needs) -> dict[str, Any]:
    return {
        "rent_ceiling_yen": needs.rent_ceiling_yen,
        "min_area_m2": needs.min_area_m2,
        "wheelchair": needs.wheelchair,
        "no_stairs": needs.no_stairs,
        "max_floor": needs.max_floor,
        "required_facilities": [facility.value for facility in needs.required_facilities],
        "has_pets": needs.has_pets,
        "smokes": needs.smokes,
        "move_in_date": needs.move_in_date,
        "high_support_needs": needs.high_support_needs,
    }


def new_person(data: PersonCreate, *, center_id: Any) -> Person:
    return Person(
        center_id=center_id,
        reference=data.reference,
        home_municipality_code=data.home_municipality_code,
        household_size=data.household_size,
        categories=[category.value for category in data.categories],
        preferred_municipality_codes=list(data.places.preferred_areas.municipality_codes),
        places=place_rows(data.places),
        support_plan=support_plan_rows(data.support_plan),
        **consent_values(data.consent),
        **needs_values(data.needs),
    )


def consent_of(person: Person) -> Consent:
    return Consent.model_construct(
        given_on=person.consent_given_on,
        sharing={
            ConsentRecipient(recipient): [SharedField(field) for field in fields]
            for recipient, fields in person.consent_sharing.items()
        },
    )


def needs_of(person: Person) -> Needs:
    return Needs.model_construct(
        rent_ceiling_yen=person.rent_ceiling_yen,
        min_area_m2=person.min_area_m2,
        wheelchair=person.wheelchair,
        no_stairs=person.no_stairs,
        max_floor=person.max_floor,
        required_facilities=[Facility(name) for name in person.required_facilities],
        has_pets=person.has_pets,
        smokes=person.smokes,
        move_in_date=person.move_in_date,
        high_support_needs=person.high_support_needs,
    )


def places_read(person: Person) -> PlacesRead:
    anchors: list[AnchorRead] = []
    polygons: list[PolygonGeometry] = []
    zones: list[ExclusionZone] = []
    for place in person.places:
        if place.role == PlaceRole.ANCHOR.value:
            kind = AnchorKind(str(place.kind))
            anchors.append(
                AnchorRead.model_construct(
                    kind=kind,
                    kind_label_ja=ANCHOR_KIND_LABELS_JA[kind],
                    label=place.label,
                    location=geo_point(place.area),
                    max_distance_m=int(place.radius_m or 0),
                    required=place.required,
                )
            )
        elif place.role == PlaceRole.PREFERRED_AREA.value:
            polygons.append(polygon_of(place.area))
        elif place.radius_m is not None:
            zones.append(
                ExclusionZone.model_construct(
                    label=place.label,
                    center=geo_point(place.area),
                    radius_m=place.radius_m,
                    polygon=None,
                )
            )
        else:
            zones.append(
                ExclusionZone.model_construct(
                    label=place.label, center=None, radius_m=None, polygon=polygon_of(place.area)
                )
            )
    return PlacesRead.model_construct(
        anchors=anchors,
        preferred_areas=PreferredAreas.model_construct(
            municipality_codes=list(person.preferred_municipality_codes), polygons=polygons
        ),
        exclusion_zones=zones,
    )


def support_plan_read(person: Person) -> list[SupportPlanItemRead]:
    items: list[SupportPlanItemRead] = []
    for entry in person.support_plan:
        risk = RiskKind(entry.risk_kind)
        coverer = CovererKind(entry.coverer_kind)
        items.append(
            SupportPlanItemRead.model_construct(
                risk_kind=risk,
                risk_kind_label_ja=RISK_KIND_LABELS_JA[risk],
                coverer_kind=coverer,
                coverer_kind_label_ja=COVERER_KIND_LABELS_JA[coverer],
                coverer_name=entry.coverer_name,
                coverer_organisation_id=entry.coverer_organisation_id,
                until=entry.until,
                open_ended=entry.until is None,
            )
        )
    return items


def person_read(person: Person, rent_ceiling: RentCeiling) -> PersonRead:
    categories = [PersonCategory(category) for category in person.categories]
    return PersonRead.model_construct(
        id=person.id,
        center_id=person.center_id,
        reference=person.reference,
        home_municipality_code=person.home_municipality_code,
        consent=consent_of(person),
        household_size=person.household_size,
        categories=categories,
        category_labels_ja=[PERSON_CATEGORY_LABELS_JA[category] for category in categories],
        needs=needs_of(person),
        rent_ceiling=rent_ceiling,
        places=places_read(person),
        support_plan=support_plan_read(person),
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def read_entry(
    entry: PersonReadLogEntry, organisation: Organisation, user: User | None
) -> ReadLogEntry:
    kind, label = READ_PURPOSES.get(entry.purpose, (ReadKind.OTHER, entry.purpose))
    organisation_kind = OrganisationKind(organisation.kind)
    return ReadLogEntry(
        id=entry.id,
        read_at=entry.read_at,
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        organisation_kind=organisation_kind.value,
        organisation_kind_label_ja=ORGANISATION_KIND_LABELS_JA[organisation_kind],
        api_key_id=entry.api_key_id,
        user_id=entry.user_id,
        user_name=None if user is None else user.name,
        purpose=entry.purpose,
        purpose_label_ja=label,
        kind=kind,
        kind_label_ja=READ_KIND_LABELS_JA[kind],
        refused=entry.refused,
    )
