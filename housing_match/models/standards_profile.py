from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class StandardsProfile(UUIDPrimaryKey, Timestamps, Base):
    """Registration-standard numbers in force for a scope from a date (data, not constants).

    scope_code '' is national; 2 digits a prefecture; 6 digits a municipality. A national
    profile holds every parameter; a local one only what its 供給促進計画 changes.
    """

    __tablename__ = "standards_profiles"
    __table_args__ = (
        UniqueConstraint("scope_code", "effective_from", name="scope_effective_from"),
        CheckConstraint("scope_code ~ '^(|\\d{2}|\\d{6})$'", name="scope_code_format"),
        CheckConstraint(
            "effective_until IS NULL OR effective_until > effective_from", name="period"
        ),
    )

    scope_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
