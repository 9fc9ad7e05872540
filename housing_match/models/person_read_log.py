from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class PersonReadLogEntry(Base):
    """One read of a person's data (seed 001/002: every read is logged). Append-only.

    ``person_id`` has no foreign key on purpose: the log outlives a deleted profile.
    """

    __tablename__ = "person_reads"
    __table_args__ = (Index("ix_person_reads_person_read_at", "person_id", "read_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="RESTRICT")
    )
    # The person who read, when the read came through their sign-in.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    read_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # What the read was for: person.read, person.list, person.update, person.matches,
    # person.explain, allocation, referral.* (matching/vocabulary.py names and groups them).
    purpose: Mapped[str] = mapped_column(String(32))
    # An attempt by another organisation, answered 404 and recorded for the owning center.
    # No Python-side default: the match statement's own INSERT stays as it is.
    refused: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
