"""The export writes each row straight from the stored columns; these tests hold it to the
bytes of the path through the application's model (``DwellingInput`` and ``flat_row``), for
a varied register: shared houses, residential support, exclusive dwellings, unsorted and
repeated categories, risks, blanks, and text a spreadsheet would run as a formula."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from housing_match.models import Organisation
from housing_match.registry import bulk_format, bulk_service
from housing_match.registry.mapping import dwelling_input_from_columns
from housing_match.registry.repository import DwellingFilters, DwellingRepository
from housing_match.schemas_common import GeoPoint
from tests.conftest import OrgFixture
from tests.registry.test_bulk import csv_bytes, flat, post_import
from tests.registry.test_bulk_fast_path import _base

FORMULA_TEXTS = ['=HYPERLINK("https://example.com")', "+81-3-1234-5678", "@SUM(A1)", "'=1+1"]


def _varied_rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(20261208)
    rows: list[dict[str, Any]] = []
    for number in range(count):
        row: dict[str, Any] = _base(rng) | {
            "registration_number": f"V-{number:04d}",
            "municipality_code": "271004",
            "registering_authority": "",
            "status": "",
            "registered_on": "",
        }
        # Registered dwellings meet the standards: every facility in the unit.
        row |= dict.fromkeys(("kitchen", "toilet", "storage", "bath", "washbasin"), "in_unit")
        if row.get("shared_capacity") == "1":
            row["shared_capacity"] = "2"
            row["shared_room_areas_m2"] += ";9.50"
        if row.get("support_certifying_code"):
            row["support_certifying_code"] = "271004"
        if number % 7 == 0:
            row["address"] = rng.choice(FORMULA_TEXTS)
            row["notes"] = rng.choice(FORMULA_TEXTS) + " 備考"
        if number % 11 == 0:
            row["accepted_categories"] = "elderly;disabled;elderly;low_income"
        rows.append(row)
    rows.append(
        flat(
            "=V-formula",
            address="  -1 大阪市",
            support_certifying_code="271004",
            support_daily_safety_check="yes",
            support_monthly_visit="no",
            support_connections="@地域包括;=B",
            notes="'+already defused",
        )
    )
    return rows


def _previous_path(session: Session, filters: DwellingFilters) -> list[dict[str, Any]]:
    """The flat rows as built through ``DwellingInput``, from the same stored rows."""
    slugs = {organisation.id: organisation.slug for organisation in session.query(Organisation)}
    return [
        bulk_format.flat_row(
            dwelling_input_from_columns(
                # The one column of the model the export does not read (nor write).
                {**columns, "support_provider_id": None},
                location=GeoPoint(latitude=columns["latitude"], longitude=columns["longitude"]),
            ),
            authority_slug=slugs.get(columns["authority_id"]),
            status=columns["status"],
            registered_on=(
                columns["registered_on"].isoformat() if columns["registered_on"] else None
            ),
        )
        for columns in DwellingRepository(session).for_export(filters)
    ]


def test_the_export_from_columns_gives_the_bytes_of_the_model_path(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = _varied_rows(300)
    accepted = post_import(client, municipality, csv_bytes(rows, japanese=False)).json()["accepted"]
    assert accepted >= 150  # some break the standards (old buildings, small rooms)
    filters = DwellingFilters(jurisdiction_codes=("271004",))
    # Lists stored out of order or repeated (by an older version, or by hand) are written
    # as validation would give them: sorted, each once.
    session.execute(
        text(
            "UPDATE dwellings SET accepted_categories = ARRAY['elderly', 'disabled', 'elderly'],"
            " accepts_all_categories = false WHERE registration_number = 'V-0001'"
        )
    )
    previous = _previous_path(session, filters)
    assert len(previous) == accepted
    # The register is as varied as the test means it to be.
    assert any(row["shared_capacity"] for row in previous)
    assert any(row["support_certifying_code"] for row in previous)
    assert any(row["exclusive_target_categories"] for row in previous)
    assert any(row["registration_class"] == "registered" for row in previous)
    assert any(row["accepted_categories"] == "disabled;elderly" for row in previous)
    assert any(row["construction_started_on"] is None for row in previous)
    assert any(row["address"] in FORMULA_TEXTS for row in previous)
    assert any(row["registration_number"] == "=V-formula" for row in previous)

    fast_rows, _ = bulk_service.export_rows(session, filters)
    assert fast_rows == previous
    expected = bulk_format.csv_document(previous)
    streamed = b"".join(
        bulk_format.csv_chunks_of_cells(bulk_service.iter_export_csv_rows(session, filters))
    )
    assert streamed == expected
    assert b"'=V-formula" in streamed
    exported = client.get("/v1/dwellings/export", headers=municipality.headers)
    assert exported.content == expected
