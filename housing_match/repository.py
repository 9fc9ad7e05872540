"""The generic repository: the only place besides domain repositories that issues SQL."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute, Session

from housing_match.models import Base

ModelT = TypeVar("ModelT", bound=Base)


class RepositoryBase(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, id_: uuid.UUID | int) -> ModelT | None:
        return self.session.get(self.model, id_)

    def add(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        self.session.flush()
        return instance


def excluding(
    column: InstrumentedAttribute[Any], values: Collection[Any]
) -> tuple[ColumnElement[bool], ...]:
    """``column NOT IN values`` as a condition to splat into ``where``, or none when empty."""
    return (column.not_in(values),) if values else ()
