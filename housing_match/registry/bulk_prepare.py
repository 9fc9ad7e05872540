"""Preparing import rows: parse, validate, find the registering authority, check the standards,
and render each good row as a line of COPY text.

Pure functions of the rows and a small picklable context, so large files are prepared by a pool
of worker processes while the database writes the rows already prepared. Workers hand back
ready-to-send COPY lines, so the process talking to the database does next to nothing per row.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import OrganisationKind
from housing_match.registry import bulk_format, standards
from housing_match.registry.bulk_format import SourceRow
from housing_match.registry.mapping import dwelling_facts
from housing_match.registry.schemas import DwellingInput

# Columns of the row a worker prepares, in order; the writer adds who and when.
CONTENT_COLUMNS: tuple[str, ...] = (
    "registration_number",
    "registration_class",
    "exclusive_target_categories",
    "support_certifying_code",
    "support_provider_id",
    "support_daily_safety_check",
    "support_monthly_visit",
    "support_connections",
    "kind",
    "shared_house",
    "shared_house_capacity",
    "address",
    "municipality_code",
    "location",
    "floor_area_m2",
    "floor",
    "floors_total",
    "has_elevator",
    "step_free_entrance",
    "wheelchair_accessible",
    "kitchen",
    "toilet",
    "storage",
    "bath",
    "construction_started_on",
    "is_existing_building",
    "seismic_evidence",
    "rent_yen",
    "common_fee_yen",
    "deposit_yen",
    "key_money_yen",
    "accepts_all_categories",
    "accepted_categories",
    "required_risks",
    "required_whole_tenancy_risks",
    "pets_allowed",
    "smoking_allowed",
    "notes",
    "standards_compliant",
    "standards_violations",
)


@dataclass(frozen=True)
class Authority:
    id: uuid.UUID
    slug: str
    jurisdiction_codes: tuple[str, ...]


@dataclass(frozen=True)
class PrepareContext:
    importer_id: uuid.UUID
    importer_kind: OrganisationKind
    importer_jurisdiction: tuple[str, ...]
    municipalities: tuple[Authority, ...]
    profiles: tuple[standards.RuleProfile, ...]
    as_of: date
    # What every new row of this import gets besides its content (NEW_ROW_COLUMNS).
    status: str
    registered_on: date | None
    checked_at: datetime


@dataclass
class PreparedChunk:
    """Prepared rows in file order, column-wise: one pickle of a few lists is far cheaper to
    send between processes than an object per row."""

    records: int  # records of the file this chunk covers, blank ones included
    numbers: list[int] = field(default_factory=list)
    registration_numbers: list[str | None] = field(default_factory=list)
    # Index into PrepareContext.municipalities; -1 when the row is rejected.
    authorities: list[int] = field(default_factory=list)
    errors: list[tuple[str, ...]] = field(default_factory=list)
    violations: list[tuple[dict[str, Any], ...]] = field(default_factory=list)
    # A line of COPY text in NEW_ROW_COLUMNS order, starting with a fresh id (ID_WIDTH
    # characters); None when the row is rejected.
    lines: list[bytes | None] = field(default_factory=list)

    def __len__(self) -> int:
        return self.records


ID_WIDTH = 36  # str(uuid.UUID)


def prepare_text(
    context: PrepareContext, keys: Sequence[str], chunk: tuple[int, str]
) -> PreparedChunk:
    """Prepare a chunk of whole CSV records; the worker parses the CSV, not the caller."""
    first_number, text = chunk
    rows = bulk_format.source_rows(keys, first_number, text)
    records = text.count("\n") + (0 if text.endswith("\n") else 1)
    return _prepare_all(context, rows, records)


def prepare_rows(context: PrepareContext, rows: Sequence[SourceRow]) -> PreparedChunk:
    return _prepare_all(context, rows, len(rows))


def _prepare_all(context: PrepareContext, rows: Sequence[SourceRow], records: int) -> PreparedChunk:
    prepared = PreparedChunk(records)
    parameters: dict[str, standards.StandardsParameters] = {}
    authorities: dict[tuple[str | None, str], tuple[int | None, str]] = {}
    constant = "\t".join(
        [
            str(context.importer_id),
            context.status,
            context.registered_on.isoformat() if context.registered_on else _NULL,
            context.checked_at.isoformat(),
        ]
    )
    for row in rows:
        _prepare(context, row, parameters, authorities, constant, prepared)
    return prepared


def _prepare(
    context: PrepareContext,
    row: SourceRow,
    parameters: dict[str, standards.StandardsParameters],
    authorities: dict[tuple[str | None, str], tuple[int | None, str]],
    constant: str,
    out: PreparedChunk,
) -> None:
    parsed = bulk_format.parse_row(row)
    out.numbers.append(parsed.number)
    if parsed.data is None:
        out.registration_numbers.append(parsed.registration_number)
        _rejected(out, parsed.errors)
        return
    where = (parsed.authority_slug, parsed.data.municipality_code)
    if where not in authorities:
        authorities[where] = _find_authority(context, *where)
    authority, problem = authorities[where]
    if authority is None:
        out.registration_numbers.append(parsed.registration_number)
        _rejected(out, (problem,))
        return
    data = parsed.data
    code = data.municipality_code
    if code not in parameters:
        parameters[code], _ = standards.select_parameters(context.profiles, code, context.as_of)
    result = standards.check_dwelling(dwelling_facts(data), parameters[code])
    violations = tuple(
        {
            "rule_id": v.rule_id,
            "message_ja": v.message_ja,
            "message_en": v.message_en,
            "measured": v.measured,
            "limit": v.limit,
        }
        for v in result.violations
    )
    cells = [str(uuid.uuid4()), str(context.municipalities[authority].id), constant]
    cells.extend(_content_cells(data, result.compliant, violations))
    out.registration_numbers.append(data.registration_number)
    out.authorities.append(authority)
    out.errors.append(())
    out.violations.append(violations)
    out.lines.append(("\t".join(cells) + "\n").encode())


def _rejected(out: PreparedChunk, errors: tuple[str, ...]) -> None:
    out.authorities.append(-1)
    out.errors.append(errors)
    out.violations.append(())
    out.lines.append(None)


# --- COPY text ------------------------------------------------------------------------------
# COPY's text format: tab between columns, \N for NULL, and backslash, tab, newline and carriage
# return escaped in a value. Array literals and JSON get their own quoting first.

_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_EWKB_POINT = struct.Struct("<BIIdd")
_EWKB_POINT_WITH_SRID = 0x20000001


def _ewkb_point(longitude: float, latitude: float) -> str:
    # Hex EWKB rather than WKT: PostGIS reads it without a parser, and the point is the same.
    return _EWKB_POINT.pack(1, _EWKB_POINT_WITH_SRID, 4326, longitude, latitude).hex()


def _text(value: str) -> str:
    return value.translate(_ESCAPES)


_FLAG = {True: "t", False: "f"}


def _free_texts(values: Iterable[str]) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _text("{" + ",".join(quoted) + "}")


def _json(value: Any) -> str:
    return _text(json.dumps(value))


def _content_cells(
    data: DwellingInput, compliant: bool, violations: tuple[dict[str, Any], ...]
) -> list[str]:
    """The CONTENT_COLUMNS of a row as COPY text: the values ``mapping.dwelling_values`` gives,
    rendered straight from the model (building that dict first costs as much again). The
    vocabulary members are StrEnums, which join as their values."""
    support = data.residential_support
    shared = data.shared_house
    facilities = data.facilities
    location = data.location
    accepted = data.accepted_categories
    risks = data.required_risks
    started = data.construction_started_on
    flag = _FLAG
    return [
        _text(data.registration_number),
        data.registration_class,
        "{" + ",".join(data.exclusive_target_categories) + "}",
        _text(support.certifying_municipality_code) if support else _NULL,
        str(support.provider_organisation_id)
        if support and support.provider_organisation_id
        else _NULL,
        flag[bool(support and support.daily_safety_check)],
        flag[bool(support and support.monthly_visit)],
        _free_texts(support.connections) if support else "{}",
        data.kind,
        _json(shared.model_dump(mode="json")) if shared else _NULL,
        str(shared.capacity) if shared else _NULL,
        _text(data.address),
        _text(data.municipality_code),
        _ewkb_point(location.longitude, location.latitude),
        str(data.floor_area_m2),
        str(data.floor),
        str(data.floors_total),
        flag[data.has_elevator],
        flag[data.step_free_entrance],
        flag[data.wheelchair_accessible],
        facilities.kitchen,
        facilities.toilet,
        facilities.storage,
        facilities.bath,
        started.isoformat() if started else _NULL,
        flag[data.is_existing_building],
        data.seismic_evidence,
        str(data.rent_yen),
        str(data.common_fee_yen),
        str(data.deposit_yen),
        str(data.key_money_yen),
        flag[accepted is None],
        "{" + ",".join(accepted) + "}" if accepted else "{}",
        "{" + ",".join(sorted(risk.risk_kind for risk in risks)) + "}" if risks else "{}",
        "{" + ",".join(sorted(risk.risk_kind for risk in risks if risk.whole_tenancy)) + "}"
        if risks
        else "{}",
        flag[data.pets_allowed],
        flag[data.smoking_allowed],
        _text(data.notes),
        flag[compliant],
        _json(list(violations)) if violations else "[]",
    ]


def _find_authority(context: PrepareContext, slug: str | None, code: str) -> tuple[int | None, str]:
    """The index of the registering municipality in the context, or why there is none."""
    municipalities = context.municipalities
    if context.importer_kind is OrganisationKind.MUNICIPALITY:
        own = next((i for i, m in enumerate(municipalities) if m.id == context.importer_id), None)
        if own is None or slug not in {None, municipalities[own].slug}:
            return None, "registering_authority: a municipality imports only its own register"
        if not jurisdiction_contains(context.importer_jurisdiction, code):
            return None, f"municipality_code: {code} is outside your jurisdiction"
        return own, ""
    if slug is not None:
        index = next((i for i, m in enumerate(municipalities) if m.slug == slug), None)
        if index is None:
            return None, f"registering_authority: no municipality {slug!r}"
    else:
        governing = [
            i
            for i, m in enumerate(municipalities)
            if jurisdiction_contains(m.jurisdiction_codes, code)
        ]
        if not governing:
            return None, f"municipality_code: no registering municipality governs {code}"
        # A city's own housing section beats the prefecture's, as for single applications.
        governing.sort(key=lambda i: code not in municipalities[i].jurisdiction_codes)
        index = governing[0]
    if not jurisdiction_contains(municipalities[index].jurisdiction_codes, code):
        return None, f"municipality_code: {municipalities[index].slug!r} does not govern {code}"
    return index, ""
