"""Rent balance (近傍同種) kept per registered dwelling: see migration 0015 and
``audit/rent_refresh.py``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class RentComparable(Base):
    """Count and median rent per ㎡ of a dwelling's comparables, as of the last refresh."""

    __tablename__ = "rent_comparables"

    dwelling_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dwellings.id", ondelete="CASCADE"), primary_key=True
    )
    comparable_count: Mapped[int] = mapped_column(Integer)
    median_rent_per_m2: Mapped[float | None] = mapped_column(Float)


class RentComparablesState(Base):
    """One row: the radius the maintained values were computed for, and when."""

    __tablename__ = "rent_comparables_state"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    radius_m: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RentComparablesDirty(Base):
    """A grid cell (thousandths of a degree) where a registered dwelling of the kind changed
    since the last refresh; written by the ``dwellings`` trigger only."""

    __tablename__ = "rent_comparables_dirty"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    cell_x: Mapped[int] = mapped_column(Integer, primary_key=True)
    cell_y: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(Integer)
    mark: Mapped[int] = mapped_column(BigInteger)
    first_marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
