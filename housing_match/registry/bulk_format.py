"""The bulk file format of the registry: one flat row per dwelling, as CSV or GeoJSON.

Municipal registers live in Excel, so the CSV header may use the English column keys or the
Japanese labels below, the values may be codes or Japanese words (登録住宅, 共用, はい …), and the
file may be UTF-8 (with or without a BOM) or Shift_JIS. Exports use the Japanese labels and a
BOM, and re-import unchanged: export → edit in Excel → import is the intended round trip.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy
from pydantic import ValidationError

from housing_match import spreadsheet, text_input
from housing_match.registry.schemas import (
    REGISTRATION_CLASS_LABELS_JA,
    DwellingInput,
    RegistrationClass,
)
from housing_match.registry.standards import DwellingKind, FacilityProvision, SeismicEvidence
from housing_match.vocabulary import (
    PERSON_CATEGORY_LABELS_JA,
    RISK_KIND_LABELS_JA,
    PersonCategory,
    RiskKind,
)

LIST_SEPARATOR = ";"
ALL_CATEGORIES = "all"


@dataclass(frozen=True)
class Column:
    key: str
    label_ja: str
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("registration_number", "登録番号", "Unique per registering authority."),
    Column("registering_authority", "登録主体", "Slug of the registering municipality."),
    Column("registration_class", "登録区分", "registered (登録住宅) or exclusive (専用住宅)."),
    Column("exclusive_target_categories", "専用対象者", "Categories of an exclusive dwelling."),
    Column("kind", "住宅の種類", "ordinary (一般) or shared_house (共同居住型)."),
    Column("address", "所在地", "Address."),
    Column("municipality_code", "市区町村コード", "6-digit local government code."),
    Column("latitude", "緯度", "WGS 84 latitude."),
    Column("longitude", "経度", "WGS 84 longitude."),
    Column("floor_area_m2", "床面積", "Floor area in ㎡ (a shared house: the whole building)."),
    Column("floor", "所在階", "Floor of the unit."),
    Column("floors_total", "階数", "Floors of the building."),
    Column("has_elevator", "エレベーター", "yes/no."),
    Column("step_free_entrance", "段差のない出入口", "yes/no."),
    Column("wheelchair_accessible", "車いす対応", "yes/no."),
    Column("kitchen", "台所", "in_unit (専用), shared (共用) or none (なし)."),
    Column("toilet", "便所", "in_unit, shared or none."),
    Column("storage", "収納", "in_unit, shared or none."),
    Column("bath", "浴室", "Bath or shower: in_unit, shared or none."),
    Column("washbasin", "洗面設備", "in_unit, shared or none."),
    Column("construction_started_on", "着工日", "YYYY-MM-DD."),
    Column("is_existing_building", "既存住宅", "yes/no."),
    Column("seismic_evidence", "耐震性", "none, diagnosis, retrofit or planned."),
    Column("rent_yen", "家賃", "Monthly rent in yen."),
    Column("common_fee_yen", "共益費", "Monthly common fee in yen."),
    Column("deposit_yen", "敷金", "Yen."),
    Column("key_money_yen", "礼金", "Yen."),
    Column("accepted_categories", "入居を拒まない者", "'all' (全て) or a ;-separated list."),
    Column("required_risks", "大家が求めるリスク対応", "Risk kinds someone must cover."),
    Column(
        "required_whole_tenancy_risks",
        "入居期間中ずっと必要なリスク対応",
        "Those of required_risks needed for the whole tenancy.",
    ),
    Column("pets_allowed", "ペット可", "yes/no."),
    Column("smoking_allowed", "喫煙可", "yes/no."),
    Column("shared_capacity", "共同居住型_定員", "Shared house: residents N."),
    Column("shared_room_areas_m2", "共同居住型_居室面積", "Shared house: ;-separated ㎡."),
    Column("shared_toilets", "共同居住型_便所数", "Shared house."),
    Column("shared_washbasins", "共同居住型_洗面所数", "Shared house."),
    Column("shared_baths", "共同居住型_浴室等数", "Shared house: baths or showers."),
    Column("shared_living_room", "共同居住型_居間", "Shared house: yes/no."),
    Column("shared_dining_room", "共同居住型_食堂", "Shared house: yes/no."),
    Column("shared_kitchen", "共同居住型_台所", "Shared house: yes/no."),
    Column("shared_laundry", "共同居住型_洗濯室", "Shared house: yes/no."),
    Column("support_certifying_code", "居住サポート住宅_認定市区町村", "Certifying municipality."),
    Column("support_daily_safety_check", "居住サポート住宅_毎日の安否確認", "yes/no."),
    Column("support_monthly_visit", "居住サポート住宅_月1回以上の訪問", "yes/no."),
    Column("support_connections", "居住サポート住宅_つなぎ先", ";-separated."),
    Column("notes", "備考", "Free notes."),
)
EXPORT_ONLY_COLUMNS: tuple[Column, ...] = (
    Column("status", "状態", "Export only: registered, applied, …"),
    Column("registered_on", "登録日", "Export only."),
)
# Free-text columns: an export defuses those that a spreadsheet would run as formulas
# (``spreadsheet.defused``), and a CSV import restores them. (GeoJSON is not for spreadsheets:
# it carries the text as it is, and its import takes it as it is.)
TEXT_KEYS = frozenset(
    {
        "registration_number",
        "registering_authority",
        "address",
        "municipality_code",
        "construction_started_on",
        "support_certifying_code",
        "support_connections",
        "notes",
    }
)
COLUMN_KEYS = frozenset(column.key for column in COLUMNS + EXPORT_ONLY_COLUMNS)
_KEY_BY_HEADER: dict[str, str] = {
    **{column.key: column.key for column in COLUMNS + EXPORT_ONLY_COLUMNS},
    **{column.label_ja: column.key for column in COLUMNS + EXPORT_ONLY_COLUMNS},
}

_TRUE = frozenset({"true", "yes", "y", "1", "はい", "有", "あり", "可", "○", "〇"})
_FALSE = frozenset({"false", "no", "n", "0", "いいえ", "無", "なし", "不可", "×", ""})
_CLASS_WORDS = {
    **{cls.value: cls.value for cls in RegistrationClass},
    **{label: cls.value for cls, label in REGISTRATION_CLASS_LABELS_JA.items()},
}
_KIND_WORDS = {
    "ordinary": DwellingKind.ORDINARY.value,
    "一般": DwellingKind.ORDINARY.value,
    "shared_house": DwellingKind.SHARED_HOUSE.value,
    "共同居住型": DwellingKind.SHARED_HOUSE.value,
    "シェアハウス": DwellingKind.SHARED_HOUSE.value,
}
_FACILITY_WORDS = {
    **{provision.value: provision.value for provision in FacilityProvision},
    "専用": FacilityProvision.IN_UNIT.value,
    "共用": FacilityProvision.SHARED.value,
    "なし": FacilityProvision.NONE.value,
}
_SEISMIC_WORDS = {
    **{evidence.value: evidence.value for evidence in SeismicEvidence},
    "なし": SeismicEvidence.NONE.value,
    "耐震診断": SeismicEvidence.DIAGNOSIS.value,
    "耐震改修": SeismicEvidence.RETROFIT.value,
    "改修予定": SeismicEvidence.PLANNED.value,
}
_CATEGORY_WORDS = {
    **{category.value: category.value for category in PersonCategory},
    **{label: category.value for category, label in PERSON_CATEGORY_LABELS_JA.items()},
}
_RISK_WORDS = {
    **{kind.value: kind.value for kind in RiskKind},
    **{label: kind.value for kind, label in RISK_KIND_LABELS_JA.items()},
}
_ALL_WORDS = frozenset({ALL_CATEGORIES, "全て", "すべて", "制限なし"})


class RowError(ValueError):
    """A row that cannot become a dwelling; the message names the column and the problem."""


class FileFormatError(ValueError):
    """The file as a whole cannot be read (not a CSV/GeoJSON, unknown columns, …)."""


class TooManyRows(FileFormatError):
    """The file holds more rows (or features) than one request may import."""


@dataclass(frozen=True)
class ReadLimits:
    """What one request may send, checked before any row is prepared, so that the cost of a
    request is bounded by its size the way a real register's is.

    ``max_rows`` rows (CSV records after the header, blank ones included) or features. A file
    of more than ``DENSE_ROWS_FREE`` rows must average ``MIN_ROW_BYTES`` a row (a GeoJSON
    feature ``MIN_FEATURE_BYTES``): each row costs the import some tens of microseconds
    whatever it holds, so a file of near-empty rows would cost many times more per byte than
    a register (scripts/bench_hostile_import.py)."""

    max_rows: int


# A register's row is longer: with an address, its required values alone take some 130 bytes
# as CSV and 250 as GeoJSON, a real one 300 and 700 to 1,300 (a blank row of the exported
# header 48). At these averages the worst file let through costs per byte about what a
# register does (scripts/bench_hostile_import.py).
MIN_ROW_BYTES = 96
MIN_FEATURE_BYTES = 128
DENSE_ROWS_FREE = 1_000
# A GeoJSON register nests five levels deep (collection, features, feature, properties or
# geometry, a list value or the coordinates); anything far deeper is not a register, and the
# JSON parser would recurse into it.
MAX_JSON_DEPTH = 16
# Objects and arrays per feature a register may use (the feature, its geometry, coordinates
# and properties, and lists among the properties), to bound the work of parsing before the
# features are counted.
MAX_JSON_CONTAINERS_PER_ROW = 16


def check_row_count(
    rows: int,
    size: int,
    limits: ReadLimits,
    *,
    counted_all: bool = True,
    min_bytes: int = MIN_ROW_BYTES,
) -> None:
    """Refuses too many rows, or too many for the size; ``counted_all`` is False when the
    counting stopped once the rows were too many."""
    if rows > limits.max_rows:
        holds = f"{rows:,}" if counted_all else f"more than {limits.max_rows:,}"
        raise TooManyRows(
            f"The file holds {holds} rows; an import takes at most {limits.max_rows:,} rows "
            "(or features) per request. Split the file, or import it with the "
            "housing-match CLI."
        )
    if rows > DENSE_ROWS_FREE and size < rows * min_bytes:
        raise FileFormatError(
            f"The file holds {rows:,} rows in {size:,} bytes ({size / rows:.1f} bytes a row); "
            f"a file of more than {DENSE_ROWS_FREE:,} rows must average at least "
            f"{min_bytes} bytes a row (a register row is several times longer). Remove "
            "the empty rows."
        )


@dataclass(frozen=True)
class SourceRow:
    """One row of the file, its number as staff see it (the header is row 1 in Excel)."""

    number: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class ParsedRow:
    number: int
    registration_number: str | None
    authority_slug: str | None
    data: DwellingInput | None
    errors: tuple[str, ...]


# --- reading --------------------------------------------------------------------------------


def decode_text(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            # The database stores no NUL; a file full of them is usually UTF-16.
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise FileFormatError(
                f"The file holds the NUL character (U+0000), first on line {line}: "
                "save it as UTF-8 or Shift_JIS text."
            )
        return text
    raise FileFormatError("The file is neither UTF-8 nor Shift_JIS text.")


def sniff_format(raw: bytes, filename: str | None = None) -> str:
    if filename is not None:
        lowered = filename.lower()
        if lowered.endswith((".geojson", ".json")):
            return "geojson"
        if lowered.endswith((".csv", ".txt")):
            return "csv"
    head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "geojson" if head.startswith(b"{") else "csv"


def read_csv(raw: bytes, limits: ReadLimits | None = None) -> tuple[int, CsvRows]:
    """The number of data rows and the rows themselves, with their header mapped to keys."""
    text = decode_text(raw)
    # The header and one record more than allowed are enough to refuse the file.
    most = None if limits is None else limits.max_rows + 2
    ends = _record_ends(text, raw, most)
    if ends is None:
        total, rows = _read_csv_irregular(text, most)
        if limits is not None:
            check_row_count(total, len(raw), limits, counted_all=most is None or total < most - 1)
        return total, rows
    header_end = ends[0] if ends else len(text)
    header = next(csv.reader(io.StringIO(text[:header_end], newline="")), None)
    if header is None:
        raise FileFormatError("The CSV file is empty; it needs a header row.")
    keys = _header_keys(header)
    # A last record without its line break still counts, as csv.reader counts it.
    total = len(ends) - 1 + (1 if ends and ends[-1] < len(text) else 0) if ends else 0
    if limits is not None:
        check_row_count(total, len(raw), limits, counted_all=most is None or len(ends) < most)
    return total, CsvRows(keys, text, ends)


def _read_csv_irregular(text: str, most: int | None) -> tuple[int, CsvRows]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise FileFormatError("The CSV file is empty; it needs a header row.")
    keys = _header_keys(header)
    records = itertools.islice(csv.reader(io.StringIO(text, newline="")), most)
    total = max(sum(1 for _ in records) - 1, 0)
    return total, CsvRows(keys, text, None, reader)


# A line break ends a record unless it is inside a quoted field, and a quote opens a quoted
# field only at the start of a field (elsewhere csv.reader keeps it as a character). Matching
# quoted fields whole, possessively, skips their line breaks exactly as csv.reader does.
# (The look-behind comes after the quote so that the pattern starts with a character class,
# which lets the regex engine skip ahead to the next quote or line break.)
_RECORD_TOKENS = re.compile(r'(\n)|"(?<![^,\r\n]")(?:[^"]|"")*+(")?')


def _record_ends(text: str, raw: bytes, most: int | None = None) -> list[int] | None:
    """Offsets just past each record's line break, or None when only csv.reader can tell
    (a bare CR as line break, a NUL, a quoted field left open at the end of the file); no
    more than ``most`` of them, which is enough to know the file is too long.

    ``raw`` is the file ``text`` was decoded from, UTF-8 or Shift_JIS: in both, the bytes of
    NUL, CR and LF stand only for those characters (no multi-byte character contains them), so
    they are looked for in the bytes, several times faster than in a text of Japanese (four
    bytes a character in memory): 0.14 s of a 100,000-row import, with no worker busy yet."""
    if b"\0" in raw or raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    if most is not None and raw.count(b"\n") >= most:
        return _record_ends_at_most(text, raw, most)
    if b'"' not in raw:
        ends: list[int] = []
        find = text.find
        end = find("\n") + 1
        while end:
            ends.append(end)
            end = find("\n", end) + 1
        return ends
    ends = []
    for match in _RECORD_TOKENS.finditer(text):
        kind = match.lastindex
        if kind == 1:
            ends.append(match.end())
        elif kind is None:
            return None
    return ends


def _record_ends_at_most(text: str, raw: bytes, most: int) -> list[int] | None:
    """``_record_ends`` of a file with ``most`` line breaks or more, stopping at ``most``
    records: counting the rest would cost as much as the file is long."""
    ends: list[int] = []
    if b'"' not in raw:
        find = text.find
        end = find("\n") + 1
        while end and len(ends) < most:
            ends.append(end)
            end = find("\n", end) + 1
        return ends
    for match in _RECORD_TOKENS.finditer(text):
        kind = match.lastindex
        if kind == 1:
            ends.append(match.end())
            if len(ends) >= most:
                break
        elif kind is None:
            return None
    return ends


class CsvRows(Iterator[SourceRow]):
    """The data rows of a CSV file. Besides being iterated, a regular file can be cut into
    chunks of whole records as text, so worker processes parse it rather than the caller."""

    def __init__(
        self,
        keys: list[str],
        text: str,
        ends: list[int] | None,
        reader: Iterator[list[str]] | None = None,
    ) -> None:
        self.keys = keys
        self._text = text
        self._ends = ends
        self._reader = reader
        self._rows: Iterator[SourceRow] | None = None

    def __next__(self) -> SourceRow:
        if self._rows is None:
            self._rows = self._iterate()
        return next(self._rows)

    def _iterate(self) -> Iterator[SourceRow]:
        if self._ends is None:
            assert self._reader is not None  # noqa: S101  # set for every irregular file
            yield from _source_rows(self.keys, 2, self._reader)
            return
        for number, chunk in self._chunks(self._ends, 1_000):
            yield from source_rows(self.keys, number, chunk)

    def text_chunks(self, size: int) -> Iterator[tuple[int, str]] | None:
        """(number of the first row, text of up to ``size`` whole records), or None when the
        file must be read record by record."""
        if self._ends is None:
            return None
        return self._chunks(self._ends, size)

    def _chunks(self, ends: list[int], size: int) -> Iterator[tuple[int, str]]:
        # ends[0] closes the header; data record i runs from ends[i] to ends[i + 1].
        text = self._text
        first = 0
        while first + size < len(ends):
            yield 2 + first, text[ends[first] : ends[first + size]]
            first += size
        start = ends[first] if ends else len(text)
        if start < len(text):
            yield 2 + first, text[start:]


def source_rows(keys: Sequence[str], first_number: int, text: str) -> list[SourceRow]:
    """The rows of a chunk of whole CSV records; its first record is row ``first_number``."""
    return list(_source_rows(keys, first_number, cell_records(text)))


def cell_records(text: str) -> Iterable[list[str]]:
    """The cells of each record of a chunk of whole CSV records, blank records included."""
    if '"' in text:
        return csv.reader(io.StringIO(text, newline=""))
    # Without quotes a record is a line and a cell is what lies between commas; splitting is
    # several times faster than csv.reader and gives the same cells.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return ((line[:-1] if line.endswith("\r") else line).split(",") for line in lines)


def _source_rows(
    keys: Sequence[str], first_number: int, records: Iterable[list[str]]
) -> Iterator[SourceRow]:
    for number, cells in enumerate(records, start=first_number):
        row = source_row(keys, number, cells)
        if row is not None:
            yield row


def source_row(keys: Sequence[str], number: int, cells: list[str]) -> SourceRow | None:
    """The row of one CSV record, or None for a blank record (skipped, as Excel leaves them)."""
    # An empty cell is an absent value to parse_row; leaving it out saves it a step.
    values: dict[str, Any] = {key: cell for key, cell in zip(keys, cells, strict=False) if cell}
    if not any(cell.strip() for cell in values.values()):
        return None
    for key in TEXT_KEYS.intersection(values):
        text = values[key].strip()
        if text[:1] == "'":
            values[key] = spreadsheet.restored(text)
    if len(cells) > len(keys):
        values["__extra__"] = str(len(cells) - len(keys))
    return SourceRow(number, values)


def _header_keys(header: Sequence[str]) -> list[str]:
    keys: list[str] = []
    unknown: list[str] = []
    for cell in header:
        name = cell.strip()
        key = _KEY_BY_HEADER.get(name)
        if key is None:
            unknown.append(name)
        keys.append(key or f"__unknown__{name}")
    if unknown:
        raise FileFormatError(
            "Unknown columns: " + ", ".join(repr(name) for name in unknown) + ". "
            "See the documented header (GET /v1/dwellings/import/columns)."
        )
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise FileFormatError("Columns given twice: " + ", ".join(duplicates) + ".")
    missing = [
        column.label_ja + f" ({column.key})"
        for column in COLUMNS
        if column.key in REQUIRED_KEYS and column.key not in keys
    ]
    if missing:
        raise FileFormatError("Missing required columns: " + ", ".join(missing) + ".")
    return keys


def read_geojson(raw: bytes, limits: ReadLimits | None = None) -> tuple[int, Iterator[SourceRow]]:
    """Features with a Point geometry and the flat columns (or keys or labels) as properties."""
    try:
        text = raw.decode("utf-8-sig")
        utf8 = True
    except UnicodeDecodeError:
        text = decode_text(raw)
        utf8 = False
    # Shift_JIS can hide a backslash in a character's second byte; UTF-8 cannot.
    _check_json_shape(raw if utf8 else text.encode(), limits)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"Not valid JSON: {exc.msg} at line {exc.lineno}.") from exc
    except RecursionError as exc:
        raise FileFormatError(_too_deep(None)) from exc
    if text_input.may_hold_problems(text):
        for problem in text_input.problems(document, "file"):
            raise FileFormatError(f"{problem.location} {problem.message}.")
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise FileFormatError("A GeoJSON import must be a FeatureCollection.")
    features = document.get("features")
    if not isinstance(features, list):
        raise FileFormatError("The FeatureCollection has no 'features' list.")
    if limits is not None:
        check_row_count(len(features), len(raw), limits, min_bytes=MIN_FEATURE_BYTES)

    def rows() -> Iterator[SourceRow]:
        # Features are numbered from 1, as a person counting them would.
        for number, item in enumerate(features, start=1):
            yield SourceRow(number, _feature_values(item))

    return len(features), rows()


# A JSON string, escapes and all (unrolled, so the regex engine runs through it in one go).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_NOT_QUOTES_OR_BRACKETS = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_QUOTE = ord('"')
_DEPTH_STEP = numpy.zeros(256, dtype=numpy.int8)
_DEPTH_STEP[list(b"[{")] = 1
_DEPTH_STEP[list(b"]}")] = -1


def _check_json_shape(data: bytes, limits: ReadLimits | None) -> None:
    """Refuses JSON nested deeper than MAX_JSON_DEPTH or holding more objects and arrays than
    the allowed features could, before the parser builds any of it.

    Both come from the brackets outside the strings (``_outside_brackets``), counted and
    summed by numpy rather than by a Python loop per character."""
    brackets = _outside_brackets(data)
    containers = brackets.count(b"[") + brackets.count(b"{")
    if limits is not None and containers > limits.max_rows * MAX_JSON_CONTAINERS_PER_ROW + 64:
        raise TooManyRows(
            f"The file holds {containers:,} JSON objects and arrays, more than "
            f"{limits.max_rows:,} features (the most an import takes per request) could. "
            "Split the file, or import it with the housing-match CLI."
        )
    steps = _DEPTH_STEP[numpy.frombuffer(brackets, dtype=numpy.uint8)]
    depth = int(numpy.cumsum(steps, dtype=numpy.int32).max(initial=0))
    if depth > MAX_JSON_DEPTH:
        raise FileFormatError(_too_deep(depth))


def _outside_brackets(data: bytes) -> bytes:
    """The brackets of a JSON text that lie outside its strings, in order.

    Without an escaped quote in the text, every quote opens or closes a string, so a bracket
    lies outside when an even number of quotes precede it: the quotes and brackets alone
    (a few bytes a value) are kept and the parity is a cumulative sum, all in C; a register of
    27 MB takes a tenth of its parsing time. With escaped quotes, a regex takes the strings
    out, a step per string."""
    if b'\\"' in data:
        return _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    marks = numpy.frombuffer(data.translate(None, _NOT_QUOTES_OR_BRACKETS), dtype=numpy.uint8)
    quotes = marks == _QUOTE
    # A quote's own count makes an opening quote odd and a closing one even: either way the
    # quote is dropped, and a bracket is kept where the count is even.
    inside = (numpy.cumsum(quotes, dtype=numpy.int32) & 1).astype(bool)
    return bytes(marks[~(inside | quotes)].tobytes())


def _too_deep(depth: int | None) -> str:
    levels = "too deeply" if depth is None else f"{depth:,} levels deep"
    return (
        f"The JSON is nested {levels}; a GeoJSON import may nest at most {MAX_JSON_DEPTH} "
        "levels (a FeatureCollection of Points needs five)."
    )


def _feature_values(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or item.get("type") != "Feature":
        return {"__error__": "not a GeoJSON Feature"}
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        return {"__error__": "properties must be an object"}
    values: dict[str, Any] = {}
    for name, value in properties.items():
        key = _KEY_BY_HEADER.get(str(name).strip())
        if key is None:
            return {"__error__": f"unknown property {name!r}"}
        values[key] = value
    geometry = item.get("geometry")
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            values["longitude"], values["latitude"] = coordinates[0], coordinates[1]
    elif geometry is not None:
        return {"__error__": "the geometry must be a Point"}
    return values


# --- one row → DwellingInput -----------------------------------------------------------------

REQUIRED_KEYS = frozenset(
    {
        "registration_number",
        "registration_class",
        "kind",
        "address",
        "municipality_code",
        "latitude",
        "longitude",
        "floor_area_m2",
        "kitchen",
        "toilet",
        "storage",
        "bath",
        "washbasin",
        "is_existing_building",
        "rent_yen",
    }
)


def _text(value: Any) -> str:
    if value.__class__ is str:
        return str(value).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _boolean(key: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        word = _text(value).lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise RowError(f"{key}: {value!r} is not yes/no (はい/いいえ)")

    return parse


def _word(key: str, words: Mapping[str, str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        word = _text(value)
        found = words.get(word) or words.get(word.lower())
        if found is None:
            raise RowError(f"{key}: {word!r} is not one of {', '.join(sorted(set(words)))}")
        return found

    return parse


def _word_list(key: str, words: Mapping[str, str]) -> Callable[[Any], list[str]]:
    single = _word(key, words)

    def parse(value: Any) -> list[str]:
        items = value if isinstance(value, list) else _text(value).split(LIST_SEPARATOR)
        return [single(item) for item in items if _text(item)]

    return parse


def _decimal(key: str) -> Callable[[Any], Decimal]:
    def parse(value: Any) -> Decimal:
        try:
            number = Decimal(_text(value).replace(",", ""))
        except InvalidOperation as exc:
            raise RowError(f"{key}: {value!r} is not a number") from exc
        if not number.is_finite():
            raise RowError(f"{key}: {value!r} is not a number")
        return number

    return parse


def _integer(key: str) -> Callable[[Any], int]:
    as_decimal = _decimal(key)

    def parse(value: Any) -> int:
        number = as_decimal(value)
        if number != number.to_integral_value():
            raise RowError(f"{key}: {value!r} is not a whole number")
        return int(number)

    return parse


def _float(key: str) -> Callable[[Any], float]:
    as_decimal = _decimal(key)
    return lambda value: float(as_decimal(value))


def _plain(value: Any) -> str:
    return _text(value)


def _text_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else _text(value).split(LIST_SEPARATOR)
    return [_text(item) for item in items if _text(item)]


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "registration_number": _plain,
    "registration_class": _word("registration_class", _CLASS_WORDS),
    "exclusive_target_categories": _word_list("exclusive_target_categories", _CATEGORY_WORDS),
    "kind": _word("kind", _KIND_WORDS),
    "address": _plain,
    "municipality_code": _plain,
    "latitude": _float("latitude"),
    "longitude": _float("longitude"),
    "floor_area_m2": _decimal("floor_area_m2"),
    "floor": _integer("floor"),
    "floors_total": _integer("floors_total"),
    "has_elevator": _boolean("has_elevator"),
    "step_free_entrance": _boolean("step_free_entrance"),
    "wheelchair_accessible": _boolean("wheelchair_accessible"),
    "kitchen": _word("kitchen", _FACILITY_WORDS),
    "toilet": _word("toilet", _FACILITY_WORDS),
    "storage": _word("storage", _FACILITY_WORDS),
    "bath": _word("bath", _FACILITY_WORDS),
    "washbasin": _word("washbasin", _FACILITY_WORDS),
    "construction_started_on": _plain,
    "is_existing_building": _boolean("is_existing_building"),
    "seismic_evidence": _word("seismic_evidence", _SEISMIC_WORDS),
    "rent_yen": _integer("rent_yen"),
    "common_fee_yen": _integer("common_fee_yen"),
    "deposit_yen": _integer("deposit_yen"),
    "key_money_yen": _integer("key_money_yen"),
    "required_risks": _word_list("required_risks", _RISK_WORDS),
    "required_whole_tenancy_risks": _word_list("required_whole_tenancy_risks", _RISK_WORDS),
    "pets_allowed": _boolean("pets_allowed"),
    "smoking_allowed": _boolean("smoking_allowed"),
    "shared_capacity": _integer("shared_capacity"),
    "shared_toilets": _integer("shared_toilets"),
    "shared_washbasins": _integer("shared_washbasins"),
    "shared_baths": _integer("shared_baths"),
    "shared_living_room": _boolean("shared_living_room"),
    "shared_dining_room": _boolean("shared_dining_room"),
    "shared_kitchen": _boolean("shared_kitchen"),
    "shared_laundry": _boolean("shared_laundry"),
    "support_certifying_code": _plain,
    "support_daily_safety_check": _boolean("support_daily_safety_check"),
    "support_monthly_visit": _boolean("support_monthly_visit"),
    "support_connections": _text_list,
    "notes": _plain,
}
_SHARED_KEYS = {
    "shared_capacity": "capacity",
    "shared_toilets": "toilets",
    "shared_washbasins": "washbasins",
    "shared_baths": "baths",
    "shared_living_room": "has_living_room",
    "shared_dining_room": "has_dining_room",
    "shared_kitchen": "has_kitchen",
    "shared_laundry": "has_laundry",
}
_IGNORED_ON_IMPORT = frozenset({"status", "registered_on", "registering_authority"})


def parse_row(row: SourceRow) -> ParsedRow:
    """Validate one row as a registration would be; every problem of the row is reported."""
    values = row.values
    registration_number = _text(values.get("registration_number")) or None
    authority_slug = _text(values.get("registering_authority")) or None
    errors: list[str] = []
    if "__error__" in values:
        # What the row is made of cannot be read at all: that alone is its reason.
        return ParsedRow(row.number, None, None, None, (str(values["__error__"]),))
    if "__extra__" in values:
        errors.append(f"{values['__extra__']} more cells than the header has columns")
    parsed: dict[str, Any] = {}
    failed: set[str] = set()
    accepted_raw: Any = None
    for key, value in values.items():
        fast = FAST_PARSERS.get(key)
        if fast is None:  # __error__, __extra__, export-only and ignored columns
            continue
        if value.__class__ is str:
            text = value.strip()
            if not text:
                continue
            result = fast(text)
            if result is not UNSURE:
                parsed[key] = result
                continue
        elif value.__class__ is not list and _text(value) == "":
            continue
        if key == "accepted_categories":
            accepted_raw = value
            continue
        try:
            parsed[key] = _PARSERS[key](value)
        except RowError as exc:
            errors.append(str(exc))
            failed.add(key)
    missing = REQUIRED_KEYS - parsed.keys() - failed
    if missing:
        errors.append(f"{', '.join(sorted(missing))}: required")
    if "accepted_categories" in parsed:
        accepted = parsed.pop("accepted_categories")
    else:
        accepted = _accepted_categories(accepted_raw, errors)
    if errors:
        return ParsedRow(row.number, registration_number, authority_slug, None, tuple(errors))
    try:
        data = DwellingInput.model_validate(_nest(parsed, accepted))
    except ValidationError as exc:
        return ParsedRow(
            row.number, registration_number, authority_slug, None, _validation_messages(exc)
        )
    return ParsedRow(row.number, data.registration_number, authority_slug, data, ())


def _accepted_categories(value: Any, errors: list[str]) -> list[str] | None:
    if value is None or (not isinstance(value, list) and _text(value).lower() in _ALL_WORDS):
        return None
    if not isinstance(value, list) and _text(value) == "":
        return None
    try:
        return _word_list("accepted_categories", _CATEGORY_WORDS)(value)
    except RowError as exc:
        errors.append(str(exc))
        return None


def _nest(parsed: dict[str, Any], accepted: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: value for key, value in parsed.items() if key in _TOP_LEVEL_KEYS}
    body["location"] = {"latitude": parsed["latitude"], "longitude": parsed["longitude"]}
    body["facilities"] = {
        key: parsed[key] for key in ("kitchen", "toilet", "storage", "bath", "washbasin")
    }
    body["accepted_categories"] = accepted
    whole = set(parsed.get("required_whole_tenancy_risks", []))
    required = list(dict.fromkeys([*parsed.get("required_risks", []), *sorted(whole)]))
    body["required_risks"] = [
        {"risk_kind": kind, "whole_tenancy": kind in whole} for kind in required
    ]
    if parsed["kind"] == DwellingKind.SHARED_HOUSE.value or any(k in parsed for k in _SHARED_KEYS):
        body["shared_house"] = {
            **{target: parsed.get(source) for source, target in _SHARED_KEYS.items()},
            "room_areas_m2": parsed.get("shared_room_areas_m2", []),
        }
    if "support_certifying_code" in parsed:
        body["residential_support"] = {
            "certifying_municipality_code": parsed["support_certifying_code"],
            "daily_safety_check": parsed.get("support_daily_safety_check", False),
            "monthly_visit": parsed.get("support_monthly_visit", False),
            "connections": parsed.get("support_connections", []),
        }
    return body


_PARSERS["shared_room_areas_m2"] = lambda value: [
    _decimal("shared_room_areas_m2")(item) for item in _text_list(value)
]


# Fast parsers for the usual cell: a plain string, already stripped and not empty. They give
# the same value as _PARSERS or UNSURE, and on UNSURE the full parser decides (and words any
# error), so errors and odd inputs behave exactly as before.
UNSURE: Any = object()
_SIMPLE_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_TOP_LEVEL_KEYS = frozenset(
    key
    for key in (*_PARSERS, "accepted_categories")
    if key not in _SHARED_KEYS
    and not key.startswith("support_")
    and key
    not in {
        "latitude",
        "longitude",
        "kitchen",
        "toilet",
        "storage",
        "bath",
        "washbasin",
        "required_risks",
        "required_whole_tenancy_risks",
        "shared_room_areas_m2",
    }
)


def fast_plain(text: str) -> Any:
    return text


def _fast_word(words: Mapping[str, str]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return words.get(text) or words.get(text.lower()) or UNSURE

    return parse


def _fast_words(words: Mapping[str, str]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        found: list[str] = []
        for item in text.split(LIST_SEPARATOR):
            item = item.strip()
            if item:
                word = words.get(item) or words.get(item.lower())
                if word is None:
                    return UNSURE
                found.append(word)
        return found

    return parse


def _fast_boolean(text: str) -> Any:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return UNSURE


def _fast_integer(text: str) -> Any:
    return int(text) if text.isascii() and text.isdigit() else UNSURE


def _fast_decimal(text: str) -> Any:
    return Decimal(text) if _SIMPLE_NUMBER.fullmatch(text) else UNSURE


def _fast_float(text: str) -> Any:
    # float() of a plain decimal numeral is the same double as float(Decimal(numeral)).
    return float(text) if _SIMPLE_NUMBER.fullmatch(text) else UNSURE


def _fast_decimals(text: str) -> Any:
    areas: list[Decimal] = []
    for item in text.split(LIST_SEPARATOR):
        item = item.strip()
        if item:
            if not _SIMPLE_NUMBER.fullmatch(item):
                return UNSURE
            areas.append(Decimal(item))
    return areas


def _fast_texts(text: str) -> Any:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _fast_accepted(text: str) -> Any:
    if text.lower() in _ALL_WORDS:
        return None
    return _fast_words(_CATEGORY_WORDS)(text)


FAST_PARSERS: dict[str, Callable[[str], Any]] = {
    "registration_number": fast_plain,
    "registration_class": _fast_word(_CLASS_WORDS),
    "exclusive_target_categories": _fast_words(_CATEGORY_WORDS),
    "kind": _fast_word(_KIND_WORDS),
    "address": fast_plain,
    "municipality_code": fast_plain,
    "latitude": _fast_float,
    "longitude": _fast_float,
    "floor_area_m2": _fast_decimal,
    "floor": _fast_integer,
    "floors_total": _fast_integer,
    "has_elevator": _fast_boolean,
    "step_free_entrance": _fast_boolean,
    "wheelchair_accessible": _fast_boolean,
    "kitchen": _fast_word(_FACILITY_WORDS),
    "toilet": _fast_word(_FACILITY_WORDS),
    "storage": _fast_word(_FACILITY_WORDS),
    "bath": _fast_word(_FACILITY_WORDS),
    "washbasin": _fast_word(_FACILITY_WORDS),
    "construction_started_on": fast_plain,
    "is_existing_building": _fast_boolean,
    "seismic_evidence": _fast_word(_SEISMIC_WORDS),
    "rent_yen": _fast_integer,
    "common_fee_yen": _fast_integer,
    "deposit_yen": _fast_integer,
    "key_money_yen": _fast_integer,
    "accepted_categories": _fast_accepted,
    "required_risks": _fast_words(_RISK_WORDS),
    "required_whole_tenancy_risks": _fast_words(_RISK_WORDS),
    "pets_allowed": _fast_boolean,
    "smoking_allowed": _fast_boolean,
    "shared_capacity": _fast_integer,
    "shared_room_areas_m2": _fast_decimals,
    "shared_toilets": _fast_integer,
    "shared_washbasins": _fast_integer,
    "shared_baths": _fast_integer,
    "shared_living_room": _fast_boolean,
    "shared_dining_room": _fast_boolean,
    "shared_kitchen": _fast_boolean,
    "shared_laundry": _fast_boolean,
    "support_certifying_code": fast_plain,
    "support_daily_safety_check": _fast_boolean,
    "support_monthly_visit": _fast_boolean,
    "support_connections": _fast_texts,
    "notes": fast_plain,
}


def _validation_messages(exc: ValidationError) -> tuple[str, ...]:
    messages: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "row"
        messages.append(f"{location}: {error['msg']}")
    return tuple(messages)


# --- writing --------------------------------------------------------------------------------


def flat_row(
    data: DwellingInput,
    *,
    authority_slug: str | None,
    status: str,
    registered_on: str | None,
) -> dict[str, Any]:
    """The flat columns of one dwelling: lists joined as in the CSV, yes/no as booleans,
    numbers as numbers and None where a column does not apply. Each format writes these its
    own way (``csv_document``, ``xlsx_document``, ``geojson_document``)."""
    shared = data.shared_house
    support = data.residential_support
    whole = [risk.risk_kind.value for risk in data.required_risks if risk.whole_tenancy]

    def joined(items: Sequence[Any]) -> str:
        return LIST_SEPARATOR.join(str(item) for item in items)

    return {
        "registration_number": data.registration_number,
        "registering_authority": authority_slug,
        "registration_class": data.registration_class.value,
        "exclusive_target_categories": joined([c.value for c in data.exclusive_target_categories]),
        "kind": data.kind.value,
        "address": data.address,
        "municipality_code": data.municipality_code,
        "latitude": data.location.latitude,
        "longitude": data.location.longitude,
        "floor_area_m2": data.floor_area_m2,
        "floor": data.floor,
        "floors_total": data.floors_total,
        "has_elevator": data.has_elevator,
        "step_free_entrance": data.step_free_entrance,
        "wheelchair_accessible": data.wheelchair_accessible,
        "kitchen": data.facilities.kitchen.value,
        "toilet": data.facilities.toilet.value,
        "storage": data.facilities.storage.value,
        "bath": data.facilities.bath.value,
        "washbasin": data.facilities.washbasin.value,
        "construction_started_on": (
            data.construction_started_on.isoformat() if data.construction_started_on else None
        ),
        "is_existing_building": data.is_existing_building,
        "seismic_evidence": data.seismic_evidence.value,
        "rent_yen": data.rent_yen,
        "common_fee_yen": data.common_fee_yen,
        "deposit_yen": data.deposit_yen,
        "key_money_yen": data.key_money_yen,
        "accepted_categories": (
            ALL_CATEGORIES
            if data.accepted_categories is None
            else joined([c.value for c in data.accepted_categories])
        ),
        "required_risks": joined([risk.risk_kind.value for risk in data.required_risks]),
        "required_whole_tenancy_risks": joined(whole),
        "pets_allowed": data.pets_allowed,
        "smoking_allowed": data.smoking_allowed,
        "shared_capacity": shared.capacity if shared else None,
        "shared_room_areas_m2": joined([str(a) for a in shared.room_areas_m2]) if shared else None,
        "shared_toilets": shared.toilets if shared else None,
        "shared_washbasins": shared.washbasins if shared else None,
        "shared_baths": shared.baths if shared else None,
        "shared_living_room": shared.has_living_room if shared else None,
        "shared_dining_room": shared.has_dining_room if shared else None,
        "shared_kitchen": shared.has_kitchen if shared else None,
        "shared_laundry": shared.has_laundry if shared else None,
        "support_certifying_code": support.certifying_municipality_code if support else None,
        "support_daily_safety_check": support.daily_safety_check if support else None,
        "support_monthly_visit": support.monthly_visit if support else None,
        "support_connections": joined(support.connections) if support else None,
        "notes": data.notes,
        "status": status,
        "registered_on": registered_on,
    }


def flat_row_from_columns(
    columns: Mapping[str, Any], *, authority_slug: str | None
) -> dict[str, Any]:
    """``flat_row`` straight from a stored row (the columns ``DwellingRepository.for_export``
    selects), without building ``DwellingInput``: validating a model per row cost four times
    the rest of an export. Stored rows met the schema when written."""
    return dict(
        zip(
            EXPORT_KEYS,
            _export_values(columns, authority_slug, True, False, None, _as_it_is),
            strict=True,
        )
    )


def csv_cells_from_columns(columns: Mapping[str, Any], *, authority_slug: str | None) -> list[Any]:
    """A stored row as the cells of the CSV export, the same as ``csv_document`` writes for
    its ``flat_row``: yes/no, blank for None, free text defused for spreadsheets."""
    return _export_values(columns, authority_slug, "yes", "no", "", spreadsheet.defused)


def _as_it_is(text: str) -> str:
    return text


def _export_values(
    columns: Mapping[str, Any],
    authority_slug: str | None,
    yes: Any,
    no: Any,
    blank: Any,
    text: Callable[[str], str],
) -> list[Any]:
    """The export's cells of one stored row in ``EXPORT_COLUMNS`` order, written with the
    given words for yes, no, "does not apply" and free text. It repeats only what validating
    the schema would change on the way: categories sorted and unique, areas as decimals."""
    shared = columns["shared_house"]
    support = columns["support_certifying_code"]
    risks = columns["required_risks"]
    whole = set(columns["required_whole_tenancy_risks"])
    started_on = columns["construction_started_on"]
    registered_on = columns["registered_on"]
    if shared:
        shared_cells = [
            shared["capacity"],
            # Stored as JSON (text or number); printed as the schema's decimals would be.
            LIST_SEPARATOR.join(str(Decimal(str(area))) for area in shared["room_areas_m2"]),
            shared["toilets"],
            shared["washbasins"],
            shared["baths"],
            yes if shared["has_living_room"] else no,
            yes if shared["has_dining_room"] else no,
            yes if shared["has_kitchen"] else no,
            yes if shared["has_laundry"] else no,
        ]
    else:
        shared_cells = [blank] * 9
    if support is not None:
        support_cells = [
            text(support),
            yes if columns["support_daily_safety_check"] else no,
            yes if columns["support_monthly_visit"] else no,
            text(LIST_SEPARATOR.join(columns["support_connections"])),
        ]
    else:
        support_cells = [blank] * 4
    return [
        text(columns["registration_number"]),
        blank if authority_slug is None else text(authority_slug),
        columns["registration_class"],
        LIST_SEPARATOR.join(sorted(set(columns["exclusive_target_categories"]))),
        columns["kind"],
        text(columns["address"]),
        text(columns["municipality_code"]),
        columns["latitude"],
        columns["longitude"],
        columns["floor_area_m2"],
        columns["floor"],
        columns["floors_total"],
        yes if columns["has_elevator"] else no,
        yes if columns["step_free_entrance"] else no,
        yes if columns["wheelchair_accessible"] else no,
        columns["kitchen"],
        columns["toilet"],
        columns["storage"],
        columns["bath"],
        columns["washbasin"],
        text(started_on.isoformat()) if started_on else blank,
        yes if columns["is_existing_building"] else no,
        columns["seismic_evidence"],
        columns["rent_yen"],
        columns["common_fee_yen"],
        columns["deposit_yen"],
        columns["key_money_yen"],
        (
            ALL_CATEGORIES
            if columns["accepts_all_categories"]
            else LIST_SEPARATOR.join(sorted(set(columns["accepted_categories"])))
        ),
        LIST_SEPARATOR.join(risks),
        LIST_SEPARATOR.join(kind for kind in risks if kind in whole),
        yes if columns["pets_allowed"] else no,
        yes if columns["smoking_allowed"] else no,
        *shared_cells,
        *support_cells,
        text(columns["notes"]),
        columns["status"],
        registered_on.isoformat() if registered_on else blank,
    ]


EXPORT_COLUMNS = COLUMNS + EXPORT_ONLY_COLUMNS
EXPORT_KEYS = tuple(column.key for column in EXPORT_COLUMNS)
_YES_NO = {True: "yes", False: "no"}


def _words(row: Mapping[str, Any]) -> list[Any]:
    """A flat row in the file's words: yes/no for booleans, blank for None; numbers and text
    as they are (the spreadsheet writers defuse the text)."""
    cells: list[Any] = []
    for column in EXPORT_COLUMNS:
        value = row[column.key]
        if value.__class__ is bool:
            value = _YES_NO[value]
        cells.append(value)
    return cells


def csv_document(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """UTF-8 with a BOM and Japanese headers, so Excel opens it as it should; every text cell
    that Excel would run as a formula defused (``spreadsheet``), and restored on import."""
    return spreadsheet.csv_document(
        [column.label_ja for column in EXPORT_COLUMNS], (_words(row) for row in rows)
    )


def csv_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """``csv_document`` streamed as the rows arrive, a chunk of rows at a time."""
    return spreadsheet.csv_chunks(
        [column.label_ja for column in EXPORT_COLUMNS], (_words(row) for row in rows)
    )


def csv_chunks_of_cells(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """``csv_chunks`` of rows already written as cells (``csv_cells_from_columns``)."""
    return spreadsheet.csv_chunks_of_cells([column.label_ja for column in EXPORT_COLUMNS], rows)


def xlsx_document(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """An Excel workbook of the same columns and words as the CSV, numbers as numbers."""
    return spreadsheet.xlsx_document(
        "登録住宅", [column.label_ja for column in EXPORT_COLUMNS], (_words(row) for row in rows)
    )


def geojson_document(rows: Sequence[Mapping[str, Any]], ids: Sequence[str]) -> dict[str, Any]:
    """Points with the flat columns as properties, typed for GIS tools (``geojson_feature``)."""
    return {
        "type": "FeatureCollection",
        "features": [
            geojson_feature(row, feature_id) for row, feature_id in zip(rows, ids, strict=True)
        ],
    }


def geojson_feature(row: Mapping[str, Any], feature_id: str) -> dict[str, Any]:
    """A point with the flat columns as properties, typed for GIS tools: numbers as JSON
    numbers, yes/no as booleans, null where a column does not apply. (GDAL and QGIS type a
    field by its values, so a number written as text could be neither styled nor filtered.)
    The import reads these as it reads the CSV's words."""
    properties = {
        key: float(value) if value.__class__ is Decimal else value
        for key, value in row.items()
        if key not in {"latitude", "longitude"}
    }
    return {
        "type": "Feature",
        "id": feature_id,
        "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
        "properties": properties,
    }
