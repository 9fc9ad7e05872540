from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey
from housing_match.models.organisation import Organisation


class ApiKey(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "api_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # Shown in listings so people can tell keys apart; the secret part is never stored.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Refused from then on; None: until revoked.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # To the minute: a request writes it only when the stored time is older than that.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )

    organisation: Mapped[Organisation] = relationship(lazy="raise")
