from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    """Where a support corporation wants its referral events, and the secret to sign them.

    ``secret`` is a shared signing secret, not a password: the worker needs it back to sign
    every delivery, so it is stored as given. It never leaves the service again after the
    response that created it, and the history never copies it.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint("url ~ '^https?://'", name="url_scheme"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
