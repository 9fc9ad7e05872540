from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class RecoveryCode(UUIDPrimaryKey, Timestamps, Base):
    """A one-time code that stands in for a TOTP code when the device is lost."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Keyed hash of the code; the code itself is shown once, at enrolment.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
