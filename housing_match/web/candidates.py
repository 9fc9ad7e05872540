"""A person's candidate homes, for the staff of their center: the matcher's ranked list with
each score's factors, the landlord risks and who covers them, the homes on a map with the
person's places, what each hard constraint excluded with a one-click relaxation, and an A4
print view without the person's identifying details for case meetings.

Every number comes from ``matching.service.match_person``, the API's own service, so a page
and ``GET /v1/persons/{id}/matches`` never disagree (and the page's read is logged alike).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from housing_match.db import SessionDep
from housing_match.matching import service as matching_service
from housing_match.matching.rules import NOT_RELAXABLE, HardConstraint
from housing_match.matching.schemas import MatchResult, PersonRead
from housing_match.web.center import CenterStaff, render_center

router = APIRouter(include_in_schema=False)

SCREEN_LIMIT = 20
PRINT_LIMIT = 10
# The wider search offered for the anchor distance: half as far again, then twice as far.
RADIUS_FACTORS = (1.5, 2.0)

Relax = Annotated[HardConstraint | None, Query()]
RadiusFactor = Annotated[float | None, Query(gt=1.0, le=10.0)]


def relax_query(relax: HardConstraint | None, radius_factor: float | None) -> str:
    params: dict[str, str] = {}
    if relax is not None:
        params["relax"] = relax.value
    if radius_factor is not None:
        params["radius_factor"] = f"{radius_factor:g}"
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
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    *,
    limit: int,
    relax: HardConstraint | None,
    radius_factor: float | None,
) -> tuple[PersonRead, MatchResult]:
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
        session,
        principal,
        person_id,
        limit=PRINT_LIMIT,
        relax=relax,
        radius_factor=radius_factor,
    )
    return render_center(request, "candidates/print.html", {"result": result})
