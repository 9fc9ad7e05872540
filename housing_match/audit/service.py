"""The municipal audit: standards today, rent balance, vacancy freshness, unmet demand.

A municipality sees its own jurisdiction only, an admin the whole country or a part of it;
the scope is resolved here once and every query applies it in SQL.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from housing_match.audit.rent_repository import RentComparablesRepository
from housing_match.audit.repository import (
    After,
    AuditRepository,
    DemandRow,
    RentRow,
    RentThresholds,
    ScopeCodes,
    VacancyRow,
)
from housing_match.audit.schemas import (
    RENT_FINDING_LABELS_JA,
    RULE_LABELS,
    VACANCY_FINDING_LABELS_JA,
    AuditScope,
    CorporationFreshness,
    DemandCell,
    DemandTotals,
    NonCompliantDwelling,
    OpenVacancyShare,
    RegistrationsAudit,
    RentBalanceAudit,
    RentBalanceFreshness,
    RentBalanceParameters,
    RentFinding,
    RentOutlier,
    RuleCount,
    StaleVacancy,
    UnmetDemandAudit,
    VacanciesAudit,
    VacancyFinding,
)
from housing_match.auth import Principal
from housing_match.errors import BadRequest, NotPermitted, UnprocessableEntity
from housing_match.matching.rules import HARD_CONSTRAINT_LABELS_JA, HardConstraint
from housing_match.models import OrganisationKind
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.registry.mapping import dwelling_facts_from_columns, geo_point
from housing_match.registry.repository import RentStats
from housing_match.registry.schemas import AppliedProfile, ViolationRead
from housing_match.registry.service import (
    ProfileCache,
    assess_rent_balance,
    rent_per_m2,
    standards_in_force,
    today,
)
from housing_match.registry.standards import StandardsParameters, Violation, check_dwelling
from housing_match.schemas_common import GeoPoint
from housing_match.settings import get_settings
from housing_match.vacancies.schemas import VACANCY_STATUS_LABELS_JA, VacancyStatus

RowT = TypeVar("RowT")

# k-anonymity floor for unmet demand: a cell of a handful of queries could point at a person.
# Deliberately a constant, not a setting: no deployment may lower it.
MIN_CELL_QUERIES = 5
JAPAN = ZoneInfo("Asia/Tokyo")


# --- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeFilter:
    municipality_code: str | None = None
    prefecture: str | None = None


def resolve_scope(principal: Principal, requested: ScopeFilter) -> ScopeCodes:
    """The codes a report covers: the filter, narrowed to the caller's jurisdiction."""
    if principal.kind not in (OrganisationKind.MUNICIPALITY, OrganisationKind.ADMIN):
        raise NotPermitted("The audit is for municipalities and admins.")
    municipality, prefecture = requested.municipality_code, requested.prefecture
    if municipality and prefecture and municipality[:2] != prefecture:
        raise UnprocessableEntity(
            f"Municipality {municipality} does not lie in prefecture {prefecture}."
        )
    if principal.is_admin:
        if municipality:
            return (municipality,)
        return (prefecture,) if prefecture else None
    own = principal.jurisdiction_codes
    if municipality:
        if not principal.governs(municipality):
            raise NotPermitted(f"Municipality {municipality} is outside your jurisdiction.")
        return (municipality,)
    if prefecture:
        if prefecture in own:
            return (prefecture,)
        # A city's housing section asking for its prefecture gets its own part of it.
        inside = tuple(code for code in own if code[:2] == prefecture)
        if not inside:
            raise NotPermitted(f"Prefecture {prefecture} is outside your jurisdiction.")
        return inside
    return own


def _scope_read(codes: ScopeCodes) -> AuditScope:
    return AuditScope(jurisdiction_codes=None if codes is None else list(codes))


# --- paging --------------------------------------------------------------


