"""Person profiles: owned by one center, pseudonymous, every read logged, history without values."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from housing_match.models import HistoryEntry, OrganisationKind, PersonReadLogEntry
from tests.conftest import MakeOrganisation, OrgFixture
from tests.matching.factories import at, create_person, days_from_now, person_payload, square


def reads(session: Session, person_id: str) -> list[PersonReadLogEntry]:
    return list(
        session.scalars(
            select(PersonReadLogEntry)
            .where(PersonReadLogEntry.person_id == uuid.UUID(person_id))
            .order_by(PersonReadLogEntry.id)
        )
    )


def full_payload() -> dict[str, object]:
    return person_payload(
        household_size=1,
        needs={
            "rent_ceiling_yen": None,
            "min_area_m2": "18.00",
            "no_stairs": True,
            "max_floor": 3,
            "required_facilities": ["toilet", "bath"],
            "move_in_date": days_from_now(30),
            "high_support_needs": True,
        },
        places={
            "anchors": [
                {
                    "kind": "psychiatric_hospital",
                    "label": "通院先",
                    "location": at(north_m=500),
                    "max_distance_m": 2000,
                }
            ],
            "preferred_areas": {
                "municipality_codes": ["271403"],
                "polygons": [square(north_m=0, east_m=3000, half_side_m=500)],
            },
            "exclusion_zones": [
                {"label": "被害者宅周辺", "center": at(east_m=-1500), "radius_m": 800},
                {"polygon": square(north_m=-2000, east_m=0, half_side_m=300)},
            ],
        },
        support_plan=[
            {
                "risk_kind": "emergency_contact",
                "coverer_kind": "center",
                "coverer_name": "大阪府地域生活定着支援センター",
                "until": days_from_now(180),
            },
            {
                "risk_kind": "watch_over",
                "coverer_kind": "welfare_service",
                "coverer_name": "訪問看護",
            },
        ],
    )


def test_create_and_read_round_trip(client: TestClient, center: OrgFixture) -> None:
    payload = full_payload()
    created = client.post("/v1/persons", json=payload, headers=center.headers)
    assert created.status_code == 201, created.text
    person = created.json()
    read = client.get(f"/v1/persons/{person['id']}", headers=center.headers).json()
    assert read == person
    assert read["center_id"] == str(center.id)
    assert read["category_labels_ja"] == ["高齢者", "矯正施設退所者"]
    # No explicit ceiling: 住宅扶助 for Osaka city, one person.
    assert read["rent_ceiling"] == {
        "yen": 40_000,
        "source": "housing_allowance",
        "grade": "1級地-1",
        "municipal_value": True,
        "ceiling_basis": "city",
        "ceiling_row": "大阪市",
        "household_column": "1人",
        "data_as_of": "2026-04",
        "label_ja": "住宅扶助の上限（大阪市・1級地-1・1人世帯：大阪市の基準額）",
    }
    anchor = read["places"]["anchors"][0]
    assert anchor["kind_label_ja"] == "精神科病院（通院先）"
    assert anchor["location"] == pytest.approx(at(north_m=500))
    zones = read["places"]["exclusion_zones"]
    assert zones[0]["radius_m"] == 800
    assert zones[0]["polygon"] is None
    assert zones[1]["polygon"]["type"] == "Polygon"
    assert zones[1]["center"] is None
    assert read["places"]["preferred_areas"]["municipality_codes"] == ["271403"]
    plan = read["support_plan"]
    assert [entry["open_ended"] for entry in plan] == [False, True]
    assert plan[0]["coverer_kind_label_ja"] == "地域生活定着支援センター"
    assert plan[1]["risk_kind_label_ja"] == "見守り・安否確認"
    assert read["consent"]["sharing"] == {
        "support_corporation": ["categories", "household_size", "needs"]
    }


def test_only_the_owning_center_sees_a_person(
    client: TestClient, center: OrgFixture, make_organisation: MakeOrganisation
) -> None:
    person_id = create_person(client, center)
    other = make_organisation(OrganisationKind.CENTER)
    for method, path in (
        ("GET", f"/v1/persons/{person_id}"),
        ("PATCH", f"/v1/persons/{person_id}"),
        ("DELETE", f"/v1/persons/{person_id}"),
        ("GET", f"/v1/persons/{person_id}/matches"),
    ):
        body = {"household_size": 2} if method == "PATCH" else None
        response = client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/persons", headers=other.headers).json()["items"] == []
    allocation = client.post(
        "/v1/allocations", json={"person_ids": [person_id]}, headers=other.headers
    )
    assert allocation.status_code == 404


@pytest.mark.parametrize("kind", [OrganisationKind.ADMIN, OrganisationKind.SUPPORT_CORPORATION])
def test_other_kinds_of_organisation_have_no_access(
    client: TestClient,
    center: OrgFixture,
    make_organisation: MakeOrganisation,
    kind: OrganisationKind,
) -> None:
    person_id = create_person(client, center)
    outsider = make_organisation(kind)
    assert client.get(f"/v1/persons/{person_id}", headers=outsider.headers).status_code == 403
    assert client.get("/v1/persons", headers=outsider.headers).status_code == 403
    created = client.post("/v1/persons", json=person_payload(), headers=outsider.headers)
    assert created.status_code == 403


def test_every_read_is_logged(client: TestClient, session: Session, center: OrgFixture) -> None:
    person_id = create_person(client, center)
    client.get(f"/v1/persons/{person_id}", headers=center.headers)
    client.get("/v1/persons", headers=center.headers)
    client.get(f"/v1/persons/{person_id}/matches", headers=center.headers)
    client.patch(f"/v1/persons/{person_id}", json={"household_size": 2}, headers=center.headers)
    client.post("/v1/allocations", json={"person_ids": [person_id]}, headers=center.headers)
    logged = reads(session, person_id)
    assert [entry.purpose for entry in logged] == [
        "person.create",
        "person.read",
        "person.list",
        "person.matches",
        "person.update",
        "allocation",
    ]
    assert {entry.organisation_id for entry in logged} == {center.id}
    assert {entry.api_key_id for entry in logged} == {center.api_key_id}
    assert all(entry.read_at is not None for entry in logged)


def test_a_refused_read_is_not_logged_as_a_read(
    client: TestClient, session: Session, center: OrgFixture, make_organisation: MakeOrganisation
) -> None:
    person_id = create_person(client, center)
    other = make_organisation(OrganisationKind.CENTER)
    assert client.get(f"/v1/persons/{person_id}", headers=other.headers).status_code == 404
    logged = reads(session, person_id)
    assert [entry.purpose for entry in logged if not entry.refused] == ["person.create"]
    # The attempt is kept for the owner, as refused (the read log's own tests go further).
    assert [(e.organisation_id, e.purpose) for e in logged if e.refused] == [
        (other.id, "person.read")
    ]


def test_the_read_log_is_append_only(
    client: TestClient, session: Session, center: OrgFixture
) -> None:
    person_id = create_person(client, center)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE person_reads SET purpose = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM person_reads"))
    assert len(reads(session, person_id)) == 1


def test_history_records_changes_without_person_data(
    client: TestClient, session: Session, center: OrgFixture
) -> None:
    person_id = create_person(client, center)
    client.patch(
        f"/v1/persons/{person_id}",
        json={"categories": ["disabled"], "needs": {"rent_ceiling_yen": 45000}},
        headers=center.headers,
    )
    client.delete(f"/v1/persons/{person_id}", headers=center.headers)
    entries = list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.entity_type == "person", HistoryEntry.entity_id == person_id)
            .order_by(HistoryEntry.id)
        )
    )
    assert [entry.action for entry in entries] == [
        "person.created",
        "person.updated",
        "person.deleted",
    ]
    assert entries[1].after == {"center_id": str(center.id), "fields": ["categories", "needs"]}
    dumped = str([(entry.before, entry.after) for entry in entries])
    assert "disabled" not in dumped
    assert "45000" not in dumped
    assert "OSK-" not in dumped


def test_patch_replaces_lists_and_keeps_the_rest(client: TestClient, center: OrgFixture) -> None:
    created = client.post("/v1/persons", json=full_payload(), headers=center.headers).json()
    response = client.patch(
        f"/v1/persons/{created['id']}",
        json={
            "support_plan": [
                {
                    "risk_kind": "rent_guarantee",
                    "coverer_kind": "guarantee_company",
                    "coverer_name": "認定家賃債務保証業者A",
                }
            ],
            "household_size": 2,
        },
        headers=center.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert [entry["risk_kind"] for entry in updated["support_plan"]] == ["rent_guarantee"]
    assert updated["household_size"] == 2
    assert updated["places"] == created["places"]
    assert updated["needs"] == created["needs"]
    assert updated["rent_ceiling"]["yen"] == 48_000  # two people in Osaka city
    again = client.get(f"/v1/persons/{created['id']}", headers=center.headers).json()
    assert again == updated


def test_delete(client: TestClient, center: OrgFixture) -> None:
    person_id = create_person(client, center)
    assert client.delete(f"/v1/persons/{person_id}", headers=center.headers).status_code == 204
    assert client.get(f"/v1/persons/{person_id}", headers=center.headers).status_code == 404


def test_list_is_paginated(client: TestClient, center: OrgFixture) -> None:
    ids = {create_person(client, center) for _ in range(3)}
    first = client.get("/v1/persons", params={"limit": 2}, headers=center.headers).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = client.get(
        "/v1/persons", params={"limit": 2, "cursor": first["next_cursor"]}, headers=center.headers
    ).json()
    assert second["next_cursor"] is None
    assert {item["id"] for item in first["items"] + second["items"]} == ids
    bad = client.get("/v1/persons", params={"cursor": "nonsense"}, headers=center.headers)
    assert bad.status_code == 400


def test_reference_is_unique_per_center(
    client: TestClient, center: OrgFixture, make_organisation: MakeOrganisation
) -> None:
    create_person(client, center, reference="OSK-1")
    again = client.post(
        "/v1/persons", json=person_payload(reference="OSK-1"), headers=center.headers
    )
    assert again.status_code == 409
    other = make_organisation(OrganisationKind.CENTER)
    create_person(client, other, reference="OSK-1")
    second = create_person(client, center, reference="OSK-2")
    clash = client.patch(
        f"/v1/persons/{second}", json={"reference": "OSK-1"}, headers=center.headers
    )
    assert clash.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"reference": "山田太郎"}, "body.reference"),
        ({"home_municipality_code": "271005"}, "body.home_municipality_code"),
        ({"consent": {"given_on": days_from_now(3)}}, "body.consent"),
        ({"household_size": 0}, "body.household_size"),
        ({"categories": ["murderer"]}, "body.categories.0"),
        (
            {
                "places": {
                    "exclusion_zones": [
                        {"center": at(), "polygon": square(north_m=0, east_m=0, half_side_m=10)}
                    ]
                }
            },
            "body.places.exclusion_zones.0",
        ),
        (
            {
                "places": {
                    "exclusion_zones": [
                        {
                            "polygon": {
                                "type": "Polygon",
                                "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                            }
                        }
                    ]
                }
            },
            "body.places.exclusion_zones.0.polygon",
        ),
        (
            {
                "support_plan": [
                    {"risk_kind": "watch_over", "coverer_kind": "neighbour", "coverer_name": "x"}
                ]
            },
            "body.support_plan.0.coverer_kind",
        ),
        ({"offence": "theft"}, "body.offence"),
    ],
)
def test_invalid_profiles_are_refused(
    client: TestClient, center: OrgFixture, overrides: dict[str, object], location: str
) -> None:
    response = client.post("/v1/persons", json=person_payload(**overrides), headers=center.headers)
    assert response.status_code == 422, response.text
    assert any(error["location"].startswith(location) for error in response.json()["errors"])


def test_unknown_coverer_organisation_is_refused(client: TestClient, center: OrgFixture) -> None:
    response = client.post(
        "/v1/persons",
        json=person_payload(
            support_plan=[
                {
                    "risk_kind": "watch_over",
                    "coverer_kind": "corporation",
                    "coverer_name": "法人",
                    "coverer_organisation_id": str(uuid.uuid4()),
                }
            ]
        ),
        headers=center.headers,
    )
    assert response.status_code == 422
