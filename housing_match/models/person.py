from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CHAR,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey

if TYPE_CHECKING:
    from housing_match.models.person_place import PersonPlace
    from housing_match.models.support_plan_entry import SupportPlanEntry


class Person(UUIDPrimaryKey, Timestamps, Base):
    """A person a center supports, as matching needs them: pseudonymous, never offence details.

    Only staff of the owning center read or change it; every read goes to ``person_reads``.
    """

    __tablename__ = "persons"
    __table_args__ = (
        UniqueConstraint("center_id", "reference", name="center_reference"),
        CheckConstraint("home_municipality_code ~ '^\\d{6}$'", name="home_municipality_format"),
        CheckConstraint("household_size BETWEEN 1 AND 10", name="household_size_range"),
        CheckConstraint(
            "rent_ceiling_yen IS NULL OR rent_ceiling_yen >= 0", name="rent_ceiling_non_negative"
        ),
        CheckConstraint("max_floor IS NULL OR max_floor >= 1", name="max_floor_positive"),
    )

    center_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # A case code chosen by the center (e.g. "OSK-2026-014"), never a name.
    reference: Mapped[str] = mapped_column(String(64))
    # 帰住予定地: where the person will settle; drives the 住宅扶助 ceiling and the search area.
    home_municipality_code: Mapped[str] = mapped_column(CHAR(6))
    consent_given_on: Mapped[date] = mapped_column(Date)
    # {recipient kind: [field group, ...]}: what a referral may carry to whom (issue 5).
    consent_sharing: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default="{}"
    )
    household_size: Mapped[int] = mapped_column(Integer, default=1)
    categories: Mapped[list[str]] = mapped_column(
        ARRAY(String(48)), default=list, server_default="{}"
    )
    # NULL: derived from the 住宅扶助 table for the home municipality and household size.
    rent_ceiling_yen: Mapped[int | None] = mapped_column(Integer)
    min_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    no_stairs: Mapped[bool] = mapped_column(Boolean, default=False)
    max_floor: Mapped[int | None] = mapped_column(Integer)
    # Facilities that must be in the unit rather than shared: kitchen, toilet, storage, bath.
    required_facilities: Mapped[list[str]] = mapped_column(
        ARRAY(String(16)), default=list, server_default="{}"
    )
    has_pets: Mapped[bool] = mapped_column(Boolean, default=False)
    smokes: Mapped[bool] = mapped_column(Boolean, default=False)
    move_in_date: Mapped[date | None] = mapped_column(Date)
    high_support_needs: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_municipality_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(6)), default=list, server_default="{}"
    )

    places: Mapped[list[PersonPlace]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PersonPlace.position"
    )
    support_plan: Mapped[list[SupportPlanEntry]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SupportPlanEntry.position"
    )