def _decode_after(cursor: str | None, width: int) -> After:
    """A cursor holds the ordering key as strings, the row's UUID last."""
    if cursor is None:
        return None
    key = decode_cursor(cursor).get("k")
    if not (isinstance(key, list) and len(key) == width and all(isinstance(k, str) for k in key)):
        raise BadRequest(INVALID_CURSOR)
    try:
        uuid.UUID(key[-1])
    except ValueError as exc:
        raise BadRequest(INVALID_CURSOR) from exc
    return tuple(key)


def _cut(
    rows: list[RowT], limit: int, key: Callable[[RowT], Sequence[str]]
) -> tuple[list[RowT], str | None]:
    """A page (asked for with one row more, to know whether another follows) and its next
    cursor. Exports are not pages: they stream every row (``*_export``)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor({"k": list(key(rows[-1]))})


# --- registrations against today's standards ----------------------------------------------


@dataclass(frozen=True)
class _Checked:
    row: RowMapping
    violations: tuple[Violation, ...]
    profile: AppliedProfile


def _checked_registrations(session: Session, codes: ScopeCodes, as_of: date) -> Iterator[_Checked]:
    """Every registered dwelling in scope judged by the registry's own engine under the
    profiles in force on ``as_of``, in report order.

    The parameters are selected once per municipality (they are the same for all its
    dwellings), and each row's facts are read straight from its columns: what is left per
    dwelling is the check itself.
    """
    profiles = ProfileCache(session)
    in_force: dict[str, tuple[StandardsParameters, AppliedProfile]] = {}
    for row in AuditRepository(session).registered_for_check(codes):
        code = row["municipality_code"]
        if code not in in_force:
            in_force[code] = standards_in_force(profiles.profiles(code), code, as_of)
        parameters, applied = in_force[code]
        result = check_dwelling(dwelling_facts_from_columns(row), parameters)
        yield _Checked(row, result.violations, applied)


def _non_compliant(checked: _Checked) -> NonCompliantDwelling:
    row = checked.row
    return NonCompliantDwelling(
        dwelling_id=row["id"],
        registration_number=row["registration_number"],
        address=row["address"],
        municipality_code=row["municipality_code"],
        authority_id=row["authority_id"],
        registered_on=row["registered_on"],
        location=GeoPoint(latitude=row["latitude"], longitude=row["longitude"]),
        violations=[
            ViolationRead.model_validate(violation, from_attributes=True)
            for violation in checked.violations
        ],
        profile=checked.profile,
        compliant_when_checked=row["standards_compliant"],
        standards_checked_at=row["standards_checked_at"],
    )


def _checked_key(checked: _Checked) -> tuple[str, str, str]:
    row = checked.row
    return (row["municipality_code"], row["registration_number"], str(row["id"]))


def registrations_export(session: Session, codes: ScopeCodes) -> Iterator[NonCompliantDwelling]:
    """Every non-compliant dwelling in scope, in report order, as it is checked: an export of
    any size, in constant memory."""
    for checked in _checked_registrations(session, codes, today()):
        if checked.violations:
            yield _non_compliant(checked)


def audit_registrations(
    session: Session, codes: ScopeCodes, *, cursor: str | None, limit: int
) -> RegistrationsAudit:
    """Re-check every registered dwelling in scope under the profiles in force today.

    The registry's own engine and profile selection do the check, so a local profile created
    a moment ago applies at once and the audit never disagrees with registration.
    """
    as_of = today()
    after = _decode_after(cursor, 3)
    checked_count = non_compliant = newly_non_compliant = 0
    dwellings_by_rule: Counter[str] = Counter()
    violations_by_rule: Counter[str] = Counter()
    # A rule the label table does not know yet is named by its first violation's message.
    messages: dict[str, tuple[str, str]] = {}
    page: list[_Checked] = []
    for checked in _checked_registrations(session, codes, as_of):
        checked_count += 1
        if not checked.violations:
            continue
        non_compliant += 1
        if checked.row["standards_compliant"]:
            newly_non_compliant += 1
        dwellings_by_rule.update({violation.rule_id for violation in checked.violations})
        for violation in checked.violations:
            violations_by_rule[violation.rule_id] += 1
            messages.setdefault(violation.rule_id, (violation.message_ja, violation.message_en))
        # In report order already: the page is the first ``limit`` after the cursor.
        if len(page) <= limit and (after is None or _checked_key(checked) > after):
            page.append(checked)
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = encode_cursor({"k": list(_checked_key(page[-1]))})
    items = [_non_compliant(checked) for checked in page]
    rules = []
    for rule_id, count in sorted(dwellings_by_rule.items(), key=lambda pair: (-pair[1], pair[0])):
        label_ja, label_en = RULE_LABELS.get(rule_id, messages[rule_id])
        rules.append(
            RuleCount(
                rule_id=rule_id,
                label_ja=label_ja,
                label_en=label_en,
                dwelling_count=count,
                violation_count=violations_by_rule[rule_id],
            )
        )
    return RegistrationsAudit(
        as_of=as_of,
        scope=_scope_read(codes),
        checked=checked_count,
        compliant=checked_count - non_compliant,
        non_compliant=non_compliant,
        newly_non_compliant=newly_non_compliant,
        rules=rules,
        items=items,
        next_cursor=next_cursor,
    )


# --- rent balance (近傍同種) ----------------------------------------------------------------


def rent_thresholds(
    radius_m: int | None, factor: float | None, min_comparables: int | None
) -> RentThresholds:
    """The registry's own thresholds unless the auditor asks for others."""
    settings = get_settings()
    return RentThresholds(
        radius_m=settings.rent_balance_radius_m if radius_m is None else radius_m,
        factor=settings.rent_balance_factor if factor is None else factor,
        min_comparables=(
            settings.rent_balance_min_comparables if min_comparables is None else min_comparables
        ),
    )


