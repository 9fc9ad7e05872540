from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from housing_match.models import HistoryEntry
from housing_match.repository import RepositoryBase


class HistoryRepository(RepositoryBase[HistoryEntry]):
    model = HistoryEntry

    def list(
        self,
        *,
        entity_type: str | None,
        entity_id: str | None,
        actor_organisation_id: uuid.UUID | None,
        before_id: int | None,
        limit: int,
    ) -> Sequence[HistoryEntry]:
        """Newest first, keyset-paginated on the identity column."""
        statement = select(HistoryEntry).order_by(HistoryEntry.id.desc()).limit(limit)
        if entity_type is not None:
            statement = statement.where(HistoryEntry.entity_type == entity_type)
        if entity_id is not None:
            statement = statement.where(HistoryEntry.entity_id == entity_id)
        if actor_organisation_id is not None:
            statement = statement.where(HistoryEntry.actor_organisation_id == actor_organisation_id)
        if before_id is not None:
            statement = statement.where(HistoryEntry.id < before_id)
        return self.session.scalars(statement).all()
