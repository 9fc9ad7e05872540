from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from housing_match.auth import Actor
from housing_match.errors import BadRequest
from housing_match.history.repository import HistoryRepository
from housing_match.models import Base, HistoryEntry
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor

# Never copied into the history, whatever table they appear in.
_REDACTED_COLUMNS = frozenset(
    {
        "key_hash",
        "token_hash",
        "code_hash",
        "password_hash",
        "pending_password_hash",
        "totp_secret",
        "pending_totp_secret",
    }
)


def to_json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_json_value(value.value)
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(item) for item in value]
    if hasattr(value, "desc") and hasattr(value, "srid"):  # a geoalchemy2 WKB element
        from geoalchemy2.shape import to_shape

        return to_shape(value).__geo_interface__
    return str(value)


def snapshot(instance: Base) -> dict[str, Any]:
    """The column values of an ORM instance as JSON, for the before/after of a change."""
    mapper = inspect(type(instance))
    return {
        column.key: to_json_value(getattr(instance, column.key))
        for column in mapper.column_attrs
        if column.key not in _REDACTED_COLUMNS
    }


def record_change(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> HistoryEntry:
    return HistoryRepository(session).add(
        HistoryEntry(
            actor_organisation_id=actor.organisation_id,
            actor_api_key_id=actor.api_key_id,
            actor_user_id=actor.user_id,
            channel=actor.channel,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )


def list_history(
    session: Session,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor_organisation_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[HistoryEntry], str | None]:
    before_id: int | None = None
    if cursor is not None:
        value = decode_cursor(cursor).get("before_id")
        if not isinstance(value, int):
            raise BadRequest(INVALID_CURSOR)
        before_id = value
    entries = list(
        HistoryRepository(session).list(
            entity_type=entity_type,
            entity_id=entity_id,
            actor_organisation_id=actor_organisation_id,
            before_id=before_id,
            limit=limit + 1,
        )
    )
    next_cursor = None
    if len(entries) > limit:
        entries = entries[:limit]
        next_cursor = encode_cursor({"before_id": entries[-1].id})
    return entries, next_cursor