def _rent_outlier(row: RentRow, thresholds: RentThresholds) -> RentOutlier:
    finding = RentFinding(row.finding)
    balance = assess_rent_balance(
        rent_per_m2(row.rent_yen, row.common_fee_yen, row.floor_area_m2),
        RentStats(comparable_count=row.comparable_count, median_rent_per_m2=row.median_rent_per_m2),
        radius_m=thresholds.radius_m,
        factor=thresholds.factor,
        min_comparables=thresholds.min_comparables,
    )
    return RentOutlier(
        dwelling_id=row.dwelling_id,
        registration_number=row.registration_number,
        address=row.address,
        municipality_code=row.municipality_code,
        kind=row.kind,
        location=GeoPoint(latitude=row.latitude, longitude=row.longitude),
        rent_yen=row.rent_yen,
        common_fee_yen=row.common_fee_yen,
        floor_area_m2=float(row.floor_area_m2),
        finding=finding,
        finding_label_ja=RENT_FINDING_LABELS_JA[finding],
        rent_balance=balance,
    )


def rent_balance_export(
    session: Session, codes: ScopeCodes, thresholds: RentThresholds
) -> Iterator[RentOutlier]:
    """Every dwelling out of balance in scope, in report order, streamed."""
    maintained = _reads_maintained(session, thresholds)
    repository = AuditRepository(session)
    rows = repository.rent_outliers(
        codes, thresholds, maintained=maintained, after=None, limit=None
    )
    for row in rows:
        yield _rent_outlier(row, thresholds)


def _reads_maintained(session: Session, thresholds: RentThresholds) -> bool:
    """The maintained values answer when they were computed for the radius asked."""
    state = RentComparablesRepository(session).state()
    radius_m = state.radius_m if state else get_settings().rent_balance_radius_m
    return radius_m == thresholds.radius_m


