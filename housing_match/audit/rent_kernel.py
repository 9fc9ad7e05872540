"""The numeric core of the rent-balance refresh: every dwelling's comparables, in one pass.

A dwelling's comparables are the registered dwellings of its kind within the radius
(``registry.repository.comparable_conditions``: ``ST_DWithin`` on the WGS 84 spheroid). In a
dense city that is thousands of neighbours for each of a hundred thousand dwellings: over a
billion pairs in the country. PostgreSQL spends about a microsecond a pair on the spheroid
distance and the sort, so the refresh fetches the points once and pairs them here instead,
compiled (numba), a few nanoseconds a pair.

The spheroid distance is not computed twice over: a pair is decided here only when it is
clearly inside or clearly outside the radius. The local formula below (meridian and parallel
radii of curvature at the pair's mean latitude) is within 10 µm of PostGIS's geodesic at these
distances; a pair within ``AMBIGUOUS_M`` of the radius is handed back, and PostGIS itself
decides it (``RentComparablesRepository.within_radius``). The median is PostgreSQL's
``percentile_cont(0.5)`` to the bit: the mean of the two middle values as ``lo + 0.5 * (hi -
lo)``, over the same float8 rents per ㎡ the SQL computes.

Points are bucketed on a grid of cells about an eighth of the radius (in degrees); a
dwelling's candidates are, row of cells by row, one contiguous run of the points sorted by
cell, trimmed to the circle's width in that row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

# WGS 84.
SEMI_MAJOR_M = 6_378_137.0
FLATTENING = 1 / 298.257223563
E2 = FLATTENING * (2 - FLATTENING)
# The smallest meridian radius of curvature (at the equator): a lower bound of the metres per
# radian of latitude anywhere.
MERIDIAN_MIN_M = SEMI_MAJOR_M * (1 - E2)
# Pairs whose local distance is this close to the radius are decided by PostGIS.
AMBIGUOUS_M = 0.01
CELLS_PER_RADIUS = 8

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Grid:
    """Points sorted by cell, and the cell key of each."""

    cell_deg: float
    width: int  # cells around a parallel
    keys: Ints


def make_grid(latitude: Floats, longitude: Floats, radius_m: float) -> tuple[Grid, Ints]:
    """The grid for the radius and the order that sorts the points by cell."""
    cell_deg = math.degrees(radius_m / CELLS_PER_RADIUS / SEMI_MAJOR_M)
    width = math.ceil(360 / cell_deg) + 2
    keys = _cell_keys(latitude, longitude, cell_deg, width)
    order = np.argsort(keys, kind="stable")
    return Grid(cell_deg=cell_deg, width=width, keys=keys[order]), order


def _cell_keys(latitude: Floats, longitude: Floats, cell_deg: float, width: int) -> Ints:
    rows = np.floor((latitude + 90.0) / cell_deg).astype(np.int64)
    columns = np.floor((longitude + 180.0) / cell_deg).astype(np.int64)
    keys: Ints = rows * width + columns
    return keys


@njit(cache=True)
def _select(values: Floats, count: int, k: int) -> float:
    """Rearranges values[:count] so that values[k] is its k-th smallest and values[:k] are
    no larger (Hoare's selection, in place); returns values[k]."""
    low, high = 0, count - 1
    while low < high:
        middle = (low + high) // 2
        a, b, c = values[low], values[middle], values[high]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = low, high
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            high = j
        elif k >= i:
            low = i
        else:
            break
    return float(values[k])


@njit(cache=True)
def _median(values: Floats, count: int) -> float:
    """percentile_cont(0.5), as PostgreSQL computes it."""
    upper = count // 2
    high = _select(values, count, upper)
    if count % 2 == 1:
        return float(high)
    low = values[0]
    for index in range(1, upper):
        low = max(low, values[index])
    return float(low + 0.5 * (high - low))


@njit(cache=True)
def _comparables(
    latitude: Floats,
    longitude: Floats,
    value: Floats,
    keys: Ints,
    cell_deg: float,
    width: int,
    targets: Ints,
    radius_m: float,
    resolved: Ints,
    defer_ambiguous: bool,
    counts: Ints,
    medians: Floats,
    ambiguous: Ints,
) -> int:
    """For each target (an index into the points, sorted by cell) its comparable count and
    median, written to ``counts`` and ``medians`` at the target's position in ``targets``.

    With ``defer_ambiguous``, a target with a pair near the radius gets count -1 and its pairs
    are written to ``ambiguous`` (target position, point index) as long as there is room;
    returns how many there were. Without, a pair near the radius counts when its key
    (target position × number of points + point index) is in the sorted ``resolved``.
    """
    points = latitude.shape[0]
    buffer = np.empty(points, dtype=np.float64)
    inside = (radius_m - AMBIGUOUS_M) ** 2
    outside = (radius_m + AMBIGUOUS_M) ** 2
    # Candidate cells: a little wider than the radius, so that rounding never drops one.
    reach = (radius_m + AMBIGUOUS_M) * 1.001
    reach_lat_deg = math.degrees(reach / MERIDIAN_MIN_M)
    found = 0
    for position in range(targets.shape[0]):
        target = targets[position]
        lat_deg = latitude[target]
        lon_deg = longitude[target]
        phi = math.radians(lat_deg)
        lam = math.radians(lon_deg)
        sin_phi, cos_phi = math.sin(phi), math.cos(phi)
        w = 1.0 - E2 * sin_phi * sin_phi
        sin_2phi = 2.0 * sin_phi * cos_phi
        # Radii of curvature at the target and their first derivatives in latitude: at the
        # pair's mean latitude they are these plus derivative × half the difference.
        meridian = SEMI_MAJOR_M * (1.0 - E2) * w**-1.5
        meridian_slope = 1.5 * SEMI_MAJOR_M * (1.0 - E2) * E2 * sin_2phi * w**-2.5
        parallel = SEMI_MAJOR_M * cos_phi * w**-0.5
        parallel_slope = SEMI_MAJOR_M * w**-0.5 * (-sin_phi + cos_phi * E2 * sin_2phi / (2.0 * w))
        count = 0
        deferred = False
        row_low = math.floor((lat_deg - reach_lat_deg + 90.0) / cell_deg)
        row_high = math.floor((lat_deg + reach_lat_deg + 90.0) / cell_deg)
        for row in range(row_low, row_high + 1):
            band_low = row * cell_deg - 90.0
            band_high = band_low + cell_deg
            if lat_deg < band_low:
                gap_deg = band_low - lat_deg
            elif lat_deg > band_high:
                gap_deg = lat_deg - band_high
            else:
                gap_deg = 0.0
            gap_m = math.radians(gap_deg) * MERIDIAN_MIN_M
            if gap_m > reach:
                continue
            half_width_m = math.sqrt(reach * reach - gap_m * gap_m)
            farthest = min(max(abs(band_low), abs(band_high)), abs(lat_deg) + reach_lat_deg, 89.999)
            half_width_deg = math.degrees(
                half_width_m / (SEMI_MAJOR_M * math.cos(math.radians(farthest)))
            )
            column_low = math.floor((lon_deg - half_width_deg + 180.0) / cell_deg)
            column_high = math.floor((lon_deg + half_width_deg + 180.0) / cell_deg)
            start = np.searchsorted(keys, row * width + column_low, side="left")
            stop = np.searchsorted(keys, row * width + column_high, side="right")
            for point in range(start, stop):
                if point == target:
                    continue
                d_phi = math.radians(latitude[point]) - phi
                d_lam = math.radians(longitude[point]) - lam
                dy = (meridian + meridian_slope * 0.5 * d_phi) * d_phi
                dx = (parallel + parallel_slope * 0.5 * d_phi) * d_lam
                squared = dx * dx + dy * dy
                if squared > outside:
                    continue
                if squared >= inside:
                    if defer_ambiguous:
                        if found < ambiguous.shape[0]:
                            ambiguous[found, 0] = position
                            ambiguous[found, 1] = point
                        found += 1
                        deferred = True
                        continue
                    key = position * points + point
                    at = np.searchsorted(resolved, key)
                    if at >= resolved.shape[0] or resolved[at] != key:
                        continue
                buffer[count] = value[point]
                count += 1
        if deferred:
            counts[position] = -1
            medians[position] = math.nan
        elif count == 0:
            counts[position] = 0
            medians[position] = math.nan
        else:
            counts[position] = count
            medians[position] = _median(buffer, count)
    return found


@dataclass(frozen=True)
class Comparables:
    counts: Ints
    medians: Floats  # NaN where there is no comparable
    ambiguous: Ints  # (target position, point index) pairs near the radius, to be decided
    deferred: npt.NDArray[np.bool_]  # targets with such pairs: counts and medians not final


def comparables(
    latitude: Floats,
    longitude: Floats,
    value: Floats,
    grid: Grid,
    targets: Ints,
    radius_m: float,
) -> Comparables:
    """First pass: every target decided, except those with a pair near the radius.

    The points must be sorted by cell (``make_grid``'s order); ``targets`` index them."""
    counts = np.empty(targets.shape[0], dtype=np.int64)
    medians = np.empty(targets.shape[0], dtype=np.float64)
    capacity = 1_024
    while True:
        ambiguous = np.empty((capacity, 2), dtype=np.int64)
        found = _comparables(
            latitude, longitude, value, grid.keys, grid.cell_deg, grid.width, targets,
            radius_m, np.empty(0, dtype=np.int64), True, counts, medians, ambiguous,
        )  # fmt: skip
        if found <= capacity:
            return Comparables(counts, medians, ambiguous[:found], counts < 0)
        capacity = found


def resolve(
    latitude: Floats,
    longitude: Floats,
    value: Floats,
    grid: Grid,
    targets: Ints,
    radius_m: float,
    first: Comparables,
    within: npt.NDArray[np.bool_],
) -> None:
    """Second pass over the deferred targets, the pairs near the radius decided (``within``,
    one per ``first.ambiguous`` row); completes ``first.counts`` and ``first.medians``."""
    positions = np.flatnonzero(first.deferred)
    if positions.size == 0:
        return
    # Keys are rebased to the deferred targets' own positions in this pass.
    rebase = np.full(targets.shape[0], -1, dtype=np.int64)
    rebase[positions] = np.arange(positions.size)
    included = first.ambiguous[within]
    resolved = np.sort(rebase[included[:, 0]] * latitude.shape[0] + included[:, 1])
    counts = np.empty(positions.size, dtype=np.int64)
    medians = np.empty(positions.size, dtype=np.float64)
    _comparables(
        latitude, longitude, value, grid.keys, grid.cell_deg, grid.width, targets[positions],
        radius_m, resolved, False, counts, medians, np.empty((0, 2), dtype=np.int64),
    )  # fmt: skip
    first.counts[positions] = counts
    first.medians[positions] = medians
