from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, UUIDPrimaryKey


class OutboxEvent(UUIDPrimaryKey, Base):
    """An event for one organisation, written in the same transaction as the change.

    So an event exists exactly when its change committed: nothing is lost if the process dies
    before the webhook worker runs. The id is the event id receivers deduplicate on; the
    payload holds only what the recipient may see (for a corporation, the consented fields).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_organisation_id_created_at", "organisation_id", "created_at"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    event_type: Mapped[str] = mapped_column(String(40))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
