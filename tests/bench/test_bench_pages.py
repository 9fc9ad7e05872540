"""``housing-match bench-pages`` end to end at a tiny size, in a throwaway database.

Not a timed test: the figures depend on the machine; this checks that every page of the
center is requested with a signed-in session, answers 200, and is reported with its p50, p95
and target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from housing_match.bench.pages import TARGET_P95_MS, PageSample, pages_database_url, report_of
from housing_match.cli import app
from housing_match.settings import get_settings
from housing_match.testing import database_url_for_tests

PAGES = {
    "home",
    "allocation_picker",
    "allocation",
    "person_new",
    "person",
    "person_edit",
    "candidates",
    "candidates_print",
    "excluded_homes",
    "why_not",
    "referral_preview",
    "referral_timeline",
}


@pytest.fixture
def throwaway_url(request: pytest.FixtureRequest) -> Iterator[str]:
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    base = make_url(database_url_for_tests(worker))
    name = f"{base.database}_bench_pages"
    yield base.set(database=name).render_as_string(hide_password=False)
    maintenance = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    maintenance.dispose()


def test_bench_pages_end_to_end(throwaway_url: str, tmp_path: Path) -> None:
    output = tmp_path / "bench-pages.json"
    result = CliRunner().invoke(
        app,
        [
            "bench-pages", "--dwellings", "150", "--persons", "3", "--rounds", "1",
            "--output", str(output), "--database-url", throwaway_url,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text(encoding="utf-8"))
    assert set(report["pages"]) == PAGES
    assert set(report["targets"]) == PAGES
    # The first person would take almost any home of 大阪市: it has a candidate, a referral,
    # and a home some constraint excluded, so every page is requested at least once.
    for name, page in report["pages"].items():
        assert page["requests"] >= 1, name
        assert 0 < page["p50"] <= page["p95"] <= page["max"], name
        assert page["wall_p50"] >= page["p50"], name
    assert report["pages"]["candidates"]["requests"] == 3
    assert report["candidates_p95_ms"] == report["pages"]["candidates"]["p95"]
    assert report["referrals"] >= 1
    assert report["all_met"] == all(t["met"] for t in report["targets"].values())
    assert report["command"].startswith("housing-match bench-pages --dwellings 150")
    assert "uvicorn" in report["measured"]


def test_the_target_is_the_p95_of_each_page_and_a_page_never_asked_misses_it() -> None:
    fast = PageSample("home", "/", ["/"] * 3, [10.0, 20.0, TARGET_P95_MS], [11.0, 21.0, 301.0])
    slow = PageSample("candidates", "/c", ["/c"] * 2, [100.0, TARGET_P95_MS + 1], [1.0, 1.0])
    never = PageSample("referral_timeline", "/r", [], [], [])
    pages, targets = report_of([fast, slow, never])
    assert targets["home"]["met"] is True
    assert targets["candidates"]["met"] is False
    assert targets["referral_timeline"]["met"] is False
    assert pages["referral_timeline"] == {"route": "/r", "requests": 0}


def test_the_bench_never_drops_the_app_database() -> None:
    assert "bench_pages" in pages_database_url(None)
    with pytest.raises(ValueError, match="bench"):
        pages_database_url(get_settings().database_url)
