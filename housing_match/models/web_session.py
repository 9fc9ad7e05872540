from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class WebSession(UUIDPrimaryKey, Timestamps, Base):
    """A signed-in browser. The cookie holds a random token; only its keyed hash is here."""

    __tablename__ = "web_sessions"
    __table_args__ = (CheckConstraint("stage IN ('totp', 'active')", name="stage"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "totp": the password was right and the second factor is awaited; "active": signed in.
    stage: Mapped[str] = mapped_column(String(8))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(Text, default="", server_default="")
