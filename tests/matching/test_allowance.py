"""The 住宅扶助 table ships as editable data and covers every grade and household size."""

from __future__ import annotations

from pathlib import Path

import pytest

from housing_match.matching.allowance import GRADES, housing_allowance_ceiling, load_table


def test_every_grade_and_size_has_a_ceiling() -> None:
    table = load_table()
    for grade in GRADES:
        sizes = [table.by_grade[(grade, size)] for size in range(1, 8)]
        assert sizes == sorted(sizes)  # larger households, higher ceilings
    first = [table.by_grade[(grade, 1)] for grade in GRADES]
    assert first == sorted(first, reverse=True)  # 1級地-1 highest, 3級地-2 lowest


@pytest.mark.parametrize(
    ("code", "size", "yen", "grade", "municipal"),
    [
        ("131041", 1, 53_700, "1級地-1", True),  # Tokyo wards (domain.md)
        ("131041", 2, 64_000, "1級地-1", True),
        ("131041", 5, 69_800, "1級地-1", True),
        ("271004", 1, 40_000, "1級地-1", True),  # Osaka city (domain.md)
        ("271004", 3, 52_000, "1級地-1", True),
        ("271004", 10, 62_000, "1級地-1", True),  # seven or more
        ("472018", 1, 38_000, "2級地-1", False),  # Naha: its grade's approximation
        ("012025", 1, 31_000, "3級地-2", False),  # not listed: the default, lowest grade
    ],
)
def test_ceilings(code: str, size: int, yen: int, grade: str, municipal: bool) -> None:
    ceiling = housing_allowance_ceiling(code, size)
    assert (ceiling.yen, ceiling.grade, ceiling.municipal) == (yen, grade, municipal)


def test_a_table_missing_a_grade_is_refused(tmp_path: Path) -> None:
    (tmp_path / "housing_allowance.csv").write_text(
        "# comment\nscope,household_size,ceiling_yen\n1級地-1,1,46000\n", encoding="utf-8"
    )
    (tmp_path / "municipality_grades.csv").write_text(
        "municipality_code,name,grade\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="no ceiling"):
        load_table(tmp_path)
