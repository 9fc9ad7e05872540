"""Registration: standards checks, the application lifecycle, search and local profiles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal
from housing_match.errors import (
    BadRequest,
    Conflict,
    NotPermitted,
    ResourceNotFound,
    UnprocessableEntity,
)
from housing_match.history.service import record_change, snapshot
from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import (
    Dwelling,
    DwellingManager,
    Organisation,
    OrganisationKind,
    StandardsProfile,
)
from housing_match.organisations.repository import OrganisationRepository
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.registry import standards
from housing_match.registry.mapping import (
    dwelling_facts,
    dwelling_input,
    dwelling_values,
    new_dwelling,
)
from housing_match.registry.repository import (
    DwellingFilters,
    DwellingManagerRepository,
    DwellingRepository,
    RentStats,
    SearchAfter,
    StandardsProfileRepository,
)
from housing_match.registry.schemas import (
    AppliedProfile,
    DwellingInput,
    DwellingManagersUpdate,
    DwellingStatus,
    RentBalance,
    StandardsProfileCreate,
    StandardsReport,
    ViolationRead,
)
from housing_match.settings import get_settings
from housing_match.vacancies.service import close_vacancies_of_dwelling

PUBLIC_STATUSES = frozenset({DwellingStatus.REGISTERED.value, DwellingStatus.DEREGISTERED.value})


def today() -> date:
    return datetime.now(UTC).date()


# --- standards ---------------------------------------------------------------------------


def rule_profiles(profiles: Sequence[StandardsProfile]) -> list[standards.RuleProfile]:
    return [
        standards.RuleProfile(
            scope_code=profile.scope_code,
            effective_from=profile.effective_from,
            effective_until=profile.effective_until,
            overrides=_override_values(profile.parameters),
        )
        for profile in profiles
    ]


def _override_values(parameters: dict[str, Any]) -> dict[str, Decimal | int]:
    values: dict[str, Decimal | int] = {}
    for key, value in parameters.items():
        values[key] = value if isinstance(value, int) else Decimal(str(value))
    return values


def _profile_names(
    profiles: Sequence[StandardsProfile], municipality_code: str, as_of: date
) -> AppliedProfile:
    def in_force(profile: StandardsProfile) -> bool:
        return profile.effective_from <= as_of and (
            profile.effective_until is None or as_of < profile.effective_until
        )

    national = next(p for p in profiles if p.scope_code == "" and in_force(p))
    local = next(
        (p for p in profiles if p.scope_code == municipality_code and in_force(p)),
        next((p for p in profiles if p.scope_code == municipality_code[:2] and in_force(p)), None),
    )
    return AppliedProfile(
        national_name=national.name,
        local_name=None if local is None else local.name,
        local_scope_code=None if local is None else local.scope_code,
    )


class ProfileCache:
    """Profiles per municipality for one unit of work (bulk imports check thousands of rows)."""

    def __init__(self, session: Session) -> None:
        self._repository = StandardsProfileRepository(session)
        self._by_code: dict[str, Sequence[StandardsProfile]] = {}

    def profiles(self, municipality_code: str) -> Sequence[StandardsProfile]:
        if municipality_code not in self._by_code:
            self._by_code[municipality_code] = self._repository.applicable_to(municipality_code)
        return self._by_code[municipality_code]


def standards_in_force(
    profiles: Sequence[StandardsProfile], municipality_code: str, as_of: date
) -> tuple[standards.StandardsParameters, AppliedProfile]:
    """The parameters a municipality's dwellings are checked against on a date, and the
    profiles they come from: the same for every dwelling of the municipality."""
    if not any(p.scope_code == "" and p.effective_from <= as_of for p in profiles):
        first = min((p.effective_from for p in profiles if p.scope_code == ""), default=None)
        raise UnprocessableEntity(
            f"No national registration standards were in force on {as_of}"
            + (f"; the system starts on {first}." if first else ".")
        )
    parameters, _ = standards.select_parameters(rule_profiles(profiles), municipality_code, as_of)
    return parameters, _profile_names(profiles, municipality_code, as_of)


def check_registration_standards(
    profiles: Sequence[StandardsProfile], data: DwellingInput, as_of: date
) -> tuple[standards.StandardsResult, AppliedProfile]:
    parameters, applied = standards_in_force(profiles, data.municipality_code, as_of)
    return standards.check_dwelling(dwelling_facts(data), parameters), applied


def evaluate_standards(
    session: Session,
    data: DwellingInput,
    *,
    as_of: date | None = None,
    exclude_dwelling_id: uuid.UUID | None = None,
    cache: ProfileCache | None = None,
) -> StandardsReport:
    as_of = as_of or today()
    profiles = (cache or ProfileCache(session)).profiles(data.municipality_code)
    result, applied = check_registration_standards(profiles, data, as_of)
    balance = rent_balance(session, data, exclude_dwelling_id=exclude_dwelling_id)
    warnings = [balance.message_en] if balance.out_of_balance else []
    if balance.median_rent_per_m2_yen is None or balance.ratio_to_median is None:
        warnings.append(balance.message_en)
    return StandardsReport(
        compliant=result.compliant,
        as_of=as_of,
        violations=[
            ViolationRead.model_validate(v, from_attributes=True) for v in result.violations
        ],
        warnings=warnings,
        rent_balance=balance,
        profile=applied,
    )


def rent_balance(
    session: Session, data: DwellingInput, *, exclude_dwelling_id: uuid.UUID | None
) -> RentBalance:
    settings = get_settings()
    stats = DwellingRepository(session).rent_stats(
        longitude=data.location.longitude,
        latitude=data.location.latitude,
        kind=data.kind.value,
        radius_m=settings.rent_balance_radius_m,
        exclude_id=exclude_dwelling_id,
    )
    return assess_rent_balance(
        rent_per_m2(data.rent_yen, data.common_fee_yen, data.floor_area_m2),
        stats,
        radius_m=settings.rent_balance_radius_m,
        factor=settings.rent_balance_factor,
        min_comparables=settings.rent_balance_min_comparables,
    )


def rent_per_m2(rent_yen: int, common_fee_yen: int, floor_area_m2: Decimal) -> float:
    return (rent_yen + common_fee_yen) / float(floor_area_m2)


def assess_rent_balance(
    per_m2: float, stats: RentStats, *, radius_m: int, factor: float, min_comparables: int
) -> RentBalance:
    """近傍同種 judged from the comparables' statistics (the audit passes its own thresholds)."""
    if stats.comparable_count < min_comparables or not stats.median_rent_per_m2:
        return RentBalance(
            rent_per_m2_yen=round(per_m2, 1),
            comparable_count=stats.comparable_count,
            radius_m=radius_m,
            median_rent_per_m2_yen=None,
            ratio_to_median=None,
            factor=factor,
            out_of_balance=False,
            message_ja=(
                f"半径{radius_m}m以内の比較対象が{stats.comparable_count}件しかないため、"
                f"近傍同種との家賃均衡は判定できません（{min_comparables}件以上必要）"
            ),
            message_en=(
                f"Only {stats.comparable_count} comparable registered dwellings within "
                f"{radius_m} m; rent balance needs at least {min_comparables}."
            ),
        )
    ratio = per_m2 / stats.median_rent_per_m2
    out_of_balance = ratio > factor or ratio < 1 / factor
    median = round(stats.median_rent_per_m2, 1)
    return RentBalance(
        rent_per_m2_yen=round(per_m2, 1),
        comparable_count=stats.comparable_count,
        radius_m=radius_m,
        median_rent_per_m2_yen=median,
        ratio_to_median=round(ratio, 3),
        factor=factor,
        out_of_balance=out_of_balance,
        message_ja=(
            f"㎡あたり家賃{per_m2:,.0f}円は近傍同種（{stats.comparable_count}件）の中央値"
            f"{median:,.0f}円の{ratio:.2f}倍です"
            + ("。均衡を欠くおそれがあります" if out_of_balance else "")
        ),
        message_en=(
            f"Rent per m² of ¥{per_m2:,.0f} is {ratio:.2f}× the median ¥{median:,.0f} of "
            f"{stats.comparable_count} comparable dwellings"
            + (" — possibly out of balance." if out_of_balance else ".")
        ),
    )


