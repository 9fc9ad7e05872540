from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HistoryEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_organisation_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None = Field(
        description="The person who acted, through their sign-in; null for a key or the CLI."
    )
    channel: str = Field(description="api (a key), web (a person's session), cli or system.")
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class HistoryPage(BaseModel):
    items: list[HistoryEntryRead]
    next_cursor: str | None
