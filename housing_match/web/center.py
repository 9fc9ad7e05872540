"""The support center's home page, and who may open a center's pages.

A center's pages are for its signed-in staff: an anonymous visitor is sent to /login (and
back afterwards), a user of another kind of organisation gets the Japanese 403 page. The
home page reads the same services as the API (persons, referrals), so every read is logged
as it is there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from housing_match.accounts.csrf import CsrfForm, set_csrf_cookie
from housing_match.accounts.sessions import SESSION_COOKIE
from housing_match.auth import Principal, authenticate
from housing_match.db import SessionDep
from housing_match.errors import NotPermitted, Unauthenticated
from housing_match.matching import service as persons_service
from housing_match.models import OrganisationKind, Person
from housing_match.referrals import service as referrals_service
from housing_match.referrals.schemas import ReferralRead
from housing_match.referrals.vocabulary import ReferralState, WithdrawReason
from housing_match.web.pages import start_page
from housing_match.web.templating import render

router = APIRouter(include_in_schema=False)

HOME_LIMIT = 100  # the home page shows the latest this many persons and referrals
HOLD_SOON = timedelta(hours=24)


def _sign_in_first(request: Request) -> StarletteHTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    # A redirect raised as an HTTPException stays a redirect (web/errors.py passes it on).
    return StarletteHTTPException(
        status.HTTP_303_SEE_OTHER, headers={"Location": f"/login?next={quote(target)}"}
    )


def page_principal(
    request: Request, session: SessionDep, *, form_csrf_checked: bool = False
) -> Principal | None:
    """The signed-in user of a page, or None for a visitor without a (valid) session."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return authenticate(request, session, None, form_csrf_checked=form_csrf_checked)
    except Unauthenticated:
        return None


def _center(request: Request, principal: Principal | None) -> Principal:
    if principal is None:
        raise _sign_in_first(request)
    if principal.kind is not OrganisationKind.CENTER:
        raise NotPermitted("These pages are for the staff of a support center.")
    return principal


def center_staff(request: Request, session: SessionDep) -> Principal:
    """For a page read with GET."""
    return _center(request, page_principal(request, session))


def center_staff_posting(request: Request, session: SessionDep, form: CsrfForm) -> Principal:
    """For a page's form: its CSRF field checked first (CsrfForm), so no header is needed."""
    return _center(request, page_principal(request, session, form_csrf_checked=True))


CenterStaff = Annotated[Principal, Depends(center_staff)]
CenterStaffPosting = Annotated[Principal, Depends(center_staff_posting)]