# --- authorities and visibility ----------------------------------------------------------


def resolve_authority(session: Session, principal: Principal, data: DwellingInput) -> Organisation:
    """The registering municipality: as named, else the caller, else the most specific one."""
    organisations = OrganisationRepository(session)
    if data.authority_id is not None:
        authority = organisations.get(data.authority_id)
        if authority is None or authority.kind != OrganisationKind.MUNICIPALITY.value:
            raise UnprocessableEntity("authority_id does not name a municipality organisation.")
    elif principal.kind is OrganisationKind.MUNICIPALITY:
        found = organisations.get(principal.organisation_id)
        assert found is not None  # noqa: S101  # the principal was loaded from it
        authority = found
    else:
        candidates = [
            org
            for org in organisations.list(kind=OrganisationKind.MUNICIPALITY.value)
            if jurisdiction_contains(org.jurisdiction_codes, data.municipality_code)
        ]
        if not candidates:
            raise UnprocessableEntity(
                f"No registering municipality governs {data.municipality_code}; name one in "
                "authority_id."
            )
        # A city's own housing section beats the prefecture's.
        candidates.sort(key=lambda org: data.municipality_code not in org.jurisdiction_codes)
        authority = candidates[0]
    if not jurisdiction_contains(authority.jurisdiction_codes, data.municipality_code):
        raise UnprocessableEntity(
            f"The registering municipality {authority.slug!r} does not govern "
            f"{data.municipality_code}."
        )
    return authority


