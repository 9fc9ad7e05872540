"""The plain path of a CSV import: a chunk of ordinary records to COPY cells without pydantic.

Validating a row through ``DwellingInput`` costs a worker as much as the rest of the row's
work, and most records of a register are plainly valid. For those this module gives exactly
what the model path would give (the stored values as COPY text, and the standards facts); for
any record it is not sure of (a cell the fast parsers leave to the full ones, a value at or
beyond a limit, a missing or inconsistent field) it gives None, and the record takes the model
path, so every error message stays pydantic's. tests/registry/test_bulk_fast_path.py keeps the
two paths equal, limit by limit.

It works a column at a time: a register's columns repeat (words, flags, amounts, codes), so
each distinct cell text of a column is parsed once per chunk and the rest is a dictionary
lookup made from C, and only what ties the columns of a record together runs per record.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from housing_match.jurisdiction import jurisdiction_code_error
from housing_match.registry import standards
from housing_match.registry.accessibility import has_step_free_route
from housing_match.registry.bulk_format import (
    FAST_PARSERS,
    REQUIRED_KEYS,
    TEXT_KEYS,
    UNSURE,
    fast_plain,
)
from housing_match.registry.copy_text import (
    FLAG,
    NULL,
    escaped,
    ewkb_point,
    free_texts,
    json_text,
    words,
)
from housing_match.registry.schemas import RegistrationClass
from housing_match.registry.standards import DwellingKind, FacilityProvision, SeismicEvidence
from housing_match.spreadsheet import restored


class PlainRow(NamedTuple):
    registration_number: str
    authority_slug: str | None
    municipality_code: str
    facts: standards.DwellingFacts
    # The CONTENT_COLUMNS up to ``notes`` as COPY text: the standards result comes after.
    cells: list[str]


def plain_records(keys: Sequence[str], records: Sequence[Sequence[str]]) -> list[PlainRow | None]:
    """Each record (the cells of a CSV line, under the header ``keys``) as a plain row, or
    None where the model must decide."""
    total = len(records)
    width = len(keys)
    kept: Sequence[int] | None = None
    fitted: Sequence[Sequence[str]] = records
    if any(len(record) != width for record in records):
        # Only records that reach the last required column can be plain, and none with cells
        # beyond the header (the model reports those); the others are left out here rather
        # than padded and parsed column by column (a file of one-cell rows cost most here).
        needed = _needed_cells(tuple(keys))
        kept = [i for i, record in enumerate(records) if needed <= len(record) <= width]
        fitted = [[*records[i], *([""] * (width - len(records[i])))] for i in kept]
    plain = _plain_fitted(keys, fitted)
    if kept is None:
        return plain
    every: list[PlainRow | None] = [None] * total
    for index, row in zip(kept, plain, strict=True):
        every[index] = row
    return every


@functools.lru_cache(maxsize=64)
def _needed_cells(keys: tuple[str, ...]) -> int:
    """How many cells a record needs to hold every required column of this header."""
    return 1 + max((index for index, key in enumerate(keys) if key in REQUIRED_KEYS), default=-1)


def _plain_fitted(keys: Sequence[str], fitted: Sequence[Sequence[str]]) -> list[PlainRow | None]:
    count = len(fitted)
    if not count:
        return []
    declined: set[int] = set()
    columns = list(zip(*fitted, strict=True))
    values: dict[str, Sequence[Any]] = {}
    for key, column in zip(keys, columns, strict=True):
        if key == "registering_authority":
            values[key] = [
                (_csv_text(text) if text[0] == "'" else text) if (text := cell.strip()) else None
                for cell in column
            ]
            continue
        parse = _CSV_PARSERS.get(key)
        if parse is None:  # export-only columns, ignored on import
            continue
        if key in _MOSTLY_DISTINCT:
            column_values = [parse(text) if (text := cell.strip()) else None for cell in column]
            unsure = UNSURE in column_values
        else:
            parsed = _ParsedCells(parse)
            column_values = list(map(parsed.__getitem__, column))
            unsure = parsed.unsure
        values[key] = column_values
        if unsure:
            declined.update(i for i, value in enumerate(column_values) if value is UNSURE)
    absent = [None] * count
    plain: list[PlainRow | None] = []
    for index, fields in enumerate(
        zip(*(values.get(key, absent) for key in _ROW_KEYS), strict=True)
    ):
        plain.append(None if index in declined else _plain_row(*fields))
    return plain


def _csv_text(text: str) -> str:
    # The export put an apostrophe before text that a spreadsheet would run as a formula.
    # What it hid is stripped as every value of an import is (the model path does the same).
    return restored(text).strip() if text[0] == "'" else text


def _restoring(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_cell(text: str) -> Any:
        return parse(restored(text).strip()) if text[0] == "'" else parse(text)

    return parse_cell


# The fast parsers as a CSV's cells need them: free text restored from its defused form
# (``spreadsheet.defused``) first. A plain text column's parser is the restoring itself, so a
# cell costs no more calls than before.
_CSV_PARSERS: dict[str, Callable[[str], Any]] = {
    key: parse if key not in TEXT_KEYS else _csv_text if parse is fast_plain else _restoring(parse)
    for key, parse in FAST_PARSERS.items()
}

# Columns whose cells seldom repeat, so that remembering them would cost more than it saves.
_MOSTLY_DISTINCT = frozenset({"registration_number", "address", "latitude", "longitude"})


class _ParsedCells(dict[str, Any]):
    """A column's cell texts, each parsed once: None when blank (an absent value), else what
    the fast parser gives, UNSURE included."""

    __slots__ = ("parse", "unsure")

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self.parse = parse
        self.unsure = False

    def __missing__(self, cell: str) -> Any:
        text = cell.strip()
        value = self.parse(text) if text else None
        if value is UNSURE:
            self.unsure = True
        self[cell] = value
        return value


# --- one record ---------------------------------------------------------------------------

_KINDS = {kind.value: kind for kind in DwellingKind}
_PROVISIONS = {provision.value: provision for provision in FacilityProvision}
_EVIDENCE = {evidence.value: evidence for evidence in SeismicEvidence}
_SHARED_HOUSE = DwellingKind.SHARED_HOUSE.value
_EXCLUSIVE = RegistrationClass.EXCLUSIVE.value
_NO_EVIDENCE = SeismicEvidence.NONE.value
_AREA_MAX = Decimal(10_000)
_DECIMAL_ZERO = Decimal(0)
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONEY_MAX = 10_000_000


def _plain_row(
    registering_authority: str | None,
    registration_number: str | None,
    registration_class: str | None,
    exclusive_target_categories: list[str] | None,
    kind: str | None,
    address: str | None,
    municipality_code: str | None,
    latitude: float | None,
    longitude: float | None,
    floor_area_m2: Decimal | None,
    floor: int | None,
    floors_total: int | None,
    has_elevator: bool | None,
    step_free_entrance: bool | None,
    wheelchair_accessible: bool | None,
    kitchen: str | None,
    toilet: str | None,
    storage: str | None,
    bath: str | None,
    washbasin: str | None,
    construction_started_on: str | None,
    is_existing_building: bool | None,
    seismic_evidence: str | None,
    rent_yen: int | None,
    common_fee_yen: int | None,
    deposit_yen: int | None,
    key_money_yen: int | None,
    accepted_categories: list[str] | None,
    required_risks: list[str] | None,
    required_whole_tenancy_risks: list[str] | None,
    pets_allowed: bool | None,
    smoking_allowed: bool | None,
    shared_capacity: int | None,
    shared_room_areas_m2: list[Decimal] | None,
    shared_toilets: int | None,
    shared_washbasins: int | None,
    shared_baths: int | None,
    shared_living_room: bool | None,
    shared_dining_room: bool | None,
    shared_kitchen: bool | None,
    shared_laundry: bool | None,
    support_certifying_code: str | None,
    support_daily_safety_check: bool | None,
    support_monthly_visit: bool | None,
    support_connections: list[str] | None,
    notes: str | None,
) -> PlainRow | None:
    """The record as the model would store it, or None unless it surely would. A field is
    None when its cell is blank or absent; what the model then assumes is its default."""
    if (
        registration_number is None
        or registration_class is None
        or kind is None
        or address is None
        or municipality_code is None
        or latitude is None
        or longitude is None
        or floor_area_m2 is None
        or is_existing_building is None
        or rent_yen is None
        or kitchen is None
        or toilet is None
        or storage is None
        or bath is None
        or washbasin is None
    ):
        return None
    if floor is None:
        floor = 1
    if floors_total is None:
        floors_total = 1
    if common_fee_yen is None:
        common_fee_yen = 0
    if deposit_yen is None:
        deposit_yen = 0
    if key_money_yen is None:
        key_money_yen = 0
    if notes is None:
        notes = ""
    targets = exclusive_target_categories or []
    if not (
        len(registration_number) <= 64
        and len(address) <= 300
        and len(notes) <= 2000
        and _plain_municipality_code(municipality_code)
        and 20.0 <= latitude <= 46.0
        and 122.0 <= longitude <= 154.0
        and _plain_area(floor_area_m2)
        and floor.__class__ is int
        and -5 <= floor <= 100
        and floors_total.__class__ is int
        and 1 <= floors_total <= 100
        and floor <= floors_total
        and rent_yen.__class__ is int
        and 0 <= rent_yen <= _MONEY_MAX
        and common_fee_yen.__class__ is int
        and 0 <= common_fee_yen <= _MONEY_MAX
        and deposit_yen.__class__ is int
        and 0 <= deposit_yen <= _MONEY_MAX
        and key_money_yen.__class__ is int
        and 0 <= key_money_yen <= _MONEY_MAX
        and bool(targets) == (registration_class == _EXCLUSIVE)
        # A wheelchair claim without a step-free route: the model words the refusal.
        and (
            wheelchair_accessible is not True
            or has_step_free_route(
                step_free_entrance=step_free_entrance is True,
                floor=floor,
                has_elevator=has_elevator is True,
            )
        )
    ):
        return None
    started: date | None = None
    if construction_started_on is not None:
        started = _plain_date(construction_started_on)
        if started is None:
            return None
    shared_json = shared_capacity_text = NULL
    shared_facts: standards.SharedHouseFacts | None = None
    if kind == _SHARED_HOUSE or not (
        shared_capacity is None
        and shared_toilets is None
        and shared_washbasins is None
        and shared_baths is None
        and shared_living_room is None
        and shared_dining_room is None
        and shared_kitchen is None
        and shared_laundry is None
    ):
        rooms = shared_room_areas_m2 or []
        if not (
            kind == _SHARED_HOUSE
            and _in(shared_capacity, 1, 100)
            and 1 <= len(rooms) <= 100
            and all(_plain_area(area) for area in rooms)
            and _in(shared_toilets, 0, 100)
            and _in(shared_washbasins, 0, 100)
            and _in(shared_baths, 0, 100)
            and shared_living_room is not None
            and shared_dining_room is not None
            and shared_kitchen is not None
            and shared_laundry is not None
        ):
            return None
        assert shared_capacity is not None  # noqa: S101  # checked above, for the type checker
        assert shared_toilets is not None  # noqa: S101
        assert shared_washbasins is not None  # noqa: S101
        assert shared_baths is not None  # noqa: S101
        # SharedHouse.model_dump(mode="json"), key for key.
        shared_json = json_text(
            {
                "capacity": shared_capacity,
                "room_areas_m2": [str(area) for area in rooms],
                "toilets": shared_toilets,
                "washbasins": shared_washbasins,
                "baths": shared_baths,
                "has_living_room": shared_living_room,
                "has_dining_room": shared_dining_room,
                "has_kitchen": shared_kitchen,
                "has_laundry": shared_laundry,
            }
        )
        shared_capacity_text = str(shared_capacity)
        shared_facts = standards.SharedHouseFacts(
            capacity=shared_capacity,
            room_areas_m2=tuple(rooms),
            toilets=shared_toilets,
            washbasins=shared_washbasins,
            baths=shared_baths,
            has_living_room=shared_living_room,
            has_dining_room=shared_dining_room,
            has_kitchen=shared_kitchen,
            has_laundry=shared_laundry,
        )
    supported = support_certifying_code is not None
    connections = NULL
    if support_certifying_code is not None:
        listed = support_connections or []
        if not _plain_municipality_code(support_certifying_code) or any(
            len(item) > 200 for item in listed
        ):
            return None
        connections = free_texts(listed)
    whole = set(required_whole_tenancy_risks or ())
    required = {*(required_risks or ()), *whole}
    seismic = seismic_evidence or _NO_EVIDENCE
    facts = standards.DwellingFacts(
        kind=_KINDS[kind],
        floor_area_m2=floor_area_m2,
        is_existing_building=is_existing_building,
        construction_started_on=started,
        seismic_evidence=_EVIDENCE[seismic],
        kitchen=_PROVISIONS[kitchen],
        toilet=_PROVISIONS[toilet],
        storage=_PROVISIONS[storage],
        bath=_PROVISIONS[bath],
        washbasin=_PROVISIONS[washbasin],
        shared_house=shared_facts,
    )
    cells = [
        escaped(registration_number),
        registration_class,
        words(sorted(set(targets))) if targets else "{}",
        escaped(support_certifying_code) if support_certifying_code is not None else NULL,
        NULL,  # the file has no support provider column
        FLAG[supported and support_daily_safety_check is True],
        FLAG[supported and support_monthly_visit is True],
        connections if supported else "{}",
        kind,
        shared_json,
        shared_capacity_text,
        escaped(address),
        municipality_code,  # six ASCII digits, nothing to escape
        ewkb_point(longitude, latitude),
        str(floor_area_m2),
        str(floor),
        str(floors_total),
        FLAG[has_elevator is True],
        FLAG[step_free_entrance is True],
        FLAG[wheelchair_accessible is True],
        kitchen,
        toilet,
        storage,
        bath,
        washbasin,
        started.isoformat() if started else NULL,
        FLAG[is_existing_building],
        seismic,
        str(rent_yen),
        str(common_fee_yen),
        str(deposit_yen),
        str(key_money_yen),
        FLAG[accepted_categories is None],
        words(sorted(set(accepted_categories))) if accepted_categories else "{}",
        words(sorted(required)) if required else "{}",
        words(sorted(whole)) if whole else "{}",
        FLAG[pets_allowed is True],
        FLAG[smoking_allowed is True],
        escaped(notes) if notes else "",
    ]
    return PlainRow(registration_number, registering_authority, municipality_code, facts, cells)


# The record's fields in _plain_row's order, which the function itself defines.
_ROW_KEYS: tuple[str, ...] = tuple(inspect.signature(_plain_row).parameters)
if set(_ROW_KEYS) != {*FAST_PARSERS, "registering_authority"}:  # pragma: no cover
    raise RuntimeError("_plain_row must take exactly the fast-parsed columns")


@functools.lru_cache(maxsize=4096)
def _plain_municipality_code(code: str) -> bool:
    # ASCII digits only: the model's pattern takes any Unicode digit and then rejects it with
    # its own message.
    return (
        len(code) == 6
        and code.isascii()
        and code.isdigit()
        and jurisdiction_code_error(code) is None
    )


def _plain_area(value: Any) -> bool:
    # At most two decimals as written, so the model's max_digits and decimal_places (which it
    # counts after normalising) hold; the model keeps the Decimal as given.
    return (
        value.__class__ is Decimal
        and _DECIMAL_ZERO < value <= _AREA_MAX
        and int(value.as_tuple().exponent) >= -2
    )


def _plain_date(text: str) -> date | None:
    # Years before 1000 are left to the model, whose date parser differs from Python's there.
    if not _PLAIN_DATE.fullmatch(text) or text[0] == "0":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _in(value: Any, low: int, high: int) -> bool:
    return value.__class__ is int and low <= value <= high
