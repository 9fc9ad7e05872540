"""``housing-match bench`` end to end at a tiny size, in a throwaway database.

Not a timed test: the figures depend on the machine; this checks the bench runs every phase
and reports every key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from housing_match.bench import measure
from housing_match.bench.jobs import REPORTS, report_key
from housing_match.bench.run import bench_database_url, check_targets
from housing_match.bench.synthetic import CITIES, city_counts
from housing_match.cli import app
from housing_match.jurisdiction import jurisdiction_code_error
from housing_match.settings import get_settings
from housing_match.testing import database_url_for_tests

REPORT_KEYS = {
    "dwellings",
    "import_rows_per_s",
    "match_p50_ms",
    "match_p95_ms",
    "match_p99_ms",
    "match_floor_p50_ms",
    "allocation_s",
    "match_rps",
    "machine",
    "date",
    "command",
    "targets",
    "search_p50_ms",
    "search_p95_ms",
    "rent_balance_check_p95_ms",
    "export_tokyo_s",
    "export_rows_per_s",
    *(
        f"audit_{report_key(report)}{scope}_{figure}"
        for report in REPORTS
        for scope in ("", "_country")
        for figure in ("s", "pass_ratio")
    ),
}


@pytest.fixture
def throwaway_url(request: pytest.FixtureRequest) -> Iterator[str]:
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    base = make_url(database_url_for_tests(worker))
    url = base.set(database=f"{base.database}_bench").render_as_string(hide_password=False)
    yield url
    maintenance = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{base.database}_bench" WITH (FORCE)'))
    maintenance.dispose()


def test_cities_have_real_codes_and_shares_sum_exactly() -> None:
    assert len(CITIES) >= 50
    assert all(jurisdiction_code_error(city.code) is None for city in CITIES)
    assert len({city.code for city in CITIES}) == len(CITIES)
    counts = city_counts(1_000_000)
    assert sum(counts.values()) == 1_000_000
    assert counts["141003"] > counts["252018"]  # 横浜市 far above 大津市


def test_never_the_app_database_nor_one_not_named_for_a_bench() -> None:
    app_url = make_url(get_settings().database_url)
    # However the server is spelt, the app's database is refused by its name.
    elsewhere = app_url.set(host="localhost", port=None).render_as_string(hide_password=False)
    for url in (get_settings().database_url, elsewhere, "postgresql+psycopg://h/registry"):
        with pytest.raises(ValueError, match="contains 'bench'"):
            bench_database_url(url)
    assert bench_database_url(None).endswith("_bench_national")
    assert bench_database_url("postgresql+psycopg://h/hm_bench").endswith("/hm_bench")


def test_percentiles_are_nearest_rank() -> None:
    hundred = [float(i) for i in range(1, 101)]
    assert measure.percentile(hundred, 0.95) == 95.0
    assert measure.percentile(hundred, 0.99) == 99.0
    assert measure.percentile([float(i) for i in range(1, 21)], 0.95) == 19.0
    assert measure.percentile([float(i) for i in range(1, 301)], 0.95) == 285.0
    assert measure.percentile([7.0], 0.99) == 7.0


def test_bench_end_to_end(throwaway_url: str, tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        [
            "bench", "--dwellings", "300", "--output", str(output),
            "--database-url", throwaway_url, "--persons", "5", "--allocation-persons", "5",
            "--rps-seconds", "1", "--concurrency", "4", "--server-workers", "1",
            "--search-requests", "10",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text(encoding="utf-8"))
    assert set(report) >= REPORT_KEYS
    assert report["dwellings"] == 300
    details = report["details"]
    assert details["import"]["accepted"] == 300
    assert details["import"]["rejected"] == 0
    assert details["open_vacancies"] == details["match_listings"] > 0
    assert details["match"]["persons"] == 5
    assert details["allocation"]["persons"] == 5
    assert details["http"]["errors"] == 0
    assert report["match_rps"] > 0
    # Times the server reported for itself, and a floor. Which of the two is faster is the
    # bench's finding, not the test's: at this size and on a busy machine either can win.
    assert report["match_floor_p50_ms"] > 0
    assert 0 < report["match_p50_ms"] <= report["match_p99_ms"]
    assert details["allocation"]["assigned"] >= 0
    assert report["allocation_s"] > 0
    assert report["machine"]["cpu_count"] >= 1
    assert report["command"].startswith("housing-match bench --dwellings 300")
    # Every user's job answered at this size: a figure for each, and a target checked for each.
    jobs = {key for key in REPORT_KEYS if key.startswith(("search_", "audit_", "rent_", "export"))}
    assert all(report[key] is not None for key in jobs), {key: report[key] for key in jobs}
    assert set(report["targets"]) >= jobs - {"search_p50_ms", "export_rows_per_s"}
    assert details["jobs"]["search"]["requests"] == 10
    tokyo_rows = details["jobs"]["audits"]["registrations"]["tokyo"]["pass_rows"]
    assert 0 < tokyo_rows < details["jobs"]["audits"]["registrations"]["country"]["pass_rows"]
    assert details["jobs"]["export"]["rows"] == tokyo_rows

    # Again on the same database, the registry kept: nothing imported, everything else timed.
    again = CliRunner().invoke(
        app,
        [
            "bench", "--dwellings", "300", "--output", str(output), "--reuse",
            "--database-url", throwaway_url, "--persons", "5", "--allocation-persons", "5",
            "--rps-seconds", "1", "--concurrency", "4", "--server-workers", "1",
            "--search-requests", "10",
        ],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    reused = json.loads(output.read_text(encoding="utf-8"))
    assert "reused" in reused["details"]["import"]
    assert reused["import_rows_per_s"] is None
    assert reused["details"]["jobs"]["export"]["rows"] == tokyo_rows
    assert reused["search_p95_ms"] is not None


def test_the_load_client_opens_a_closed_keep_alive_connection_again() -> None:
    answered = 0

    async def answer_once_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        answered += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # as a server's idle timeout or a restarted worker does

    async def scenario() -> tuple[list[int], int]:
        server = await asyncio.start_server(answer_once_then_close, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = measure._KeepAliveClient("127.0.0.1", port, "key")
        try:
            statuses = [await client.get("/a"), await client.get("/b"), await client.get("/c")]
        finally:
            client.close()
            server.close()
            await server.wait_closed()
        return statuses, client.reconnects

    statuses, reconnects = asyncio.run(scenario())
    assert statuses == [200, 200, 200]
    assert (answered, reconnects) == (3, 2)


def test_the_load_client_raises_when_a_fresh_connection_fails() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = measure._KeepAliveClient("127.0.0.1", port, "key")
        try:
            await client.get("/a")
        finally:
            client.close()
            server.close()
            await server.wait_closed()

    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--output", "{tmp}/no-such-folder/bench.json"], "does not exist"),
        (["--output", "{tmp}"], "is a directory"),
        (["--dwellings", "0"], "--dwellings"),
        (["--persons", "0"], "--persons"),
        (["--rps-seconds", "0"], "--rps-seconds"),
    ],
)
def test_bench_refuses_bad_options_before_it_starts(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    # Refused at once (exit 2, a usage error), not after minutes of work: the database URL
    # points nowhere, so anything that reached it would fail differently.
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--database-url",
            "postgresql+psycopg://nobody@127.0.0.1:1/never",
            *(argument.format(tmp=tmp_path) for argument in arguments),
        ],
    )
    assert result.exit_code == 2, result.output
    # The message sits in a box, wrapped to the terminal's width.
    assert message in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output


def test_throughput_with_errors_or_a_failed_phase_is_not_a_met_target() -> None:
    figures: dict[str, object] = {
        "import_rows_per_s": 25_000,
        "match_p50_ms": 8.0,
        "match_p95_ms": 20.0,
        "allocation_s": 1.5,
        "match_rps": 150.0,
        "search_p95_ms": 20.0,
        "rent_balance_check_p95_ms": 50.0,
        "export_tokyo_s": 5.0,
    }
    for report in REPORTS:
        name = report_key(report)
        figures |= {
            f"audit_{name}_s": 2.0,
            f"audit_{name}_country_s": 10.0,
            f"audit_{name}_pass_ratio": 10.0,
            f"audit_{name}_country_pass_ratio": 10.0,
        }
    clean = check_targets(figures | {"details": {"http": {"errors": 0}}})
    assert set(clean) == set(figures)
    assert all(target["met"] for target in clean.values())
    # Just past a limit, or a phase that missed its deadline (no figure), is not met.
    slow = check_targets(
        figures
        | {"audit_registrations_s": 2.01, "search_p95_ms": None}
        | {"details": {"http": {"errors": 0}}}
    )
    assert [key for key, target in slow.items() if not target["met"]] == [
        "search_p95_ms",
        "audit_registrations_s",
    ]
    with_errors = check_targets(figures | {"details": {"http": {"errors": 1}}})
    assert not with_errors["match_rps"]["met"]
    failed = check_targets(figures | {"match_rps": None, "details": {"http": {"failed": "x"}}})
    assert not failed["match_rps"]["met"]
