"""住宅扶助 (housing assistance) rent ceilings of every current municipality, read from the
editable data file ``data/housing_allowance.csv`` (built by ``scripts/build_housing_allowance.py``
from the published tables; its header names the source and its date).

The file is also the list of current municipality codes: a code it does not list is refused
wherever a person's municipality is given, never given a default grade.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "housing_allowance.csv"
GRADES = ("1級地-1", "1級地-2", "2級地-1", "2級地-2", "3級地-1", "3級地-2")
# The published table has five columns: 1, 2, 3–5, 6, and seven or more persons.
SIZE_COLUMNS = ("yen_1", "yen_2", "yen_3_5", "yen_6", "yen_7_plus")
SIZE_LABELS_JA = ("1人", "2人", "3〜5人", "6人", "7人以上")
REQUIRED_METADATA = ("source", "source_date")


class CeilingBasis(StrEnum):
    """Which row of the published tables gives a municipality its ceiling."""

    CITY = "city"  # the city's own ceiling (指定都市・中核市の特別基準額)
    PREFECTURE_GRADE = "prefecture_grade"  # its prefecture's ceiling for its 級地


@dataclass(frozen=True)
class MunicipalityAllowance:
    code: str
    prefecture: str
    name: str
    grade: str
    basis: CeilingBasis
    row: str  # "大阪市", "東京都 1級地"
    ceilings: tuple[int, ...]  # yen, per SIZE_COLUMNS


@dataclass(frozen=True)
class AllowanceTable:
    municipalities: dict[str, MunicipalityAllowance]
    source: str
    source_date: str


@dataclass(frozen=True)
class AllowanceCeiling:
    yen: int
    municipality: MunicipalityAllowance
    size_label_ja: str  # the column: "1人" … "7人以上"
    source_date: str


class UnknownMunicipality(LookupError):
    """The code is not that of a current municipality."""


def size_column(household_size: int) -> int:
    """The table's column for a household: 1, 2, 3–5, 6, 7 or more."""
    if household_size <= 2:
        return max(household_size, 1) - 1
    if household_size <= 5:
        return 2
    return 3 if household_size == 6 else 4


@lru_cache
def load_table(path: Path = DATA_FILE) -> AllowanceTable:
    """The data file, checked: every grade known, ceilings positive and rising with the
    household, and every municipality citing one row with the same ceilings as the others
    citing it (an edit of one row's ceilings must be made on all of them)."""
    metadata: dict[str, str] = {}
    lines: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line in handle:
            stripped = line.strip()
            if stripped.startswith("#"):
                key, colon, value = stripped[1:].partition(":")
                if colon and key.strip() in REQUIRED_METADATA:
                    metadata[key.strip()] = value.strip()
            elif stripped:
                lines.append(line)
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        raise ValueError(f"{path.name}: no {', '.join(missing)} in the header")
    municipalities: dict[str, MunicipalityAllowance] = {}
    by_row: dict[tuple[CeilingBasis, str], tuple[int, ...]] = {}
    for number, row in enumerate(csv.DictReader(lines), start=2):
        where = f"{path.name}: data row {number}"
        try:
            entry = MunicipalityAllowance(
                code=row["municipality_code"].strip(),
                prefecture=row["prefecture"].strip(),
                name=row["name"].strip(),
                grade=row["grade"].strip(),
                basis=CeilingBasis(row["ceiling_basis"].strip()),
                row=row["ceiling_row"].strip(),
                ceilings=tuple(int(row[column]) for column in SIZE_COLUMNS),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not (entry.code.isascii() and entry.code.isdigit() and len(entry.code) == 6):
            raise ValueError(f"{where}: {entry.code!r} is not a 6-digit code")
        if entry.grade not in GRADES:
            raise ValueError(f"{where}: unknown grade {entry.grade!r}")
        if min(entry.ceilings) <= 0 or list(entry.ceilings) != sorted(entry.ceilings):
            raise ValueError(f"{where}: ceilings {entry.ceilings} must be positive and rising")
        if entry.code in municipalities:
            raise ValueError(f"{where}: {entry.code} listed twice")
        cited = by_row.setdefault((entry.basis, entry.row), entry.ceilings)
        if cited != entry.ceilings:
            raise ValueError(
                f"{where}: {entry.code} cites {entry.row} with {entry.ceilings}, "
                f"other rows with {cited}"
            )
        municipalities[entry.code] = entry
    if not municipalities:
        raise ValueError(f"{path.name}: no municipality")
    return AllowanceTable(
        municipalities=municipalities,
        source=metadata["source"],
        source_date=metadata["source_date"],
    )


def current_municipality_error(code: str) -> str | None:
    """Why ``code`` is not a current municipality code, or None when it is one."""
    if code in load_table().municipalities:
        return None
    return (
        f"{code!r} is not a current municipality code: no municipality, designated city ward "
        "or Tokyo special ward has it today (a merged municipality takes its successor's code)"
    )


def housing_allowance_ceiling(municipality_code: str, household_size: int) -> AllowanceCeiling:
    """The 住宅扶助 ceiling for a household in a municipality; ``UnknownMunicipality`` when
    the code is not that of a current municipality."""
    table = load_table()
    municipality = table.municipalities.get(municipality_code)
    if municipality is None:
        raise UnknownMunicipality(current_municipality_error(municipality_code))
    column = size_column(household_size)
    return AllowanceCeiling(
        yen=municipality.ceilings[column],
        municipality=municipality,
        size_label_ja=SIZE_LABELS_JA[column],
        source_date=table.source_date,
    )
