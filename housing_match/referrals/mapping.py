"""From a ``referrals`` row to what each side reads: the center everything, the corporation
only the stored, consent-filtered copies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from housing_match.models import Referral, ReferralEvent
from housing_match.referrals.schemas import (
    ClosingReason,
    MatchSnapshot,
    ReferralEventRead,
    ReferralRead,
    SharedExplanation,
    SharedProfile,
)
from housing_match.referrals.vocabulary import (
    ACTIVE_STATES,
    DECLINE_REASONS,
    EVENT_KIND_LABELS_JA,
    REASON_SIDE_LABELS_JA,
    REFERRAL_STATE_LABELS_JA,
    WITHDRAW_REASONS,
    DeclineReason,
    EventKind,
    ReferralState,
    WithdrawReason,
)
from housing_match.vacancies.schemas import VacancyStatus


class Viewer(StrEnum):
    CENTER = "center"
    CORPORATION = "corporation"


def is_active(referral: Referral) -> bool:
    return ReferralState(referral.state) in ACTIVE_STATES


def hold_active(referral: Referral, now: datetime) -> bool:
    """A hold past its expiry is gone for every reader, whether or not the job released it."""
    return (
        is_active(referral)
        and referral.holding
        and referral.hold_expires_at is not None
        and referral.hold_expires_at > now
    )


def closing_of(referral: Referral) -> ClosingReason | None:
    if referral.decline_reason is not None:
        label, side = DECLINE_REASONS[DeclineReason(referral.decline_reason)]
        code = referral.decline_reason
    elif referral.withdraw_reason is not None:
        label, side = WITHDRAW_REASONS[WithdrawReason(referral.withdraw_reason)]
        code = referral.withdraw_reason
    else:
        return None
    return ClosingReason(
        code=code,
        label_ja=label,
        side=side,
        side_label_ja=REASON_SIDE_LABELS_JA[side],
        note=referral.closing_note,
    )


def event_read(event: ReferralEvent) -> ReferralEventRead:
    kind = EventKind(event.kind)
    return ReferralEventRead(
        id=event.id,
        kind=kind,
        label_ja=EVENT_KIND_LABELS_JA[kind],
        from_state=None if event.from_state is None else ReferralState(event.from_state),
        to_state=ReferralState(event.to_state),
        reason=event.reason,
        note=event.note,
        automatic=event.automatic,
        actor_organisation_id=event.actor_organisation_id,
        actor_user_id=event.actor_user_id,
        channel=event.channel,
        occurred_at=event.occurred_at,
    )


def referral_read(
    referral: Referral,
    *,
    viewer: Viewer,
    now: datetime,
    stall_after: timedelta,
    vacancy_status: str,
    events: Sequence[ReferralEvent] | None = None,
) -> ReferralRead:
    state = ReferralState(referral.state)
    active = state in ACTIVE_STATES
    stalled = active and referral.state_changed_at <= now - stall_after
    center = viewer is Viewer.CENTER
    snapshot = referral.match_snapshot if center else None
    return ReferralRead(
        id=referral.id,
        state=state,
        state_label_ja=REFERRAL_STATE_LABELS_JA[state],
        center_id=referral.center_id,
        corporation_id=referral.corporation_id,
        vacancy_id=referral.vacancy_id,
        vacancy_status=VacancyStatus(vacancy_status),
        dwelling_id=referral.dwelling_id,
        requested_at=referral.requested_at,
        state_changed_at=referral.state_changed_at,
        hold_active=hold_active(referral, now),
        hold_expires_at=referral.hold_expires_at if active else None,
        stalled=stalled,
        stalled_since=referral.state_changed_at + stall_after if stalled else None,
        closing=closing_of(referral),
        shared_profile=SharedProfile.model_validate(referral.shared_profile),
        explanation=SharedExplanation.model_validate(referral.shared_explanation),
        person_id=referral.person_id if center else None,
        match_snapshot=None if snapshot is None else MatchSnapshot.model_validate(snapshot),
        events=None if events is None else [event_read(event) for event in events],
    )
