"""Benchmark of the bulk import: rows per second for a CSV register of N dwellings.

    .venv/bin/python scripts/bench_import.py --rows 100000 --runs 3

Runs against its own database (``<app database>_bench``, created and migrated here), so the
app's data is never touched. Each run imports the same synthetic register (demo generator:
nine real cities, every class and kind) for a fresh municipality, so every row is an insert and
the table grows run by run, as a real registry would; a final run re-imports the same file to
measure the idempotent path (every row unchanged). Reports the median and every run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from housing_match.auth import CLI_ACTOR
from housing_match.dbadmin import ensure_database, migrate
from housing_match.demo_registry import DEMO_CITIES, _dwelling_input
from housing_match.models import OrganisationKind
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from housing_match.registry import bulk_format, bulk_service
from housing_match.settings import get_settings


def synthetic_csv(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    osaka = DEMO_CITIES[0]
    flat_rows = [
        bulk_format.flat_row(
            _dwelling_input(rng, osaka, number),
            authority_slug=None,
            status="registered",
            registered_on=None,
        )
        for number in range(rows)
    ]
    return bulk_format.csv_document(flat_rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    url = make_url(get_settings().database_url)
    bench_url = url.set(database=f"{url.database}_bench").render_as_string(hide_password=False)
    ensure_database(bench_url)
    migrate(bench_url)
    engine = create_engine(bench_url)
    make_session = sessionmaker(bind=engine, expire_on_commit=False)

    print(f"generating {args.rows:,} rows…", file=sys.stderr)
    raw = synthetic_csv(args.rows)
    print(f"CSV: {len(raw) / 1_048_576:.1f} MiB", file=sys.stderr)

    def run_once(importer: bulk_service.Importer) -> tuple[float, bulk_service.ImportReport]:
        started = time.perf_counter()
        with make_session() as session:
            total, rows = bulk_service.read_source(raw, filename="register.csv")
            report = bulk_service.import_dwellings(session, importer, rows, total_rows=total)
            session.commit()
        return time.perf_counter() - started, report

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
    }
    print(json.dumps(result, indent=2))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
