"""Preparing import rows: parse, validate, find the registering authority, check the standards,
and render each good row as a line of COPY text.

Pure functions of the rows and a small picklable context, so large files are prepared by a pool
of worker processes while the database writes the rows already prepared. Workers hand back
ready-to-send COPY lines, so the process talking to the database does next to nothing per row.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import OrganisationKind
from housing_match.registry import bulk_format, bulk_plain, standards
from housing_match.registry.bulk_format import SourceRow
from housing_match.registry.copy_text import FLAG, NULL, escaped, ewkb_point, free_texts, json_text
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
    "washbasin",
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
    """Prepare a chunk of whole CSV records; the worker parses the CSV, not the caller.

    A record goes straight from its cells to its COPY line when it is plain
    (``bulk_plain``), and through ``parse_row`` and the model otherwise."""
    first_number, text = chunk
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    preparer = _Preparer(context, PreparedChunk(lines))
    records = list(bulk_format.cell_records(text))
    plain = bulk_plain.plain_records(keys, records)
    # The text was decoded strictly from UTF-8 or Shift_JIS, so it holds no lone surrogate
    # (which the model would reject and the plain path would not notice).
    for number, (cells, row) in enumerate(zip(records, plain, strict=True), start=first_number):
        if row is not None:
            preparer.plain(number, row)
            continue
        source = bulk_format.source_row(keys, number, cells)
        if source is not None:
            preparer.parsed(bulk_format.parse_row(source))
    return preparer.out


def prepare_rows(context: PrepareContext, rows: Sequence[SourceRow]) -> PreparedChunk:
    preparer = _Preparer(context, PreparedChunk(len(rows)))
    for row in rows:
        preparer.parsed(bulk_format.parse_row(row))
    return preparer.out


class _Preparer:
    """Prepares the rows of one chunk, with what the rows share looked up once."""

    def __init__(self, context: PrepareContext, out: PreparedChunk) -> None:
        self.context = context
        self.out = out
        self.ids = fresh_ids(out.records)
        self.parameters: dict[str, standards.StandardsParameters] = {}
        self.authorities: dict[tuple[str | None, str], tuple[int | None, str]] = {}
        # What follows the id on every line of an authority's rows.
        self.prefixes: dict[int, str] = {}
        self.constant = "\t".join(
            [
                str(context.importer_id),
                context.status,
                context.registered_on.isoformat() if context.registered_on else NULL,
                context.checked_at.isoformat(),
            ]
        )

    def parsed(self, parsed: bulk_format.ParsedRow) -> None:
        """A row parsed and validated by the model."""
        out = self.out
        out.numbers.append(parsed.number)
        data = parsed.data
        if data is None:
            out.registration_numbers.append(parsed.registration_number)
            _rejected(out, parsed.errors)
            return
        authority = self._authority(parsed.authority_slug, data.municipality_code)
        if authority is None:
            out.registration_numbers.append(parsed.registration_number)
            return
        result = standards.check_dwelling(
            dwelling_facts(data), self._parameters(data.municipality_code)
        )
        violations = _violations(result)
        self._accepted(
            data.registration_number,
            authority,
            _content_cells(data, result.compliant, violations),
            violations,
        )

    def plain(self, number: int, row: bulk_plain.PlainRow) -> None:
        """A record the plain path has validated."""
        out = self.out
        out.numbers.append(number)
        authority = self._authority(row.authority_slug, row.municipality_code)
        if authority is None:
            out.registration_numbers.append(row.registration_number)
            return
        result = standards.check_dwelling(row.facts, self._parameters(row.municipality_code))
        violations = _violations(result)
        cells = row.cells
        cells.append(FLAG[result.compliant])
        cells.append(json_text(list(violations)) if violations else "[]")
        self._accepted(row.registration_number, authority, cells, violations)

    def _authority(self, slug: str | None, code: str) -> int | None:
        """The authority's index, or None once the row is rejected for want of one."""
        where = (slug, code)
        found = self.authorities.get(where)
        if found is None:
            found = self.authorities[where] = _find_authority(self.context, slug, code)
        authority, problem = found
        if authority is None:
            _rejected(self.out, (problem,))
        return authority

    def _parameters(self, code: str) -> standards.StandardsParameters:
        found = self.parameters.get(code)
        if found is None:
            context = self.context
            found, _ = standards.select_parameters(context.profiles, code, context.as_of)
            self.parameters[code] = found
        return found

    def _accepted(
        self,
        registration_number: str,
        authority: int,
        content: list[str],
        violations: tuple[dict[str, Any], ...],
    ) -> None:
        out = self.out
        prefix = self.prefixes.get(authority)
        if prefix is None:
            authority_id = self.context.municipalities[authority].id
            prefix = self.prefixes[authority] = f"\t{authority_id}\t{self.constant}\t"
        out.registration_numbers.append(registration_number)
        out.authorities.append(authority)
        out.errors.append(())
        out.violations.append(violations)
        out.lines.append((next(self.ids) + prefix + "\t".join(content) + "\n").encode())


def fresh_ids(count: int) -> Iterator[str]:
    """``count`` time-ordered (version 7, RFC 9562) UUIDs as text.

    The first 48 bits are the Unix time in milliseconds, so new dwellings land at the right-hand
    edge of the primary key's index rather than on random leaves all over it, which matters once
    the indexes no longer fit the database's buffers: inserting 100,000 rows into 900,000 took
    a median 4.4 s with ordered ids and 4.9 s with random (version 4) ones, and imports of
    100,000 rows alternating the two, into a table growing to 1.2 million, 3.74 and 3.89 s of
    backend CPU (lower in four pairs of five, most in the largest).
    The other 74 bits are random, from one read of the system's random source (``uuid.uuid4()``
    reads it once per id, a system call that cost an eighth of a row's work)."""
    millis = f"{time.time_ns() // 1_000_000:012x}"
    stamp = f"{millis[:8]}-{millis[8:12]}-7"
    randomness = os.urandom(10 * count).hex()
    for start in range(0, 20 * count, 20):
        h = randomness[start : start + 20]
        # Variant bits 10: the high bits of the 17th hex digit.
        yield f"{stamp}{h[:3]}-{_VARIANT[h[3]]}{h[4:7]}-{h[7:19]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _violations(result: standards.StandardsResult) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "rule_id": v.rule_id,
            "message_ja": v.message_ja,
            "message_en": v.message_en,
            "measured": v.measured,
            "limit": v.limit,
        }
        for v in result.violations
    )


def _rejected(out: PreparedChunk, errors: tuple[str, ...]) -> None:
    out.authorities.append(-1)
    out.errors.append(errors)
    out.violations.append(())
    out.lines.append(None)


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
    flag = FLAG
    return [
        escaped(data.registration_number),
        data.registration_class,
        "{" + ",".join(data.exclusive_target_categories) + "}",
        escaped(support.certifying_municipality_code) if support else NULL,
        str(support.provider_organisation_id)
        if support and support.provider_organisation_id
        else NULL,
        flag[bool(support and support.daily_safety_check)],
        flag[bool(support and support.monthly_visit)],
        free_texts(support.connections) if support else "{}",
        data.kind,
        json_text(shared.model_dump(mode="json")) if shared else NULL,
        str(shared.capacity) if shared else NULL,
        escaped(data.address),
        escaped(data.municipality_code),
        ewkb_point(location.longitude, location.latitude),
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
        facilities.washbasin,
        started.isoformat() if started else NULL,
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
        escaped(data.notes),
        flag[compliant],
        json_text(list(violations)) if violations else "[]",
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
