from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class AccountEvent(Base):
    """A sign-in, a failure, a lock, an invitation, a role change, a deactivation…

    Append-only, per organisation, so its managers can list their own. ``user_id`` is the
    account concerned (None for a failure naming no known account); ``actor_user_id`` the
    person who did it, when another did (a manager inviting, unlocking, deactivating).
    """

    __tablename__ = "account_events"
    __table_args__ = (
        Index("ix_account_events_organisation_id_id", "organisation_id", "id"),
        Index("ix_account_events_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(32))
    # "web", "api" or "cli"
    channel: Mapped[str] = mapped_column(String(16))
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