def _can_see(session: Session, principal: Principal, dwelling: Dwelling) -> bool:
    return (
        dwelling.status in PUBLIC_STATUSES
        or principal.is_admin
        or dwelling.applicant_id == principal.organisation_id
        or dwelling.authority_id == principal.organisation_id
        or principal.governs(dwelling.municipality_code)
        or (
            principal.kind is OrganisationKind.SUPPORT_CORPORATION
            and DwellingManagerRepository(session).manages(dwelling.id, principal.organisation_id)
        )
    )


def get_visible_dwelling(
    session: Session, principal: Principal, dwelling_id: uuid.UUID
) -> Dwelling:
    dwelling = DwellingRepository(session).get(dwelling_id)
    if dwelling is None or not _can_see(session, principal, dwelling):
        raise ResourceNotFound("No such dwelling.")
    return dwelling


def _require_governing(principal: Principal, dwelling: Dwelling) -> None:
    if not principal.governs(dwelling.municipality_code):
        raise NotPermitted(
            "Only a municipality whose jurisdiction contains the dwelling "
            f"({dwelling.municipality_code}) may do this."
        )


def _require_status(dwelling: Dwelling, *allowed: DwellingStatus) -> None:
    if dwelling.status not in {status.value for status in allowed}:
        names = ", ".join(status.value for status in allowed)
        raise Conflict(f"The dwelling is {dwelling.status}; this needs status {names}.")


# --- lifecycle -----------------------------------------------------------------------------


def _store_report(dwelling: Dwelling, report: StandardsReport) -> None:
    dwelling.standards_compliant = report.compliant
    dwelling.standards_checked_at = datetime.now(UTC)
    dwelling.standards_violations = [v.model_dump() for v in report.violations]


def _unique_number(
    session: Session, authority_id: uuid.UUID, number: str, own: uuid.UUID | None
) -> None:
    existing = DwellingRepository(session).get_by_registration(authority_id, number)
    if existing is not None and existing.id != own:
        raise Conflict(f"Registration number {number!r} is already used by this authority.")