def audit_rent_balance(
    session: Session,
    codes: ScopeCodes,
    thresholds: RentThresholds,
    *,
    cursor: str | None,
    limit: int,
) -> RentBalanceAudit:
    """Read from the maintained values (``rent_refresh``) when they are for the radius asked;
    for another radius computed now, which costs a median per dwelling over its neighbours."""
    after = _decode_after(cursor, 3)
    repository = AuditRepository(session)
    maintained_repository = RentComparablesRepository(session)
    state = maintained_repository.state()
    maintained = _reads_maintained(session, thresholds)
    findings = repository.rent_findings(codes, thresholds, maintained=maintained)
    rows, next_cursor = _cut(
        list(
            repository.rent_outliers(
                codes, thresholds, maintained=maintained, after=after, limit=limit + 1
            )
        ),
        limit,
        lambda row: (row.municipality_code, row.registration_number, str(row.dwelling_id)),
    )
    if maintained:
        pending = maintained_repository.pending()
        freshness = RentBalanceFreshness(
            computed="maintained",
            as_of=None if state is None else state.refreshed_at,
            dwellings_changed_since=pending.dwellings,
            changed_since_earliest=pending.since,
            not_yet_assessed=repository.not_yet_assessed(codes),
        )
    else:
        freshness = RentBalanceFreshness(
            computed="live",
            as_of=maintained_repository.now(),
            dwellings_changed_since=0,
            changed_since_earliest=None,
            not_yet_assessed=0,
        )
    return RentBalanceAudit(
        scope=_scope_read(codes),
        parameters=RentBalanceParameters(
            radius_m=thresholds.radius_m,
            factor=thresholds.factor,
            min_comparables=thresholds.min_comparables,
        ),
        freshness=freshness,
        checked=sum(findings.values()),
        within_balance=findings.get("within", 0),
        above=findings.get(RentFinding.ABOVE.value, 0),
        below=findings.get(RentFinding.BELOW.value, 0),
        too_few_comparables=findings.get(RentFinding.TOO_FEW_COMPARABLES.value, 0),
        items=[_rent_outlier(row, thresholds) for row in rows],
        next_cursor=next_cursor,
    )


# --- vacancy freshness ---------------------------------------------------------------------


def _stale_vacancy(row: VacancyRow, now: datetime) -> StaleVacancy:
    status = VacancyStatus(row.status)
    finding = VacancyFinding(row.finding)
    vacancy, dwelling = row.vacancy, row.dwelling
    return StaleVacancy(
        vacancy_id=vacancy.id,
        dwelling_id=dwelling.id,
        registration_number=dwelling.registration_number,
        address=dwelling.address,
        municipality_code=dwelling.municipality_code,
        location=geo_point(dwelling.location),
        corporation_id=vacancy.corporation_id,
        corporation_name=row.corporation_name,
        status=status.value,
        status_label_ja=VACANCY_STATUS_LABELS_JA[status],
        finding=finding,
        finding_label_ja=VACANCY_FINDING_LABELS_JA[finding],
        refreshed_at=vacancy.refreshed_at,
        expires_at=vacancy.expires_at,
        days_since_refresh=max((now - vacancy.refreshed_at).days, 0),
    )


def _stale_days(stale_after_days: int | None) -> int:
    return get_settings().audit_stale_vacancy_days if stale_after_days is None else stale_after_days


def vacancies_export(
    session: Session, codes: ScopeCodes, *, stale_after_days: int | None
) -> Iterator[StaleVacancy]:
    """Every expired or unconfirmed latest posting in scope, in report order, streamed."""
    stale_after = timedelta(days=_stale_days(stale_after_days))
    now = datetime.now(UTC)
    for row in AuditRepository(session).stale_vacancies(
        codes, stale_after=stale_after, after=None, limit=None
    ):
        yield _stale_vacancy(row, now)


