"""Bulk import and export: per-row reports, idempotent upserts, all-or-nothing, round trips."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from housing_match import db
from housing_match.cli import app as cli_app
from housing_match.models import Dwelling, HistoryEntry, Organisation, OrganisationKind
from housing_match.registry import bulk_format, bulk_service
from housing_match.registry.bulk_format import COLUMNS
from housing_match.registry.bulk_prepare import CONTENT_COLUMNS, fresh_ids
from housing_match.registry.mapping import dwelling_values, geo_point
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, OSAKA_STATION, SAKAI_CITY

LABEL = {column.key: column.label_ja for column in COLUMNS}


def flat(number: str, **overrides: Any) -> dict[str, Any]:
    latitude, longitude = OSAKA_STATION
    row: dict[str, Any] = {
        "registration_number": number,
        "registration_class": "登録住宅",
        "kind": "一般",
        "address": "大阪府大阪市北区梅田3丁目1-1",
        "municipality_code": OSAKA_CITY,
        "latitude": latitude,
        "longitude": longitude,
        "floor_area_m2": "25.00",
        "floor": 2,
        "floors_total": 3,
        "has_elevator": "なし",
        "kitchen": "専用",
        "toilet": "専用",
        "storage": "専用",
        "bath": "共用",
        "washbasin": "専用",
        "construction_started_on": "1995-04-01",
        "is_existing_building": "はい",
        "rent_yen": "42,000",
        "common_fee_yen": 3000,
        "accepted_categories": "全て",
        "required_risks": "緊急連絡先;見守り・安否確認",
        "required_whole_tenancy_risks": "watch_over",
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: list[dict[str, Any]], *, japanese: bool = True, encoding: str = "utf-8"
) -> bytes:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([LABEL[key] if japanese else key for key in keys])
    for row in rows:
        writer.writerow([row.get(key, "") for key in keys])
    return buffer.getvalue().encode(encoding)


def post_import(
    client: TestClient,
    org: OrgFixture,
    body: bytes,
    *,
    content_type: str = "text/csv",
    **params: Any,
) -> Any:
    return client.post(
        "/v1/dwellings/import",
        content=body,
        headers={**org.headers, "Content-Type": content_type},
        params=params,
    )


def by_row(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["row"]: row for row in report["rows"]}


def test_bad_rows_are_reported_with_their_reasons_and_good_rows_kept(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = [
        flat("A-1"),
        flat("A-2", rent_yen="abc"),  # row 3
        flat("A-3", kitchen="maybe"),  # row 4
        flat("A-4", municipality_code=SAKAI_CITY),  # row 5: outside the jurisdiction
        flat("A-1"),  # row 6: the same number twice
        flat("A-5", floor_area_m2="24.99", is_existing_building="いいえ", bath="専用"),  # row 7
        flat("A-6", address=""),  # row 8: required
        flat("A-7", kind="shared_house"),  # row 9: no shared-house details
        flat("A-8", floor_area_m2="17.99", is_existing_building="no"),
    ]
    response = post_import(client, municipality, csv_bytes(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["total_rows"], report["accepted"], report["rejected"]) == (9, 1, 8)
    outcome = by_row(report)
    assert outcome[2]["outcome"] == "accepted"
    assert outcome[2]["outcome_label_ja"] == "新規"
    assert "rent_yen" in outcome[3]["reasons"][0]
    assert "kitchen" in outcome[4]["reasons"][0]
    assert "outside your jurisdiction" in outcome[5]["reasons"][0]
    assert "row 2" in outcome[6]["reasons"][0]
    assert any("area" in reason for reason in outcome[7]["reasons"])
    assert outcome[8]["reasons"] == ["address: required"]
    assert "shared_house" in outcome[9]["reasons"][0]
    assert outcome[10]["outcome"] == "rejected"  # below 18 ㎡ even with shared facilities

    stored = session.scalars(select(Dwelling).where(Dwelling.authority_id == municipality.id)).all()
    assert [d.registration_number for d in stored] == ["A-1"]
    dwelling = stored[0]
    assert dwelling.status == "registered"
    assert dwelling.registered_on is not None
    assert dwelling.rent_yen == 42_000
    assert dwelling.bath == "shared"
    assert dwelling.required_whole_tenancy_risks == ["watch_over"]
    assert dwelling.accepts_all_categories
    # New dwellings are recorded once per import, with their ids; updates row by row.
    batch = session.scalars(
        select(HistoryEntry).where(HistoryEntry.action == "dwellings.imported")
    ).one()
    assert batch.actor_organisation_id == municipality.id
    assert batch.after is not None
    assert batch.after["inserted_dwelling_ids"] == [str(dwelling.id)]
    assert (batch.after["accepted"], batch.after["rejected"]) == (1, 8)


def test_reimport_is_idempotent_and_changes_are_updates_with_history(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    body = csv_bytes([flat("B-1"), flat("B-2")])
    first = post_import(client, municipality, body).json()
    assert (first["accepted"], first["updated"], first["unchanged"]) == (2, 0, 0)
    again = post_import(client, municipality, body).json()
    assert (again["accepted"], again["updated"], again["unchanged"]) == (0, 0, 2)

    changed = post_import(
        client, municipality, csv_bytes([flat("B-1", rent_yen=39000), flat("B-2")])
    ).json()
    assert (changed["accepted"], changed["updated"], changed["unchanged"]) == (0, 1, 1)
    row = by_row(changed)[2]
    assert row["outcome_label_ja"] == "更新"
    dwelling = session.get(Dwelling, row["dwelling_id"])
    assert dwelling is not None
    session.refresh(dwelling)
    assert dwelling.rent_yen == 39_000
    entries = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.entity_id == str(dwelling.id))
        .order_by(HistoryEntry.id)
    ).all()
    assert [entry.action for entry in entries] == ["dwelling.import_updated"]
    assert entries[0].before is not None
    assert entries[0].before["rent_yen"] == 42_000
    assert entries[0].after is not None
    assert entries[0].after["rent_yen"] == 39_000
    assert entries[0].after["location"]["type"] == "Point"
    count = session.scalar(select(func.count()).select_from(Dwelling))
    assert count == 2
    # The import lets the database reuse its plans only while it copies and updates.
    assert session.scalar(text("SHOW plan_cache_mode")) == db.SESSION_SETTINGS["plan_cache_mode"]


def test_corporation_files_applications_and_cannot_touch_anothers(
    client: TestClient,
    municipality: OrgFixture,
    corporation: OrgFixture,
    make_organisation: MakeOrganisation,
    session: Session,
) -> None:
    report = post_import(
        client,
        corporation,
        csv_bytes([flat("C-1"), flat("C-2", floor_area_m2="17", is_existing_building="no")]),
    ).json()
    assert (report["accepted"], report["rejected"]) == (2, 0)
    outcome = by_row(report)
    # An application below the standards is filed, with what it lacks, as the API does.
    assert outcome[2]["reasons"] == []
    assert outcome[3]["reasons"]
    assert "18" in outcome[3]["reasons"][0]
    stored = session.get(Dwelling, outcome[2]["dwelling_id"])
    assert stored is not None
    assert stored.status == "applied"
    assert stored.authority_id == municipality.id
    assert stored.applicant_id == corporation.id

    other = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    taken = post_import(client, other, csv_bytes([flat("C-1", rent_yen=1000)])).json()
    assert taken["rejected"] == 1
    assert "another applicant" in taken["rows"][0]["reasons"][0]


def test_geojson_import_and_export_round_trip(client: TestClient, municipality: OrgFixture) -> None:
    latitude, longitude = OSAKA_STATION
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
            "properties": {
                key: value
                for key, value in flat("G-1", notes="角部屋").items()
                if key not in {"latitude", "longitude"}
            },
        },
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}},
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    report = post_import(client, municipality, body, content_type="application/geo+json").json()
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert "Point" in by_row(report)[2]["reasons"][0]

    exported = client.get(
        "/v1/dwellings/export",
        params={"format": "geojson"},
        headers=municipality.headers,
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/geo+json")
    collection = exported.json()
    assert [f["properties"]["registration_number"] for f in collection["features"]] == ["G-1"]
    assert collection["features"][0]["properties"]["notes"] == "角部屋"
    back = post_import(
        client, municipality, exported.content, content_type="application/geo+json"
    ).json()
    assert (back["unchanged"], back["rejected"]) == (1, 0)


def test_csv_export_opens_in_excel_and_reimports_unchanged(
    client: TestClient, municipality: OrgFixture
) -> None:
    shared = flat(
        "S-1",
        kind="共同居住型",
        floor_area_m2="55",
        kitchen="共用",
        toilet="共用",
        bath="共用",
        shared_capacity=3,
        shared_room_areas_m2="9;9;10",
        shared_toilets=1,
        shared_washbasins=1,
        shared_baths=1,
        shared_living_room="はい",
        shared_dining_room="はい",
        shared_kitchen="はい",
        shared_laundry="はい",
        support_certifying_code=OSAKA_CITY,
        support_daily_safety_check="はい",
        support_monthly_visit="はい",
        support_connections="地域包括支援センター;福祉事務所",
        accepted_categories="高齢者;矯正施設退所者",
    )
    imported = post_import(client, municipality, csv_bytes([flat("E-1"), shared])).json()
    assert imported["accepted"] == 2, imported

    exported = client.get(
        "/v1/dwellings/export", headers={**municipality.headers, "Accept": "text/csv"}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.content.startswith(b"\xef\xbb\xbf")
    text = exported.content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["登録番号", "登録主体", "登録区分"]
    assert "地域包括支援センター;福祉事務所" in text

    back = post_import(client, municipality, exported.content).json()
    assert (back["unchanged"], back["accepted"], back["rejected"]) == (2, 0, 0), back


def test_export_stays_inside_the_jurisdiction(
    client: TestClient,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    center: OrgFixture,
) -> None:
    sakai = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(SAKAI_CITY,))
    post_import(client, municipality, csv_bytes([flat("O-1")]))
    post_import(client, sakai, csv_bytes([flat("K-1", municipality_code=SAKAI_CITY)]))
    osaka_rows = client.get(
        "/v1/dwellings/export", params={"format": "geojson"}, headers=municipality.headers
    ).json()["features"]
    assert [f["properties"]["registration_number"] for f in osaka_rows] == ["O-1"]
    refused = client.get(
        "/v1/dwellings/export",
        params={"municipality_code": SAKAI_CITY},
        headers=municipality.headers,
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/dwellings/export", headers=center.headers).status_code == 403


def test_dry_run_reports_and_writes_nothing(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    report = post_import(
        client, municipality, csv_bytes([flat("D-1"), flat("D-2", rent_yen=-1)]), dry_run="true"
    ).json()
    assert report["dry_run"] is True
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert session.scalar(select(func.count()).select_from(Dwelling)) == 0


def test_a_crash_mid_import_leaves_nothing_written(
    client: TestClient,
    municipality: OrgFixture,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small chunks, each copied on its own (no register read up front, so no open COPY), so
    # the first ones are already in the table when the crash comes.
    monkeypatch.setattr(bulk_service, "CHUNK_ROWS", 2)
    monkeypatch.setattr(bulk_service, "REGISTER_READ_ROWS_PER_ROW", 0)
    real_write = bulk_service._ImportWriter.write
    chunks = 0

    def crash_on_third_chunk(self: Any, chunk: Any) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 3:
            raise RuntimeError("worker killed")
        real_write(self, chunk)

    monkeypatch.setattr(bulk_service._ImportWriter, "write", crash_on_third_chunk)
    response = post_import(client, municipality, csv_bytes([flat(f"X-{i}") for i in range(7)]))
    assert chunks == 3
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "worker killed" not in response.text
    assert session.scalar(select(func.count()).select_from(Dwelling)) == 0


def test_worker_processes_prepare_large_files_with_the_same_result(
    municipality: OrgFixture, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_service, "CHUNK_ROWS", 3)
    rows = [flat(f"P-{i}") for i in range(10)] + [flat("P-bad", rent_yen="x")]
    organisation = session.get(Organisation, municipality.id)
    assert organisation is not None
    total, source = bulk_service.read_source(csv_bytes(rows), filename="big.csv")
    report = bulk_service.import_dwellings(
        session,
        bulk_service.Importer.from_organisation(organisation),
        source,
        total_rows=total,
        workers=2,
    )
    assert (report.accepted, report.rejected) == (10, 1)
    assert [row.row for row in report.rows] == list(range(2, 13))
    assert report.rows[-1].reasons[0].startswith("rent_yen")
    # The workers stay for the next import: starting them costs more than a small file.
    pool = bulk_service._pools[2]
    total, source = bulk_service.read_source(csv_bytes(rows), filename="big.csv")
    again = bulk_service.import_dwellings(
        session,
        bulk_service.Importer.from_organisation(organisation),
        source,
        total_rows=total,
        workers=2,
    )
    assert (again.unchanged, again.rejected) == (10, 1)
    assert bulk_service._pools[2] is pool


def test_small_files_use_running_workers_in_chunks_that_keep_them_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cores = os.cpu_count() or 1
    monkeypatch.setattr(bulk_service, "_pool_running", lambda workers: False)
    assert bulk_service._workers_for(bulk_service.POOL_THRESHOLD_ROWS - 1) == 1
    assert bulk_service._workers_for(bulk_service.POOL_THRESHOLD_ROWS) == cores
    # Workers already running cost nothing to start: a file of a few thousand rows uses them.
    monkeypatch.setattr(bulk_service, "_pool_running", lambda workers: True)
    assert bulk_service._workers_for(bulk_service.POOL_RUNNING_THRESHOLD_ROWS - 1) == 1
    assert bulk_service._workers_for(bulk_service.POOL_RUNNING_THRESHOLD_ROWS) == cores

    assert bulk_service.chunk_rows(100_000, 2) == bulk_service.CHUNK_ROWS
    assert bulk_service.chunk_rows(3_000, 2) == 375  # four chunks per worker
    assert bulk_service.chunk_rows(1_000, 2) == bulk_service.MIN_CHUNK_ROWS
    assert bulk_service.chunk_rows(3_000, 1) == bulk_service.CHUNK_ROWS  # nothing to overlap


def test_a_small_file_streams_unless_the_register_is_much_larger(
    municipality: OrgFixture,
    corporation: OrgFixture,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk_service, "STREAM_THRESHOLD_ROWS", 10**9)
    report = _import(session, municipality.id, csv_bytes([flat(f"R-{i}") for i in range(9)]))
    assert report.accepted == 9
    organisation = session.get(Organisation, municipality.id)
    assert organisation is not None
    importer = bulk_service.Importer.from_organisation(organisation)
    # Four dwellings of the register per row of the file are read whole; more are looked up.
    assert not bulk_service._streams(session, importer, 2)
    assert bulk_service._streams(session, importer, 3)
    corporation_org = session.get(Organisation, corporation.id)
    assert corporation_org is not None
    # A corporation's rows may go to any authority: never one register.
    assert not bulk_service._streams(
        session, bulk_service.Importer.from_organisation(corporation_org), 10**6
    )


def test_fresh_ids_are_distinct_time_ordered_version_7_uuids() -> None:
    before = time.time_ns() // 1_000_000
    ids = list(fresh_ids(5_000))
    time.sleep(0.002)
    later = next(fresh_ids(1))
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(text) for text in ids]
    assert len(set(ids)) == 5_000
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in parsed)
    assert [str(value) for value in parsed] == ids
    # The first 48 bits are the time of the call in Unix milliseconds: ids made later sort
    # after, as the primary key's index stores them.
    assert all(before <= value.int >> 80 <= after for value in parsed)
    assert all(text < later for text in ids)


def test_shift_jis_english_headers_and_file_errors(
    client: TestClient, municipality: OrgFixture
) -> None:
    sjis = csv_bytes([flat("J-1")], japanese=True, encoding="cp932")
    assert post_import(client, municipality, sjis).json()["accepted"] == 1
    english = csv_bytes([flat("J-2")], japanese=False)
    assert post_import(client, municipality, english).json()["accepted"] == 1

    unknown = post_import(client, municipality, "登録番号,好きな色\nZ-1,青\n".encode())
    assert unknown.status_code == 422
    assert "好きな色" in unknown.json()["detail"]
    empty = post_import(client, municipality, b"")
    assert empty.status_code == 422
    not_geojson = post_import(
        client, municipality, b'{"type": "Point"}', content_type="application/geo+json"
    )
    assert not_geojson.status_code == 422


def test_only_municipalities_and_corporations_import(
    client: TestClient, center: OrgFixture
) -> None:
    response = post_import(client, center, csv_bytes([flat("N-1")]))
    assert response.status_code == 403
    columns = client.get("/v1/dwellings/import/columns", headers=center.headers)
    assert columns.status_code == 403


def test_columns_are_documented(client: TestClient, corporation: OrgFixture) -> None:
    columns = client.get("/v1/dwellings/import/columns", headers=corporation.headers).json()
    by_key = {column["key"]: column for column in columns}
    assert by_key["floor_area_m2"] == {
        "key": "floor_area_m2",
        "label_ja": "床面積",
        "required": True,
        "description": by_key["floor_area_m2"]["description"],
    }
    assert by_key["notes"]["required"] is False


@pytest.fixture
def cli_in_test_transaction(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)


@pytest.mark.usefixtures("cli_in_test_transaction")
def test_cli_import_shows_progress_reports_and_exports(
    municipality: OrgFixture, tmp_path: Path
) -> None:
    source = tmp_path / "register.csv"
    source.write_bytes(csv_bytes([flat("L-1"), flat("L-2", toilet="??")]))
    report = tmp_path / "report.csv"
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    assert "accepted 1, updated 0, unchanged 0, rejected 1 of 2 rows" in result.stdout
    assert "row 3: rejected: toilet" in result.stderr
    assert "Checking rows" in result.stderr
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "行,登録番号,結果,住宅ID,理由"
    assert len(lines) == 3

    exported = tmp_path / "out.csv"
    result = runner.invoke(
        cli_app,
        ["export", "dwellings", "--output", str(exported), "--municipality-code", OSAKA_CITY],
    )
    assert result.exit_code == 0, result.output
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "L-1" in exported.read_text(encoding="utf-8-sig")

    unknown = runner.invoke(cli_app, ["import", "dwellings", str(source), "--org", "nobody"])
    assert unknown.exit_code == 1
    assert "nobody" in unknown.stderr
    assert "Traceback" not in unknown.output


@pytest.mark.usefixtures("cli_in_test_transaction")
def test_cli_import_refuses_an_unwritable_report_before_importing(
    session: Session, municipality: OrgFixture, tmp_path: Path
) -> None:
    source = tmp_path / "register.csv"
    source.write_bytes(csv_bytes([flat("R-1")]))
    missing = tmp_path / "no-such-folder" / "report.csv"
    result = CliRunner().invoke(
        cli_app,
        ["import", "dwellings", str(source), "--org", municipality.slug, "--report", str(missing)],
    )
    assert result.exit_code == 2
    # The message sits in a box, wrapped to the terminal's width.
    assert "does not exist" in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.output
    # Refused up front: the import did not land with its report lost.
    assert session.scalar(select(Dwelling).where(Dwelling.registration_number == "R-1")) is None


def _import(
    session: Session, organisation_id: Any, body: bytes, *, workers: int = 1
) -> bulk_service.ImportReport:
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    total, source = bulk_service.read_source(body, filename="register.csv")
    return bulk_service.import_dwellings(
        session,
        bulk_service.Importer.from_organisation(organisation),
        source,
        total_rows=total,
        workers=workers,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["per-chunk", "one-copy"])
def test_stored_rows_are_what_the_single_dwelling_mapping_stores(
    municipality: OrgFixture,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    # Rows go to the database as COPY text rendered by the workers; whatever the characters,
    # what lands must be exactly what mapping.dwelling_values says, on either write path.
    monkeypatch.setattr(bulk_service, "STREAM_THRESHOLD_ROWS", 0 if stream else 10**9)
    monkeypatch.setattr(bulk_service, "REGISTER_READ_ROWS_PER_ROW", 4 if stream else 0)
    monkeypatch.setattr(bulk_service, "CHUNK_ROWS", 2)
    rows = [
        flat("T-1", address="大阪市北区\t梅田 \\1-1", notes='角部屋, "南向き"\n2行目\\N'),
        flat(
            "T-2",
            registration_class="専用住宅",
            exclusive_target_categories="高齢者;矯正施設退所者",
            accepted_categories="高齢者;矯正施設退所者",
            required_risks="",
            required_whole_tenancy_risks="",
        ),
        flat(
            "T-3",
            kind="共同居住型",
            floor_area_m2="55.5",
            kitchen="共用",
            toilet="共用",
            bath="共用",
            shared_capacity=3,
            shared_room_areas_m2="9;9.5;10",
            shared_toilets=1,
            shared_washbasins=1,
            shared_baths=1,
            shared_living_room="はい",
            shared_dining_room="はい",
            shared_kitchen="はい",
            shared_laundry="はい",
            support_certifying_code=OSAKA_CITY,
            support_daily_safety_check="はい",
            support_connections='包括,支援;"福祉"事務所\\;{x}',
        ),
    ]
    body = csv_bytes(rows)
    report = _import(session, municipality.id, body)
    assert (report.accepted, report.rejected) == (3, 0), report.rows
    source = bulk_service.read_source(body, filename="register.csv")[1]
    for row, expected in zip(report.rows, source, strict=True):
        data = bulk_format.parse_row(expected).data
        assert data is not None
        stored = session.get(Dwelling, row.dwelling_id)
        assert stored is not None
        values = dwelling_values(data)
        for column in CONTENT_COLUMNS:
            if column == "location":
                assert geo_point(stored.location) == data.location
            elif column in values:
                assert getattr(stored, column) == values[column], column
        assert stored.applicant_id == municipality.id
        assert stored.status == "registered"

    again = _import(session, municipality.id, body)
    assert (again.accepted, again.unchanged, again.updated) == (0, 3, 0)
    changed = csv_bytes([rows[0], {**rows[1], "rent_yen": 1}, rows[2], rows[2]])
    last = _import(session, municipality.id, changed)
    assert (last.unchanged, last.updated, last.rejected) == (2, 1, 1)
    assert "row 4" in last.rows[-1].reasons[0]


def test_csv_line_breaks_inside_cells_and_bare_carriage_returns(
    municipality: OrgFixture, session: Session
) -> None:
    rows = [flat("R-1", notes="一行目\r\n二行目"), flat("R-2", rent_yen="x"), flat("R-3")]
    crlf = csv_bytes(rows)
    report = _import(session, municipality.id, crlf)
    assert (report.total_rows, report.accepted, report.rejected) == (3, 2, 1)
    assert [row.row for row in report.rows] == [2, 3, 4]
    # Old Mac line breaks: only csv.reader can cut such a file into records.
    bare_cr = csv_bytes([flat("R-4"), flat("R-5", kitchen="?")]).replace(b"\r\n", b"\r")
    report = _import(session, municipality.id, bare_cr, workers=2)
    assert (report.total_rows, report.accepted, report.rejected) == (2, 1, 1)
    assert report.rows[1].reasons[0].startswith("kitchen")


def test_streaming_copies_end_every_batch_and_keep_every_row(
    municipality: OrgFixture, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_service, "STREAM_THRESHOLD_ROWS", 0)
    monkeypatch.setattr(bulk_service, "CHUNK_ROWS", 2)
    monkeypatch.setattr(bulk_service, "COPY_BATCH_ROWS", 3)
    rows = [flat(f"S-{i}") for i in range(9)] + [flat("S-bad", floor_area_m2="10.00")]
    report = _import(session, municipality.id, csv_bytes(rows))
    assert (report.accepted, report.rejected) == (9, 1)
    stored = session.scalars(select(Dwelling.registration_number)).all()
    assert sorted(stored) == sorted(f"S-{i}" for i in range(9))
    again = _import(session, municipality.id, csv_bytes(rows))
    assert (again.accepted, again.unchanged, again.rejected) == (0, 9, 1)


def test_a_crash_while_streaming_leaves_nothing_written(
    municipality: OrgFixture, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_service, "STREAM_THRESHOLD_ROWS", 0)
    monkeypatch.setattr(bulk_service, "CHUNK_ROWS", 2)
    # The first two chunks' COPY has ended before the third chunk crashes.
    monkeypatch.setattr(bulk_service, "COPY_BATCH_ROWS", 3)
    real_write = bulk_service._ImportWriter.write
    chunks = 0

    def crash_on_third_chunk(self: Any, chunk: Any) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 3:
            raise RuntimeError("worker killed")
        real_write(self, chunk)

    monkeypatch.setattr(bulk_service._ImportWriter, "write", crash_on_third_chunk)
    savepoint = session.begin_nested()
    with pytest.raises(RuntimeError, match="worker killed"):
        _import(session, municipality.id, csv_bytes([flat(f"Y-{i}") for i in range(7)]))
    savepoint.rollback()
    assert chunks == 3
    assert session.scalar(select(func.count()).select_from(Dwelling)) == 0
