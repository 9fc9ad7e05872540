from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, UUIDPrimaryKey

COVERER_KINDS = (
    "center",
    "corporation",
    "guarantee_company",
    "welfare_proxy_payment",
    "welfare_service",
    "guardian",
    "relative",
    "self",
    "other",
)


class SupportPlanEntry(UUIDPrimaryKey, Base):
    """Who covers one risk kind for a person, and until when (NULL: open-ended)."""

    __tablename__ = "support_plan_entries"
    __table_args__ = (
        CheckConstraint(
            "coverer_kind IN (" + ", ".join(f"'{kind}'" for kind in COVERER_KINDS) + ")",
            name="coverer_kind",
        ),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    risk_kind: Mapped[str] = mapped_column(String(32))
    coverer_kind: Mapped[str] = mapped_column(String(32))
    # An organisation's name or a role ("姉", "訪問看護ステーション"), never a private name.
    coverer_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    coverer_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    # A center's follow-up ends (about 6 months, seed 001); a corporation's contract may not.
    until: Mapped[date | None] = mapped_column(Date)
