"""Exports of any size: streamed from a server-side cursor, a chunk of rows at a time, with
no row limit; the same bytes as the whole document, every text cell defused."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from housing_match.registry import bulk_format, bulk_service
from housing_match.registry.repository import DwellingFilters
from tests.conftest import OrgFixture
from tests.registry.test_bulk import csv_bytes, flat, post_import

ROWS = 2_500  # more than a chunk (1,000 rows), fewer than a cursor's batch


def _open_cursors(session: Session) -> int:
    return int(session.scalar(text("SELECT count(*) FROM pg_cursors")) or 0)


def test_a_large_export_streams_from_a_cursor_in_chunks(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = [flat(f"S-{number:05d}") for number in range(ROWS)]
    rows[7] = flat("S-00007", address='=HYPERLINK("https://example.com")')
    assert post_import(client, municipality, csv_bytes(rows)).json()["accepted"] == ROWS
    filters = DwellingFilters(jurisdiction_codes=("271004",))

    before = _open_cursors(session)
    # The API's path: each row's cells formatted in one go, then written as they are.
    chunks = bulk_format.csv_chunks_of_cells(bulk_service.iter_export_csv_rows(session, filters))
    first = next(chunks)
    # The first rows are out while the statement is still being read, from a cursor on the
    # server: neither side holds the whole result.
    assert _open_cursors(session) == before + 1
    assert first.count(b"\r\n") == 1_000 + 1  # the header and one chunk of rows
    rest = list(chunks)
    assert len(rest) == 2  # 1,000 and 500 rows
    streamed = first + b"".join(rest)

    whole, _ = bulk_service.export_rows(session, filters)
    assert streamed == bulk_format.csv_document(whole)
    records = list(csv.reader(io.StringIO(streamed.decode("utf-8-sig"))))
    assert len(records) == ROWS + 1
    addresses = [record[records[0].index("所在地")] for record in records[1:]]
    assert addresses[7] == '\'=HYPERLINK("https://example.com")'


def test_the_api_export_has_no_row_limit_and_matches_the_cli_document(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = [flat(f"T-{number:05d}") for number in range(ROWS)]
    assert post_import(client, municipality, csv_bytes(rows)).json()["accepted"] == ROWS
    exported = client.get("/v1/dwellings/export", headers=municipality.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    filters = DwellingFilters(jurisdiction_codes=("271004",))
    whole, ids = bulk_service.export_rows(session, filters)
    assert exported.content == bulk_format.csv_document(whole)

    geojson = client.get(
        "/v1/dwellings/export", params={"format": "geojson"}, headers=municipality.headers
    )
    assert geojson.json() == bulk_format.geojson_document(whole, ids)
