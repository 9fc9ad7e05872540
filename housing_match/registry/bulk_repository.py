"""Set-based SQL of the bulk import: COPY for new dwellings, one UPDATE for changed ones.

Row by row, 100,000 dwellings would take minutes; through COPY they take seconds, inside the
caller's transaction, so a failure leaves nothing half-written. Rows arrive as lines of COPY
text already rendered by the workers (``bulk_prepare``), in ``NEW_ROW_COLUMNS`` order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String, Uuid

from housing_match.auth import Actor
from housing_match.models import Dwelling
from housing_match.registry.bulk_prepare import CONTENT_COLUMNS

NEW_ROW_COLUMNS: tuple[str, ...] = (
    "id",
    "authority_id",
    "applicant_id",
    "status",
    "registered_on",
    "standards_checked_at",
    *CONTENT_COLUMNS,
)
# A re-imported row whose content is the same is "unchanged": nothing written, no history.
_COMPARED = tuple(c for c in CONTENT_COLUMNS if c != "standards_violations")


@dataclass(frozen=True)
class ExistingDwelling:
    id: uuid.UUID
    applicant_id: uuid.UUID
    status: str


class BulkDwellingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def existing(
        self, keys: Sequence[tuple[uuid.UUID, str]]
    ) -> dict[tuple[uuid.UUID, str], ExistingDwelling]:
        """Dwellings already stored under these (authority, registration number) keys."""
        if not keys:
            return {}
        wanted = set(keys)
        statement = select(
            Dwelling.id,
            Dwelling.authority_id,
            Dwelling.registration_number,
            Dwelling.applicant_id,
            Dwelling.status,
        ).where(
            Dwelling.authority_id == bindparam("authorities", type_=ARRAY(Uuid())).any_(),
            Dwelling.registration_number == bindparam("numbers", type_=ARRAY(String())).any_(),
        )
        rows = self.session.execute(
            statement,
            {
                "authorities": sorted({key[0] for key in keys}),
                "numbers": sorted({key[1] for key in keys}),
            },
        ).all()
        return {
            (row.authority_id, row.registration_number): ExistingDwelling(
                row.id, row.applicant_id, row.status
            )
            for row in rows
            if (row.authority_id, row.registration_number) in wanted
        }

    def of_authority(self, authority_id: uuid.UUID) -> dict[str, ExistingDwelling]:
        """Every dwelling an authority has registered or been applied to, by registration
        number: one query up front instead of one per chunk, so a single COPY can stay open
        for the whole file."""
        rows = self.session.execute(
            select(
                Dwelling.id, Dwelling.registration_number, Dwelling.applicant_id, Dwelling.status
            ).where(Dwelling.authority_id == authority_id)
        ).all()
        return {
            row.registration_number: ExistingDwelling(row.id, row.applicant_id, row.status)
            for row in rows
        }

    def register_holds_at_most(self, authority_id: uuid.UUID, dwellings: int) -> bool:
        """Whether an authority has at most this many dwellings; counts no further."""
        some = (
            select(Dwelling.id)
            .where(Dwelling.authority_id == authority_id)
            .limit(dwellings + 1)
            .subquery()
        )
        held = self.session.execute(select(func.count()).select_from(some)).scalar_one()
        return held <= dwellings

    def _driver(self) -> psycopg.Connection[Any]:
        # COPY needs psycopg itself; it runs on the session's connection and transaction.
        return cast(
            "psycopg.Connection[Any]", self.session.connection().connection.driver_connection
        )

    @contextmanager
    def copying_new(self) -> Iterator[psycopg.Copy]:
        """A COPY into ``dwellings`` (``NEW_ROW_COLUMNS``) to write line blocks into; nothing
        else may use the connection until it closes."""
        with self._copy("dwellings") as copy:
            yield copy

    @contextmanager
    def _generic_plans(self) -> Iterator[None]:
        """Lets the database reuse its plans for the duration: a foreign-key check is a cached
        query run once per inserted row, and the service's ``force_custom_plan`` (``db``)
        would plan it afresh every time, which made a COPY about 40 % slower. Local to the
        transaction; a failure rolls the setting back with everything else."""
        previous = self.session.execute(
            text(
                "SELECT current_setting('plan_cache_mode'),"
                " set_config('plan_cache_mode', 'auto', true)"
            )
        ).scalar_one()
        yield
        self.session.execute(
            text("SELECT set_config('plan_cache_mode', :previous, true)"), {"previous": previous}
        )

    @contextmanager
    def _copy(self, table: str) -> Iterator[psycopg.Copy]:
        with (
            self._generic_plans(),
            self._driver().cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(NEW_ROW_COLUMNS)}) FROM STDIN") as copy,
        ):
            yield copy

    def insert_new(self, lines: Sequence[bytes]) -> None:
        """COPY new dwellings straight into the table."""
        if lines:
            with self._copy("dwellings") as copy:
                copy.write(b"".join(lines))

    def update_changed(
        self, lines: Sequence[bytes], actor: Actor, *, action: str
    ) -> set[uuid.UUID]:
        """Update the dwellings whose content differs; a history row for each with before and
        after. Returns the ids actually changed."""
        if not lines:
            return set()
        self.session.execute(text("DROP TABLE IF EXISTS pg_temp.dwelling_import"))
        selected = ", ".join(f"d.{column}" for column in NEW_ROW_COLUMNS)
        self.session.execute(
            text(
                "CREATE TEMPORARY TABLE dwelling_import ON COMMIT DROP AS "  # noqa: S608  # constant names
                f"SELECT {selected} FROM dwellings AS d WITH NO DATA"
            )
        )
        with self._copy("dwelling_import") as copy:
            copy.write(b"".join(lines))
        with self._generic_plans():
            return self._update_from_import(actor, action=action)

    def _update_from_import(self, actor: Actor, *, action: str) -> set[uuid.UUID]:
        assignments = ", ".join(f"{column} = i.{column}" for column in CONTENT_COLUMNS)
        current = ", ".join(f"old.{column}" for column in _COMPARED)
        incoming = ", ".join(f"i.{column}" for column in _COMPARED)
        result = self.session.execute(
            text(
                "WITH changed AS ("  # noqa: S608  # constant column names
                f" UPDATE dwellings AS d SET {assignments},"
                " standards_checked_at = now(), updated_at = now()"
                " FROM dwelling_import AS i JOIN dwellings AS old ON old.id = i.id"
                f" WHERE d.id = i.id AND ({current}) IS DISTINCT FROM ({incoming})"
                f" RETURNING d.id, {_row_json('old')} AS before, {_row_json('d')} AS after"
                "), logged AS ("
                " INSERT INTO history (actor_organisation_id, actor_api_key_id, channel,"
                " action, entity_type, entity_id, before, after)"
                " SELECT :organisation_id, :api_key_id, :channel, :action, 'dwelling',"
                " id::text, before, after FROM changed"
                ") SELECT id FROM changed"
            ),
            {
                "organisation_id": actor.organisation_id,
                "api_key_id": actor.api_key_id,
                "channel": actor.channel,
                "action": action,
            },
        )
        return {row[0] for row in result.all()}


def _row_json(alias: str) -> str:
    """A row as the history stores it: GeoJSON for the location, like ``snapshot()``."""
    return (
        f"(to_jsonb({alias}) - 'location') || "
        f"jsonb_build_object('location', ST_AsGeoJSON({alias}.location)::jsonb)"
    )
