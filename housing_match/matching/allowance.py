"""住宅扶助 (housing assistance) rent ceilings, read from the editable CSV files in ``data/``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from housing_match.settings import get_settings

DATA_DIR = Path(__file__).resolve().parent / "data"
GRADES = ("1級地-1", "1級地-2", "2級地-1", "2級地-2", "3級地-1", "3級地-2")
# The rules cap the table at "seven or more"; sizes above it share the last row.
MAX_TABLE_HOUSEHOLD = 7


@dataclass(frozen=True)
class AllowanceTable:
    by_grade: dict[tuple[str, int], int]
    by_municipality: dict[tuple[str, int], int]
    grade_of: dict[str, str]


@dataclass(frozen=True)
class AllowanceCeiling:
    yen: int
    grade: str
    municipal: bool  # the municipality's own value, rather than its grade's approximation


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    yield from csv.DictReader(lines)


@lru_cache
def load_table(data_dir: Path = DATA_DIR) -> AllowanceTable:
    by_grade: dict[tuple[str, int], int] = {}
    by_municipality: dict[tuple[str, int], int] = {}
    for row in _rows(data_dir / "housing_allowance.csv"):
        scope, size, yen = row["scope"].strip(), int(row["household_size"]), int(row["ceiling_yen"])
        if not 1 <= size <= MAX_TABLE_HOUSEHOLD or yen <= 0:
            raise ValueError(f"housing_allowance.csv: bad row {row}")
        if scope in GRADES:
            by_grade[(scope, size)] = yen
        elif len(scope) == 6 and scope.isdigit():
            by_municipality[(scope, size)] = yen
        else:
            raise ValueError(f"housing_allowance.csv: unknown scope {scope!r}")
    missing = [
        (grade, size)
        for grade in GRADES
        for size in range(1, MAX_TABLE_HOUSEHOLD + 1)
        if (grade, size) not in by_grade
    ]
    if missing:
        raise ValueError(f"housing_allowance.csv: no ceiling for {missing}")
    grade_of: dict[str, str] = {}
    for row in _rows(data_dir / "municipality_grades.csv"):
        grade = row["grade"].strip()
        if grade not in GRADES:
            raise ValueError(f"municipality_grades.csv: unknown grade {grade!r}")
        grade_of[row["municipality_code"].strip()] = grade
    return AllowanceTable(by_grade=by_grade, by_municipality=by_municipality, grade_of=grade_of)


def housing_allowance_ceiling(municipality_code: str, household_size: int) -> AllowanceCeiling:
    table = load_table()
    size = min(max(household_size, 1), MAX_TABLE_HOUSEHOLD)
    default_grade = get_settings().housing_allowance_default_grade
    grade = table.grade_of.get(municipality_code, default_grade)
    municipal = table.by_municipality.get((municipality_code, size))
    if municipal is not None:
        return AllowanceCeiling(yen=municipal, grade=grade, municipal=True)
    return AllowanceCeiling(yen=table.by_grade[(grade, size)], grade=grade, municipal=False)
