"""Imports whose cost is out of proportion to their size are refused before any row is
prepared: too many rows or features for one request, near-empty rows by the thousand, JSON
nested deeper than a register ever is. Each refusal is a 4xx problem+json that says why.

The figures of what such files cost are measured by scripts/bench_hostile_import.py, not here:
this machine is shared, and a timed test would fail at random. These tests check instead that
the refusal comes before the per-row work (which is what made such files expensive).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from housing_match.registry import bulk_endpoints, bulk_format, bulk_service
from housing_match.settings import get_settings
from tests.conftest import OrgFixture
from tests.registry.factories import OSAKA_STATION
from tests.registry.test_bulk import LABEL, csv_bytes, flat, post_import

MIB = 1_048_576
GEOJSON = "application/geo+json"


@pytest.fixture
def no_row_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if the import gets as far as preparing rows."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file reached the per-row import")

    monkeypatch.setattr(bulk_service, "import_dwellings", refuse)


@pytest.fixture
def max_rows(monkeypatch: pytest.MonkeyPatch) -> int:
    limited = get_settings().model_copy(update={"import_max_rows": 3})
    monkeypatch.setattr(bulk_endpoints, "get_settings", lambda: limited)
    return 3


def collection(features: list[bytes]) -> bytes:
    return b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]}"


def assert_problem(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


@pytest.mark.usefixtures("no_row_work")
def test_a_megabyte_of_empty_features_is_refused_before_any_row_is_prepared(
    client: TestClient, municipality: OrgFixture
) -> None:
    # The probe's file: 1 MB holding about 300,000 empty features.
    body = collection([b"{}"] * (MIB // 3))
    assert len(body) >= MIB - 16
    response = post_import(client, municipality, body, content_type=GEOJSON)
    assert_problem(response, 413, "at most 100,000 rows (or features) per request")


@pytest.mark.usefixtures("no_row_work")
def test_too_many_csv_records_are_refused_with_the_limit(
    client: TestClient, municipality: OrgFixture, max_rows: int
) -> None:
    body = csv_bytes([flat(f"L-{number}") for number in range(max_rows + 1)])
    response = post_import(client, municipality, body)
    assert_problem(response, 413, "at most 3 rows", "CLI")
    # Blank records count: a file of line breaks is no cheaper to read.
    header = ",".join(LABEL[key] for key in flat("x")).encode()
    blank = post_import(client, municipality, header + b"\r\n" * 5_000_000)
    assert_problem(blank, 413, "at most 3 rows")


def test_a_file_within_the_limit_is_imported(
    client: TestClient, municipality: OrgFixture, max_rows: int
) -> None:
    body = csv_bytes([flat(f"L-{number}") for number in range(max_rows)])
    report = post_import(client, municipality, body).json()
    assert report["accepted"] == max_rows, report


@pytest.mark.usefixtures("no_row_work")
def test_too_many_features_or_json_values_are_refused(
    client: TestClient, municipality: OrgFixture, max_rows: int
) -> None:
    feature = b'{"type":"Feature","properties":{"notes":"' + b"x" * 40 + b'"}}'
    response = post_import(
        client, municipality, collection([feature] * (max_rows + 1)), content_type=GEOJSON
    )
    assert_problem(response, 413, "holds 4 rows", "at most 3")
    # Arrays by the million are refused before the parser builds them.
    arrays = post_import(client, municipality, collection([b"[]"] * 200_000), content_type=GEOJSON)
    assert_problem(arrays, 413, "JSON objects and arrays")


@pytest.mark.usefixtures("no_row_work")
def test_near_empty_rows_by_the_thousand_are_refused(
    client: TestClient, municipality: OrgFixture
) -> None:
    header = ",".join(LABEL[key] for key in flat("x")).encode()
    response = post_import(client, municipality, header + b"\r\nx" * 5_000)
    assert_problem(response, 422, "5,000 rows", "at least 96 bytes a row")
    bare = collection([b'{"type":"Feature","properties":{"notes":"' + b"x" * 60 + b'"}}'] * 5_000)
    response = post_import(client, municipality, bare, content_type=GEOJSON)
    assert_problem(response, 422, "5,000 rows", "at least 128 bytes a row")


def test_a_few_near_empty_rows_are_reported_row_by_row(
    client: TestClient, municipality: OrgFixture
) -> None:
    report = post_import(
        client,
        municipality,
        collection([b"{}", b"[]", b'{"type":"Feature"}']),
        content_type=GEOJSON,
    ).json()
    assert report["rejected"] == 3
    reasons = [row["reasons"] for row in report["rows"]]
    # One reason each: a row that is not a feature is not also missing its fourteen columns.
    assert reasons[0] == reasons[1] == ["not a GeoJSON Feature"]
    assert len(reasons[2]) == 1
    assert reasons[2][0].endswith(": required")
    assert "registration_number" in reasons[2][0]


@pytest.mark.usefixtures("no_row_work")
@pytest.mark.parametrize("depth", [17, 1_000, 500_000])
def test_deeply_nested_json_is_a_422_not_a_500(
    client: TestClient, municipality: OrgFixture, depth: int
) -> None:
    nested = b"[" * depth + b"]" * depth
    response = post_import(client, municipality, nested, content_type=GEOJSON)
    assert_problem(response, 422, "nested", f"at most {bulk_format.MAX_JSON_DEPTH} levels")
    # Inside a feature's properties, behind a string of brackets and escaped quotes.
    latitude, longitude = OSAKA_STATION
    properties = {
        key: value for key, value in flat("N-1").items() if key not in {"latitude", "longitude"}
    }
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": {**properties, "notes": "PLACEHOLDER"},
    }
    text = json.dumps({"type": "FeatureCollection", "features": [feature]})
    tricky = json.dumps(']]]}}}\\"[[')
    deep = text.replace('"PLACEHOLDER"', "[" * depth + tricky + "]" * depth)
    response = post_import(client, municipality, deep.encode(), content_type=GEOJSON)
    assert_problem(response, 422, "nested")


def test_nesting_a_register_needs_is_accepted(client: TestClient, municipality: OrgFixture) -> None:
    latitude, longitude = OSAKA_STATION
    properties = {
        key: value for key, value in flat("N-2").items() if key not in {"latitude", "longitude"}
    }
    properties["required_risks"] = ["emergency_contact", "watch_over"]  # a list: level five
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": properties,
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    report = post_import(client, municipality, body, content_type=GEOJSON).json()
    assert report["accepted"] == 1, report
