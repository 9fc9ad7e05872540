"""Person profiles, their matches, and allocations: for the staff of the owning center only."""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from housing_match.auth import Principal, require_kinds
from housing_match.db import SessionDep
from housing_match.errors import BadRequest, problem_responses
from housing_match.matching import service
from housing_match.matching.rules import Factor, HardConstraint
from housing_match.matching.schemas import (
    AllocationRequest,
    AllocationResult,
    MatchExplanation,
    MatchResult,
    PersonCreate,
    PersonPage,
    PersonRead,
    PersonUpdate,
    ReadLogPage,
)
from housing_match.models import OrganisationKind
from housing_match.responses import json_response
from housing_match.throttling.dependencies import RateLimited
from housing_match.throttling.limiter import Operation

router = APIRouter(tags=["persons"])
allocations_router = APIRouter(tags=["allocations"])

# Person data is for the center that supports the person: not even admins see it.
Center = Annotated[Principal, Depends(require_kinds(OrganisationKind.CENTER))]
MAX_WEIGHT = 100.0
# Charged after the principal: another kind of organisation is refused, not counted.
MatchLimit = Annotated[None, Depends(RateLimited(Operation.MATCH))]
AllocationLimit = Annotated[None, Depends(RateLimited(Operation.ALLOCATION))]


def parse_weights(raw: str | None) -> dict[Factor, float] | None:
    if not raw:
        return None
    weights: dict[Factor, float] = {}
    for part in raw.split(","):
        name, _, value = part.partition(":")
        try:
            factor = Factor(name.strip())
            weight = float(value)
        except ValueError as exc:
            names = ", ".join(factor.value for factor in Factor)
            raise BadRequest(f"weights must be factor:weight pairs; factors are {names}.") from exc
        if not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:
            raise BadRequest(f"each weight must be between 0 and {MAX_WEIGHT:g}.")
        weights[factor] = weight
    return weights


@router.post(
    "/v1/persons",
    response_model=PersonRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a person's profile (centers): needs, places, support plan, consent",
    responses=problem_responses(401, 403, 409, 422),
)
def create_person(session: SessionDep, principal: Center, body: PersonCreate) -> PersonRead:
    return service.read_model(service.create_person(session, principal, body))


@router.get(
    "/v1/persons",
    response_model=PersonPage,
    summary="List your center's persons (each read is logged)",
    responses=problem_responses(400, 401, 403, 422),
)
def list_persons(
    session: SessionDep,
    principal: Center,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PersonPage:
    persons, next_cursor = service.list_persons(session, principal, cursor=cursor, limit=limit)
    return PersonPage(
        items=[service.read_model(person) for person in persons], next_cursor=next_cursor
    )


@router.get(
    "/v1/persons/{person_id}",
    response_model=PersonRead,
    summary="Read a person of your center (the read is logged)",
    responses=problem_responses(401, 403, 404),
)
def read_person(session: SessionDep, principal: Center, person_id: uuid.UUID) -> PersonRead:
    return service.read_model(service.get_person(session, principal, person_id))


@router.patch(
    "/v1/persons/{person_id}",
    response_model=PersonRead,
    summary=(
        "Change a person: given fields only; lists (places, support plan) are replaced whole; "
        "consent withdrawn from support corporations also leaves their open referrals"
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_person(
    session: SessionDep, principal: Center, person_id: uuid.UUID, body: PersonUpdate
) -> PersonRead:
    return service.read_model(service.update_person(session, principal, person_id, body))


@router.delete(
    "/v1/persons/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a person's profile (the read log is kept)",
    responses=problem_responses(401, 403, 404),
)
def delete_person(session: SessionDep, principal: Center, person_id: uuid.UUID) -> Response:
    service.delete_person(session, principal, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


RelaxQuery = Annotated[
    HardConstraint | None,
    Query(
        description=(
            "Drop one hard constraint to see what it would open up (exclusion_zone cannot be "
            "relaxed), or loosen it: anchor_distance with radius_factor or radius_m, "
            "rent_ceiling with rent_tolerance_yen."
        )
    ),
]
RadiusFactorQuery = Annotated[
    float | None,
    Query(
        gt=1.0,
        le=10.0,
        description="With relax=anchor_distance: each required anchor's distance times this.",
    ),
]
RadiusQuery = Annotated[
    int | None,
    Query(
        ge=50,
        le=100_000,
        description=(
            "With relax=anchor_distance: each required anchor's maximum distance raised to "
            "this many metres (never lowered). Not with radius_factor."
        ),
    ),
]
RentToleranceQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=100_000,
        description="With relax=rent_ceiling: allow rent plus common fee this many yen over.",
    ),
]


@router.get(
    "/v1/persons/{person_id}/matches",
    response_model=MatchResult,
    summary="Ranked homes the person can actually get, why, and what each constraint excluded",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def match_person(
    session: SessionDep,
    principal: Center,
    _rate_limit: MatchLimit,
    person_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    relax: RelaxQuery = None,
    radius_factor: RadiusFactorQuery = None,
    radius_m: RadiusQuery = None,
    rent_tolerance_yen: RentToleranceQuery = None,
    weights: Annotated[
        str | None,
        Query(
            description=(
                "Override ranking weights, e.g. 'anchor_distance:5,rent_headroom:1'; "
                "the others keep their configured weight."
            )
        ),
    ] = None,
) -> Response:
    relaxation = service.relaxing(
        relax,
        radius_factor=radius_factor,
        radius_m=radius_m,
        rent_tolerance_yen=rent_tolerance_yen,
    )
    return json_response(
        service.match_person(
            session,
            principal,
            person_id,
            limit=limit,
            relaxation=relaxation,
            weights=parse_weights(weights),
        )
    )


@router.get(
    "/v1/persons/{person_id}/matches/explain",
    response_model=MatchExplanation,
    summary="Why a home is not among the person's candidates: every hard constraint it fails",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def explain_match(
    session: SessionDep,
    principal: Center,
    _rate_limit: MatchLimit,
    person_id: uuid.UUID,
    vacancy_id: Annotated[uuid.UUID, Query(description="The vacancy to explain.")],
    relax: RelaxQuery = None,
    radius_factor: RadiusFactorQuery = None,
    radius_m: RadiusQuery = None,
    rent_tolerance_yen: RentToleranceQuery = None,
) -> MatchExplanation:
    relaxation = service.relaxing(
        relax,
        radius_factor=radius_factor,
        radius_m=radius_m,
        rent_tolerance_yen=rent_tolerance_yen,
    )
    return service.explain_home(session, principal, person_id, vacancy_id, relaxation=relaxation)


@router.get(
    "/v1/persons/{person_id}/reads",
    response_model=ReadLogPage,
    summary="Who read the person's data, when and for what (refused attempts included)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def read_log(
    session: SessionDep,
    principal: Center,
    person_id: uuid.UUID,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    refused: Annotated[
        bool | None,
        Query(description="true: only other organisations' refused attempts; false: only reads."),
    ] = None,
) -> ReadLogPage:
    return service.read_log(
        session, principal, person_id, cursor=cursor, limit=limit, refused_only=refused
    )


@allocations_router.post(
    "/v1/allocations",
    response_model=AllocationResult,
    summary="Propose homes for several persons at once, optimally (nothing is held)",
    responses=problem_responses(401, 403, 404, 422),
)
def allocate(
    session: SessionDep, principal: Center, _rate_limit: AllocationLimit, body: AllocationRequest
) -> Response:
    return json_response(service.allocate(session, principal, body))
