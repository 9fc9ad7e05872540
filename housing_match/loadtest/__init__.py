"""A bounded loopback load test (issue 7, item 4): concurrent clients search, match, refer and
answer referrals against a real server for a fixed time, then every write the clients were
told about is reconciled with the database, row by row.

``world`` builds the database, ``housing_match.served`` runs uvicorn, ``traffic`` drives it
and keeps the ledger, ``reconcile`` compares, ``report`` summarises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from housing_match.loadtest.reconcile import reconcile, take_baseline
from housing_match.loadtest.report import LoadReport, build_report, summary
from housing_match.loadtest.traffic import drive
from housing_match.loadtest.world import build_world, drop_database, load_database_url
from housing_match.served import serve

__all__ = ["LoadReport", "drop_database", "load_database_url", "run_loadtest", "summary"]


def run_loadtest(
    database_url: str,
    *,
    seconds: float,
    clients: int,
    dwellings: int,
    persons: int,
    workers: int = 1,
    seed: int = 20261122,
    progress: Callable[[str], None] = lambda _message: None,
) -> LoadReport:
    """Rebuilds ``database_url`` (dropping whatever is there), loads it, serves it, drives it
    for ``seconds`` with ``clients`` concurrent clients and reconciles."""
    began = time.monotonic()
    world = build_world(
        database_url, dwellings=dwellings, persons=persons, seed=seed, progress=progress
    )
    setup = {
        "setup_s": round(time.monotonic() - began, 1),
        "persons": len(world.persons),
        "centers": len(world.centers),
        "live_vacancies": len(world.live_vacancies),
        "postable_dwellings": len(world.postable),
    }
    progress(
        f"{world.database_url.rsplit('/', 1)[-1]}: {len(world.live_vacancies)} live vacancies; "
        f"serving with {workers} uvicorn worker(s)"
    )
    baseline = take_baseline(database_url)
    with serve(database_url, workers=workers) as server:
        progress(f"{clients} clients for {seconds:g} s against {server.base_url}")
        ledger = asyncio.run(drive(world, server.base_url, clients=clients, seconds=seconds,
                                   seed=seed))  # fmt: skip
        failed = any(sample.status is None or sample.status >= 500 for sample in ledger.samples)
        log_tail = server.log_tail() if failed else ""
    progress("reconciling")
    checks = reconcile(database_url, baseline, ledger)
    config = {
        "seconds": seconds,
        "clients": clients,
        "dwellings": dwellings,
        "persons": persons,
        "uvicorn_workers": workers,
        "seed": seed,
        "database": database_url.rsplit("/", 1)[-1],
    }
    return build_report(
        ledger, checks, baseline=baseline, config=config, setup=setup, server_log_tail=log_tail
    )
