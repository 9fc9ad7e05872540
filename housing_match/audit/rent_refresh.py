"""The maintained rent balance (近傍同種): ``refresh_rent_comparables``.

Each registered dwelling's comparable count and median rent per ㎡ are kept in
``rent_comparables``, so the audit reads them (linear in the jurisdiction) instead of
computing a median over every neighbour of every dwelling (quadratic in local density). The
``dwellings`` trigger marks the grid cells where something that can move a median changed;
a refresh recomputes the dwellings within reach of the marks only, or everything when there
is no state yet, the radius setting changed, or so many cells are marked that one pass over
the country is cheaper. The audit shows the values' time and what changed since.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from housing_match.audit import rent_kernel
from housing_match.audit.rent_repository import (
    CELL_HALF_DIAGONAL_M,
    Mark,
    Points,
    RentComparablesRepository,
)
from housing_match.registry.standards import DwellingKind
from housing_match.settings import get_settings

logger = logging.getLogger("housing_match.audit.rent_refresh")

# Beyond this many marked cells (a bulk import, a first run) one pass over the country is
# cheaper than looking up the neighbourhood of each.
FULL_REFRESH_CELLS = 2_000
# Rounding of the cells' reach (metres).
REACH_MARGIN_M = 1.0


@dataclass(frozen=True)
class RefreshReport:
    mode: str  # full, incremental, current (nothing changed) or busy (another refresh runs)
    radius_m: int
    computed: int  # dwellings whose values were computed
    changed: int  # rows of rent_comparables written or removed
    cells: int  # marked cells consumed
    ambiguous_pairs: int  # pairs near the radius, decided by PostGIS
    as_of: datetime | None
    seconds: float

    def summary(self) -> str:
        return (
            f"rent balance {self.mode}: {self.computed:,} dwellings computed, "
            f"{self.changed:,} rows changed, {self.cells:,} marked cells, "
            f"{self.ambiguous_pairs:,} pairs decided by PostGIS, radius {self.radius_m} m, "
            f"as of {self.as_of:%Y-%m-%d %H:%M:%S %Z} in {self.seconds:.1f} s"
            if self.as_of
            else f"rent balance {self.mode}"
        )


@dataclass(frozen=True)
class _Computed:
    ids: list[uuid.UUID]
    counts: npt.NDArray[np.int64]
    medians: npt.NDArray[np.float64]
    ambiguous: int


def _compute(
    repository: RentComparablesRepository,
    points: Points,
    is_target: npt.NDArray[np.bool_],
    radius_m: float,
) -> _Computed:
    """Counts and medians of the targets among the points (all of their comparables must be
    among the points)."""
    grid, order = rent_kernel.make_grid(points.latitude, points.longitude, radius_m)
    latitude = points.latitude[order]
    longitude = points.longitude[order]
    values = points.rent_per_m2[order]
    ids = [points.ids[index] for index in order]
    targets = np.flatnonzero(is_target[order]).astype(np.int64)
    computing = time.perf_counter()
    first = rent_kernel.comparables(latitude, longitude, values, grid, targets, radius_m)
    logger.debug(
        "%s targets among %s points in %.2f s, %s pairs near the radius",
        f"{targets.size:,}", f"{len(ids):,}", time.perf_counter() - computing,
        f"{first.ambiguous.shape[0]:,}",
    )  # fmt: skip
    if first.ambiguous.size:
        pairs = [(ids[targets[position]], ids[point]) for position, point in first.ambiguous]
        within = np.array(repository.within_radius(pairs, radius_m), dtype=np.bool_)
        rent_kernel.resolve(latitude, longitude, values, grid, targets, radius_m, first, within)
    return _Computed(
        ids=[ids[index] for index in targets],
        counts=first.counts,
        medians=first.medians,
        ambiguous=int(first.ambiguous.shape[0]),
    )


def _merge(parts: list[_Computed]) -> _Computed:
    return _Computed(
        ids=[dwelling_id for part in parts for dwelling_id in part.ids],
        counts=np.concatenate([part.counts for part in parts] or [np.empty(0, np.int64)]),
        medians=np.concatenate([part.medians for part in parts] or [np.empty(0, np.float64)]),
        ambiguous=sum(part.ambiguous for part in parts),
    )


def _full(repository: RentComparablesRepository, radius_m: int) -> _Computed:
    parts = []
    for kind in DwellingKind:
        reading = time.perf_counter()
        points = repository.registered_points(kind.value)
        logger.debug("%s points read in %.2f s", kind.value, time.perf_counter() - reading)
        parts.append(
            _compute(repository, points, np.ones(len(points.ids), dtype=np.bool_), radius_m)
        )
    return _merge(parts)


def _incremental(
    repository: RentComparablesRepository, marks: list[Mark], radius_m: int
) -> _Computed:
    # A dwelling whose comparables changed has a changed one within the radius, and that lies
    # in a marked cell: within the radius plus the cell's half diagonal of the cell's centre.
    target_reach = radius_m + CELL_HALF_DIAGONAL_M + REACH_MARGIN_M
    parts = []
    for kind in DwellingKind:
        centres = [mark.centre for mark in marks if mark.kind == kind.value]
        if not centres:
            continue
        points = repository.registered_points_near(kind.value, centres, radius_m + target_reach)
        targets = set(repository.registered_points_near(kind.value, centres, target_reach).ids)
        is_target = np.fromiter(
            (dwelling_id in targets for dwelling_id in points.ids), np.bool_, len(points.ids)
        )
        parts.append(_compute(repository, points, is_target, radius_m))
    return _merge(parts)


def refresh_rent_comparables(
    session: Session, *, full: bool = False, radius_m: int | None = None
) -> RefreshReport:
    """Brings ``rent_comparables`` up to date; the caller commits. ``full`` recomputes every
    registered dwelling; otherwise only those near what changed since the last refresh."""
    started = time.perf_counter()
    radius = get_settings().rent_balance_radius_m if radius_m is None else radius_m
    repository = RentComparablesRepository(session)
    if not repository.try_lock():
        return RefreshReport("busy", radius, 0, 0, 0, 0, None, time.perf_counter() - started)
    # Values reflect at least every change committed before this moment.
    as_of = repository.now()
    marks = repository.marks()
    state = repository.state()
    full = full or state is None or state.radius_m != radius or len(marks) > FULL_REFRESH_CELLS
    if full:
        computed = _full(repository, radius)
        writing = time.perf_counter()
        changed = repository.write(
            computed.ids, computed.counts, computed.medians, replace_all=True
        )
        logger.debug("written in %.2f s", time.perf_counter() - writing)
        mode = "full"
    elif marks:
        computed = _incremental(repository, marks, radius)
        left = repository.left_register_near(
            [mark.centre for mark in marks], CELL_HALF_DIAGONAL_M + REACH_MARGIN_M
        )
        changed = repository.remove(left) + repository.write(
            computed.ids, computed.counts, computed.medians, replace_all=False
        )
        mode = "incremental"
    else:
        computed, changed, mode = _merge([]), 0, "current"
    repository.consume(marks)
    repository.set_state(radius, as_of)
    report = RefreshReport(
        mode=mode,
        radius_m=radius,
        computed=len(computed.ids),
        changed=changed,
        cells=len(marks),
        ambiguous_pairs=computed.ambiguous,
        as_of=as_of,
        seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return report
