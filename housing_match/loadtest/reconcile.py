"""After the run: what the clients were told was written must be exactly what the database
holds — every row of every kind, per entity, not only in total. A lost commit, a doubled
event, a hold without its history row or a 409 without a real hold behind it all fail here."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, func, select

from housing_match.loadtest.traffic import Kind, Ledger
from housing_match.models import (
    HistoryEntry,
    MatchQuery,
    OutboxEvent,
    PersonReadLogEntry,
    Referral,
    ReferralEvent,
    Vacancy,
)
from housing_match.settings import get_settings

ACTIVE = ("requested", "accepted")
TRANSITION_EVENT = {"accepted": Kind.ACCEPT, "declined": Kind.DECLINE, "withdrawn": Kind.WITHDRAW}


@dataclass(frozen=True)
class Baseline:
    """Where each append-only table stood before the first request."""

    history_id: int
    referral_event_id: int
    person_read_id: int
    match_query_id: int
    outbox_ids: frozenset[uuid.UUID]
    referral_ids: frozenset[uuid.UUID]
    vacancy_ids: frozenset[uuid.UUID]


@dataclass(frozen=True)
class Check:
    name: str
    expected: Any
    actual: Any
    ok: bool
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected,
            "actual": self.actual,
            "ok": self.ok,
            "detail": self.detail,
        }


def _max_id(engine: Engine, column: Any) -> int:
    with engine.connect() as connection:
        value = connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one()
    return int(value)


def take_baseline(database_url: str) -> Baseline:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            outbox = frozenset(connection.execute(select(OutboxEvent.id)).scalars())
            referrals = frozenset(connection.execute(select(Referral.id)).scalars())
            vacancies = frozenset(connection.execute(select(Vacancy.id)).scalars())
        return Baseline(
            history_id=_max_id(engine, HistoryEntry.id),
            referral_event_id=_max_id(engine, ReferralEvent.id),
            person_read_id=_max_id(engine, PersonReadLogEntry.id),
            match_query_id=_max_id(engine, MatchQuery.id),
            outbox_ids=outbox,
            referral_ids=referrals,
            vacancy_ids=vacancies,
        )
    finally:
        engine.dispose()


def _counter_check(name: str, expected: Counter[Any], actual: Counter[Any]) -> Check:
    """Equal per key; the figures shown are the totals, the detail what differs."""
    differing = sorted(
        (str(key), expected.get(key, 0), actual.get(key, 0))
        for key in set(expected) | set(actual)
        if expected.get(key, 0) != actual.get(key, 0)
    )
    detail = "; ".join(f"{key}: expected {e}, found {a}" for key, e, a in differing[:5])
    if len(differing) > 5:
        detail += f"; … {len(differing) - 5} more"
    return Check(name, sum(expected.values()), sum(actual.values()), not differing, detail)


def _by_label(counter: Counter[tuple[str, str]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for (label, _entity), count in counter.items():
        totals[label] += count
    return totals


def reconcile(database_url: str, baseline: Baseline, ledger: Ledger) -> list[Check]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            referrals = {
                row.id: row
                for row in connection.execute(
                    select(Referral.id, Referral.vacancy_id, Referral.state, Referral.holding)
                )
                if row.id not in baseline.referral_ids
            }
            events = connection.execute(
                select(
                    ReferralEvent.referral_id,
                    ReferralEvent.kind,
                    ReferralEvent.occurred_at,
                    Referral.vacancy_id,
                )
                .join(Referral, Referral.id == ReferralEvent.referral_id)
                .where(ReferralEvent.id > baseline.referral_event_id)
                .order_by(ReferralEvent.id)
            ).all()
            outbox = [
                row
                for row in connection.execute(select(OutboxEvent.id, OutboxEvent.referral_id,
                                                     OutboxEvent.event_type))
                if row.id not in baseline.outbox_ids
            ]  # fmt: skip
            history = connection.execute(
                select(HistoryEntry.action, HistoryEntry.entity_id).where(
                    HistoryEntry.id > baseline.history_id
                )
            ).all()
            reads = connection.execute(
                select(PersonReadLogEntry.purpose, PersonReadLogEntry.person_id, func.count())
                .where(PersonReadLogEntry.id > baseline.person_read_id)
                .group_by(PersonReadLogEntry.purpose, PersonReadLogEntry.person_id)
            ).all()
            match_queries = connection.execute(
                select(MatchQuery.center_id, func.count())
                .where(MatchQuery.id > baseline.match_query_id)
                .group_by(MatchQuery.center_id)
            ).all()
            vacancies = connection.execute(select(Vacancy.id, Vacancy.status)).all()
    finally:
        engine.dispose()

    checks: list[Check] = []
    tracked = ledger.referrals
    transitions = {kind: ledger.successes(kind) for kind in (Kind.ACCEPT, Kind.DECLINE,
                                                              Kind.WITHDRAW)}  # fmt: skip
    created = ledger.successes(Kind.REFER)

    # Referrals: the same rows, in the state the last answer gave, holding exactly when open.
    missing = set(tracked) - set(referrals)
    extra = set(referrals) - set(tracked)
    checks.append(
        Check(
            "referrals rows = 201 answers",
            created,
            len(referrals),
            not missing and not extra and created == len(tracked),
            f"{len(missing)} answered but absent, {len(extra)} present but never answered"
            if missing or extra
            else "",
        )
    )
    wrong_state = [
        rid
        for rid, row in referrals.items()
        if rid in tracked
        and (row.state != tracked[rid].state or row.holding != (row.state in ACTIVE))
    ]
    checks.append(
        Check(
            "referral states = last answers; holding iff open",
            len(tracked),
            len(tracked) - len(wrong_state),
            not wrong_state,
            ", ".join(str(rid) for rid in wrong_state[:3]),
        )
    )

    # Timelines: each referral's events, in order, are exactly the answers its client got.
    timelines: dict[uuid.UUID, list[str]] = {}
    for row in events:
        timelines.setdefault(row.referral_id, []).append(row.kind)
    off = [rid for rid, ref in tracked.items() if timelines.get(rid, []) != ref.events]
    off += [rid for rid in timelines if rid not in tracked]
    checks.append(
        Check(
            "referral timelines = answers, in order",
            len(tracked),
            len(tracked) - len(off),
            not off,
            ", ".join(str(rid) for rid in off[:3]),
        )
    )
    event_kinds = Counter(row.kind for row in events)
    expected_kinds = Counter(
        {"created": created}
        | {state: transitions[kind] for state, kind in TRANSITION_EVENT.items()}
    )
    for kind in sorted(set(event_kinds) | set(expected_kinds)):
        checks.append(
            Check(
                f"referral_events[{kind}]",
                expected_kinds.get(kind, 0),
                event_kinds.get(kind, 0),
                expected_kinds.get(kind, 0) == event_kinds.get(kind, 0),
            )
        )

    # Outbox: one event per change, for that referral, of the right type.
    expected_outbox: Counter[tuple[str, str]] = Counter()
    for ref in tracked.values():
        expected_outbox[("referral.created", str(ref.id))] += 1
        expected_outbox[("referral.state_changed", str(ref.id))] += len(ref.events) - 1
    actual_outbox = Counter((row.event_type, str(row.referral_id)) for row in outbox)
    for label in sorted(set(_by_label(expected_outbox)) | set(_by_label(actual_outbox))):
        checks.append(
            _counter_check(
                f"outbox[{label}]",
                Counter({k: v for k, v in expected_outbox.items() if k[0] == label and v}),
                Counter({k: v for k, v in actual_outbox.items() if k[0] == label}),
            )
        )

    # History: per action and per entity.
    expected_history: Counter[tuple[str, str]] = Counter()
    for ref in tracked.values():
        expected_history[("referral.created", str(ref.id))] += 1
        expected_history[("vacancy.held", str(ref.vacancy_id))] += 1
        for event in ref.events[1:]:
            expected_history[(f"referral.{event}", str(ref.id))] += 1
            if event in ("declined", "withdrawn"):
                expected_history[("vacancy.reopened", str(ref.vacancy_id))] += 1
    for vacancy, count in ledger.refreshed.items():
        expected_history[("vacancy.refreshed", str(vacancy))] += count
    for vacancy in ledger.posted:
        expected_history[("vacancy.posted", str(vacancy))] += 1
    actual_history = Counter((row.action, row.entity_id) for row in history)
    for label in sorted(set(_by_label(expected_history)) | set(_by_label(actual_history))):
        checks.append(
            _counter_check(
                f"history[{label}]",
                Counter({k: v for k, v in expected_history.items() if k[0] == label}),
                Counter({k: v for k, v in actual_history.items() if k[0] == label}),
            )
        )

    # The matcher's logs: one query row (for the center) and one read (of the person) per
    # answered match; a referral's creation and each of its transitions read the person once.
    checks.append(
        _counter_check(
            "match_queries rows = 200 matches, per center",
            Counter(ledger.matched_by_center),
            Counter({center: int(count) for center, count in match_queries}),
        )
    )
    expected_reads: Counter[tuple[str, uuid.UUID]] = Counter()
    for person, count in ledger.matched.items():
        expected_reads[("person.matches", person)] += count
    for ref in tracked.values():
        expected_reads[("referral.create", ref.person_id)] += 1
        expected_reads[("referral.update", ref.person_id)] += len(ref.events) - 1
    actual_reads = Counter({(str(purpose), person): int(count) for purpose, person, count in reads})
    purposes = {purpose for purpose, _ in expected_reads} | {purpose for purpose, _ in actual_reads}
    for purpose in sorted(purposes):
        checks.append(
            _counter_check(
                f"person_reads[{purpose}], per person",
                Counter({k: v for k, v in expected_reads.items() if k[0] == purpose and v}),
                Counter({k: v for k, v in actual_reads.items() if k[0] == purpose}),
            )
        )

    # Vacancies: the posted ones exist, and a vacancy is held exactly when a referral holds it.
    new_vacancies = {row.id for row in vacancies} - baseline.vacancy_ids
    checks.append(
        Check(
            "vacancies rows = 201 posts",
            len(ledger.posted),
            len(new_vacancies),
            new_vacancies == set(ledger.posted),
        )
    )
    holders = Counter(row.vacancy_id for row in referrals.values() if row.holding)
    inconsistent = [
        row.id for row in vacancies if (row.status == "held") != (holders.get(row.id, 0) == 1)
    ] + [vid for vid, count in holders.items() if count > 1]
    checks.append(
        Check(
            "held vacancies = vacancies with one holding referral",
            0,
            len(inconsistent),
            not inconsistent,
            ", ".join(str(vid) for vid in inconsistent[:3]),
        )
    )

    checks.append(_conflicts_check(ledger, events))
    return checks


def _conflicts_check(ledger: Ledger, events: Any) -> Check:
    """Every 409 on a referral named a hold some referral on that vacancy really took before
    the 409 was answered: its hold_expires_at is exactly that taking's time plus the hold."""
    hold = timedelta(hours=get_settings().referral_hold_hours)
    takings: dict[tuple[uuid.UUID, datetime], datetime] = {}
    for row in events:
        if row.kind in ("created", "accepted"):
            takings[(row.vacancy_id, row.occurred_at + hold)] = row.occurred_at
    unexplained = 0
    for conflict in ledger.conflicts:
        taken = (
            None
            if conflict.hold_expires_at is None
            else takings.get((conflict.vacancy_id, conflict.hold_expires_at))
        )
        if taken is None or taken > conflict.answered_at:
            unexplained += 1
    return Check(
        "every 409 names a real earlier hold on its vacancy",
        len(ledger.conflicts),
        len(ledger.conflicts) - unexplained,
        unexplained == 0,
        f"{unexplained} without a matching hold" if unexplained else "",
    )
