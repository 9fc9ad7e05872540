from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geography, WKBElement
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class MatchListing(Base):
    """What the matcher searches: one row per open vacancy on a registered dwelling.

    Derived data, kept by database triggers on ``vacancies`` and ``dwellings`` in the same
    transaction as every change (migration 0003), never written by the application. It is a
    covering index in table form: a match reads only these rows (about 25 MB for 50,000 open
    vacancies) instead of probing a million dwellings for the few that are vacant. An open
    vacancy past ``expires_at`` stays here until the expiry job runs; every query checks it.
    """

    __tablename__ = "match_listings"
    __table_args__ = (Index("ix_match_listings_municipality_code", "municipality_code"),)

    vacancy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vacancies.id", ondelete="CASCADE"), primary_key=True
    )
    dwelling_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dwellings.id", ondelete="CASCADE"), index=True
    )
    corporation_id: Mapped[uuid.UUID]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_from: Mapped[date] = mapped_column(Date)
    monthly_cost_yen: Mapped[int] = mapped_column(Integer)  # offered rent plus common fee

    municipality_code: Mapped[str] = mapped_column(String(6))
    location: Mapped[WKBElement] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=True)
    )
    kind: Mapped[str] = mapped_column(String(16))
    # The floor area, or a shared house's smallest private room: what one person is promised.
    private_area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    floor: Mapped[int] = mapped_column(Integer)
    has_elevator: Mapped[bool] = mapped_column(Boolean)
    step_free_entrance: Mapped[bool] = mapped_column(Boolean)
    wheelchair_accessible: Mapped[bool] = mapped_column(Boolean)
    kitchen: Mapped[str] = mapped_column(String(8))
    toilet: Mapped[str] = mapped_column(String(8))
    storage: Mapped[str] = mapped_column(String(8))
    bath: Mapped[str] = mapped_column(String(8))
    pets_allowed: Mapped[bool] = mapped_column(Boolean)
    smoking_allowed: Mapped[bool] = mapped_column(Boolean)
    accepts_all_categories: Mapped[bool] = mapped_column(Boolean)
    accepted_categories: Mapped[list[str]] = mapped_column(ARRAY(String(48)))
    registration_class: Mapped[str] = mapped_column(String(16))
    exclusive_target_categories: Mapped[list[str]] = mapped_column(ARRAY(String(48)))
    required_risks: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    required_whole_tenancy_risks: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # Risks the home itself covers: the posting corporation's services, then the risks its
    # 居住サポート住宅 terms cover (matching/rules.py says which); one entry per coverer.
    covered_risks: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    covered_whole_tenancy_risks: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    residential_support: Mapped[bool] = mapped_column(Boolean)
