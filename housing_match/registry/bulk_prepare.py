"""Preparing import rows: parse, validate, find the registering authority, check the standards.

Pure functions of the row and a small picklable context, so large files are prepared by a pool
of worker processes while the database writes the rows already prepared.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import OrganisationKind
from housing_match.registry import bulk_format, standards
from housing_match.registry.bulk_format import ParsedRow, SourceRow
from housing_match.registry.mapping import dwelling_facts, dwelling_values

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


@dataclass(frozen=True)
class PreparedRow:
    number: int
    registration_number: str | None
    authority_id: uuid.UUID | None
    errors: tuple[str, ...]
    compliant: bool = True
    violations: tuple[dict[str, Any], ...] = ()
    values: tuple[Any, ...] | None = None  # CONTENT_COLUMNS, when the row is valid


def prepare_rows(context: PrepareContext, rows: Sequence[SourceRow]) -> list[PreparedRow]:
    parameters: dict[str, standards.StandardsParameters] = {}
    return [_prepare(context, row, parameters) for row in rows]


def _prepare(
    context: PrepareContext,
    row: SourceRow,
    parameters: dict[str, standards.StandardsParameters],
) -> PreparedRow:
    parsed = bulk_format.parse_row(row)
    if parsed.data is None:
        return PreparedRow(parsed.number, parsed.registration_number, None, parsed.errors)
    authority, problem = _authority_for(context, parsed)
    if authority is None:
        return PreparedRow(parsed.number, parsed.registration_number, None, (problem,))
    code = parsed.data.municipality_code
    if code not in parameters:
        parameters[code], _ = standards.select_parameters(context.profiles, code, context.as_of)
    result = standards.check_dwelling(dwelling_facts(parsed.data), parameters[code])
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
    values = dwelling_values(parsed.data)
    location = parsed.data.location
    values["location"] = f"SRID=4326;POINT({location.longitude} {location.latitude})"
    values["standards_compliant"] = result.compliant
    values["standards_violations"] = list(violations)
    return PreparedRow(
        parsed.number,
        parsed.data.registration_number,
        authority.id,
        (),
        result.compliant,
        violations,
        tuple(values[column] for column in CONTENT_COLUMNS),
    )


def _authority_for(context: PrepareContext, parsed: ParsedRow) -> tuple[Authority | None, str]:
    assert parsed.data is not None  # noqa: S101  # only rows without errors get here
    code = parsed.data.municipality_code
    if context.importer_kind is OrganisationKind.MUNICIPALITY:
        own = next((m for m in context.municipalities if m.id == context.importer_id), None)
        if own is None or parsed.authority_slug not in {None, own.slug}:
            return None, "registering_authority: a municipality imports only its own register"
        if not jurisdiction_contains(context.importer_jurisdiction, code):
            return None, f"municipality_code: {code} is outside your jurisdiction"
        return own, ""
    if parsed.authority_slug is not None:
        authority = next(
            (m for m in context.municipalities if m.slug == parsed.authority_slug), None
        )
        if authority is None:
            return None, f"registering_authority: no municipality {parsed.authority_slug!r}"
    else:
        governing = [
            m for m in context.municipalities if jurisdiction_contains(m.jurisdiction_codes, code)
        ]
        if not governing:
            return None, f"municipality_code: no registering municipality governs {code}"
        # A city's own housing section beats the prefecture's, as for single applications.
        governing.sort(key=lambda m: code not in m.jurisdiction_codes)
        authority = governing[0]
    if not jurisdiction_contains(authority.jurisdiction_codes, code):
        return None, f"municipality_code: {authority.slug!r} does not govern {code}"
    return authority, ""
