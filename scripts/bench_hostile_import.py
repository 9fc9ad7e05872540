"""Benchmark of what a hostile import file costs, beside a real register of the same kind.

    .venv/bin/python scripts/bench_hostile_import.py --rows 20000

Posts each file to ``POST /v1/dwellings/import?dry_run=true`` in process (the API's own
parsing, limits, preparing and report), as a municipality, and prints one line per file: its
size, rows, status, the time and this process's CPU (plus the import workers'), per MiB,
and the size of the response. Runs against its own database (``<app database>_hostile``,
dropped, created and migrated here at every start); a dry run writes nothing there.

The point is cost per byte: a hostile file must cost no more per MiB than a real register,
so the body-size limit bounds the work of any request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from housing_match.auth import CLI_ACTOR
from housing_match.bench.run import recreate_database
from housing_match.settings import get_settings

MIB = 1_048_576


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the real registers")
    parser.add_argument("--runs", type=int, default=3, help="runs of each file; the best counts")
    args = parser.parse_args()

    url = make_url(get_settings().database_url)
    hostile_url = url.set(database=f"{url.database}_hostile").render_as_string(hide_password=False)
    recreate_database(hostile_url)
    # The app reads its database from the settings; point them at this benchmark's.
    os.environ["HOUSING_MATCH_DATABASE_URL"] = hostile_url
    get_settings.cache_clear()

    # bench_import.py sits beside this script (on sys.path as the script's folder).
    from bench_import import synthetic_csv, synthetic_rows
    from fastapi.testclient import TestClient

    from housing_match.app import create_app
    from housing_match.db import get_engine
    from housing_match.models import OrganisationKind
    from housing_match.organisations.schemas import OrganisationCreate
    from housing_match.organisations.service import create_api_key, create_organisation
    from housing_match.registry import bulk_service

    with sessionmaker(bind=get_engine())() as session:
        organisation = create_organisation(
            session,
            CLI_ACTOR,
            OrganisationCreate(
                kind=OrganisationKind.MUNICIPALITY,
                slug=f"hostile-osaka-{uuid.uuid4().hex[:8]}",
                name="ベンチマーク大阪市",
                jurisdiction_codes=["271004"],
            ),
        )
        _, key = create_api_key(session, CLI_ACTOR, organisation)
        session.commit()
    headers = {"Authorization": f"Bearer {key}"}

    from housing_match.registry import bulk_format

    flat_rows = synthetic_rows(args.rows)
    files: list[tuple[str, str, Callable[[], bytes]]] = [
        ("real register, CSV", "text/csv", lambda: synthetic_csv(args.rows)),
        (
            "real register, GeoJSON",
            "application/geo+json",
            lambda: json.dumps(
                bulk_format.geojson_document(flat_rows, [str(i) for i in range(len(flat_rows))]),
                ensure_ascii=False,
            ).encode(),
        ),
        (
            "1 MB of empty features {}",
            "application/geo+json",
            lambda: _collection(b"{}", MIB),
        ),
        (
            "1 MB of bare features",
            "application/geo+json",
            lambda: _collection(b'{"type":"Feature"}', MIB),
        ),
        ("1 MB of one-cell CSV rows", "text/csv", lambda: _csv_rows(b"x", MIB)),
        ("1 MB of blank CSV rows", "text/csv", lambda: _csv_rows(b"", MIB)),
        # The worst that the limits let through: rows of the least size allowed.
        (
            "1 MB of 96-byte one-cell CSV rows",
            "text/csv",
            lambda: _csv_rows(b"x" * 94, MIB),
        ),
        (
            "1 MB of 128-byte bare features",
            "application/geo+json",
            lambda: _collection(
                b'{"type":"Feature","properties":{"notes":"' + b"x" * 84 + b'"}}', MIB
            ),
        ),
        (
            "1 MB nested [[[…]]]",
            "application/geo+json",
            lambda: b"[" * (MIB // 2) + b"]" * (MIB // 2),
        ),
        (
            "999 empty features (under every limit)",
            "application/geo+json",
            lambda: _collection(b"{}", 3 * 999),
        ),
    ]
    app = create_app()
    print(
        f"{'file':42} {'MiB':>7} {'status':>6} {'s':>7} {'cpu s':>7} {'s/MiB':>8} "
        f"{'cpu s/MiB':>9} {'response':>10}"
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        for name, media_type, make in files:
            body = make()
            best: tuple[float, float, int, int] | None = None
            for _ in range(args.runs):
                workers_before = _workers_cpu(bulk_service.worker_pids())
                cpu_before = time.process_time()
                started = time.perf_counter()
                response = client.post(
                    "/v1/dwellings/import",
                    content=body,
                    params={"dry_run": "true"},
                    headers={**headers, "Content-Type": media_type},
                )
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_before
                cpu += _workers_cpu(bulk_service.worker_pids()) - workers_before
                if best is None or seconds < best[0]:
                    best = (seconds, cpu, response.status_code, len(response.content))
            assert best is not None  # noqa: S101  # at least one run
            seconds, cpu, status, response_bytes = best
            mib = len(body) / MIB
            print(
                f"{name:42} {mib:7.2f} {status:6d} {seconds:7.3f} {cpu:7.3f} "
                f"{seconds / mib:8.3f} {cpu / mib:9.3f} {response_bytes:10,d}"
            )
    get_engine().dispose()
    return 0


def _collection(feature: bytes, size: int) -> bytes:
    head = b'{"type":"FeatureCollection","features":['
    count = max((size - len(head) - 2) // (len(feature) + 1), 1)
    return head + b",".join([feature] * count) + b"]}"


def _csv_rows(cells: bytes, size: int) -> bytes:
    from housing_match.registry.bulk_format import COLUMNS

    header = (",".join(column.label_ja for column in COLUMNS) + "\r\n").encode()
    count = max((size - len(header)) // (len(cells) + 2), 1)
    return header + (cells + b"\r\n") * count


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _workers_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


if __name__ == "__main__":
    sys.exit(main())
