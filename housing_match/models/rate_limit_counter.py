from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class RateLimitCounter(Base):
    """One fixed window of one rate limit: failed authentications of a client address or of
    a key prefix, or an organisation's requests to an expensive operation.

    UNLOGGED: counters are written on every counted request and worth nothing after a crash
    (the table comes back empty, and every limit starts again), so they skip the WAL."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = {"prefixes": ["UNLOGGED"]}  # noqa: RUF012  # SQLAlchemy's declaration

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # The window's end, by the database's clock (one clock for every API process).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
