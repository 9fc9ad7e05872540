from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey
from housing_match.models.organisation import Organisation


class UserRole(StrEnum):
    STAFF = "staff"  # does the organisation's domain work
    MANAGER = "manager"  # also invites and deactivates users and manages the API keys


USER_ROLE_LABELS_JA: dict[UserRole, str] = {
    UserRole.STAFF: "職員",
    UserRole.MANAGER: "管理者",
}


class User(UUIDPrimaryKey, Timestamps, Base):
    """A person who signs in. Never deleted while the logs name them: deactivated instead."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('staff', 'manager')", name="role"),
        # The login is stored lower-cased, so the unique index is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("failed_sign_ins >= 0", name="failed_sign_ins_not_negative"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    # Argon2id (PHC string); None until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(Text)
    # The TOTP secret, sealed (accounts/totp.py); None when no authenticator is enrolled.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    # The last TOTP time step accepted: a code of that step or an earlier one is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Throttling: consecutive failures since the last success, the last one's time, and a lock.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(lazy="raise")
