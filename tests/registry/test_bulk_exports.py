"""Exports as staff and their tools read them: GeoJSON typed for GIS (read back with GDAL
through pyogrio), Excel workbooks, and import reports with every row, in Japanese."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyogrio.raw
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from housing_match.cli import app as cli_app
from housing_match.registry import bulk_service
from housing_match.registry.bulk_format import COLUMNS, EXPORT_ONLY_COLUMNS
from tests.conftest import OrgFixture
from tests.registry.test_bulk import (  # noqa: F401  # a fixture
    cli_in_test_transaction,
    csv_bytes,
    flat,
    post_import,
)

SHARED = {
    "kind": "共同居住型",
    "floor_area_m2": "55.5",
    "kitchen": "共用",
    "toilet": "共用",
    "bath": "共用",
    "shared_capacity": 3,
    "shared_room_areas_m2": "9;9;10",
    "shared_toilets": 1,
    "shared_washbasins": 1,
    "shared_baths": 1,
    "shared_living_room": "はい",
    "shared_dining_room": "はい",
    "shared_kitchen": "はい",
    "shared_laundry": "はい",
}


def gdal_fields(body: bytes) -> dict[str, tuple[str, str, Any]]:
    """Field → (OGR type, OGR subtype, values) as GDAL reads the GeoJSON."""
    meta, _, _, values = pyogrio.raw.read(io.BytesIO(body))
    return {
        name: (kind, subtype, column)
        for name, kind, subtype, column in zip(
            meta["fields"], meta["ogr_types"], meta["ogr_subtypes"], values, strict=True
        )
    }


def test_geojson_export_is_typed_for_gis_tools_and_imports_back(
    client: TestClient, municipality: OrgFixture
) -> None:
    rows = [flat("T-1", floor=-1, floors_total=2, pets_allowed="はい"), flat("T-2", **SHARED)]
    assert post_import(client, municipality, csv_bytes(rows)).json()["accepted"] == 2
    exported = client.get(
        "/v1/dwellings/export", params={"format": "geojson"}, headers=municipality.headers
    )
    properties = [f["properties"] for f in exported.json()["features"]]
    assert properties[0]["floor_area_m2"] == 25.0
    assert properties[0]["has_elevator"] is False
    assert properties[0]["shared_capacity"] is None
    assert properties[1]["shared_living_room"] is True

    fields = gdal_fields(exported.content)
    for name in ("floor", "floors_total", "rent_yen", "common_fee_yen", "shared_capacity"):
        assert fields[name][:2] == ("OFTInteger", "OFSTNone"), name
    assert fields["floor_area_m2"][0] == "OFTReal"
    assert list(fields["floor_area_m2"][2]) == [25.0, 55.5]
    assert list(fields["floor"][2]) == [-1, 2]
    for name in ("has_elevator", "pets_allowed", "is_existing_building", "shared_kitchen"):
        assert fields[name][:2] == ("OFTInteger", "OFSTBoolean"), name
    assert list(fields["pets_allowed"][2]) == [True, False]
    assert fields["construction_started_on"][0] == "OFTDate"
    assert fields["address"][0] == "OFTString"

    # The import takes the typed properties as it takes the CSV's words.
    back = post_import(
        client, municipality, exported.content, content_type="application/geo+json"
    ).json()
    assert (back["unchanged"], back["rejected"]) == (2, 0), back


@pytest.mark.usefixtures("cli_in_test_transaction")
def test_cli_exports_a_real_workbook_and_refuses_unknown_extensions(
    client: TestClient, municipality: OrgFixture, tmp_path: Path
) -> None:
    post_import(
        client, municipality, csv_bytes([flat("X-1", notes="角部屋"), flat("X-2", **SHARED)])
    )
    runner = CliRunner()
    output = tmp_path / "register.xlsx"
    result = runner.invoke(cli_app, ["export", "dwellings", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"PK")  # a zip package, not CSV text
    sheet = load_workbook(output).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == [column.label_ja for column in COLUMNS + EXPORT_ONLY_COLUMNS]
    by_label = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    assert [row["登録番号"] for row in by_label] == ["X-1", "X-2"]
    assert by_label[0]["家賃"] == 42000
    assert by_label[1]["床面積"] == 55.5
    assert by_label[1]["共同居住型_定員"] == 3
    assert by_label[0]["共同居住型_定員"] is None
    assert by_label[0]["備考"] == "角部屋"
    assert by_label[0]["市区町村コード"] == "271004"  # a code, kept as text

    for name in ("register.xls", "register.txt", "register"):
        refused = runner.invoke(cli_app, ["export", "dwellings", "--output", str(tmp_path / name)])
        assert refused.exit_code == 2
        assert ".xlsx" in " ".join(refused.stderr.replace("│", " ").split())
        assert not (tmp_path / name).exists()


@pytest.mark.usefixtures("cli_in_test_transaction")
def test_cli_report_lists_every_row_in_japanese(
    municipality: OrgFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the API's listing cut to one row, the written report still has every row.
    monkeypatch.setattr(bulk_service, "REPORTED_ROWS_MAX", 1)
    source = tmp_path / "register.csv"
    source.write_bytes(
        csv_bytes([flat("R-1"), flat("R-2"), flat("R-3", toilet="??"), flat("=R-4")])
    )
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    header, *rows = csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig")))
    assert header == ["行", "登録番号", "結果", "住宅ID", "理由"]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("2", "R-1", "新規"),
        ("3", "R-2", "新規"),
        ("4", "R-3", "不受理"),
        ("5", "'=R-4", "新規"),
    ]
    again = CliRunner().invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", str(report)],
    )
    assert again.exit_code == 0, again.output
    results = [row[2] for row in csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig")))]
    assert results[1:] == ["変更なし", "変更なし", "不受理", "変更なし"]

    workbook = tmp_path / "report.xlsx"
    as_xlsx = CliRunner().invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", str(workbook)],
    )
    assert as_xlsx.exit_code == 0, as_xlsx.output
    sheet = load_workbook(workbook).active
    assert sheet is not None
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0] == ["行", "登録番号", "結果", "住宅ID", "理由"]
    assert [row[:3] for row in cells[1:]] == [
        [2, "R-1", "変更なし"],
        [3, "R-2", "変更なし"],
        [4, "R-3", "不受理"],
        [5, "=R-4", "変更なし"],
    ]
    refused = CliRunner().invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", "r.txt"],
    )
    assert refused.exit_code == 2


def test_api_report_says_how_many_rows_it_leaves_out(
    client: TestClient, municipality: OrgFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_service, "REPORTED_ROWS_MAX", 2)
    rows = [flat(f"U-{n}") for n in range(4)] + [flat("U-bad", kitchen="??")]
    report = post_import(client, municipality, csv_bytes(rows)).json()
    assert report["accepted"] == 4
    # Every rejected row, the others up to the listing's limit, and the count of the rest.
    assert [row["registration_number"] for row in report["rows"]] == ["U-0", "U-1", "U-bad"]
    assert report["unlisted_rows"] == 2
    everything = post_import(client, municipality, csv_bytes(rows[:1]), dry_run="true").json()
    assert everything["unlisted_rows"] == 0


def test_geojson_documents_stay_json_serialisable() -> None:
    # Decimal areas become JSON numbers, not an error of the encoder.
    from decimal import Decimal

    from housing_match.registry.bulk_format import geojson_document

    document = geojson_document(
        [{"latitude": 34.7, "longitude": 135.5, "floor_area_m2": Decimal("25.50")}], ["a"]
    )
    assert json.loads(json.dumps(document))["features"][0]["properties"] == {"floor_area_m2": 25.5}
