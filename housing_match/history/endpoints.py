from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from housing_match.auth import AdminPrincipal
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.history import service
from housing_match.history.schemas import HistoryEntryRead, HistoryPage

router = APIRouter(prefix="/v1/history", tags=["history"])


@router.get(
    "",
    response_model=HistoryPage,
    summary="Read the change history (admins)",
    responses=problem_responses(400, 401, 403),
)
def list_history(
    session: SessionDep,
    _admin: AdminPrincipal,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_organisation_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HistoryPage:
    entries, next_cursor = service.list_history(
        session,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_organisation_id=actor_organisation_id,
        cursor=cursor,
        limit=limit,
    )
    return HistoryPage(
        items=[HistoryEntryRead.model_validate(entry) for entry in entries],
        next_cursor=next_cursor,
    )