def submit_application(
    session: Session, principal: Principal, data: DwellingInput
) -> tuple[Dwelling, StandardsReport]:
    authority = resolve_authority(session, principal, data)
    _unique_number(session, authority.id, data.registration_number, None)
    report = evaluate_standards(session, data)
    dwelling = new_dwelling(data, authority_id=authority.id, applicant_id=principal.organisation_id)
    dwelling.status = DwellingStatus.APPLIED.value
    _store_report(dwelling, report)
    DwellingRepository(session).add(dwelling)
    record_change(
        session,
        principal.actor,
        action="dwelling.applied",
        entity_type="dwelling",
        entity_id=dwelling.id,
        before=None,
        after=snapshot(dwelling),
    )
    if principal.kind is OrganisationKind.SUPPORT_CORPORATION:
        # The corporation that applies manages the dwelling; a municipality registering a
        # home itself names its managers afterwards (replace_managers).
        DwellingManagerRepository(session).add(dwelling.id, [principal.organisation_id])
        _record_managers(session, principal.actor, dwelling.id, None, [principal.organisation_id])
    return dwelling, report


def amend(
    session: Session, principal: Principal, dwelling_id: uuid.UUID, data: DwellingInput
) -> tuple[Dwelling, StandardsReport]:
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    if not (
        dwelling.applicant_id == principal.organisation_id
        or principal.governs(dwelling.municipality_code)
    ):
        raise NotPermitted("Only the applicant or the registering municipality may amend.")
    _require_status(dwelling, DwellingStatus.APPLIED, DwellingStatus.REGISTERED)
    authority_id = data.authority_id or dwelling.authority_id
    data = data.model_copy(update={"authority_id": authority_id})
    authority = resolve_authority(session, principal, data)
    _unique_number(session, authority.id, data.registration_number, dwelling.id)
    report = evaluate_standards(session, data, exclude_dwelling_id=dwelling.id)
    if dwelling.status == DwellingStatus.REGISTERED.value and not report.compliant:
        raise Conflict(
            "The amendment would break the registration standards; nothing was changed.",
            violations=[v.model_dump() for v in report.violations],
        )
    before = snapshot(dwelling)
    for key, value in dwelling_values(data).items():
        setattr(dwelling, key, value)
    dwelling.authority_id = authority.id
    _store_report(dwelling, report)
    session.flush()
    session.refresh(dwelling)
    record_change(
        session,
        principal.actor,
        action="dwelling.amended",
        entity_type="dwelling",
        entity_id=dwelling.id,
        before=before,
        after=snapshot(dwelling),
    )
    return dwelling, report


def _transition(
    session: Session,
    actor: Actor,
    dwelling: Dwelling,
    *,
    status: DwellingStatus,
    reason: str | None,
    action: str,
) -> Dwelling:
    before = snapshot(dwelling)
    dwelling.status = status.value
    dwelling.status_reason = reason
    if status is DwellingStatus.REGISTERED:
        dwelling.registered_on = today()
    session.flush()
    session.refresh(dwelling)
    record_change(
        session,
        actor,
        action=action,
        entity_type="dwelling",
        entity_id=dwelling.id,
        before=before,
        after=snapshot(dwelling),
    )
    return dwelling


def approve(session: Session, principal: Principal, dwelling_id: uuid.UUID) -> Dwelling:
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    _require_governing(principal, dwelling)
    _require_status(dwelling, DwellingStatus.APPLIED)
    report = evaluate_standards(session, dwelling_input(dwelling), exclude_dwelling_id=dwelling.id)
    _store_report(dwelling, report)
    if not report.compliant:
        session.flush()
        raise Conflict(
            "The dwelling does not meet the registration standards in force today.",
            violations=[v.model_dump() for v in report.violations],
        )
    return _transition(
        session,
        principal.actor,
        dwelling,
        status=DwellingStatus.REGISTERED,
        reason=None,
        action="dwelling.registered",
    )


