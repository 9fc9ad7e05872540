"""Registered dwellings re-checked under the standards in force today."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from housing_match.audit import service
from housing_match.audit.repository import AuditRepository
from housing_match.models import Dwelling, OrganisationKind
from housing_match.registry.mapping import (
    dwelling_facts,
    dwelling_facts_from_columns,
    dwelling_input,
)
from housing_match.registry.service import today
from tests.audit.factories import csv_rows, degrade, get_json, osaka_dwelling, otsu_dwelling
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, OTSU_CITY, shared_house_payload

PATH = "/v1/audit/registrations"


def test_a_new_local_profile_shows_up_at_once(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    # 20 ㎡ in an existing building: compliant nationally since 2025-10-01 (18 ㎡).
    small = osaka_dwelling(
        client, corporation, municipality, "S-1", floor_area_m2="20.00", is_existing_building=True
    )
    osaka_dwelling(client, corporation, municipality, "S-2", floor_area_m2="30.00", east_m=200)
    before = get_json(client, PATH, municipality)
    assert (before["checked"], before["compliant"], before["non_compliant"]) == (2, 2, 0)
    assert before["rules"] == []
    assert before["items"] == []

    created = client.post(
        "/v1/standards/profiles",
        json={
            "scope_code": OSAKA_CITY,
            "name": "大阪市供給促進計画（テスト）",
            "effective_from": today().isoformat(),
            "parameters": {"existing_min_area_m2": "22", "min_area_m2": "22"},
        },
        headers=municipality.headers,
    )
    assert created.status_code == 201, created.text

    after = get_json(client, PATH, municipality)
    assert after["as_of"] == today().isoformat()
    assert (after["checked"], after["compliant"], after["non_compliant"]) == (2, 1, 1)
    assert after["newly_non_compliant"] == 1
    assert after["rules"] == [
        {
            "rule_id": "area.ordinary",
            "label_ja": "床面積",
            "label_en": "Floor area",
            "dwelling_count": 1,
            "violation_count": 1,
        }
    ]
    (item,) = after["items"]
    assert item["dwelling_id"] == small
    assert item["compliant_when_checked"] is True
    assert item["profile"]["local_name"] == "大阪市供給促進計画（テスト）"
    (violation,) = item["violations"]
    assert (violation["measured"], violation["limit"]) == ("20", "22")
    assert violation["message_ja"].startswith("床面積が基準に達していません")


def test_violations_grouped_by_rule_with_counts(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    no_kitchen = osaka_dwelling(client, corporation, municipality, "G-1")
    old_and_bare = osaka_dwelling(client, corporation, municipality, "G-2", east_m=100)
    osaka_dwelling(client, corporation, municipality, "G-3", east_m=200)
    degrade(session, no_kitchen, kitchen="none")
    degrade(session, old_and_bare, kitchen="none", storage="none", construction_started_on=None)
    report = get_json(client, PATH, municipality)
    assert (report["checked"], report["non_compliant"], report["newly_non_compliant"]) == (3, 2, 2)
    counts = {rule["rule_id"]: rule["dwelling_count"] for rule in report["rules"]}
    assert counts == {"facility.kitchen": 2, "facility.storage": 1, "seismic": 1}
    assert report["rules"][0]["rule_id"] == "facility.kitchen"  # most-broken first
    assert report["rules"][0]["label_ja"] == "台所"
    assert {item["dwelling_id"] for item in report["items"]} == {no_kitchen, old_and_bare}


def test_a_shared_toilet_registered_before_the_rule_shows_as_newly_non_compliant(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    shared_toilet = osaka_dwelling(client, corporation, municipality, "T-1")
    osaka_dwelling(client, corporation, municipality, "T-2", east_m=100)
    # As registered when the engine let an ordinary dwelling share its toilet: compliant then.
    degrade(session, shared_toilet, toilet="shared", washbasin="shared")

    report = get_json(client, PATH, municipality)

    assert (report["checked"], report["non_compliant"], report["newly_non_compliant"]) == (2, 1, 1)
    assert [(rule["rule_id"], rule["label_ja"]) for rule in report["rules"]] == [
        ("facility.toilet_in_unit", "便所を住戸内に（共用不可）"),
        ("facility.washbasin_in_unit", "洗面設備を住戸内に（共用不可）"),
    ]
    (item,) = report["items"]
    assert item["dwelling_id"] == shared_toilet
    assert item["compliant_when_checked"] is True
    assert item["violations"][0]["message_ja"].startswith("便所が共用です")


def test_shared_house_counts_dwellings_and_violations_apart(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    payload = shared_house_payload(capacity=3)
    for key in ("registration_number", "location"):
        payload.pop(key)
    house = osaka_dwelling(client, corporation, municipality, "SH-1", **payload)
    shared = dict(payload["shared_house"], room_areas_m2=["8.00", "8.00", "9.00"])
    degrade(session, house, shared_house=shared)
    (rule,) = get_json(client, PATH, municipality)["rules"]
    assert rule["rule_id"] == "shared_house.room_area"
    assert (rule["dwelling_count"], rule["violation_count"]) == (1, 2)


def test_a_municipality_never_sees_another_jurisdiction(
    client: TestClient,
    session: Session,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    admin: OrgFixture,
) -> None:
    otsu = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    osaka_bad = osaka_dwelling(client, corporation, municipality, "J-1")
    otsu_bad = otsu_dwelling(client, corporation, otsu, "J-1")
    otsu_dwelling(client, corporation, otsu, "J-2", east_m=300)
    for dwelling_id in (osaka_bad, otsu_bad):
        degrade(session, dwelling_id, toilet="none")

    osaka_report = get_json(client, PATH, municipality)
    assert (osaka_report["checked"], osaka_report["non_compliant"]) == (1, 1)
    assert [item["dwelling_id"] for item in osaka_report["items"]] == [osaka_bad]
    assert osaka_report["rules"][0]["dwelling_count"] == 1

    otsu_report = get_json(client, PATH, otsu)
    assert (otsu_report["checked"], otsu_report["non_compliant"]) == (2, 1)
    assert [item["dwelling_id"] for item in otsu_report["items"]] == [otsu_bad]

    csv_ids = {
        row[0]
        for row in csv_rows(
            client.get(PATH, params={"format": "csv"}, headers=municipality.headers)
        )[1:]
    }
    assert csv_ids == {osaka_bad}

    everywhere = get_json(client, PATH, admin)
    assert everywhere["checked"] >= 3
    assert {osaka_bad, otsu_bad} <= {item["dwelling_id"] for item in everywhere["items"]}
    only_otsu = get_json(client, PATH, admin, municipality_code=OTSU_CITY)
    assert [item["dwelling_id"] for item in only_otsu["items"]] == [otsu_bad]


def test_pages_follow_the_cursor(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    ids = [
        osaka_dwelling(client, corporation, municipality, f"P-{n}", east_m=100 * n)
        for n in range(3)
    ]
    for dwelling_id in ids:
        degrade(session, dwelling_id, bath="none")
    first = get_json(client, PATH, municipality, limit=2)
    assert [item["registration_number"] for item in first["items"]] == ["P-0", "P-1"]
    assert first["non_compliant"] == 3
    second = get_json(client, PATH, municipality, limit=2, cursor=first["next_cursor"])
    assert [item["registration_number"] for item in second["items"]] == ["P-2"]
    assert second["next_cursor"] is None


def test_csv_has_bom_japanese_headers_and_one_row_per_violation(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = osaka_dwelling(client, corporation, municipality, "=HYPERLINK(1)")
    degrade(session, dwelling_id, kitchen="none", toilet="none")
    for request in (
        {"params": {"format": "csv"}},
        {"headers": {"Accept": "text/csv"}},
    ):
        headers = municipality.headers | request.get("headers", {})
        rows = csv_rows(client.get(PATH, params=request.get("params"), headers=headers))
        header, *body = rows
        assert header[:4] == ["住宅ID", "登録番号", "住所", "市区町村コード"]
        assert {"基準項目", "違反内容", "前回判定"} <= set(header)
        assert len(body) == 2
        assert {row[header.index("基準項目ID")] for row in body} == {
            "facility.kitchen",
            "facility.toilet",
        }
        # A registration number that looks like a formula is defused for Excel.
        assert body[0][1] == "'=HYPERLINK(1)"
        assert body[0][header.index("前回判定")] == "適合"


def test_geojson_has_a_feature_per_non_compliant_dwelling(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = osaka_dwelling(client, corporation, municipality, "GJ-1")
    osaka_dwelling(client, corporation, municipality, "GJ-2", east_m=100)
    degrade(session, dwelling_id, kitchen="none")
    response = client.get(PATH, headers=municipality.headers | {"Accept": "application/geo+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    (feature,) = collection["features"]
    assert feature["id"] == dwelling_id
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["violations"][0]["rule_id"] == "facility.kitchen"
    by_param = client.get(PATH, params={"format": "geojson"}, headers=municipality.headers)
    assert by_param.json()["features"] == collection["features"]


def test_the_export_streams_from_a_cursor_what_the_pages_hold(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    ids = [
        osaka_dwelling(client, corporation, municipality, f"E-{n}", east_m=50 * n) for n in range(4)
    ]
    for dwelling_id in ids[:3]:
        degrade(session, dwelling_id, bath="none")
    open_cursors = text("SELECT count(*) FROM pg_cursors")
    before = session.scalar(open_cursors)
    exported = service.registrations_export(session, (OSAKA_CITY,))
    first = next(exported)
    # The first dwelling is out while the rows are still being read on the server.
    assert session.scalar(open_cursors) == (before or 0) + 1
    everything = [first, *exported]
    page = service.audit_registrations(session, (OSAKA_CITY,), cursor=None, limit=500)
    assert everything == page.items
    assert [item.registration_number for item in everything] == ["E-0", "E-1", "E-2"]


def test_facts_read_from_columns_are_the_applications_facts(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    payload = shared_house_payload(capacity=3)
    for key in ("registration_number", "location"):
        payload.pop(key)
    ids = [
        osaka_dwelling(client, corporation, municipality, "F-1", **payload),
        osaka_dwelling(client, corporation, municipality, "F-2", east_m=100, floor_area_m2="18.5"),
    ]
    degrade(session, ids[1], construction_started_on=date(1975, 4, 1), seismic_evidence="none")
    rows = {row["id"]: row for row in AuditRepository(session).registered_for_check((OSAKA_CITY,))}
    for dwelling in session.scalars(select(Dwelling).where(Dwelling.id.in_(ids))):
        assert dwelling_facts_from_columns(rows[dwelling.id]) == dwelling_facts(
            dwelling_input(dwelling)
        )
