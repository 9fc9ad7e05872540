"""The load test, tiny: a few seconds of every kind of request against a throwaway database,
then the reconciliation must pass — and must fail when the books are cooked."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from housing_match.loadtest import LoadReport, drop_database, load_database_url, run_loadtest
from housing_match.loadtest.reconcile import reconcile
from housing_match.loadtest.traffic import HoldConflict, Ledger
from housing_match.testing import database_url_for_tests


@pytest.fixture(scope="module")
def load_url(request: pytest.FixtureRequest) -> Iterator[str]:
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")
    url = load_database_url(database_url_for_tests(worker_id))
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def report(load_url: str) -> LoadReport:
    return run_loadtest(load_url, seconds=5, clients=4, dwellings=200, persons=32, workers=1)


def _failed(url: str, report: LoadReport, ledger: Ledger) -> set[str]:
    assert report.baseline is not None
    return {check.name for check in reconcile(url, report.baseline, ledger) if not check.ok}


def test_a_short_run_reconciles_exactly(report: LoadReport) -> None:
    document = report.as_json()
    assert document["reconciliation"]["passed"], [
        check for check in document["reconciliation"]["checks"] if not check["ok"]
    ]
    assert document["errors"]["server_5xx"] == 0
    assert document["errors"]["transport"] == 0
    assert document["errors"]["unexpected_status"] == 0, document["errors"]["examples"]
    assert report.passed
    # Every kind ran, so every path was reconciled, not just the reads.
    for kind in ("search_dwellings", "search_vacancies", "match", "refer", "refresh"):
        assert document["kinds"][kind]["ok"] > 0, kind
    assert document["kinds"]["refer"]["ok"] > 0
    for kind in ("requests", "rps"):
        assert document[kind] > 0
    assert {"p50_ms", "p95_ms", "p99_ms", "rps"} <= set(document["kinds"]["match"])


def test_a_lost_or_doubled_write_fails_reconciliation(load_url: str, report: LoadReport) -> None:
    assert report.ledger is not None
    assert report.ledger.referrals

    lost = copy.deepcopy(report.ledger)
    lost.referrals.pop(next(iter(lost.referrals)))
    assert "referrals rows = 201 answers" in _failed(load_url, report, lost)

    doubled = copy.deepcopy(report.ledger)
    person = next(iter(doubled.matched))
    doubled.matched[person] += 1
    center = next(iter(doubled.matched_by_center))
    doubled.matched_by_center[center] += 1
    failed = _failed(load_url, report, doubled)
    assert "match_queries rows = 200 matches, per center" in failed
    assert "person_reads[person.matches], per person" in failed

    # One person's read lost and another's doubled: the totals agree, the persons do not.
    swapped = copy.deepcopy(report.ledger)
    first, second = list(swapped.matched)[:2]
    swapped.matched[first] += 1
    swapped.matched[second] -= 1
    assert "person_reads[person.matches], per person" in _failed(load_url, report, swapped)

    refreshed = copy.deepcopy(report.ledger)
    refreshed.refreshed[uuid.uuid4()] += 1
    assert "history[vacancy.refreshed]" in _failed(load_url, report, refreshed)


def test_a_409_without_a_real_hold_fails_reconciliation(load_url: str, report: LoadReport) -> None:
    assert report.ledger is not None
    assert report.ledger.referrals
    referral = next(iter(report.ledger.referrals.values()))
    now = datetime.now(UTC)
    forged = copy.deepcopy(report.ledger)
    forged.conflicts.append(
        HoldConflict(
            vacancy_id=referral.vacancy_id,
            person_id=referral.person_id,
            detail="Another referral holds this vacancy.",
            hold_expires_at=now + timedelta(hours=72, seconds=1),
            answered_at=now,
        )
    )
    assert "every 409 names a real earlier hold on its vacancy" in _failed(load_url, report, forged)