def reject(session: Session, principal: Principal, dwelling_id: uuid.UUID, reason: str) -> Dwelling:
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    _require_governing(principal, dwelling)
    _require_status(dwelling, DwellingStatus.APPLIED)
    return _transition(
        session,
        principal.actor,
        dwelling,
        status=DwellingStatus.REJECTED,
        reason=reason,
        action="dwelling.rejected",
    )


def deregister(
    session: Session, principal: Principal, dwelling_id: uuid.UUID, reason: str
) -> Dwelling:
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    _require_governing(principal, dwelling)
    _require_status(dwelling, DwellingStatus.REGISTERED)
    close_vacancies_of_dwelling(
        session, principal.actor, dwelling.id, reason="dwelling deregistered"
    )
    return _transition(
        session,
        principal.actor,
        dwelling,
        status=DwellingStatus.DEREGISTERED,
        reason=reason,
        action="dwelling.deregistered",
    )


# --- managing corporations -----------------------------------------------------------------


def _record_managers(
    session: Session,
    actor: Actor,
    dwelling_id: uuid.UUID,
    before: Sequence[uuid.UUID] | None,
    after: Sequence[uuid.UUID],
    reason: str | None = None,
) -> None:
    def state(ids: Sequence[uuid.UUID]) -> dict[str, Any]:
        return {"managing_corporation_ids": sorted(str(i) for i in ids)}

    record_change(
        session,
        actor,
        action="dwelling.managers_changed",
        entity_type="dwelling",
        entity_id=dwelling_id,
        before=None if before is None else state(before),
        after=state(after) | ({} if reason is None else {"reason": reason}),
    )


def dwelling_managers(
    session: Session, principal: Principal, dwelling_id: uuid.UUID
) -> list[tuple[DwellingManager, Organisation]]:
    """Who manages a dwelling: for its municipality, its managers themselves and admins."""
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    managers = DwellingManagerRepository(session).of_dwelling(dwelling.id)
    if not (
        principal.is_admin
        or principal.governs(dwelling.municipality_code)
        or any(organisation.id == principal.organisation_id for _, organisation in managers)
    ):
        raise NotPermitted(
            "Only the municipality whose jurisdiction contains the dwelling "
            f"({dwelling.municipality_code}), its managing corporations and admins see who "
            "manages it."
        )
    return managers


def replace_managers(
    session: Session, principal: Principal, dwelling_id: uuid.UUID, data: DwellingManagersUpdate
) -> list[tuple[DwellingManager, Organisation]]:
    """The registering municipality corrects the tie, or a managing corporation hands over
    (or shares) the dwelling. Live vacancies of corporations outside the new set are
    withdrawn: a former manager's vacancy would otherwise block the new one's posting."""
    dwelling = get_visible_dwelling(session, principal, dwelling_id)
    repository = DwellingManagerRepository(session)
    repository.lock_dwelling(dwelling.id)
    current = [organisation.id for _, organisation in repository.of_dwelling(dwelling.id)]
    if not (
        principal.governs(dwelling.municipality_code)
        or (
            principal.kind is OrganisationKind.SUPPORT_CORPORATION
            and principal.organisation_id in current
        )
    ):
        raise NotPermitted(
            "Only the municipality whose jurisdiction contains the dwelling "
            f"({dwelling.municipality_code}) or a corporation managing it may change who "
            "manages it."
        )
    _require_status(dwelling, DwellingStatus.APPLIED, DwellingStatus.REGISTERED)
    organisations = OrganisationRepository(session)
    errors = [
        {
            "location": f"body.corporation_ids.{index}",
            "message": f"{corporation_id} is not a support corporation.",
            "type": "not_a_support_corporation",
        }
        for index, corporation_id in enumerate(data.corporation_ids)
        if (found := organisations.get(corporation_id)) is None
        or found.kind != OrganisationKind.SUPPORT_CORPORATION.value
    ]
    if errors:
        raise UnprocessableEntity(
            "Every manager must be a support corporation (居住支援法人).", errors=errors
        )
    wanted = list(data.corporation_ids)
    if set(wanted) != set(current):
        # Removing a tie waits for a vacancy being posted under it (post_vacancy holds the
        # tie); the live vacancies are read after that, so such a vacancy is withdrawn too.
        repository.replace(dwelling.id, wanted)
        _record_managers(session, principal.actor, dwelling.id, current, wanted, data.reason)
    close_vacancies_of_dwelling(
        session,
        principal.actor,
        dwelling.id,
        reason="managing corporation changed",
        except_corporations=set(wanted),
    )
    return repository.of_dwelling(dwelling.id)


