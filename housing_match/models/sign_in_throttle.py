from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class SignInThrottle(Base):
    """Failed sign-ins from one client address, across accounts (password spraying)."""

    __tablename__ = "sign_in_throttles"

    client_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
