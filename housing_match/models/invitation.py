from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class Invitation(UUIDPrimaryKey, Timestamps, Base):
    """A one-time link to set a password and enrol TOTP: a new user's first, or a reset."""

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a newer invitation for the same user replaces this one.
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    # Between the password step and the TOTP step: the chosen password's hash and the secret
    # being enrolled. The user's own columns change only when the whole invitation succeeds.
    pending_password_hash: Mapped[str | None] = mapped_column(Text)
    pending_totp_secret: Mapped[str | None] = mapped_column(Text)