# --- search ----------------------------------------------------------------------------


def search_dwellings(
    session: Session,
    principal: Principal,
    filters: DwellingFilters,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Dwelling, float | None]], str | None]:
    non_public = set(filters.statuses) - PUBLIC_STATUSES
    if non_public and not principal.is_admin:
        # Applications are seen only by their applicant and registering municipality.
        if principal.kind is OrganisationKind.MUNICIPALITY:
            filters = replace(filters, jurisdiction_codes=principal.jurisdiction_codes)
        else:
            raise NotPermitted(
                "Only municipalities and admins search applications; use your own dwellings list."
            )
    after = _decode_after(cursor, distance_ordered=filters.near is not None)
    rows = DwellingRepository(session).search(filters, after=after, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last, distance = rows[-1]
        next_cursor = encode_cursor(
            {"d": distance, "m": last.municipality_code, "id": str(last.id)}
        )
    return rows, next_cursor


def _decode_after(cursor: str | None, *, distance_ordered: bool) -> SearchAfter | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    identifier, distance, municipality = values.get("id"), values.get("d"), values.get("m")
    try:
        uuid.UUID(str(identifier))
    except ValueError as exc:
        raise BadRequest(INVALID_CURSOR) from exc
    if distance_ordered and not isinstance(distance, int | float):
        raise BadRequest(INVALID_CURSOR)
    if not distance_ordered and not isinstance(municipality, str):
        raise BadRequest(INVALID_CURSOR)
    return SearchAfter(
        id=str(identifier),
        distance=float(distance) if isinstance(distance, int | float) else 0.0,
        municipality_code=municipality if isinstance(municipality, str) else "",
    )


# --- local standards profiles ------------------------------------------------------------


def list_profiles(
    session: Session, principal: Principal, municipality_code: str | None
) -> Sequence[StandardsProfile]:
    repository = StandardsProfileRepository(session)
    if municipality_code is not None:
        return repository.applicable_to(municipality_code)
    return repository.all()


def create_profile(
    session: Session, principal: Principal, data: StandardsProfileCreate
) -> StandardsProfile:
    scope = data.scope_code
    governed = scope in principal.jurisdiction_codes or (
        len(scope) == 6 and principal.governs(scope)
    )
    if principal.kind is not OrganisationKind.MUNICIPALITY or not governed:
        raise NotPermitted(f"Scope {scope} is outside your jurisdiction.")
    try:
        standards.validate_overrides(data.parameters)
    except ValueError as exc:
        raise UnprocessableEntity(str(exc)) from exc
    repository = StandardsProfileRepository(session)
    for existing in repository.for_scopes([scope]):
        if existing.scope_code != scope:
            continue
        overlaps = (
            existing.effective_until is None or data.effective_from < existing.effective_until
        ) and (data.effective_until is None or existing.effective_from < data.effective_until)
        if overlaps:
            raise Conflict(
                f"Profile {existing.name!r} for scope {scope} already covers part of that period; "
                "end it first (effective_until)."
            )
    profile = repository.add(
        StandardsProfile(
            scope_code=scope,
            name=data.name,
            effective_from=data.effective_from,
            effective_until=data.effective_until,
            parameters={
                k: (v if isinstance(v, int) else str(v)) for k, v in data.parameters.items()
            },
            owner_id=principal.organisation_id,
        )
    )
    record_change(
        session,
        principal.actor,
        action="standards_profile.created",
        entity_type="standards_profile",
        entity_id=profile.id,
        before=None,
        after=snapshot(profile),
    )
    return profile
