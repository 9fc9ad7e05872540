"""SQL of the maintained rent balance (近傍同種): marks, points, the radius test, the write."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as type_cast

import numpy as np
import numpy.typing as npt
import psycopg
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    and_,
    cast,
    delete,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import aliased

from housing_match.models import (
    Dwelling,
    RentComparable,
    RentComparablesDirty,
    RentComparablesState,
)
from housing_match.registry.repository import comparable_conditions, rent_per_m2
from housing_match.repository import RepositoryBase

# The trigger's grid (migration 0015): cells of a thousandth of a degree. Every point of a
# cell lies within this many metres of its centre (half the diagonal, rounded up).
CELL_DEG = 0.001
CELL_HALF_DIAGONAL_M = 80.0
# Marks are looked up in groups of this many degrees.
TILE_DEG = 0.05
# Advisory lock key of the refresh: two refreshes at once would consume each other's marks.
REFRESH_LOCK = 0x72656E74  # "rent"


@dataclass(frozen=True)
class Mark:
    kind: str
    cell_x: int
    cell_y: int
    mark: int
    changes: int

    @property
    def centre(self) -> tuple[float, float]:
        """(longitude, latitude) of the cell's centre."""
        return (self.cell_x + 0.5) * CELL_DEG, (self.cell_y + 0.5) * CELL_DEG


@dataclass(frozen=True)
class Points:
    """Registered dwellings of one kind: ids and float arrays, in the same order."""

    ids: list[uuid.UUID]
    latitude: npt.NDArray[np.float64]
    longitude: npt.NDArray[np.float64]
    rent_per_m2: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pending:
    """What changed since the last refresh: dwellings, cells, and since when."""

    dwellings: int
    cells: int
    since: datetime | None


@dataclass(frozen=True)
class State:
    radius_m: int
    refreshed_at: datetime


