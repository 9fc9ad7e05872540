"""A person's candidate homes, for the staff of their center: the matcher's ranked list with
each score's factors, the landlord risks and who covers them, the homes on a map with the
person's places, what each hard constraint excluded with a one-click relaxation, and an A4
print view without the person's identifying details for case meetings; and, for any excluded
home, why it is not a candidate: chosen from the homes each constraint keeps out, or by its
registration number (登録番号), and told by ``matching.service.explain_home``, the service of
``GET /v1/persons/{id}/matches/explain``.

Every number comes from ``matching.service.match_person``, the API's own service, so a page
and ``GET /v1/persons/{id}/matches`` never disagree (and the page's read is logged alike).
The excluded homes and the explanation are htmx partials of the candidates page, and pages of
their own without JavaScript.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from housing_match.db import SessionDep
from housing_match.errors import ResourceNotFound
from housing_match.matching import service as matching_service
from housing_match.matching.rules import HARD_CONSTRAINT_LABELS_JA, NOT_RELAXABLE, HardConstraint
from housing_match.matching.schemas import MatchResult, PersonRead
from housing_match.models import Person
from housing_match.throttling.limiter import Operation, limiter_of
from housing_match.web.center import CenterStaff, render_center

router = APIRouter(include_in_schema=False)

SCREEN_LIMIT = 20
PRINT_LIMIT = 10
EXCLUDED_LIMIT = 20  # the excluded homes listed per constraint
# The wider search offered for the anchor distance: half as far again, then twice as far.
RADIUS_FACTORS = (1.5, 2.0)

Relax = Annotated[HardConstraint | None, Query()]
RadiusFactor = Annotated[float | None, Query(gt=1.0, le=10.0)]


def relax_params(relax: HardConstraint | None, radius_factor: float | None) -> dict[str, str]:
    """The relaxation as query parameters (or a form's hidden fields), so that a page or a
    question asked under it keeps it."""
    params: dict[str, str] = {}
    if relax is not None:
        params["relax"] = relax.value
    if radius_factor is not None:
        params["radius_factor"] = f"{radius_factor:g}"
    return params


def relax_query(relax: HardConstraint | None, radius_factor: float | None) -> str:
    params = relax_params(relax, radius_factor)
    return f"?{urlencode(params)}" if params else ""


def relaxations(result: MatchResult, path: str) -> list[dict[str, Any]]:
    """One link per constraint that excluded something and may be relaxed: the label says
    how many homes relaxing it alone would open up."""
    links: list[dict[str, Any]] = []
    for item in result.excluded_by:
        if item.excluded == 0 or item.constraint in NOT_RELAXABLE:
            continue
        if item.constraint is HardConstraint.ANCHOR_DISTANCE:
            for factor in RADIUS_FACTORS:
                links.append(
                    {
                        "href": path + relax_query(item.constraint, factor),
                        "label": f"距離を{factor:g}倍まで広げる",
                    }
                )
        links.append(
            {
                "href": path + relax_query(item.constraint, None),
                "label": f"「{item.label_ja}」を外す（最大{item.excluded_only_by_this}件増）",
            }
        )
    return links


def _places(person: PersonRead) -> list[dict[str, Any]]:
    circles: list[dict[str, Any]] = [
        {
            "lat": anchor.location.latitude,
            "lon": anchor.location.longitude,
            "radius_m": anchor.max_distance_m,
            "label": anchor.label or anchor.kind_label_ja,
            "kind": "anchor",
        }
        for anchor in person.places.anchors
    ]
    circles += [
        {
            "lat": zone.center.latitude,
            "lon": zone.center.longitude,
            "radius_m": zone.radius_m,
            "label": zone.label or "住まない範囲",
            "kind": "exclusion",
        }
        for zone in person.places.exclusion_zones
        if zone.center is not None and zone.radius_m is not None
    ]
    return circles


def _match(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    *,
    limit: int,
    relax: HardConstraint | None,
    radius_factor: float | None,
) -> tuple[PersonRead, MatchResult]:
    # The organisation's limit of matches, shared with the API's.
    limiter_of(request).charge(principal.organisation_id, Operation.MATCH)
    person = matching_service.read_model(matching_service.get_person(session, principal, person_id))
    result = matching_service.match_person(
        session,
        principal,
        person_id,
        limit=limit,
        relaxation=matching_service.relaxing(relax, radius_factor=radius_factor),
        weights=None,
    )
    return person, result


@router.get("/persons/{person_id}/candidates")
def candidates_page(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    relax: Relax = None,
    radius_factor: RadiusFactor = None,
) -> Response:
    person, result = _match(
        request,
        session,
        principal,
        person_id,
        limit=SCREEN_LIMIT,
        relax=relax,
        radius_factor=radius_factor,
    )
    path = f"/persons/{person_id}/candidates"
    markers = [
        {
            "lat": candidate.dwelling.location.latitude,
            "lon": candidate.dwelling.location.longitude,
            "label": f"{candidate.rank}位 {candidate.dwelling.address}",
        }
        for candidate in result.candidates
    ]
    return render_center(
        request,
        "candidates/list.html",
        {
            "person": person,
            "result": result,
            "markers": markers,
            "circles": _places(person),
            "relaxations": [] if relax is not None else relaxations(result, path),
            "path": path,
            "print_href": f"{path}/print" + relax_query(relax, radius_factor),
            "relax_params": relax_params(relax, radius_factor),
            "relax_query_tail": relax_query(relax, radius_factor).replace("?", "&"),
            "relax_query": relax_query(relax, radius_factor),
            "why_not": {},
        },
    )


@router.get("/persons/{person_id}/candidates/print")
def candidates_print(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    relax: Relax = None,
    radius_factor: RadiusFactor = None,
) -> Response:
    """For a case meeting: no name, no case number, no places; only the homes and why."""
    _, result = _match(
        request,
        session,
        principal,
        person_id,
        limit=PRINT_LIMIT,
        relax=relax,
        radius_factor=radius_factor,
    )
    return render_center(request, "candidates/print.html", {"result": result})


def _partial(request: Request) -> bool:
    """htmx asks for the part alone (not on a history restore, which wants the page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _render_part(
    request: Request,
    part: str,
    page: str,
    context: dict[str, Any],
    *,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    person: Person | None = None,
    status_code: int = 200,
) -> Response:
    """The part alone for htmx; otherwise a page of its own, headed by the person."""
    if _partial(request):
        return render_center(request, part, context, status_code)
    if person is None:
        person = matching_service.get_person(session, principal, person_id)
    read = matching_service.read_model(person)
    return render_center(request, page, {**context, "person": read}, status_code)


@router.get("/persons/{person_id}/candidates/excluded")
def excluded_homes(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    constraint: Annotated[HardConstraint, Query()],
    relax: Relax = None,
    radius_factor: RadiusFactor = None,
) -> Response:
    """The homes one constraint keeps out, each with a link to why."""
    relaxation = matching_service.relaxing(relax, radius_factor=radius_factor)
    homes = matching_service.excluded_homes(
        session, principal, person_id, constraint, relaxation=relaxation, limit=EXCLUDED_LIMIT
    )
    path = f"/persons/{person_id}/candidates"
    context = {
        "person_id": person_id,
        "constraint_label": HARD_CONSTRAINT_LABELS_JA[constraint],
        "homes": homes,
        "limit": EXCLUDED_LIMIT,
        "path": path,
        "relax_query": relax_query(relax, radius_factor),
        "relax_params": relax_params(relax, radius_factor),
        "why_not": {},
    }
    return _render_part(
        request,
        "candidates/_excluded.html",
        "candidates/excluded.html",
        context,
        session=session,
        principal=principal,
        person_id=person_id,
    )


NUMBER_FIELD = "number"


@router.get("/persons/{person_id}/candidates/why-not")
def why_not(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    vacancy_id: uuid.UUID | None = None,
    number: str = "",
    relax: Relax = None,
    radius_factor: RadiusFactor = None,
) -> Response:
    """Why one home is not among the candidates: a vacancy chosen from a list, or the
    registration number (or the vacancy's id) the staff member typed."""
    relaxation = matching_service.relaxing(relax, radius_factor=radius_factor)
    # The person first: another center's person is a 404 page (and a refused read in the
    # person's log), which the vacancy's own 404 below must not be mistaken for.
    person = matching_service.get_person(session, principal, person_id)
    number = number.strip()
    error: str | None = None
    choices: list[Any] = []
    if vacancy_id is None and number:
        try:
            vacancy_id = uuid.UUID(number)
        except ValueError:
            choices = matching_service.vacancies_of_registration(session, number)
            if len(choices) == 1:
                vacancy_id, choices = choices[0].vacancy_id, []
            elif not choices:
                error = f"登録番号「{number}」の住宅は見つかりません。登録番号を確かめてください"
    elif vacancy_id is None:
        error = "住宅の登録番号を入力してください"
    explanation = None
    if vacancy_id is not None:
        # Explanations count with the matches, as the API's do.
        limiter_of(request).charge(principal.organisation_id, Operation.MATCH)
        try:
            explanation = matching_service.explain_home(
                session, principal, person_id, vacancy_id, relaxation=relaxation
            )
        except ResourceNotFound:
            error = "その空室は見つかりません。登録番号を確かめてください"
    home = None
    if explanation is not None:
        home = matching_service.vacancy_summary(session, explanation.vacancy_id)
    context = {
        "person_id": person_id,
        "path": f"/persons/{person_id}/candidates",
        "relax_query": relax_query(relax, radius_factor),
        "relax_params": relax_params(relax, radius_factor),
        "why_not": {
            "number": number,
            "error": error,
            "choices": choices,
            "explanation": explanation,
            "home": home,
        },
        "errors": {NUMBER_FIELD: error} if error else {},
    }
    return _render_part(
        request,
        "candidates/_why_not.html",
        "candidates/why_not.html",
        context,
        session=session,
        principal=principal,
        person_id=person_id,
        person=person,
        status_code=422 if error else 200,
    )
