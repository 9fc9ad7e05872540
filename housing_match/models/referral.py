from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey
from housing_match.referrals.vocabulary import (
    DeclineReason,
    ReferralState,
    WithdrawReason,
)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class Referral(UUIDPrimaryKey, Timestamps, Base):
    """A center's 入居相談 for one of its persons on one vacancy (issue 5).

    ``holding`` marks the one referral whose hold set the vacancy to ``held``; the partial
    unique index lets at most one referral per vacancy hold it, whatever races. The hold lasts
    until ``hold_expires_at``: past it, every read treats the hold as gone, and the next
    request on the vacancy (or the ``referrals expire-holds`` job) releases it and reopens the
    vacancy. What the corporation may see was fixed when the referral was made
    (``shared_profile``, ``shared_explanation``); ``match_snapshot`` is the center's full copy
    of the match explanation, erased if the person's profile is deleted.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_in("state", [s.value for s in ReferralState]), name="state"),
        CheckConstraint(
            "decline_reason IS NULL OR " + _in("decline_reason", [r.value for r in DeclineReason]),
            name="decline_reason",
        ),
        CheckConstraint(
            "withdraw_reason IS NULL OR "
            + _in("withdraw_reason", [r.value for r in WithdrawReason]),
            name="withdraw_reason",
        ),
        CheckConstraint(
            "(state = 'declined') = (decline_reason IS NOT NULL)", name="declined_has_reason"
        ),
        CheckConstraint(
            "(state = 'withdrawn') = (withdraw_reason IS NOT NULL)", name="withdrawn_has_reason"
        ),
        CheckConstraint(
            "NOT holding OR (state IN ('requested', 'accepted') AND hold_expires_at IS NOT NULL)",
            name="holding_only_when_active",
        ),
        # At most one hold per vacancy: the database, not the application, has the last word.
        Index(
            "uq_referrals_holding_vacancy",
            "vacancy_id",
            unique=True,
            postgresql_where=text("holding"),
        ),
        Index(
            "ix_referrals_active_state_changed_at",
            "state_changed_at",
            postgresql_where=text("state IN ('requested', 'accepted')"),
        ),
        Index("ix_referrals_center_requested_at", "center_id", "requested_at"),
        Index("ix_referrals_corporation_requested_at", "corporation_id", "requested_at"),
    )

    # NULL once the center deletes the profile; the referral stays as the corporation's record.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    center_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    vacancy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vacancies.id", ondelete="RESTRICT"), index=True
    )
    dwelling_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dwellings.id", ondelete="RESTRICT"), index=True
    )
    # The vacancy's corporation, copied so each side's listing is one indexed condition.
    corporation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    holding: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    withdraw_reason: Mapped[str | None] = mapped_column(String(40))
    closing_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the stall job last flagged (and notified) this referral; cleared by a transition.
    stalled_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The consent at the time: the field groups shared with support corporations.
    shared_fields: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    shared_profile: Mapped[dict[str, Any]] = mapped_column(JSONB)
    shared_explanation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    match_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
