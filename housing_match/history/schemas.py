from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class HistoryEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_organisation_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    channel: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class HistoryPage(BaseModel):
    items: list[HistoryEntryRead]
    next_cursor: str | None
