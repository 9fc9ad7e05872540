"""Build ``housing_match/matching/data/housing_allowance.csv`` from the public reference tables.

    .venv/bin/python scripts/build_housing_allowance.py --source ../shared/data/welfare
    .venv/bin/python scripts/build_housing_allowance.py --source … --check   # exit 1 if stale

The source directory holds four files, all public figures:

- ``housing_allowance_by_prefecture_grade.csv``: 都道府県 × 級地 (1, 2, 3) → the monthly 住宅扶助
  ceiling for 1, 2, 3–5, 6 and 7+ persons (the minor grade -1/-2 does not change it);
- ``housing_allowance_by_city.csv``: the cities with their own ceiling, which replaces the
  prefecture's whatever their grade;
- ``municipality_grades_by_name.json``: {都道府県: {市区町村: [major, minor]}} for every
  municipality above 3級地-2 (every one not listed is 3級地-2);
- ``standard_area_codes.csv``: 総務省 標準地域コード (5 digits) with the names, to turn names into
  codes; the 6-digit 全国地方公共団体コード adds the check digit.

The output has one row per current municipality code (designated cities, their wards and
Tokyo's special wards included) with its grade, the row of the tables its ceiling comes from,
and the five ceilings; its header records the sources, their date and their SHA-256, so the
file can be checked against them (``--check``) and regenerated when they change.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "housing_match" / "matching" / "data" / "housing_allowance.csv"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "welfare"

BY_PREFECTURE_GRADE = "housing_allowance_by_prefecture_grade.csv"
BY_CITY = "housing_allowance_by_city.csv"
GRADES_BY_NAME = "municipality_grades_by_name.json"
AREA_CODES = "standard_area_codes.csv"
SOURCE_FILES = (BY_PREFECTURE_GRADE, BY_CITY, GRADES_BY_NAME, AREA_CODES)

SOURCE = (
    "厚生労働省「生活保護法による保護の基準」住宅扶助の限度額（都道府県・指定都市・中核市の"
    "特別基準額）と級地区分、OpenFisca-Japan による表; 総務省 標準地域コード"
)
SOURCE_DATE = "2026-04"
# Every municipality not listed in the grades file.
DEFAULT_GRADE = (3, 2)
SIZE_COLUMNS = ("1人", "2人", "3~5人", "6人", "7人以上")
# Not current municipalities although the area codes list them: the statistical total of
# Tokyo's wards, and the six villages of the Northern Territories, which have no municipal
# government and no welfare office, so no 住宅扶助 is ever granted there.
NOT_MUNICIPALITIES = frozenset({"13100", "01695", "01696", "01697", "01698", "01699", "01700"})


# Names the grades file misspells (characters garbled in its compilation), as the area codes
# spell them.
MISSPELLED = {("岩手県", "佂石市"): "釜石市", ("宮城県", "塩伽市"): "塩竈市"}


@dataclass(frozen=True)
class WardChange:
    """A change of a designated city's wards after the area codes' snapshot."""

    effective: str
    city: str
    abolished: tuple[str, ...]  # 5-digit codes
    created: tuple[tuple[str, str], ...]  # (5-digit code, ward name)


# The area codes follow the map of late 2023. Since then: 浜松市's seven wards became three
# (中央区, 浜名区 and 天竜区, each with a new code) on 2024-01-01.
CHANGES_SINCE_SNAPSHOT: tuple[WardChange, ...] = (
    WardChange(
        effective="2024-01-01",
        city="浜松市",
        abolished=("22131", "22132", "22133", "22134", "22135", "22136", "22137"),
        created=(("22138", "中央区"), ("22139", "浜名区"), ("22140", "天竜区")),
    ),
)

HEADER = (
    "municipality_code",
    "prefecture",
    "name",
    "grade",
    "ceiling_basis",
    "ceiling_row",
    "yen_1",
    "yen_2",
    "yen_3_5",
    "yen_6",
    "yen_7_plus",
)


def check_digit(first_five: str) -> str:
    """JIS X 0402: weights 6..2, modulus 11, 10 written as 0 (as housing_match.jurisdiction)."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def normalised(name: str) -> str:
    """Names as the two sources may spell them: NFKC, and ヶ/ケ, ヵ/カ alike."""
    return unicodedata.normalize("NFKC", name).replace("ヶ", "ケ").replace("ヵ", "カ").strip()


@dataclass(frozen=True)
class Place:
    code: str  # 5 digits
    prefecture: str
    name: str  # as shown: "千代田区", "札幌市", "札幌市中央区", "当別町"
    city: str | None  # the designated city a ward belongs to


class BuildError(Exception):
    pass