def render_center(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A center page: the signed-in menu, never cached (it carries person data)."""
    response = render(request, template, {"signed_in": True, "errors": {}, **context}, status_code)
    response.headers["Cache-Control"] = "no-store"
    set_csrf_cookie(request, response)
    return response


# --- a person's state, from their referrals -------------------------------------------------


class PersonState(StrEnum):
    SEARCHING = "searching"
    REFERRED = "referred"
    MOVED_IN = "moved_in"
    CLOSED = "closed"


PERSON_STATE_LABELS_JA: dict[PersonState, str] = {
    PersonState.SEARCHING: "住まい探し中",
    PersonState.REFERRED: "入居相談中",
    PersonState.MOVED_IN: "入居決定",
    PersonState.CLOSED: "支援終了",
}
# A withdrawal for one of these reasons ends the search: the person needs no home from here.
_CLOSING_REASONS = frozenset({WithdrawReason.HOUSED_ELSEWHERE.value})


def person_state(referrals: list[ReferralRead]) -> PersonState:
    """Contracted → moved in; an active referral → referred; the latest referral withdrawn
    because the person found a home elsewhere → closed; otherwise still searching."""
    states = {referral.state for referral in referrals}
    if ReferralState.CONTRACTED in states:
        return PersonState.MOVED_IN
    if states & {ReferralState.REQUESTED, ReferralState.ACCEPTED}:
        return PersonState.REFERRED
    latest = max(referrals, key=lambda referral: referral.state_changed_at, default=None)
    if (
        latest is not None
        and latest.closing is not None
        and latest.state is ReferralState.WITHDRAWN
        and latest.closing.code in _CLOSING_REASONS
    ):
        return PersonState.CLOSED
    return PersonState.SEARCHING


@dataclass(frozen=True)
class PersonRow:
    id: uuid.UUID
    reference: str
    state: PersonState
    state_ja: str
    categories_ja: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class ReferralRow:
    id: uuid.UUID
    person_id: uuid.UUID | None
    reference: str
    state_ja: str
    requested_at: datetime
    stalled: bool
    hold_expires_at: datetime | None


@dataclass(frozen=True)
class Caseload:
    """A center's latest persons with their states, and its latest referrals: what the home
    page shows and the allocation page picks from, read (and logged) as the API reads them."""

    persons: list[Person]
    rows: list[PersonRow]
    referrals: list[ReferralRead]

    @property
    def references(self) -> dict[uuid.UUID, str]:
        return {person.id: person.reference for person in self.persons}


def caseload(session: Session, principal: Principal) -> Caseload:
    persons, _ = persons_service.list_persons(session, principal, cursor=None, limit=HOME_LIMIT)
    referrals, _ = referrals_service.list_referrals(
        session, principal, states=[], stalled=None, vacancy_id=None, person_id=None,
        cursor=None, limit=HOME_LIMIT,
    )  # fmt: skip
    by_person: dict[uuid.UUID, list[ReferralRead]] = {}
    for referral in referrals:
        if referral.person_id is not None:
            by_person.setdefault(referral.person_id, []).append(referral)
    rows = [_person_row(person, by_person.get(person.id, [])) for person in persons]
    return Caseload(persons=persons, rows=rows, referrals=referrals)


@router.get("/", include_in_schema=False)
def home(request: Request, session: SessionDep, referred: str = "") -> Response:
    """The center's home for its staff; the public start page for everyone else.
    ``referred``: how many referrals the page that led here has just sent (a link edited by
    hand shows no notice rather than an error)."""
    principal = page_principal(request, session)
    if principal is None or principal.kind is not OrganisationKind.CENTER:
        return start_page(request)
    load = caseload(session, principal)
    references = load.references
    waiting = [
        _referral_row(referral, references)
        for referral in load.referrals
        if referral.state is ReferralState.REQUESTED or referral.stalled
    ]
    soon = _expiring(load.referrals, references)
    return render_center(
        request,
        "center/home.html",
        {
            "persons": load.rows,
            "waiting": waiting,
            "expiring": soon,
            "state_counts": {
                state: sum(1 for row in load.rows if row.state is state) for state in PersonState
            },
            "state_labels": PERSON_STATE_LABELS_JA,
            "referred": int(referred) if referred.isdecimal() and len(referred) < 4 else 0,
        },
    )


def _person_row(person: Person, referrals: list[ReferralRead]) -> PersonRow:
    read = persons_service.read_model(person)
    state = person_state(referrals)
    return PersonRow(
        id=person.id,
        reference=person.reference,
        state=state,
        state_ja=PERSON_STATE_LABELS_JA[state],
        categories_ja=read.category_labels_ja,
        updated_at=person.updated_at,
    )


def _referral_row(referral: ReferralRead, references: dict[uuid.UUID, str]) -> ReferralRow:
    return ReferralRow(
        id=referral.id,
        person_id=referral.person_id,
        reference=references.get(referral.person_id, "—") if referral.person_id else "—",
        state_ja=referral.state_label_ja,
        requested_at=referral.requested_at,
        stalled=referral.stalled,
        hold_expires_at=referral.hold_expires_at,
    )


def _expiring(referrals: list[ReferralRead], references: dict[uuid.UUID, str]) -> list[ReferralRow]:
    """Holds that end within 24 hours, soonest first."""
    until = datetime.now(UTC) + HOLD_SOON
    rows = [
        _referral_row(referral, references)
        for referral in referrals
        if referral.hold_active
        and referral.hold_expires_at is not None
        and referral.hold_expires_at <= until
    ]
    return sorted(rows, key=lambda row: row.hold_expires_at or until)
