from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class Vacancy(UUIDPrimaryKey, Timestamps, Base):
    """A vacancy posted by a housing-support corporation on a registered dwelling.

    ``status`` is what was last written; a vacancy whose ``expires_at`` has passed is expired
    whatever ``status`` says, so every read of "open" also checks the expiry.
    """

    __tablename__ = "vacancies"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'held', 'let', 'withdrawn', 'expired')", name="status"),
        CheckConstraint("rent_offered_yen >= 0", name="rent_non_negative"),
        CheckConstraint(
            "covered_whole_tenancy_risks <@ covered_risks", name="whole_tenancy_risks_covered"
        ),
        # A dwelling has at most one live vacancy.
        Index(
            "uq_vacancies_live_dwelling",
            "dwelling_id",
            unique=True,
            postgresql_where=text("status IN ('open', 'held')"),
        ),
        Index(
            "ix_vacancies_open_expiry",
            "expires_at",
            postgresql_where=text("status = 'open'"),
        ),
    )

    dwelling_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dwellings.id", ondelete="CASCADE"), index=True
    )
    corporation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="open")
    available_from: Mapped[date] = mapped_column(Date)
    rent_offered_yen: Mapped[int] = mapped_column(Integer)
    common_fee_offered_yen: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[str] = mapped_column(Text, default="", server_default="")
    # What the posting corporation itself covers for a tenant of this vacancy.
    covered_risks: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    covered_whole_tenancy_risks: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    refreshed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_reason: Mapped[str | None] = mapped_column(Text)
