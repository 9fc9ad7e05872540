from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, tuple_, update

from housing_match.models import Dwelling, Vacancy
from housing_match.registry.repository import (
    DwellingFilters,
    DwellingRepository,
    SearchAfter,
    point_geography,
    vacancy_is_open,
)
from housing_match.repository import RepositoryBase, excluding


def effective_status() -> ColumnElement[str]:
    """The status a reader sees: an open vacancy past its expiry is expired."""
    return case(
        (and_(Vacancy.status == "open", Vacancy.expires_at <= func.now()), literal("expired")),
        else_=Vacancy.status,
    )


class VacancyRepository(RepositoryBase[Vacancy]):
    model = Vacancy

    def get_for_update(self, vacancy_id: uuid.UUID) -> Vacancy | None:
        return self.session.scalars(
            select(Vacancy).where(Vacancy.id == vacancy_id).with_for_update()
        ).first()

    def effective_status_of(self, vacancy_id: uuid.UUID) -> str | None:
        return self.session.scalar(select(effective_status()).where(Vacancy.id == vacancy_id))

    def live_for_dwelling(self, dwelling_id: uuid.UUID) -> Sequence[Vacancy]:
        return self.session.scalars(
            select(Vacancy).where(
                Vacancy.dwelling_id == dwelling_id, Vacancy.status.in_(("open", "held"))
            )
        ).all()

    def overdue(self, *, limit: int, skip: Collection[uuid.UUID] = ()) -> list[uuid.UUID]:
        """Open vacancies past their expiry, except those in ``skip`` (a job's failed items)."""
        return list(
            self.session.scalars(
                select(Vacancy.id)
                .where(
                    Vacancy.status == "open",
                    Vacancy.expires_at <= func.now(),
                    *excluding(Vacancy.id, skip),
                )
                .order_by(Vacancy.id)
                .limit(limit)
            )
        )

    def expire_due(
        self,
        *,
        dwelling_id: uuid.UUID | None = None,
        ids: Collection[uuid.UUID] | None = None,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Marks open vacancies past their expiry as expired (all, one dwelling's, or those
        of ``ids``); returns (id, corporation)."""
        only: list[ColumnElement[bool]] = []
        if dwelling_id is not None:
            only.append(Vacancy.dwelling_id == dwelling_id)
        if ids is not None:
            only.append(Vacancy.id.in_(ids))
        rows = self.session.execute(
            update(Vacancy)
            .where(Vacancy.status == "open", Vacancy.expires_at <= func.now(), *only)
            .values(status="expired", closed_reason="not refreshed in time", updated_at=func.now())
            .returning(Vacancy.id, Vacancy.corporation_id)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def search(
        self,
        filters: DwellingFilters,
        *,
        statuses: tuple[str, ...],
        corporation_id: uuid.UUID | None,
        after: SearchAfter | None,
        limit: int,
    ) -> list[tuple[Vacancy, Dwelling, str, float | None]]:
        distance: ColumnElement[Any] | None = None
        if filters.near is not None:
            longitude, latitude, _ = filters.near
            distance = func.ST_Distance(Dwelling.location, point_geography(longitude, latitude))
        status = effective_status()
        distance_or_null: ColumnElement[Any] = distance if distance is not None else literal(None)
        statement = (
            select(Vacancy, Dwelling, status, distance_or_null)
            .join(Dwelling, Dwelling.id == Vacancy.dwelling_id)
            .where(*DwellingRepository(self.session).conditions(filters))
        )
        if statuses:
            wants_open = "open" in statuses
            others = tuple(s for s in statuses if s != "open")
            parts: list[ColumnElement[bool]] = []
            if wants_open:
                parts.append(vacancy_is_open())
            if others:
                parts.append(status.in_(others))
            statement = statement.where(or_(*parts))
        if corporation_id is not None:
            statement = statement.where(Vacancy.corporation_id == corporation_id)
        if distance is not None:
            if after is not None:
                statement = statement.where(
                    tuple_(distance, Vacancy.id) > tuple_(after.distance, uuid.UUID(after.id))
                )
            statement = statement.order_by(distance, Vacancy.id)
        else:
            # By the dwelling's municipality and id, the order of the municipality index: a
            # page is read from the jurisdiction's dwellings in order, each one's vacancies
            # looked up, and stops when it is full (ordered by the vacancy's id, every open
            # vacancy of the country was walked to fill a page of a small prefecture).
            if after is not None:
                statement = statement.where(
                    tuple_(Dwelling.municipality_code, Dwelling.id, Vacancy.id)
                    > tuple_(
                        after.municipality_code,
                        uuid.UUID(after.dwelling_id),
                        uuid.UUID(after.id),
                    )
                )
            statement = statement.order_by(Dwelling.municipality_code, Dwelling.id, Vacancy.id)
        rows = self.session.execute(statement.limit(limit)).all()
        return [
            (row[0], row[1], str(row[2]), None if row[3] is None else float(row[3])) for row in rows
        ]
