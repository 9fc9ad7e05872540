from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from housing_match.auth import AuthenticatedPrincipal, Principal, require_kinds
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.geojson import GEOJSON_RESPONSE_DOC, feature, feature_collection, wants_geojson
from housing_match.models import DwellingManager, Organisation, OrganisationKind
from housing_match.registry import service
from housing_match.registry.filters import dwelling_filters
from housing_match.registry.mapping import dwelling_read
from housing_match.registry.repository import DwellingFilters
from housing_match.registry.schemas import (
    DwellingInput,
    DwellingManagerRead,
    DwellingManagersRead,
    DwellingManagersUpdate,
    DwellingPage,
    DwellingRead,
    DwellingStatus,
    ReasonBody,
    StandardsCheckRequest,
    StandardsProfileCreate,
    StandardsProfileRead,
    StandardsReport,
)
from housing_match.schemas_common import MunicipalityCode

router = APIRouter(tags=["registry"])
standards_router = APIRouter(tags=["standards"])

Applicant = Annotated[
    Principal,
    Depends(require_kinds(OrganisationKind.SUPPORT_CORPORATION, OrganisationKind.MUNICIPALITY)),
]
Municipality = Annotated[Principal, Depends(require_kinds(OrganisationKind.MUNICIPALITY))]
ManagersReader = Annotated[
    Principal,
    Depends(
        require_kinds(
            OrganisationKind.MUNICIPALITY,
            OrganisationKind.SUPPORT_CORPORATION,
            OrganisationKind.ADMIN,
        )
    ),
]


class DwellingWithReport(DwellingRead):
    standards_report: StandardsReport


def _with_report(dwelling: Any, report: StandardsReport) -> DwellingWithReport:
    read = dwelling_read(dwelling)
    return DwellingWithReport.model_construct(**dict(read), standards_report=report)


@router.post(
    "/v1/dwellings",
    response_model=DwellingWithReport,
    status_code=status.HTTP_201_CREATED,
    summary="Apply to register a dwelling (登録申請); the standards are checked at once",
    responses=problem_responses(401, 403, 409, 422),
)
def apply(session: SessionDep, principal: Applicant, body: DwellingInput) -> DwellingWithReport:
    dwelling, report = service.submit_application(session, principal, body)
    return _with_report(dwelling, report)


