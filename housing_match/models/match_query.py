from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class MatchQuery(Base):
    """One match query, as aggregates only (no person id): where demand goes unmet, and why.

    The audit (issue 6) reads this exact shape.
    """

    __tablename__ = "match_queries"
    __table_args__ = (
        Index("ix_match_queries_center_queried_at", "center_id", "queried_at"),
        Index("ix_match_queries_municipality_queried_at", "municipality_code", "queried_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    center_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    # The person's home_municipality_code (帰住予定地).
    municipality_code: Mapped[str] = mapped_column(CHAR(6))
    queried_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # Homes passing every hard constraint, before the limit.
    candidate_count: Mapped[int] = mapped_column(Integer)
    # {constraint name: homes it excluded}; a home failing two constraints counts in both.
    excluded_by: Mapped[dict[str, Any]] = mapped_column(JSONB)
    top_constraint: Mapped[str | None] = mapped_column(Text)
    relaxed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
