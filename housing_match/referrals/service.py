"""Referrals (入居相談): who may do what, holds, transitions, stalls, and what each side sees.

Holds. A requested or accepted referral holds its vacancy for ``referral_hold_hours``: the
vacancy is ``held`` meanwhile, so neither the matcher (its listings are open vacancies only)
nor a vacancy search offers it to anyone else. Every change to a vacancy's hold first locks the
vacancy row (``SELECT … FOR UPDATE``), so concurrent requests queue and each sees the one
before; behind that, a partial unique index lets at most one referral per vacancy hold it, so
even a path that forgot the lock could not double-book. Accepting renews the hold. A hold past
its expiry is gone for every reader at once; the ``referrals expire-holds`` job (or the next
request on that vacancy) releases it and reopens the vacancy. The referral itself stays open:
the corporation may still answer, and accepting takes the hold again if nobody else has it.

Visibility. The center that made a referral and the corporation that posted the vacancy see
it; anybody else gets 404. Municipalities and admins see counts only. Every response carrying
a person's data is logged in ``person_reads``, as the matcher logs its own reads. The history
records states and reasons, never person data: admins read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal
from housing_match.errors import BadRequest, Conflict, NotPermitted, ResourceNotFound
from housing_match.history.service import record_change, snapshot
from housing_match.jobs import JobReport, attempt
from housing_match.matching.repository import PersonReadLogRepository, PersonRepository
from housing_match.matching.service import check_owner
from housing_match.matching.vocabulary import SHARED_FIELD_LABELS_JA, SharedField
from housing_match.models import OrganisationKind, Person, Referral, ReferralEvent, Vacancy
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.referrals.mapping import Viewer, hold_active, is_active, referral_read
from housing_match.referrals.repository import (
    OutboxRepository,
    ReferralEventRepository,
    ReferralFilters,
    ReferralRepository,
)
from housing_match.referrals.schemas import (
    MatchSnapshot,
    ReasonCount,
    ReasonRead,
    ReasonsRead,
    ReferralCreate,
    ReferralRead,
    ReferralSummary,
    SharedExplanation,
    SharedProfile,
    StateCount,
)
from housing_match.referrals.snapshot import (
    consented_fields,
    freeze_match,
    redact_explanation,
    redact_profile,
    shared_profile,
)
from housing_match.referrals.vocabulary import (
    DECLINE_REASONS,
    EVENT_KIND_OF_STATE,
    REASON_SIDE_LABELS_JA,
    REFERRAL_STATE_LABELS_JA,
    TRANSITIONS,
    WITHDRAW_REASONS,
    DeclineReason,
    EventKind,
    ReferralState,
    Transition,
    WebhookEventType,
    WithdrawReason,
)
from housing_match.referrals.webhooks import emit
from housing_match.registry.repository import DwellingRepository
from housing_match.settings import get_settings
from housing_match.vacancies.repository import VacancyRepository
from housing_match.vacancies.schemas import VACANCY_STATUS_LABELS_JA, VacancyStatus
from housing_match.vacancies.service import current_status

# Who releases a lapsed hold found during someone else's request: not that requester, whose
# organisation the lapsed referral's parties have no business learning.
SYSTEM_ACTOR = Actor(organisation_id=None, api_key_id=None, channel="system")
LET_REASON = "入居相談により成約"
AUTO_DECLINE_NOTE = "他の入居相談で成約したため自動で見送り"
CONSENT_NOTE_JA = "本人の同意の変更により、次の項目は居住支援法人と共有されなくなりました："
BATCH = 500


class ReadPurpose:
    CREATE = "referral.create"
    READ = "referral.read"
    LIST = "referral.list"
    UPDATE = "referral.update"
    PREVIEW = "referral.preview"


class ReferralRefused(Conflict):
    """A referral the rules refuse as things stand (consent, the vacancy's state, a hold):
    the API answers with the English detail as any conflict; a page tells staff
    ``message_ja``, in words they can act on."""

    def __init__(self, detail: str, *, message_ja: str, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.message_ja = message_ja


@dataclass(frozen=True)
class ReferralPreview:
    person_id: uuid.UUID
    vacancy: Vacancy
    fields: list[SharedField] | None
    profile: SharedProfile | None = None
    explanation: SharedExplanation | None = None
    snapshot: MatchSnapshot | None = None


def _hold_duration() -> timedelta:
    return timedelta(hours=get_settings().referral_hold_hours)


def stall_after() -> timedelta:
    return timedelta(days=get_settings().referral_stall_days)


def _viewer(principal: Principal) -> Viewer:
    if principal.kind is OrganisationKind.CENTER:
        return Viewer.CENTER
    if principal.kind is OrganisationKind.SUPPORT_CORPORATION:
        return Viewer.CORPORATION
    raise NotPermitted("Referrals are for centers and support corporations; see the summary.")


def _sees(principal: Principal, referral: Referral) -> bool:
    if principal.kind is OrganisationKind.CENTER:
        return referral.center_id == principal.organisation_id
    if principal.kind is OrganisationKind.SUPPORT_CORPORATION:
        return referral.corporation_id == principal.organisation_id
    return False


def _history_view(referral: Referral) -> dict[str, Any]:
    return {
        "id": str(referral.id),
        "center_id": str(referral.center_id),
        "corporation_id": str(referral.corporation_id),
        "vacancy_id": str(referral.vacancy_id),
        "state": referral.state,
        "holding": referral.holding,
        "hold_expires_at": (
            None if referral.hold_expires_at is None else referral.hold_expires_at.isoformat()
        ),
        "decline_reason": referral.decline_reason,
        "withdraw_reason": referral.withdraw_reason,
    }


def _log_reads(
    session: Session, principal: Principal, referrals: Sequence[Referral], purpose: str
) -> None:
    PersonReadLogRepository(session).record(
        [referral.person_id for referral in referrals if referral.person_id is not None],
        organisation_id=principal.organisation_id,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        purpose=purpose,
    )


def _held_conflict(holder: Referral | None) -> ReferralRefused:
    expires = None if holder is None else holder.hold_expires_at
    return ReferralRefused(
        "Another referral holds this vacancy"
        + ("." if expires is None else f" until {expires.isoformat()}.")
        + " Try again after the hold ends or is released.",
        message_ja="この空室は、ほかの入居相談のために確保されています。",
        hold_expires_at=None if expires is None else expires.isoformat(),
    )


def _record_event(
    session: Session,
    actor: Actor,
    referral: Referral,
    kind: EventKind,
    *,
    from_state: ReferralState | None,
    reason: str | None = None,
    note: str = "",
    automatic: bool = False,
) -> None:
    ReferralEventRepository(session).add(
        ReferralEvent(
            referral_id=referral.id,
            kind=kind.value,
            from_state=None if from_state is None else from_state.value,
            to_state=referral.state,
            reason=reason,
            note=note,
            automatic=automatic,
            actor_organisation_id=actor.organisation_id,
            actor_api_key_id=actor.api_key_id,
            actor_user_id=actor.user_id,
            channel=actor.channel,
        )
    )


def _emit(
    session: Session,
    referral: Referral,
    vacancy: Vacancy,
    event_type: WebhookEventType,
    *,
    now: datetime,
    previous_state: ReferralState | None = None,
) -> None:
    data = referral_read(
        referral,
        viewer=Viewer.CORPORATION,
        now=now,
        stall_after=stall_after(),
        vacancy_status=current_status(vacancy).value,
    ).model_dump(mode="json", exclude={"person_id", "match_snapshot", "events"})
    emit(
        session,
        referral,
        event_type,
        {
            "referral": data,
            "previous_state": None if previous_state is None else previous_state.value,
        },
    )


def _set_vacancy_status(
    session: Session, actor: Actor, vacancy: Vacancy, status: VacancyStatus, *, action: str
) -> None:
    before = snapshot(vacancy)
    vacancy.status = status.value
    if status is VacancyStatus.LET:
        vacancy.closed_reason = LET_REASON
    session.flush()
    record_change(
        session,
        actor,
        action=action,
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=before,
        after=snapshot(vacancy),
    )


# --- holds ---------------------------------------------------------------------------------


def _release(
    session: Session,
    actor: Actor,
    referral: Referral,
    vacancy: Vacancy,
    *,
    now: datetime,
    lapsed: bool,
    reopen: bool = True,
) -> None:
    """The referral stops holding the vacancy; a held vacancy reopens unless told otherwise."""
    before = _history_view(referral)
    referral.holding = False
    session.flush()
    if lapsed:
        state = ReferralState(referral.state)
        _record_event(
            session, actor, referral, EventKind.HOLD_EXPIRED, from_state=state, automatic=True
        )
        record_change(
            session,
            actor,
            action="referral.hold_expired",
            entity_type="referral",
            entity_id=referral.id,
            before=before,
            after=_history_view(referral),
        )
    if reopen and vacancy.status == VacancyStatus.HELD.value:
        _set_vacancy_status(session, actor, vacancy, VacancyStatus.OPEN, action="vacancy.reopened")
    if lapsed:
        _emit(session, referral, vacancy, WebhookEventType.HOLD_EXPIRED, now=now)


def _clear_way(
    session: Session,
    vacancy: Vacancy,
    *,
    now: datetime,
    for_referral: uuid.UUID | None,
) -> None:
    """Under the vacancy's lock: releases a lapsed hold of another referral, then refuses
    unless the vacancy can be held by ``for_referral`` (None: a new one)."""
    repository = ReferralRepository(session)
    holder = repository.holder_of(vacancy.id, lock=True)
    if holder is not None and holder.id != for_referral:
        if hold_active(holder, now):
            raise _held_conflict(holder)
        _release(session, SYSTEM_ACTOR, holder, vacancy, now=now, lapsed=True)
        holder = None
    status = current_status(vacancy)
    if status is VacancyStatus.HELD and holder is None:
        raise ReferralRefused(
            "The corporation has put this vacancy on hold (調整中) itself.",
            message_ja="この空室は、居住支援法人が調整中にしています。",
        )
    if status not in (VacancyStatus.OPEN, VacancyStatus.HELD):
        raise ReferralRefused(
            f"The vacancy is {status.value}; it can no longer be referred to.",
            message_ja=f"この空室はもう募集していません（{VACANCY_STATUS_LABELS_JA[status]}）。",
        )


def _take_hold(
    session: Session, actor: Actor, referral: Referral, vacancy: Vacancy, *, now: datetime
) -> None:
    referral.holding = True
    referral.hold_expires_at = now + _hold_duration()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        # The lock makes this unreachable; the unique index is the guarantee if it were not.
        raise _held_conflict(ReferralRepository(session).holder_of(vacancy.id)) from exc
    if vacancy.status != VacancyStatus.HELD.value:
        _set_vacancy_status(session, actor, vacancy, VacancyStatus.HELD, action="vacancy.held")


# --- creating ------------------------------------------------------------------------------


def create_referral(session: Session, principal: Principal, data: ReferralCreate) -> ReferralRead:
    person = check_owner(
        principal, PersonRepository(session).get_with_details(data.person_id), ReadPurpose.CREATE
    )
    fields = consented_fields(person)
    if fields is None:
        raise ReferralRefused(
            "The person has not consented to sharing with support corporations "
            "(consent.sharing.support_corporation); a referral would disclose them.",
            message_ja="本人が居住支援法人への情報提供に同意していないため、送れません。",
        )
    repository = ReferralRepository(session)
    # Every request on this vacancy queues here; the one before has committed or rolled back.
    vacancy = repository.lock_vacancy(data.vacancy_id)
    if vacancy is None:
        raise ResourceNotFound("No such vacancy.")
    now = repository.database_now()
    if repository.active_for_person(person.id, vacancy.id) is not None:
        raise ReferralRefused(
            "The person already has an open referral on this vacancy.",
            message_ja="この方は、この空室ですでに入居相談中です。",
        )
    _clear_way(session, vacancy, now=now, for_referral=None)
    dwelling = DwellingRepository(session).get(vacancy.dwelling_id)
    if dwelling is None:  # the foreign key guarantees it
        raise ResourceNotFound("No such vacancy.")
    frozen = freeze_match(session, person, vacancy, dwelling, fields, now=now)
    referral = Referral(
        id=uuid.uuid4(),
        person_id=person.id,
        center_id=principal.organisation_id,
        vacancy_id=vacancy.id,
        dwelling_id=vacancy.dwelling_id,
        corporation_id=vacancy.corporation_id,
        state=ReferralState.REQUESTED.value,
        requested_at=now,
        state_changed_at=now,
        holding=True,
        hold_expires_at=now + _hold_duration(),
        closing_note="",
        shared_fields=[field.value for field in fields],
        shared_profile=shared_profile(person, fields).model_dump(mode="json"),
        shared_explanation=frozen.explanation.model_dump(mode="json"),
        match_snapshot=frozen.snapshot.model_dump(mode="json"),
    )
    try:
        with session.begin_nested():
            repository.add(referral)
    except IntegrityError as exc:
        raise _held_conflict(repository.holder_of(vacancy.id)) from exc
    _set_vacancy_status(
        session, principal.actor, vacancy, VacancyStatus.HELD, action="vacancy.held"
    )
    _record_event(session, principal.actor, referral, EventKind.CREATED, from_state=None)
    record_change(
        session,
        principal.actor,
        action="referral.created",
        entity_type="referral",
        entity_id=referral.id,
        before=None,
        after=_history_view(referral),
    )
    _emit(session, referral, vacancy, WebhookEventType.CREATED, now=now)
    _log_reads(session, principal, [referral], ReadPurpose.CREATE)
    return _read(session, principal, referral, now=now, with_events=True)


# --- consent --------------------------------------------------------------------------------


def apply_consent(session: Session, principal: Principal, person: Person) -> int:
    """Withdrawn consent reaches whatever the corporations can still read or receive.

    Each open referral of the person keeps only the field groups still consented (never
    more than it had: a broader consent is for new referrals); its stored copies of what
    the corporation sees are redacted, and so are its webhook events not yet delivered; its
    timeline and the history record which groups are no longer shared (never their values),
    and the corporation is told (``referral.consent_changed``). A closed referral is left as
    it was when it closed. Returns how many referrals changed."""
    consented = set(consented_fields(person) or [])
    repository = ReferralRepository(session)
    outbox = OutboxRepository(session)
    changed = 0
    for referral_id, vacancy_id in repository.active_of_person(person.id):
        vacancy = repository.lock_vacancy(vacancy_id)
        referral = repository.lock(referral_id)
        if vacancy is None or referral is None or not is_active(referral):
            continue
        shared = [SharedField(name) for name in referral.shared_fields]
        kept = [field for field in shared if field in consented]
        if kept == shared:
            continue
        withdrawn = [field for field in shared if field not in consented]
        before = {"shared_fields": list(referral.shared_fields)}
        referral.shared_fields = [field.value for field in kept]
        referral.shared_profile = redact_profile(
            SharedProfile.model_validate(referral.shared_profile), kept
        ).model_dump(mode="json")
        referral.shared_explanation = redact_explanation(
            SharedExplanation.model_validate(referral.shared_explanation), kept
        ).model_dump(mode="json")
        session.flush()
        redacted = {
            "shared_profile": referral.shared_profile,
            "explanation": referral.shared_explanation,
        }
        for event in outbox.undelivered_for_referral(referral.id):
            view = event.payload.get("referral")
            if isinstance(view, dict):
                event.payload = {**event.payload, "referral": view | redacted}
        state = ReferralState(referral.state)
        _record_event(
            session,
            principal.actor,
            referral,
            EventKind.CONSENT_CHANGED,
            from_state=state,
            note=CONSENT_NOTE_JA + "、".join(SHARED_FIELD_LABELS_JA[field] for field in withdrawn),
        )
        record_change(
            session,
            principal.actor,
            action="referral.consent_narrowed",
            entity_type="referral",
            entity_id=referral.id,
            before=before,
            after={"shared_fields": list(referral.shared_fields)},
        )
        _emit(
            session,
            referral,
            vacancy,
            WebhookEventType.CONSENT_CHANGED,
            now=repository.database_now(),
            previous_state=state,
        )
        changed += 1
    session.flush()
    return changed


def preview_referral(
    session: Session, principal: Principal, data: ReferralCreate
) -> ReferralPreview:
    """What the corporation would see if the person were referred to the vacancy now: the
    same consent filtering and frozen explanation as ``create_referral``, nothing held or
    written but the read log. ``fields`` None: the person has not consented to a referral."""
    person = PersonRepository(session).get_with_details(data.person_id)
    if person is None or person.center_id != principal.organisation_id:
        raise ResourceNotFound("No such person of your center.")
    vacancy = VacancyRepository(session).get(data.vacancy_id)
    dwelling = None if vacancy is None else DwellingRepository(session).get(vacancy.dwelling_id)
    if vacancy is None or dwelling is None:
        raise ResourceNotFound("No such vacancy.")
    PersonReadLogRepository(session).record(
        [person.id],
        organisation_id=principal.organisation_id,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        purpose=ReadPurpose.PREVIEW,
    )
    fields = consented_fields(person)
    if fields is None:
        return ReferralPreview(person_id=person.id, vacancy=vacancy, fields=None)
    now = ReferralRepository(session).database_now()
    frozen = freeze_match(session, person, vacancy, dwelling, fields, now=now)
    return ReferralPreview(
        person_id=person.id,
        vacancy=vacancy,
        fields=fields,
        profile=shared_profile(person, fields),
        explanation=frozen.explanation,
        snapshot=frozen.snapshot,
    )


# --- transitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    transition: Transition
    reason: DeclineReason | WithdrawReason | None = None
    note: str = ""


def _owner_kind(transition: Transition) -> OrganisationKind:
    if transition is Transition.WITHDRAW:
        return OrganisationKind.CENTER
    return OrganisationKind.SUPPORT_CORPORATION


def change_state(
    session: Session, principal: Principal, referral_id: uuid.UUID, change: Change
) -> ReferralRead:
    repository = ReferralRepository(session)
    found = repository.get_fresh(referral_id)
    if (
        found is None
        or not _sees(principal, found)
        or principal.kind is not _owner_kind(change.transition)
    ):
        raise ResourceNotFound("No such referral of yours.")
    # Vacancy first, then the referral: the order every path takes, so none deadlocks.
    vacancy = repository.lock_vacancy(found.vacancy_id)
    referral = repository.lock(referral_id)
    if vacancy is None or referral is None:
        raise ResourceNotFound("No such referral of yours.")
    now = repository.database_now()
    allowed_from, target = TRANSITIONS[change.transition]
    current = ReferralState(referral.state)
    if current not in allowed_from:
        raise Conflict(
            f"A referral that is {current.value} cannot be {target.value}; "
            f"{change.transition.value} needs it to be "
            + " or ".join(sorted(state.value for state in allowed_from))
            + ".",
            state=current.value,
        )
    before = _history_view(referral)
    actor = principal.actor
    if change.transition is Transition.ACCEPT:
        _clear_way(session, vacancy, now=now, for_referral=referral.id)
        _take_hold(session, actor, referral, vacancy, now=now)
    elif change.transition is Transition.CONTRACT:
        _contract(session, actor, referral, vacancy, now=now)
    elif referral.holding:
        _release(session, actor, referral, vacancy, now=now, lapsed=False)
    referral.state = target.value
    referral.state_changed_at = now
    referral.stalled_flagged_at = None
    if isinstance(change.reason, DeclineReason):
        referral.decline_reason = change.reason.value
        referral.closing_note = change.note
    elif isinstance(change.reason, WithdrawReason):
        referral.withdraw_reason = change.reason.value
        referral.closing_note = change.note
    session.flush()
    _record_event(
        session,
        actor,
        referral,
        EVENT_KIND_OF_STATE[target],
        from_state=current,
        reason=None if change.reason is None else change.reason.value,
        note=change.note,
    )
    record_change(
        session,
        actor,
        action=f"referral.{target.value}",
        entity_type="referral",
        entity_id=referral.id,
        before=before,
        after=_history_view(referral),
    )
    _emit(
        session, referral, vacancy, WebhookEventType.STATE_CHANGED, now=now, previous_state=current
    )
    if change.transition is Transition.CONTRACT:
        _decline_others(session, actor, referral, vacancy, now=now)
    _log_reads(session, principal, [referral], ReadPurpose.UPDATE)
    return _read(session, principal, referral, now=now, with_events=True)


def _contract(
    session: Session, actor: Actor, referral: Referral, vacancy: Vacancy, *, now: datetime
) -> None:
    holder = ReferralRepository(session).holder_of(vacancy.id, lock=True)
    if holder is not None and holder.id != referral.id:
        if hold_active(holder, now):
            raise _held_conflict(holder)
        _release(session, SYSTEM_ACTOR, holder, vacancy, now=now, lapsed=True, reopen=False)
    status = current_status(vacancy)
    if status not in (VacancyStatus.OPEN, VacancyStatus.HELD):
        raise Conflict(f"The vacancy is {status.value}; the referral cannot be contracted.")
    if referral.holding:
        referral.holding = False
        session.flush()
    _set_vacancy_status(session, actor, vacancy, VacancyStatus.LET, action="vacancy.let")


def _decline_others(
    session: Session, actor: Actor, contracted: Referral, vacancy: Vacancy, *, now: datetime
) -> None:
    """The home is let: every other open referral on it ends, as declined by the corporation."""
    for other in ReferralRepository(session).lock_other_active(vacancy.id, contracted.id):
        before = _history_view(other)
        previous = ReferralState(other.state)
        other.holding = False
        other.state = ReferralState.DECLINED.value
        other.decline_reason = DeclineReason.UNIT_LET_TO_SOMEONE_ELSE.value
        other.closing_note = AUTO_DECLINE_NOTE
        other.state_changed_at = now
        other.stalled_flagged_at = None
        session.flush()
        _record_event(
            session,
            actor,
            other,
            EventKind.DECLINED,
            from_state=previous,
            reason=other.decline_reason,
            note=AUTO_DECLINE_NOTE,
            automatic=True,
        )
        record_change(
            session,
            actor,
            action="referral.declined",
            entity_type="referral",
            entity_id=other.id,
            before=before,
            after=_history_view(other),
        )
        _emit(
            session,
            other,
            vacancy,
            WebhookEventType.STATE_CHANGED,
            now=now,
            previous_state=previous,
        )


# --- reading -------------------------------------------------------------------------------


def _read(
    session: Session,
    principal: Principal,
    referral: Referral,
    *,
    now: datetime,
    with_events: bool,
) -> ReferralRead:
    repository = ReferralRepository(session)
    statuses = repository.vacancy_statuses([referral.vacancy_id])
    events = ReferralEventRepository(session).for_referral(referral.id) if with_events else None
    return referral_read(
        referral,
        viewer=_viewer(principal),
        now=now,
        stall_after=stall_after(),
        vacancy_status=statuses[referral.vacancy_id],
        events=events,
    )


def get_referral(session: Session, principal: Principal, referral_id: uuid.UUID) -> ReferralRead:
    repository = ReferralRepository(session)
    referral = repository.get_fresh(referral_id)
    if referral is None or not _sees(principal, referral):
        raise ResourceNotFound("No such referral of yours.")
    _log_reads(session, principal, [referral], ReadPurpose.READ)
    return _read(session, principal, referral, now=repository.database_now(), with_events=True)


def list_referrals(
    session: Session,
    principal: Principal,
    *,
    states: Sequence[ReferralState],
    stalled: bool | None,
    vacancy_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReferralRead], str | None]:
    viewer = _viewer(principal)
    if person_id is not None and viewer is not Viewer.CENTER:
        raise BadRequest("person_id is a filter for centers.")
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        values = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(str(values["t"])), uuid.UUID(str(values["id"])))
        except (KeyError, ValueError) as exc:
            raise BadRequest(INVALID_CURSOR) from exc
    repository = ReferralRepository(session)
    now = repository.database_now()
    filters = ReferralFilters(
        center_id=principal.organisation_id if viewer is Viewer.CENTER else None,
        corporation_id=principal.organisation_id if viewer is Viewer.CORPORATION else None,
        states=tuple(sorted({state.value for state in states})),
        stalled=stalled,
        stalled_before=now - stall_after(),
        vacancy_id=vacancy_id,
        person_id=person_id,
    )
    referrals = list(repository.list(filters, after=after, limit=limit + 1))
    next_cursor = None
    if len(referrals) > limit:
        referrals = referrals[:limit]
        last = referrals[-1]
        next_cursor = encode_cursor({"t": last.requested_at.isoformat(), "id": str(last.id)})
    statuses = repository.vacancy_statuses([referral.vacancy_id for referral in referrals])
    items = [
        referral_read(
            referral,
            viewer=viewer,
            now=now,
            stall_after=stall_after(),
            vacancy_status=statuses[referral.vacancy_id],
        )
        for referral in referrals
    ]
    _log_reads(session, principal, referrals, ReadPurpose.LIST)
    return items, next_cursor


def summary(session: Session, principal: Principal) -> ReferralSummary:
    repository = ReferralRepository(session)
    now = repository.database_now()
    codes = None if principal.is_admin else list(principal.jurisdiction_codes)
    counts = repository.summary(codes, now=now, stalled_before=now - stall_after())
    return ReferralSummary(
        jurisdiction_codes=codes or [],
        total=sum(counts.by_state.values()),
        by_state=[
            StateCount(
                state=state,
                label_ja=REFERRAL_STATE_LABELS_JA[state],
                count=counts.by_state.get(state.value, 0),
            )
            for state in ReferralState
        ],
        active_holds=counts.active_holds,
        stalled=counts.stalled,
        declined_by_reason=[
            ReasonCount(code=reason.value, label_ja=label, side=side, count=count)
            for reason, (label, side) in DECLINE_REASONS.items()
            if (count := counts.declined_by_reason.get(reason.value, 0))
        ],
        withdrawn_by_reason=[
            ReasonCount(code=reason.value, label_ja=label, side=side, count=count)
            for reason, (label, side) in WITHDRAW_REASONS.items()
            if (count := counts.withdrawn_by_reason.get(reason.value, 0))
        ],
    )


def reasons() -> ReasonsRead:
    return ReasonsRead(
        decline=[
            ReasonRead(
                code=reason.value,
                label_ja=label,
                side=side,
                side_label_ja=REASON_SIDE_LABELS_JA[side],
            )
            for reason, (label, side) in DECLINE_REASONS.items()
        ],
        withdraw=[
            ReasonRead(
                code=reason.value,
                label_ja=label,
                side=side,
                side_label_ja=REASON_SIDE_LABELS_JA[side],
            )
            for reason, (label, side) in WITHDRAW_REASONS.items()
        ],
    )


# --- jobs ----------------------------------------------------------------------------------


def expire_holds(session: Session, actor: Actor) -> JobReport:
    """Releases every hold past its expiry and reopens its vacancy (reads already treat the
    hold as gone), each in its own savepoint: a hold that cannot be released is reported and
    the others still are."""
    repository = ReferralRepository(session)
    now = repository.database_now()
    report = JobReport()

    def release(referral_id: uuid.UUID, vacancy_id: uuid.UUID) -> bool:
        vacancy = repository.lock_vacancy(vacancy_id)
        referral = repository.lock(referral_id)
        if vacancy is None or referral is None:
            return False
        # Re-checked under the lock: a request may have released or renewed it meanwhile.
        if not referral.holding or hold_active(referral, now):
            return False
        _release(session, actor, referral, vacancy, now=now, lapsed=True)
        return True

    while True:
        batch = repository.lapsed_holders(now, limit=BATCH, skip=report.failed)
        for referral_id, vacancy_id in batch:
            attempt(
                session,
                report,
                "referrals expire-holds",
                referral_id,
                partial(release, referral_id, vacancy_id),
            )
        if len(batch) < BATCH:
            return report


def flag_stalled(session: Session, actor: Actor) -> JobReport:
    """Flags (once per state) each open referral unchanged for ``referral_stall_days`` and
    tells its corporation's webhooks. Reads compute ``stalled`` themselves; this is the nudge.
    Each referral in its own savepoint: one that cannot be flagged is reported, and tried
    again by the next run."""
    repository = ReferralRepository(session)
    now = repository.database_now()
    report = JobReport()

    def flag(referral: Referral) -> bool:
        vacancy = VacancyRepository(session).get(referral.vacancy_id)
        if vacancy is None:
            return False
        referral.stalled_flagged_at = now
        session.flush()
        _record_event(
            session,
            actor,
            referral,
            EventKind.STALLED,
            from_state=ReferralState(referral.state),
            automatic=True,
        )
        _emit(session, referral, vacancy, WebhookEventType.STALLED, now=now)
        return True

    while True:
        batch = repository.newly_stalled(now - stall_after(), limit=BATCH, skip=report.failed)
        for referral in batch:
            attempt(
                session,
                report,
                "referrals flag-stalled",
                referral.id,
                partial(flag, referral),
            )
        if len(batch) < BATCH:
            return report