@router.get(
    "/v1/dwellings",
    response_model=DwellingPage,
    summary="Search dwellings (JSON, or GeoJSON with Accept: application/geo+json)",
    responses={**GEOJSON_RESPONSE_DOC, **problem_responses(400, 401, 403, 422)},
)
def search_dwellings(
    request: Request,
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    filters: Annotated[DwellingFilters, Depends(dwelling_filters)],
    status_: Annotated[
        list[DwellingStatus] | None,
        Query(alias="status", description="Default: registered only."),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DwellingPage | JSONResponse:
    if status_:
        filters.statuses = tuple(sorted({s.value for s in status_}))
    rows, next_cursor = service.search_dwellings(
        session, principal, filters, cursor=cursor, limit=limit
    )
    items = [dwelling_read(dwelling, distance_m=distance) for dwelling, distance in rows]
    if wants_geojson(request):
        return feature_collection(
            (
                feature(
                    item.location,
                    item.model_dump(mode="json", exclude={"location"}),
                    str(item.id),
                )
                for item in items
            ),
            next_cursor=next_cursor,
        )
    return DwellingPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/dwellings/{dwelling_id}",
    response_model=DwellingRead,
    summary="Read a dwelling",
    responses=problem_responses(401, 404),
)
def read_dwelling(
    session: SessionDep, principal: AuthenticatedPrincipal, dwelling_id: uuid.UUID
) -> DwellingRead:
    return dwelling_read(service.get_visible_dwelling(session, principal, dwelling_id))


@router.put(
    "/v1/dwellings/{dwelling_id}",
    response_model=DwellingWithReport,
    summary="Amend a dwelling (変更); the standards are checked again",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def amend_dwelling(
    session: SessionDep, principal: Applicant, dwelling_id: uuid.UUID, body: DwellingInput
) -> DwellingWithReport:
    dwelling, report = service.amend(session, principal, dwelling_id, body)
    return _with_report(dwelling, report)


def _managers_read(
    dwelling_id: uuid.UUID, managers: list[tuple[DwellingManager, Organisation]]
) -> DwellingManagersRead:
    return DwellingManagersRead(
        dwelling_id=dwelling_id,
        managers=[
            DwellingManagerRead(
                corporation_id=organisation.id,
                slug=organisation.slug,
                name=organisation.name,
                since=manager.since,
            )
            for manager, organisation in managers
        ],
    )


@router.get(
    "/v1/dwellings/{dwelling_id}/managers",
    response_model=DwellingManagersRead,
    summary=(
        "The support corporations managing a dwelling (管理する居住支援法人): for the "
        "municipality whose jurisdiction contains it, the managers themselves and admins"
    ),
    responses=problem_responses(401, 403, 404),
)
def read_managers(
    session: SessionDep, principal: ManagersReader, dwelling_id: uuid.UUID
) -> DwellingManagersRead:
    return _managers_read(dwelling_id, service.dwelling_managers(session, principal, dwelling_id))


@router.put(
    "/v1/dwellings/{dwelling_id}/managers",
    response_model=DwellingManagersRead,
    summary=(
        "Replace the managing corporations: the municipality whose jurisdiction contains the "
        "dwelling, or a corporation managing it (hand-over)"
    ),
    description=(
        "Only a managing corporation may post, refresh, change or withdraw the dwelling's "
        "vacancies. At least one manager remains; live vacancies posted by corporations "
        "outside the new set are withdrawn. The change is kept in the history."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def replace_managers(
    session: SessionDep, principal: Applicant, dwelling_id: uuid.UUID, body: DwellingManagersUpdate
) -> DwellingManagersRead:
    return _managers_read(
        dwelling_id, service.replace_managers(session, principal, dwelling_id, body)
    )


@router.post(
    "/v1/dwellings/{dwelling_id}/approve",
    response_model=DwellingRead,
    summary="Register an applied dwelling (登録): the governing municipality only",
    responses=problem_responses(401, 403, 404, 409),
)
def approve_dwelling(
    session: SessionDep, principal: Municipality, dwelling_id: uuid.UUID
) -> DwellingRead:
    return dwelling_read(service.approve(session, principal, dwelling_id))


@router.post(
    "/v1/dwellings/{dwelling_id}/reject",
    response_model=DwellingRead,
    summary="Reject an application with a reason: the governing municipality only",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def reject_dwelling(
    session: SessionDep, principal: Municipality, dwelling_id: uuid.UUID, body: ReasonBody
) -> DwellingRead:
    return dwelling_read(service.reject(session, principal, dwelling_id, body.reason))


@router.post(
    "/v1/dwellings/{dwelling_id}/deregister",
    response_model=DwellingRead,
    summary="Deregister (登録抹消) with a reason: the governing municipality only",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def deregister_dwelling(
    session: SessionDep, principal: Municipality, dwelling_id: uuid.UUID, body: ReasonBody
) -> DwellingRead:
    return dwelling_read(service.deregister(session, principal, dwelling_id, body.reason))


@standards_router.post(
    "/v1/standards/check",
    response_model=StandardsReport,
    summary="Check a dwelling against the registration standards (dry run)",
    responses=problem_responses(401, 422),
)
def check_standards(
    session: SessionDep, _principal: AuthenticatedPrincipal, body: StandardsCheckRequest
) -> StandardsReport:
    data = DwellingInput.model_validate(body.model_dump(exclude={"as_of"}))
    return service.evaluate_standards(session, data, as_of=body.as_of)


@standards_router.get(
    "/v1/standards/profiles",
    response_model=list[StandardsProfileRead],
    summary="Standards profiles: national and local (供給促進計画)",
    responses=problem_responses(401, 422),
)
def list_profiles(
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    municipality_code: Annotated[
        MunicipalityCode | None, Query(description="Only the profiles that could apply here.")
    ] = None,
) -> list[StandardsProfileRead]:
    return [
        StandardsProfileRead.model_validate(profile)
        for profile in service.list_profiles(session, principal, municipality_code)
    ]


@standards_router.post(
    "/v1/standards/profiles",
    response_model=StandardsProfileRead,
    status_code=status.HTTP_201_CREATED,
    summary="Define a local standards profile for a scope in your jurisdiction",
    responses=problem_responses(401, 403, 409, 422),
)
def create_profile(
    session: SessionDep, principal: Municipality, body: StandardsProfileCreate
) -> StandardsProfileRead:
    return StandardsProfileRead.model_validate(service.create_profile(session, principal, body))