class RentComparablesRepository(RepositoryBase[RentComparable]):
    model = RentComparable

    def _driver(self) -> psycopg.Connection[Any]:
        # Bulk reads and COPY need psycopg itself, on the session's connection and transaction.
        return type_cast(
            "psycopg.Connection[Any]", self.session.connection().connection.driver_connection
        )

    def try_lock(self) -> bool:
        """The refresh's lock, held to the end of the transaction; False if another has it."""
        return bool(
            self.session.execute(select(func.pg_try_advisory_xact_lock(REFRESH_LOCK))).scalar_one()
        )

    def state(self) -> State | None:
        row = self.session.get(RentComparablesState, True)
        return None if row is None else State(row.radius_m, row.refreshed_at)

    def set_state(self, radius_m: int, refreshed_at: datetime) -> None:
        statement = insert(RentComparablesState).values(
            singleton=True, radius_m=radius_m, refreshed_at=refreshed_at
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[RentComparablesState.singleton],
                set_={"radius_m": radius_m, "refreshed_at": refreshed_at},
            )
        )
        self.session.expire_all()

    def now(self) -> datetime:
        moment: datetime = self.session.execute(select(func.clock_timestamp())).scalar_one()
        return moment

    def marks(self) -> list[Mark]:
        rows = self.session.execute(
            select(
                RentComparablesDirty.kind,
                RentComparablesDirty.cell_x,
                RentComparablesDirty.cell_y,
                RentComparablesDirty.mark,
                RentComparablesDirty.changes,
            )
        ).all()
        return [Mark(*row) for row in rows]

    def pending(self) -> Pending:
        dwellings, cells, since = self.session.execute(
            select(
                func.coalesce(func.sum(RentComparablesDirty.changes), 0),
                func.count(),
                func.min(RentComparablesDirty.first_marked_at),
            )
        ).one()
        return Pending(dwellings=int(dwellings), cells=int(cells), since=since)

    def consume(self, marks: Sequence[Mark]) -> None:
        """Deletes the marks read, unless set again since (then their ``mark`` moved on)."""
        if not marks:
            return
        read = select(
            func.unnest(literal([m.kind for m in marks], ARRAY(String))).label("kind"),
            func.unnest(literal([m.cell_x for m in marks], ARRAY(Integer))).label("cell_x"),
            func.unnest(literal([m.cell_y for m in marks], ARRAY(Integer))).label("cell_y"),
            func.unnest(literal([m.mark for m in marks], ARRAY(BigInteger))).label("mark"),
        ).subquery("read")
        self.session.execute(
            delete(RentComparablesDirty).where(
                RentComparablesDirty.kind == read.c.kind,
                RentComparablesDirty.cell_x == read.c.cell_x,
                RentComparablesDirty.cell_y == read.c.cell_y,
                RentComparablesDirty.mark == read.c.mark,
            )
        )

    # --- points ------------------------------------------------------------------------

    @staticmethod
    def _point_query() -> Select[uuid.UUID, float, float, float]:
        point = cast(Dwelling.location, Geometry)
        return select(
            Dwelling.id,
            func.ST_Y(point),
            func.ST_X(point),
            # The rent per ㎡ exactly as percentile_cont sees it: the SQL expression, as float8.
            cast(rent_per_m2(), Float),
        ).where(Dwelling.status == "registered")

    def _points(self, statement: Select[uuid.UUID, float, float, float]) -> Points:
        rows = self.session.execute(statement).all()
        return Points(
            ids=[row[0] for row in rows],
            latitude=np.fromiter((row[1] for row in rows), np.float64, len(rows)),
            longitude=np.fromiter((row[2] for row in rows), np.float64, len(rows)),
            rent_per_m2=np.fromiter((row[3] for row in rows), np.float64, len(rows)),
        )

    def registered_points(self, kind: str) -> Points:
        """Every registered dwelling of the kind."""
        return self._points(self._point_query().where(Dwelling.kind == kind))

    @staticmethod
    def _centres(centres: Sequence[tuple[float, float]]) -> Any:
        """The points as multipoints, one per tile of TILE_DEG: a neighbourhood is then one
        index scan of the tile's reach rather than one per point (marks lie side by side)."""
        tiles: dict[tuple[int, int], list[str]] = {}
        for lon, lat in centres:
            tile = (math.floor(lon / TILE_DEG), math.floor(lat / TILE_DEG))
            tiles.setdefault(tile, []).append(f"{lon!r} {lat!r}")
        shapes = [f"SRID=4326;MULTIPOINT({', '.join(points)})" for points in tiles.values()]
        return select(
            func.ST_GeogFromText(func.unnest(literal(shapes, ARRAY(Text)))).label("area")
        ).subquery("centres")

    @staticmethod
    def _near(centres: Any, reach_m: float) -> ColumnElement[bool]:
        return func.ST_DWithin(Dwelling.location, centres.c.area, reach_m)

    def registered_points_near(
        self, kind: str, centres: Sequence[tuple[float, float]], reach_m: float
    ) -> Points:
        """Registered dwellings of the kind within ``reach_m`` of any of the points."""
        near = self._centres(centres)
        statement = (
            self._point_query()
            .join_from(near, Dwelling, self._near(near, reach_m))
            .where(Dwelling.kind == kind)
            .distinct()
        )
        return self._points(statement)

    def left_register_near(
        self, centres: Sequence[tuple[float, float]], reach_m: float
    ) -> list[uuid.UUID]:
        """Maintained dwellings near the points that are no longer registered."""
        near = self._centres(centres)
        statement = (
            select(Dwelling.id)
            .join_from(near, Dwelling, self._near(near, reach_m))
            .join(RentComparable, RentComparable.dwelling_id == Dwelling.id)
            .where(Dwelling.status != "registered")
            .distinct()
        )
        return list(self.session.execute(statement).scalars())

    def within_radius(
        self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]], radius_m: float
    ) -> list[bool]:
        """For each (dwelling, neighbour) pair: is the neighbour a comparable of the dwelling?
        The comparables' own conditions (``comparable_conditions``), pair by pair."""
        if not pairs:
            return []
        pair = select(
            func.unnest(literal([a for a, _ in pairs], ARRAY(Uuid))).label("dwelling_id"),
            func.unnest(literal([b for _, b in pairs], ARRAY(Uuid))).label("neighbour_id"),
            func.generate_series(1, len(pairs)).label("position"),
        ).subquery("pair")
        dwelling = aliased(Dwelling, name="dwelling")
        neighbour = aliased(Dwelling, name="neighbour")
        statement = (
            select(
                and_(
                    *comparable_conditions(
                        neighbour,
                        kind=dwelling.kind,
                        location=dwelling.location,
                        radius_m=radius_m,
                    )
                )
            )
            .select_from(pair)
            .join(dwelling, dwelling.id == pair.c.dwelling_id)
            .join(neighbour, neighbour.id == pair.c.neighbour_id)
            .order_by(pair.c.position)
        )
        return [bool(row) for row in self.session.execute(statement).scalars()]

    # --- writing -----------------------------------------------------------------------

    def write(
        self,
        ids: Sequence[uuid.UUID],
        counts: npt.NDArray[np.int64],
        medians: npt.NDArray[np.float64],
        *,
        replace_all: bool,
    ) -> int:
        """Upserts the values (NaN: no median); with ``replace_all``, rows of any other
        dwelling go. Returns how many rows changed."""
        self.session.execute(
            text("CREATE TEMP TABLE rent_comparables_new (LIKE rent_comparables) ON COMMIT DROP")
        )
        with (
            self._driver().cursor() as cursor,
            cursor.copy(
                "COPY rent_comparables_new (dwelling_id, comparable_count, median_rent_per_m2) "
                "FROM STDIN"
            ) as copy,
        ):
            for dwelling_id, count, median in zip(
                ids, counts.tolist(), medians.tolist(), strict=True
            ):
                copy.write_row((dwelling_id, count, None if median != median else median))
        changed = 0
        if replace_all:
            changed += self._rowcount(
                "DELETE FROM rent_comparables rc WHERE NOT EXISTS "
                "(SELECT FROM rent_comparables_new n WHERE n.dwelling_id = rc.dwelling_id)"
            )
        changed += self._rowcount(
            "INSERT INTO rent_comparables SELECT * FROM rent_comparables_new "
            "ON CONFLICT (dwelling_id) DO UPDATE "
            "SET comparable_count = excluded.comparable_count, "
            "    median_rent_per_m2 = excluded.median_rent_per_m2 "
            "WHERE (rent_comparables.comparable_count, rent_comparables.median_rent_per_m2) "
            "      IS DISTINCT FROM (excluded.comparable_count, excluded.median_rent_per_m2)"
        )
        self.session.execute(text("DROP TABLE rent_comparables_new"))
        return changed

    def remove(self, ids: Sequence[uuid.UUID]) -> int:
        if not ids:
            return 0
        result = self.session.execute(
            delete(RentComparable).where(RentComparable.dwelling_id.in_(list(ids)))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def _rowcount(self, sql: str) -> int:
        result = self.session.execute(text(sql))
        return int(getattr(result, "rowcount", 0) or 0)
