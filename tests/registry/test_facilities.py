"""Facilities per the registration standard: an ordinary dwelling has its toilet and washbasin
(洗面設備) in the unit; only the kitchen, storage and bath may be shared. Through the dry-run
check, applications, and the bulk import and export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from housing_match.models import Dwelling
from tests.conftest import OrgFixture
from tests.registry.factories import dwelling_payload, shared_house_payload
from tests.registry.test_bulk import by_row, csv_bytes, flat, post_import

IN_UNIT = {
    "kitchen": "in_unit",
    "toilet": "in_unit",
    "storage": "in_unit",
    "bath": "in_unit",
    "washbasin": "in_unit",
}


def check(client: TestClient, caller: OrgFixture, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/standards/check", json=payload, headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("facility", "provision", "rule_id", "message_ja"),
    [
        ("toilet", "shared", "facility.toilet_in_unit", "便所が共用です"),
        ("washbasin", "shared", "facility.washbasin_in_unit", "洗面設備が共用です"),
        ("washbasin", "none", "facility.washbasin", "洗面設備がありません"),
    ],
)
def test_an_ordinary_dwelling_needs_its_toilet_and_washbasin_in_the_unit(
    client: TestClient,
    center: OrgFixture,
    facility: str,
    provision: str,
    rule_id: str,
    message_ja: str,
) -> None:
    payload = dwelling_payload(facilities=IN_UNIT | {facility: provision})

    report = check(client, center, payload)

    assert report["compliant"] is False
    (violation,) = report["violations"]
    assert violation["rule_id"] == rule_id
    assert violation["message_ja"].startswith(message_ja)
    assert "住戸内に設ける必要があります" in violation["message_ja"]
    assert (violation["measured"], violation["limit"]) == (provision, "in_unit")


def test_a_shared_kitchen_storage_and_bath_still_pass(
    client: TestClient, center: OrgFixture
) -> None:
    shared = IN_UNIT | {"kitchen": "shared", "storage": "shared", "bath": "shared"}

    assert check(client, center, dwelling_payload(facilities=shared))["compliant"] is True


def test_a_shared_house_shares_its_toilets_and_washbasins(
    client: TestClient, center: OrgFixture
) -> None:
    payload = shared_house_payload(capacity=3)
    assert payload["facilities"]["toilet"] == payload["facilities"]["washbasin"] == "shared"

    assert check(client, center, payload)["compliant"] is True


def test_the_washbasin_must_be_stated(client: TestClient, corporation: OrgFixture) -> None:
    facilities = {key: value for key, value in IN_UNIT.items() if key != "washbasin"}

    response = client.post(
        "/v1/dwellings",
        json=dwelling_payload(facilities=facilities),
        headers=corporation.headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.facilities.washbasin"


def test_an_application_with_a_shared_toilet_is_not_registered(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    payload = dwelling_payload(facilities=IN_UNIT | {"toilet": "shared"})
    applied = client.post("/v1/dwellings", json=payload, headers=corporation.headers)
    assert applied.status_code == 201, applied.text
    assert applied.json()["standards_compliant"] is False

    approved = client.post(
        f"/v1/dwellings/{applied.json()['id']}/approve", headers=municipality.headers
    )

    assert approved.status_code == 409
    assert [v["rule_id"] for v in approved.json()["violations"]] == ["facility.toilet_in_unit"]


def test_the_washbasin_column_travels_through_import_and_export(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = [
        flat("F-1", washbasin="専用"),
        flat("F-2", washbasin="共用"),  # row 3: shared in an ordinary dwelling
        flat("F-3", washbasin="in_unit", toilet="共用"),  # row 4: a shared toilet
    ]
    body = csv_bytes(rows)
    assert "洗面設備" in body.decode("utf-8").splitlines()[0]

    report = post_import(client, municipality, body).json()

    assert (report["accepted"], report["rejected"]) == (1, 2), report
    outcome = by_row(report)
    assert outcome[3]["reasons"][0].startswith("facility.washbasin_in_unit: ")
    assert outcome[4]["reasons"][0].startswith("facility.toilet_in_unit: ")
    stored = session.scalars(select(Dwelling).where(Dwelling.authority_id == municipality.id)).one()
    assert (stored.registration_number, stored.washbasin) == ("F-1", "in_unit")

    exported = client.get(
        "/v1/dwellings/export", headers={**municipality.headers, "Accept": "text/csv"}
    )
    records = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [record["洗面設備"] for record in records] == ["in_unit"]
    geojson = client.get(
        "/v1/dwellings/export",
        headers={**municipality.headers, "Accept": "application/geo+json"},
    )
    (feature,) = json.loads(geojson.content)["features"]
    assert feature["properties"]["washbasin"] == "in_unit"


def test_a_file_without_the_washbasin_column_is_refused(
    client: TestClient, municipality: OrgFixture
) -> None:
    row = flat("N-1")
    del row["washbasin"]

    response = post_import(client, municipality, csv_bytes([row]))

    assert response.status_code == 422
    assert response.json()["detail"] == "Missing required columns: 洗面設備 (washbasin)."


def test_the_column_is_documented_with_its_japanese_header(
    client: TestClient, corporation: OrgFixture
) -> None:
    columns = client.get("/v1/dwellings/import/columns", headers=corporation.headers).json()

    washbasin = next(column for column in columns if column["key"] == "washbasin")
    assert washbasin["label_ja"] == "洗面設備"
