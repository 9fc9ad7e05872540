from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from housing_match.audit import service
from housing_match.audit.exports import (
    chosen_format,
    export_responses,
    places_geojson,
    registrations_csv,
    rent_balance_csv,
    unmet_demand_csv,
    vacancies_csv,
)
from housing_match.audit.repository import ScopeCodes
from housing_match.audit.schemas import (
    RegistrationsAudit,
    RentBalanceAudit,
    ReportFormat,
    TabularFormat,
    UnmetDemandAudit,
    VacanciesAudit,
)
from housing_match.auth import Principal, require_kinds
from housing_match.db import SessionDep, StreamingSessionDep
from housing_match.errors import problem_responses
from housing_match.models import OrganisationKind
from housing_match.registry.service import today
from housing_match.schemas_common import MunicipalityCode, PrefectureCode
from housing_match.throttling.dependencies import RateLimited
from housing_match.throttling.limiter import Operation

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[
    Principal, Depends(require_kinds(OrganisationKind.MUNICIPALITY, OrganisationKind.ADMIN))
]
PROBLEMS = problem_responses(400, 401, 403, 422)


def _asks_for_export(request: Request, *, places: bool = True) -> bool:
    """A CSV or GeoJSON export rather than a JSON page (an invalid format is refused later
    and counts nothing)."""
    try:
        requested = ReportFormat(request.query_params["format"])
    except KeyError:
        requested = None
    except ValueError:
        return False
    return chosen_format(request, requested, places=places) is not ReportFormat.JSON


def _asks_for_csv(request: Request) -> bool:
    return _asks_for_export(request, places=False)


ExportLimit = Annotated[
    None,
    Depends(
        RateLimited(
            Operation.EXPORT,
            only_when=_asks_for_export,
            applies_to="the CSV and GeoJSON exports of this report, not its JSON pages",
        )
    ),
]
CsvExportLimit = Annotated[
    None,
    Depends(
        RateLimited(
            Operation.EXPORT,
            only_when=_asks_for_csv,
            applies_to="the CSV export of this report, not its JSON",
        )
    ),
]


def audit_scope(
    principal: Auditor,
    municipality_code: Annotated[
        MunicipalityCode | None,
        Query(description="Only this municipality (within your jurisdiction)."),
    ] = None,
    prefecture: Annotated[
        PrefectureCode | None,
        Query(description="Only this prefecture (admins; or your part of it)."),
    ] = None,
) -> ScopeCodes:
    return service.resolve_scope(principal, service.ScopeFilter(municipality_code, prefecture))


Scope = Annotated[ScopeCodes, Depends(audit_scope)]
Format = Annotated[
    ReportFormat | None,
    Query(
        alias="format",
        description="json, csv or geojson; overrides the Accept header.",
    ),
]
MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"  # the register began in 2017
Cursor = Annotated[str | None, Query(description="JSON pages only; exports hold every row.")]
Limit = Annotated[int, Query(ge=1, le=500, description="JSON page size; exports hold every row.")]