def read_places(path: Path) -> tuple[list[Place], dict[str, str]]:
    """Every current municipality and ward, and each designated city's code by name."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    county = "政令市･郡･支庁･振興局等"
    designated = {row[county]: row["標準地域コード"] for row in rows if not row["市区町村"]}
    places: list[Place] = []
    for row in rows:
        code = row["標準地域コード"]
        if code in NOT_MUNICIPALITIES:
            continue
        prefecture, parent, name = row["都道府県"], row[county], row["市区町村"]
        if not name:
            places.append(Place(code, prefecture, parent, None))
        elif parent in designated:
            places.append(Place(code, prefecture, parent + name, parent))
        else:
            places.append(Place(code, prefecture, name, None))
    for change in CHANGES_SINCE_SNAPSHOT:
        known = {place.code for place in places}
        missing = [code for code in change.abolished if code not in known]
        if missing:
            raise BuildError(f"{change.city}: abolished wards {missing} not in the area codes")
        city_place = next(p for p in places if p.code == designated[change.city])
        places = [place for place in places if place.code not in change.abolished]
        places.extend(
            Place(code, city_place.prefecture, change.city + ward, change.city)
            for code, ward in change.created
        )
    places.sort(key=lambda place: place.code)
    return places, designated


def read_grades(
    path: Path, places: list[Place], designated: dict[str, str]
) -> dict[str, tuple[int, int]]:
    """The grade of every municipality the grades file names, by 5-digit code."""
    by_name: dict[tuple[str, str], list[Place]] = {}
    for place in places:
        if place.city is None:  # wards take their city's grade
            by_name.setdefault((place.prefecture, normalised(place.name)), []).append(place)
    grades: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    document = json.loads(path.read_text(encoding="utf-8"))
    for prefecture, municipalities in document.items():
        for name, (major, minor) in municipalities.items():
            spelled = MISSPELLED.get((prefecture, name), name)
            found = by_name.get((prefecture, normalised(spelled)), [])
            if len(found) != 1:
                problems.append(f"{prefecture}{name}: {len(found)} area codes")
                continue
            if (major, minor) not in {(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)}:
                problems.append(f"{prefecture}{name}: grade {major}-{minor}")
            grades[found[0].code] = (major, minor)
    if problems:
        raise BuildError("grades by name: " + "; ".join(problems))
    return grades


def read_ceilings(path: Path, key_columns: Iterable[str]) -> dict[tuple[str, ...], list[int]]:
    keys = tuple(key_columns)
    ceilings: dict[tuple[str, ...], list[int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = tuple(row[column].strip() for column in keys)
            values = [int(row[column]) for column in SIZE_COLUMNS]
            if key in ceilings:
                raise BuildError(f"{path.name}: {key} twice")
            if any(value <= 0 for value in values) or values != sorted(values):
                raise BuildError(f"{path.name}: {key}: ceilings {values}")
            ceilings[key] = values
    return ceilings


def build(source: Path) -> str:
    places, designated = read_places(source / AREA_CODES)
    grades = read_grades(source / GRADES_BY_NAME, places, designated)
    by_grade = read_ceilings(source / BY_PREFECTURE_GRADE, ("都道府県", "級地"))
    by_city_name = read_ceilings(source / BY_CITY, ("市",))
    # A city with its own ceiling, by the 5-digit code of the city itself (never of a ward).
    city_ceilings: dict[str, tuple[str, list[int]]] = {}
    for (name,), values in by_city_name.items():
        matching = [
            p.code for p in places if p.city is None and normalised(p.name) == normalised(name)
        ]
        if len(matching) != 1:
            raise BuildError(f"{BY_CITY}: {name}: {len(matching)} area codes")
        city_ceilings[matching[0]] = (name, values)

    rows: list[list[str]] = []
    problems: list[str] = []
    for place in places:
        own = designated[place.city] if place.city is not None else place.code
        major, minor = grades.get(own, DEFAULT_GRADE)
        if own in city_ceilings:
            basis, row_label = "city", city_ceilings[own][0]
            values = city_ceilings[own][1]
        else:
            basis, row_label = "prefecture_grade", f"{place.prefecture} {major}級地"
            grade_values = by_grade.get((place.prefecture, str(major)))
            if grade_values is None:
                problems.append(f"{place.code} {place.name}: no row {row_label}")
                continue
            values = grade_values
        rows.append(
            [
                place.code + check_digit(place.code),
                place.prefecture,
                place.name,
                f"{major}級地-{minor}",
                basis,
                row_label,
                *(str(value) for value in values),
            ]
        )
    if problems:
        raise BuildError("no ceiling: " + "; ".join(problems))
    return render(source, rows)


def render(source: Path, rows: list[list[str]]) -> str:
    digests = {
        name: hashlib.sha256((source / name).read_bytes()).hexdigest() for name in SOURCE_FILES
    }
    changes = "; ".join(
        f"{change.effective} {change.city} wards {', '.join(w for _, w in change.created)}"
        for change in CHANGES_SINCE_SNAPSHOT
    )
    lines = [
        "# 住宅扶助 (生活保護 housing assistance): the monthly rent ceiling in yen and the",
        "# 級地 of every current municipality code (全国地方公共団体コード, check digit",
        "# included), designated cities, their wards and Tokyo's special wards included.",
        "# Sizes 3 to 5 share one ceiling; 7 is seven or more. ceiling_basis says which row",
        "# of the tables gives the ceiling: the city's own (city), or its prefecture's for",
        "# the grade (prefecture_grade; the minor grades -1 and -2 share it).",
        "# A code not listed here is not a current municipality: the service refuses it.",
        "#",
        f"# source: {SOURCE}",
        f"# source_date: {SOURCE_DATE}",
        f"# changes_since_area_codes: {changes}",
        "# generated_by: scripts/build_housing_allowance.py, from:",
        *(f"#   {name} sha256 {digest}" for name, digest in digests.items()),
        "# Editable: correct a value here (every row of one ceiling_row must keep the same",
        "# ceilings; the loader checks) or in the sources, then regenerate.",
    ]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return "\n".join(lines) + "\n" + buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    arguments = parser.parse_args()
    missing = [name for name in SOURCE_FILES if not (arguments.source / name).is_file()]
    if missing:
        print(f"{arguments.source}: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        text = build(arguments.source)
    except BuildError as exc:
        print(f"cannot build: {exc}", file=sys.stderr)
        return 1
    if arguments.check:
        current = arguments.output.read_text(encoding="utf-8") if arguments.output.exists() else ""
        if current != text:
            print(f"{arguments.output} differs from what the sources give", file=sys.stderr)
            return 1
        print(f"{arguments.output} is up to date")
        return 0
    arguments.output.write_text(text, encoding="utf-8")
    rows = sum(1 for line in text.splitlines() if line[:1].isdigit())
    print(f"wrote {arguments.output}: {rows} municipality codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
