from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base


class DwellingManager(Base):
    """A support corporation (居住支援法人) that manages a dwelling: only these may post,
    refresh, change or withdraw the dwelling's vacancies.

    The corporation is of kind ``support_corporation``; the service checks it, as a check
    constraint cannot look into ``organisations``."""

    __tablename__ = "dwelling_managers"

    dwelling_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dwellings.id", ondelete="CASCADE"), primary_key=True
    )
    # Not indexed on its own: nothing asks for a corporation's dwellings yet, and the bulk
    # paths insert these rows by the hundred thousand.
    corporation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
