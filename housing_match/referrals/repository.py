"""All of the referrals' SQL: referrals and their events, holds, the match snapshot, the outbox,
webhook endpoints and deliveries.

Rows that decide a race are read with ``FOR UPDATE`` and ``populate_existing``, so a session
that saw an older version (one session serves a whole CLI job) never acts on stale values.
Locks are always taken vacancy first, then referrals, so two transactions never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
)

from housing_match.matching.repository import MatchCriteria, MatchSql, RankedRow
from housing_match.matching.rules import Factor, HardConstraint
from housing_match.models import (
    Dwelling,
    MatchListing,
    OutboxEvent,
    Referral,
    ReferralEvent,
    Vacancy,
    WebhookDelivery,
    WebhookEndpoint,
)
from housing_match.referrals.vocabulary import ACTIVE_STATES, DeliveryStatus
from housing_match.registry.repository import jurisdiction_condition
from housing_match.repository import RepositoryBase, excluding
from housing_match.vacancies.repository import effective_status

ACTIVE = tuple(state.value for state in ACTIVE_STATES)


@dataclass(frozen=True)
class ReferralFilters:
    center_id: uuid.UUID | None = None
    corporation_id: uuid.UUID | None = None
    states: tuple[str, ...] = ()
    # Stalled: active and unchanged since ``stalled_before``; None: either.
    stalled: bool | None = None
    stalled_before: datetime | None = None
    vacancy_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SummaryCounts:
    by_state: dict[str, int]
    declined_by_reason: dict[str, int]
    withdrawn_by_reason: dict[str, int]
    active_holds: int
    stalled: int


class ReferralRepository(RepositoryBase[Referral]):
    model = Referral

    def database_now(self) -> datetime:
        """The database's clock (the transaction's start), which every hold and stall uses."""
        now: datetime = self.session.execute(select(func.now())).scalar_one()
        return now

    def get_fresh(self, referral_id: uuid.UUID) -> Referral | None:
        return self.session.scalars(
            select(Referral)
            .where(Referral.id == referral_id)
            .execution_options(populate_existing=True)
        ).first()

    def lock(self, referral_id: uuid.UUID) -> Referral | None:
        return self.session.scalars(
            select(Referral)
            .where(Referral.id == referral_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def lock_vacancy(self, vacancy_id: uuid.UUID) -> Vacancy | None:
        """The row every change to a vacancy's holds queues on."""
        return self.session.scalars(
            select(Vacancy)
            .where(Vacancy.id == vacancy_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def holder_of(self, vacancy_id: uuid.UUID, *, lock: bool = False) -> Referral | None:
        """The referral whose hold set the vacancy to held (its hold may have lapsed)."""
        statement = (
            select(Referral)
            .where(Referral.vacancy_id == vacancy_id, Referral.holding)
            .execution_options(populate_existing=True)
        )
        if lock:
            statement = statement.with_for_update()
        return self.session.scalars(statement).first()

    def active_for_person(self, person_id: uuid.UUID, vacancy_id: uuid.UUID) -> Referral | None:
        return self.session.scalars(
            select(Referral).where(
                Referral.person_id == person_id,
                Referral.vacancy_id == vacancy_id,
                Referral.state.in_(ACTIVE),
            )
        ).first()

    def active_of_person(self, person_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(referral, vacancy) of the person's open referrals, by vacancy: the order in which
        a caller locks them, vacancy first, so two such callers never deadlock."""
        rows = self.session.execute(
            select(Referral.id, Referral.vacancy_id)
            .where(Referral.person_id == person_id, Referral.state.in_(ACTIVE))
            .order_by(Referral.vacancy_id, Referral.id)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def lock_other_active(self, vacancy_id: uuid.UUID, exclude: uuid.UUID) -> Sequence[Referral]:
        return self.session.scalars(
            select(Referral)
            .where(
                Referral.vacancy_id == vacancy_id,
                Referral.id != exclude,
                Referral.state.in_(ACTIVE),
            )
            .order_by(Referral.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()

    def vacancy_statuses(self, vacancy_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not vacancy_ids:
            return {}
        rows = self.session.execute(
            select(Vacancy.id, effective_status()).where(Vacancy.id.in_(set(vacancy_ids)))
        ).all()
        return {row[0]: str(row[1]) for row in rows}

    def list(
        self, filters: ReferralFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[Referral]:
        """Newest first; ``after`` is the (requested_at, id) of the previous page's last item."""
        statement = select(Referral).execution_options(populate_existing=True)
        if filters.center_id is not None:
            statement = statement.where(Referral.center_id == filters.center_id)
        if filters.corporation_id is not None:
            statement = statement.where(Referral.corporation_id == filters.corporation_id)
        if filters.states:
            statement = statement.where(Referral.state.in_(filters.states))
        if filters.stalled is not None and filters.stalled_before is not None:
            stalled = and_(
                Referral.state.in_(ACTIVE), Referral.state_changed_at <= filters.stalled_before
            )
            statement = statement.where(stalled if filters.stalled else ~stalled)
        if filters.vacancy_id is not None:
            statement = statement.where(Referral.vacancy_id == filters.vacancy_id)
        if filters.person_id is not None:
            statement = statement.where(Referral.person_id == filters.person_id)
        if after is not None:
            statement = statement.where(
                tuple_(Referral.requested_at, Referral.id) < tuple_(after[0], after[1])
            )
        statement = statement.order_by(Referral.requested_at.desc(), Referral.id.desc())
        return self.session.scalars(statement.limit(limit)).all()

    def lapsed_holders(
        self, now: datetime, *, limit: int, skip: Collection[uuid.UUID] = ()
    ) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
        """(referral, vacancy) of holds past their expiry that still mark a vacancy held,
        except the referrals in ``skip`` (a job's failed items)."""
        rows = self.session.execute(
            select(Referral.id, Referral.vacancy_id)
            .where(Referral.holding, Referral.hold_expires_at <= now, *excluding(Referral.id, skip))
            .order_by(Referral.hold_expires_at, Referral.id)
            .limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def newly_stalled(
        self, stalled_before: datetime, *, limit: int, skip: Collection[uuid.UUID] = ()
    ) -> Sequence[Referral]:
        return self.session.scalars(
            select(Referral)
            .where(
                Referral.state.in_(ACTIVE),
                Referral.state_changed_at <= stalled_before,
                Referral.stalled_flagged_at.is_(None),
                *excluding(Referral.id, skip),
            )
            .order_by(Referral.state_changed_at, Referral.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()

    def summary(
        self, jurisdiction_codes: Sequence[str] | None, *, now: datetime, stalled_before: datetime
    ) -> SummaryCounts:
        """Counts of referrals on homes in the jurisdiction (None: everywhere)."""
        scope: list[ColumnElement[bool]] = []
        if jurisdiction_codes is not None:
            scope.append(jurisdiction_condition(jurisdiction_codes))
        base = select().select_from(Referral).join(Dwelling, Dwelling.id == Referral.dwelling_id)
        grouped = self.session.execute(
            base.add_columns(
                Referral.state, Referral.decline_reason, Referral.withdraw_reason, func.count()
            )
            .where(*scope)
            .group_by(Referral.state, Referral.decline_reason, Referral.withdraw_reason)
        ).all()
        by_state: dict[str, int] = {}
        declined: dict[str, int] = {}
        withdrawn: dict[str, int] = {}
        for state, decline_reason, withdraw_reason, count in grouped:
            by_state[state] = by_state.get(state, 0) + int(count)
            if decline_reason is not None:
                declined[decline_reason] = declined.get(decline_reason, 0) + int(count)
            if withdraw_reason is not None:
                withdrawn[withdraw_reason] = withdrawn.get(withdraw_reason, 0) + int(count)
        active = Referral.state.in_(ACTIVE)
        holds, stalled = self.session.execute(
            base.add_columns(
                func.count().filter(Referral.holding, Referral.hold_expires_at > now),
                func.count().filter(active, Referral.state_changed_at <= stalled_before),
            ).where(*scope)
        ).one()
        return SummaryCounts(
            by_state=by_state,
            declined_by_reason=declined,
            withdrawn_by_reason=withdrawn,
            active_holds=int(holds),
            stalled=int(stalled),
        )


class ReferralEventRepository(RepositoryBase[ReferralEvent]):
    model = ReferralEvent

    def for_referral(self, referral_id: uuid.UUID) -> Sequence[ReferralEvent]:
        return self.session.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(ReferralEvent.id)
        ).all()


# --- the match snapshot ----------------------------------------------------------------------

Listing = MatchListing


@dataclass(frozen=True)
class Evaluation:
    """One home judged against one person's criteria, exactly as the matcher would."""

    row: RankedRow
    failed: tuple[HardConstraint, ...]
    in_search_area: bool


class ReferralMatchRepository(RepositoryBase[MatchListing]):
    """The matcher's own expressions (``MatchSql``) applied to the one home referred."""

    model = MatchListing

    def evaluate(self, criteria: MatchCriteria, vacancy_id: uuid.UUID) -> Evaluation | None:
        """None when the vacancy is not listed (not open, or its dwelling not registered)."""
        sql = MatchSql(criteria)
        checks = {name: func.coalesce(check, false()) for name, check in sql.checks().items()}
        values = sql.factor_values()
        distances = sql.anchor_distances()
        found = self.session.execute(
            select(
                Listing.vacancy_id,
                Listing.dwelling_id,
                Listing.monthly_cost_yen,
                Listing.private_area_m2,
                sql.score(values).label("score"),
                func.coalesce(sql.search_area(relaxed=False), false()).label("in_area"),
                *(check.label(f"ok_{name.value}") for name, check in checks.items()),
                *(value.label(f"v_{factor.value}") for factor, value in values.items()),
                *(distance.label(f"d_{index}") for index, distance in enumerate(distances)),
            ).where(Listing.vacancy_id == vacancy_id)
        ).first()
        if found is None:
            return None
        mapping = found._mapping
        failed = tuple(name for name in checks if not mapping[f"ok_{name.value}"])
        return Evaluation(
            row=RankedRow(
                vacancy_id=mapping["vacancy_id"],
                dwelling_id=mapping["dwelling_id"],
                score=float(mapping["score"]),
                values={factor: float(mapping[f"v_{factor.value}"]) for factor in Factor},
                anchor_distances_m=tuple(
                    float(mapping[f"d_{index}"]) for index in range(len(distances))
                ),
                passes_strict=not failed,
                monthly_cost_yen=int(mapping["monthly_cost_yen"]),
                private_area_m2=Decimal(mapping["private_area_m2"]),
            ),
            failed=failed,
            in_search_area=bool(mapping["in_area"]),
        )

    def rank(self, criteria: MatchCriteria, vacancy_id: uuid.UUID, score: float) -> tuple[int, int]:
        """(rank, candidate count) in the matcher's order: score descending, then vacancy id."""
        sql = MatchSql(criteria)
        scored = sql.score(sql.factor_values())
        better = or_(
            scored > score, and_(scored == score, Listing.vacancy_id < literal(vacancy_id))
        )
        count, ahead = self.session.execute(
            select(func.count(), func.count().filter(better)).where(
                *sql.universe(relaxed=False), sql.admitted()
            )
        ).one()
        return int(ahead) + 1, int(count)


# --- outbox and webhooks -------------------------------------------------------------------


class OutboxRepository(RepositoryBase[OutboxEvent]):
    model = OutboxEvent

    def add_with_deliveries(self, event: OutboxEvent) -> OutboxEvent:
        """The event, and one pending delivery per endpoint its organisation has now."""
        self.add(event)
        self.session.execute(
            insert(WebhookDelivery).from_select(
                ["id", "endpoint_id", "outbox_id", "status", "attempts", "next_attempt_at"],
                select(
                    # Named, or SQLAlchemy fills the column's Python default in once for the
                    # whole SELECT: every endpoint's delivery would get the same id.
                    func.gen_random_uuid(),
                    WebhookEndpoint.id,
                    literal(event.id),
                    literal(DeliveryStatus.PENDING.value),
                    literal(0),
                    func.now(),
                ).where(WebhookEndpoint.organisation_id == event.organisation_id),
            )
        )
        return event

    def undelivered_for_referral(self, referral_id: uuid.UUID) -> Sequence[OutboxEvent]:
        """The referral's events that some endpoint has not received yet (pending, or given
        up on): their payloads may still go out, or be retried by hand."""
        undelivered = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.outbox_id == OutboxEvent.id,
                WebhookDelivery.status != DeliveryStatus.DELIVERED.value,
            )
            .exists()
        )
        return self.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.referral_id == referral_id, undelivered)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .with_for_update()
        ).all()


class WebhookEndpointRepository(RepositoryBase[WebhookEndpoint]):
    model = WebhookEndpoint

    def list_for(self, organisation_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
        return self.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_id == organisation_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        ).all()

    def delete(self, endpoint: WebhookEndpoint) -> None:
        self.session.delete(endpoint)
        self.session.flush()


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    attempt: int
    url: str
    secret: str
    event_id: uuid.UUID
    event_type: str
    event_created_at: datetime
    organisation_id: uuid.UUID
    referral_id: uuid.UUID | None
    payload: dict[str, object]


class WebhookDeliveryRepository(RepositoryBase[WebhookDelivery]):
    model = WebhookDelivery

    def list_for_endpoint(
        self,
        endpoint_id: uuid.UUID,
        *,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[tuple[WebhookDelivery, OutboxEvent]]:
        statement = (
            select(WebhookDelivery, OutboxEvent)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .execution_options(populate_existing=True)
        )
        if status is not None:
            statement = statement.where(WebhookDelivery.status == status)
        if after is not None:
            statement = statement.where(
                tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(after[0], after[1])
            )
        rows = self.session.execute(
            statement.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(
                limit
            )
        ).all()
        return [(row[0], row[1]) for row in rows]

    def claim_due(self, lease: timedelta) -> Claimed | None:
        """The next due delivery, leased to this worker; the caller commits before sending."""
        delivery = self.session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                WebhookDelivery.next_attempt_at <= func.now(),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if delivery is None:
            return None
        row = self.session.execute(
            select(WebhookEndpoint, OutboxEvent, func.now())
            .join(OutboxEvent, OutboxEvent.id == delivery.outbox_id)
            .where(WebhookEndpoint.id == delivery.endpoint_id)
        ).one()
        endpoint, event, now = row[0], row[1], row[2]
        delivery.attempts += 1
        delivery.last_attempt_at = now
        # The lease: if this worker dies mid-call, the delivery becomes due again after it.
        delivery.next_attempt_at = now + lease
        self.session.flush()
        return Claimed(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            url=endpoint.url,
            secret=endpoint.secret,
            event_id=event.id,
            event_type=event.event_type,
            event_created_at=event.created_at,
            organisation_id=event.organisation_id,
            referral_id=event.referral_id,
            payload=dict(event.payload),
        )

    def lock(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return self.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def database_now(self) -> datetime:
        now: datetime = self.session.execute(select(func.now())).scalar_one()
        return now