@router.get(
    "/registrations",
    response_model=RegistrationsAudit,
    summary="Registered dwellings re-checked under the standards in force today (基準適合監査)",
    responses={**export_responses(geojson=True), **PROBLEMS},
)
def registrations(
    request: Request,
    session: SessionDep,
    export_session: StreamingSessionDep,
    scope: Scope,
    _rate_limit: ExportLimit,
    format_: Format = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> RegistrationsAudit | Response:
    chosen = chosen_format(request, format_)
    if chosen is ReportFormat.JSON:
        return service.audit_registrations(session, scope, cursor=cursor, limit=limit)
    items = service.registrations_export(export_session, scope)
    if chosen is ReportFormat.CSV:
        return registrations_csv(items, today())
    return places_geojson(items, lambda item: item.dwelling_id)


@router.get(
    "/rent-balance",
    response_model=RentBalanceAudit,
    summary="Rents out of balance with comparable dwellings nearby (近傍同種)",
    responses={**export_responses(geojson=True), **PROBLEMS},
)
def rent_balance(
    request: Request,
    session: SessionDep,
    export_session: StreamingSessionDep,
    scope: Scope,
    _rate_limit: ExportLimit,
    radius_m: Annotated[
        int | None,
        Query(ge=100, le=20_000, description="Comparables within this radius; default: setting."),
    ] = None,
    factor: Annotated[
        float | None,
        Query(
            gt=1.0,
            le=10.0,
            description="Flag above factor × or below 1/factor × the median; default: setting.",
        ),
    ] = None,
    min_comparables: Annotated[
        int | None,
        Query(ge=1, le=1_000, description="Fewer comparables cannot be judged; default: setting."),
    ] = None,
    format_: Format = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> RentBalanceAudit | Response:
    thresholds = service.rent_thresholds(radius_m, factor, min_comparables)
    chosen = chosen_format(request, format_)
    if chosen is ReportFormat.JSON:
        return service.audit_rent_balance(session, scope, thresholds, cursor=cursor, limit=limit)
    items = service.rent_balance_export(export_session, scope, thresholds)
    if chosen is ReportFormat.CSV:
        return rent_balance_csv(items)
    return places_geojson(items, lambda item: item.dwelling_id)


@router.get(
    "/vacancies",
    response_model=VacanciesAudit,
    summary="Expired or unconfirmed vacancies by corporation, and the open-vacancy share",
    responses={**export_responses(geojson=True), **PROBLEMS},
)
def vacancies(
    request: Request,
    session: SessionDep,
    export_session: StreamingSessionDep,
    scope: Scope,
    _rate_limit: ExportLimit,
    stale_after_days: Annotated[
        int | None,
        Query(
            ge=1,
            le=3_650,
            description="A live vacancy not confirmed for this many days is stale; "
            "default: setting.",
        ),
    ] = None,
    format_: Format = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> VacanciesAudit | Response:
    chosen = chosen_format(request, format_)
    if chosen is ReportFormat.JSON:
        return service.audit_vacancies(
            session, scope, stale_after_days=stale_after_days, cursor=cursor, limit=limit
        )
    items = service.vacancies_export(export_session, scope, stale_after_days=stale_after_days)
    if chosen is ReportFormat.CSV:
        return vacancies_csv(items)
    return places_geojson(items, lambda item: item.vacancy_id)


@router.get(
    "/unmet-demand",
    response_model=UnmetDemandAudit,
    summary="Match queries with no or few candidates, by municipality and month (aggregates)",
    description=(
        "Aggregates only, never a person. A cell (municipality × month) of fewer than 5 "
        "queries is suppressed: its counts are null and the totals leave it out. Relaxed "
        "re-runs of a query are not counted."
    ),
    responses={**export_responses(geojson=False), **PROBLEMS},
)
def unmet_demand(
    request: Request,
    session: SessionDep,
    scope: Scope,
    _rate_limit: CsvExportLimit,
    few_threshold: Annotated[
        int | None,
        Query(ge=1, le=50, description="At most this many candidates is 'few'; default: setting."),
    ] = None,
    from_month: Annotated[
        str | None,
        Query(pattern=MONTH_PATTERN, description="YYYY-MM, Japan time; default: 11 months ago."),
    ] = None,
    to_month: Annotated[
        str | None,
        Query(pattern=MONTH_PATTERN, description="YYYY-MM, Japan time; default: this month."),
    ] = None,
    format_: Annotated[
        TabularFormat | None,
        Query(alias="format", description="json or csv; overrides the Accept header."),
    ] = None,
) -> UnmetDemandAudit | Response:
    report = service.audit_unmet_demand(
        session, scope, few_threshold=few_threshold, from_month=from_month, to_month=to_month
    )
    if chosen_format(request, format_, places=False) is ReportFormat.CSV:
        return unmet_demand_csv(report)
    return report