def audit_vacancies(
    session: Session,
    codes: ScopeCodes,
    *,
    stale_after_days: int | None,
    cursor: str | None,
    limit: int,
) -> VacanciesAudit:
    """Each registered dwelling's latest posting when it has expired or gone unconfirmed."""
    days = _stale_days(stale_after_days)
    stale_after = timedelta(days=days)
    after = _decode_after(cursor, 4)
    repository = AuditRepository(session)
    registered, with_open = repository.open_vacancy_share(codes)
    by_corporation = sorted(
        repository.freshness_by_corporation(codes, stale_after=stale_after),
        key=lambda row: (-(row.expired + row.not_refreshed), row.corporation_name),
    )
    rows, next_cursor = _cut(
        list(
            repository.stale_vacancies(codes, stale_after=stale_after, after=after, limit=limit + 1)
        ),
        limit,
        lambda row: (
            row.corporation_name,
            row.dwelling.municipality_code,
            row.dwelling.registration_number,
            str(row.vacancy.id),
        ),
    )
    now = datetime.now(UTC)
    return VacanciesAudit(
        scope=_scope_read(codes),
        stale_after_days=days,
        open_vacancy_share=OpenVacancyShare(
            registered_dwellings=registered,
            with_open_vacancy=with_open,
            share=with_open / registered if registered else None,
        ),
        by_corporation=[
            CorporationFreshness(
                corporation_id=row.corporation_id,
                corporation_name=row.corporation_name,
                current_postings=row.current_postings,
                live=row.live,
                expired=row.expired,
                not_refreshed=row.not_refreshed,
            )
            for row in by_corporation
        ],
        items=[_stale_vacancy(row, now) for row in rows],
        next_cursor=next_cursor,
    )


# --- unmet demand --------------------------------------------------------------------------


def _month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=JAPAN)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def default_months() -> tuple[str, str]:
    """The twelve months up to and including this one, in Japan time."""
    now = datetime.now(JAPAN)
    year, month = (now.year, now.month - 11) if now.month == 12 else (now.year - 1, now.month + 1)
    return f"{year:04d}-{month:02d}", f"{now:%Y-%m}"


def _constraint_label(name: str) -> str | None:
    try:
        return HARD_CONSTRAINT_LABELS_JA[HardConstraint(name)]
    except ValueError:
        return None


def _demand_cell(row: DemandRow) -> DemandCell:
    if row.queries < MIN_CELL_QUERIES:
        return DemandCell(
            municipality_code=row.municipality_code,
            month=row.month,
            suppressed=True,
            queries=None,
            zero_candidates=None,
            few_candidates=None,
            top_constraint=None,
            top_constraint_label_ja=None,
        )
    # The top constraint of fewer than five short searches could describe one person's needs.
    short = row.zero_candidates + row.few_candidates
    shown = row.top_constraint if short >= MIN_CELL_QUERIES else None
    return DemandCell(
        municipality_code=row.municipality_code,
        month=row.month,
        suppressed=False,
        queries=row.queries,
        zero_candidates=row.zero_candidates,
        few_candidates=row.few_candidates,
        top_constraint=shown,
        top_constraint_label_ja=None if shown is None else _constraint_label(shown),
    )


def audit_unmet_demand(
    session: Session,
    codes: ScopeCodes,
    *,
    few_threshold: int | None,
    from_month: str | None,
    to_month: str | None,
) -> UnmetDemandAudit:
    """Short or empty match results per municipality and month; small cells suppressed.

    Only cells of at least MIN_CELL_QUERIES queries carry numbers, and the totals add up
    those cells alone, so no suppressed count can be recovered by subtraction.
    """
    threshold = get_settings().audit_few_candidates if few_threshold is None else few_threshold
    default_from, default_to = default_months()
    first, last = from_month or default_from, to_month or default_to
    if first > last:
        raise UnprocessableEntity(f"from_month {first} is after to_month {last}.")
    rows = AuditRepository(session).unmet_demand(
        codes,
        few_threshold=threshold,
        since=_month_start(first),
        until=_next_month(_month_start(last)),
    )
    cells = [_demand_cell(row) for row in rows]
    shown = [cell for cell in cells if not cell.suppressed]
    return UnmetDemandAudit(
        scope=_scope_read(codes),
        from_month=first,
        to_month=last,
        few_threshold=threshold,
        min_cell_queries=MIN_CELL_QUERIES,
        totals=DemandTotals(
            queries=sum(cell.queries or 0 for cell in shown),
            zero_candidates=sum(cell.zero_candidates or 0 for cell in shown),
            few_candidates=sum(cell.few_candidates or 0 for cell in shown),
            suppressed_cells=len(cells) - len(shown),
        ),
        cells=cells,
    )
