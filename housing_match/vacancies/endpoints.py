from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from housing_match.auth import AuthenticatedPrincipal, Principal, require_kinds
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.geojson import GEOJSON_RESPONSE_DOC, feature, feature_collection, wants_geojson
from housing_match.models import Dwelling, OrganisationKind, Vacancy
from housing_match.registry.filters import dwelling_filters
from housing_match.registry.mapping import dwelling_read, geo_point
from housing_match.registry.repository import DwellingFilters
from housing_match.vacancies import service
from housing_match.vacancies.schemas import (
    VACANCY_STATUS_LABELS_JA,
    CoveredRisk,
    VacancyCreate,
    VacancyPage,
    VacancyRead,
    VacancyStatus,
    VacancyUpdate,
)
from housing_match.vocabulary import RiskKind

router = APIRouter(tags=["vacancies"])
Corporation = Annotated[Principal, Depends(require_kinds(OrganisationKind.SUPPORT_CORPORATION))]


def vacancy_read(
    vacancy: Vacancy,
    status_value: str,
    *,
    dwelling: Dwelling | None = None,
    distance_m: float | None = None,
) -> VacancyRead:
    current = VacancyStatus(status_value)
    whole = set(vacancy.covered_whole_tenancy_risks)
    return VacancyRead(
        id=vacancy.id,
        dwelling_id=vacancy.dwelling_id,
        corporation_id=vacancy.corporation_id,
        status=current,
        status_label_ja=VACANCY_STATUS_LABELS_JA[current],
        available_from=vacancy.available_from,
        rent_offered_yen=vacancy.rent_offered_yen,
        common_fee_offered_yen=vacancy.common_fee_offered_yen,
        conditions=vacancy.conditions,
        covered_risks=[
            CoveredRisk(risk_kind=RiskKind(kind), whole_tenancy=kind in whole)
            for kind in vacancy.covered_risks
        ],
        refreshed_at=vacancy.refreshed_at,
        expires_at=vacancy.expires_at,
        closed_reason=vacancy.closed_reason,
        created_at=vacancy.created_at,
        distance_m=distance_m,
        dwelling=None if dwelling is None else dwelling_read(dwelling),
    )


def _status_of(vacancy: Vacancy) -> str:
    return service.current_status(vacancy).value


@router.post(
    "/v1/vacancies",
    response_model=VacancyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Post a vacancy on a registered dwelling (support corporations)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def post_vacancy(session: SessionDep, principal: Corporation, body: VacancyCreate) -> VacancyRead:
    vacancy = service.post_vacancy(session, principal, body)
    return vacancy_read(vacancy, _status_of(vacancy))


@router.get(
    "/v1/vacancies",
    response_model=VacancyPage,
    summary="Search vacancies (JSON, or GeoJSON with Accept: application/geo+json)",
    responses={**GEOJSON_RESPONSE_DOC, **problem_responses(400, 401, 422)},
)
def search_vacancies(
    request: Request,
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    filters: Annotated[DwellingFilters, Depends(dwelling_filters)],
    status_: Annotated[
        list[VacancyStatus] | None,
        Query(alias="status", description="Default: open (and unexpired) only."),
    ] = None,
    mine: Annotated[bool, Query(description="Only the caller's own vacancies.")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> VacancyPage | JSONResponse:
    statuses = tuple(sorted({s.value for s in status_})) if status_ else ("open",)
    rows, next_cursor = service.search_vacancies(
        session,
        filters,
        statuses=statuses,
        corporation_id=principal.organisation_id if mine else None,
        cursor=cursor,
        limit=limit,
    )
    items = [
        vacancy_read(vacancy, status_value, dwelling=dwelling, distance_m=distance)
        for vacancy, dwelling, status_value, distance in rows
    ]
    if wants_geojson(request):
        return feature_collection(
            (
                feature(
                    geo_point(dwelling.location),
                    item.model_dump(mode="json", exclude={"dwelling"})
                    | {
                        "address": dwelling.address,
                        "municipality_code": dwelling.municipality_code,
                    },
                    str(item.id),
                )
                for item, (_, dwelling, _, _) in zip(items, rows, strict=True)
            ),
            next_cursor=next_cursor,
        )
    return VacancyPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/vacancies/{vacancy_id}",
    response_model=VacancyRead,
    summary="Read a vacancy with its dwelling",
    responses=problem_responses(401, 404),
)
def read_vacancy(
    session: SessionDep, _principal: AuthenticatedPrincipal, vacancy_id: uuid.UUID
) -> VacancyRead:
    vacancy, dwelling, status_value = service.get_vacancy(session, vacancy_id)
    return vacancy_read(vacancy, status_value, dwelling=dwelling)


@router.patch(
    "/v1/vacancies/{vacancy_id}",
    response_model=VacancyRead,
    summary="Change one's own vacancy: hold, reopen, let, withdraw, or edit the offer",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_vacancy(
    session: SessionDep, principal: Corporation, vacancy_id: uuid.UUID, body: VacancyUpdate
) -> VacancyRead:
    vacancy = service.update_vacancy(session, principal, vacancy_id, body)
    return vacancy_read(vacancy, _status_of(vacancy))


@router.post(
    "/v1/vacancies/{vacancy_id}/refresh",
    response_model=VacancyRead,
    summary="Confirm a vacancy is still available; extends its expiry",
    responses=problem_responses(401, 403, 404, 409),
)
def refresh_vacancy(
    session: SessionDep, principal: Corporation, vacancy_id: uuid.UUID
) -> VacancyRead:
    vacancy = service.refresh_vacancy(session, principal, vacancy_id)
    return vacancy_read(vacancy, _status_of(vacancy))
