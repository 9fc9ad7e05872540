"""Benchmark of the bulk import: rows per second for a CSV register of N dwellings.

    .venv/bin/python scripts/bench_import.py --rows 100000 --runs 3

Runs against its own database (``<app database>_bench``, dropped, created and migrated here
at every start, so runs of the script compare), and the app's data is never touched. Each run
imports the same synthetic register (demo generator: nine real cities, every class and kind)
for a fresh municipality, so every row is an insert and the table grows run by run, as a real
registry would; a final run re-imports the same file to measure the idempotent path (every row
unchanged). Reports the median and every run.

The machine is shared, so wall time alone says little: each run also reports the CPU seconds
of each party (this process, the worker processes, the database backend), read from /proc
(Linux, database on this host; null elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from housing_match.auth import CLI_ACTOR
from housing_match.bench.run import recreate_database
from housing_match.db import make_engine
from housing_match.demo_registry import DEMO_CITIES, _dwelling_input
from housing_match.models import OrganisationKind
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from housing_match.registry import bulk_format, bulk_service
from housing_match.settings import get_settings


def synthetic_rows(rows: int, seed: int = 7) -> list[dict[str, Any]]:
    """The flat rows of a synthetic register (demo generator, in 大阪市)."""
    rng = random.Random(seed)
    osaka = DEMO_CITIES[0]
    return [
        bulk_format.flat_row(
            _dwelling_input(rng, osaka, number),
            authority_slug=None,
            status="registered",
            registered_on=None,
        )
        for number in range(rows)
    ]


def synthetic_csv(rows: int, seed: int = 7) -> bytes:
    return bulk_format.csv_document(synthetic_rows(rows, seed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=None, help="preparing processes (default: the import's)"
    )
    args = parser.parse_args()

    url = make_url(get_settings().database_url)
    bench_url = url.set(database=f"{url.database}_bench").render_as_string(hide_password=False)
    recreate_database(bench_url)
    engine = make_engine(bench_url, application_name="hm-bench-import")
    make_session = sessionmaker(bind=engine, expire_on_commit=False)

    print(f"generating {args.rows:,} rows…", file=sys.stderr)
    raw = synthetic_csv(args.rows)
    print(f"CSV: {len(raw) / 1_048_576:.1f} MiB", file=sys.stderr)

    cpu: dict[str, list[float | None]] = {"main": [], "workers": [], "postgres": []}

    def run_once(importer: bulk_service.Importer) -> tuple[float, bulk_service.ImportReport]:
        with make_session() as session:
            backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            before = _cpu_parties(backend)
            started = time.perf_counter()
            total, rows = bulk_service.read_source(raw, filename="register.csv")
            report = bulk_service.import_dwellings(
                session, importer, rows, total_rows=total, workers=args.workers
            )
            session.commit()
            seconds = time.perf_counter() - started
            after = _cpu_parties(backend)
        for party in cpu:
            old, new = before[party], after[party]
            cpu[party].append(None if old is None or new is None else round(new - old, 2))
        return seconds, report

    timings: list[float] = []
    importer: bulk_service.Importer | None = None
    for run in range(args.runs):
        with make_session() as session:
            organisation = create_organisation(
                session,
                CLI_ACTOR,
                OrganisationCreate(
                    kind=OrganisationKind.MUNICIPALITY,
                    slug=f"bench-osaka-{uuid.uuid4().hex[:8]}",
                    name="ベンチマーク大阪市",
                    jurisdiction_codes=["271004"],
                ),
            )
            session.commit()
            importer = bulk_service.Importer.from_organisation(organisation)
        seconds, report = run_once(importer)
        if report.accepted != args.rows:
            print(f"unexpected report: {report.accepted} accepted", file=sys.stderr)
            return 1
        timings.append(seconds)
        print(f"run {run + 1}: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s", file=sys.stderr)
    assert importer is not None  # noqa: S101  # at least one run
    again_seconds, again = run_once(importer)
    median = statistics.median(timings)
    result = {
        "rows": args.rows,
        "runs_s": [round(t, 3) for t in timings],
        "median_s": round(median, 3),
        "median_rows_per_s": round(args.rows / median),
        "reimport_unchanged_s": round(again_seconds, 3),
        "reimport_rows_per_s": round(args.rows / again_seconds),
        "reimport_unchanged_rows": again.unchanged,
        # Import runs only (the re-import is the last entry of each list).
        "cpu_s": cpu,
        "cpu_s_median": {
            party: _median([v for v in values[: args.runs] if v is not None])
            for party, values in cpu.items()
        },
    }
    print(json.dumps(result, indent=2))
    engine.dispose()
    return 0


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int | None, *, children: bool) -> float | None:
    """utime + stime of a process (or of its reaped children) in seconds, from /proc."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    first = 13 if children else 11  # cutime, cstime / utime, stime
    return (int(fields[first]) + int(fields[first + 1])) / _TICKS


def _cpu_parties(backend: int) -> dict[str, float | None]:
    # The import's worker processes live on between imports (bulk_service keeps one pool per
    # process): their CPU time is read from each of them.
    workers = [_proc_cpu(pid, children=False) for pid in bulk_service.worker_pids()]
    return {
        "main": time.process_time(),
        "workers": sum(cpu for cpu in workers if cpu is not None),
        "postgres": _proc_cpu(backend, children=False),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


if __name__ == "__main__":
    raise SystemExit(main())
