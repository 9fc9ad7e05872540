"""Referring a person from the candidates: a preview of exactly what the corporation will see
given the person's consent (the referral service's own filtering and frozen explanation),
the send (a POST that holds the vacancy), and the referral's page with its timeline and a
withdraw button. The referral service does all the work, as it does for the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from housing_match.accounts.csrf import CsrfForm
from housing_match.db import SessionDep
from housing_match.errors import UnprocessableEntity
from housing_match.referrals import service
from housing_match.referrals.schemas import ReferralCreate, ReferralWithdraw
from housing_match.referrals.service import Change
from housing_match.referrals.vocabulary import WITHDRAW_REASONS, Transition
from housing_match.settings import get_settings
from housing_match.web.center import CenterStaff, CenterStaffPosting, render_center

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/persons/{person_id}/candidates/{vacancy_id}/referral")
def referral_preview(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person_id: uuid.UUID,
    vacancy_id: uuid.UUID,
) -> Response:
    preview = service.preview_referral(
        session, principal, ReferralCreate(person_id=person_id, vacancy_id=vacancy_id)
    )
    return render_center(
        request,
        "referrals/preview.html",
        {
            "preview": preview,
            "person_id": person_id,
            "vacancy_id": vacancy_id,
            "hold_hours": get_settings().referral_hold_hours,
        },
    )


@router.post("/referrals")
def send_referral(
    session: SessionDep, principal: CenterStaffPosting, form: CsrfForm
) -> RedirectResponse:
    try:
        data = ReferralCreate(
            person_id=uuid.UUID(str(form.get("person_id"))),
            vacancy_id=uuid.UUID(str(form.get("vacancy_id"))),
        )
    except ValueError as exc:
        raise UnprocessableEntity("The form names no person or no vacancy.") from exc
    referral = service.create_referral(session, principal, data)
    return _see_other(f"/referrals/{referral.id}")


@router.get("/referrals/{referral_id}")
def referral_page(
    request: Request, session: SessionDep, principal: CenterStaff, referral_id: uuid.UUID
) -> Response:
    referral = service.get_referral(session, principal, referral_id)
    reasons: list[tuple[str, str]] = [
        (reason.value, label) for reason, (label, _) in WITHDRAW_REASONS.items()
    ]
    context: dict[str, Any] = {"referral": referral, "withdraw_reasons": reasons}
    return render_center(request, "referrals/show.html", context)


@router.post("/referrals/{referral_id}/withdraw")
def withdraw_referral(
    session: SessionDep, principal: CenterStaffPosting, form: CsrfForm, referral_id: uuid.UUID
) -> RedirectResponse:
    try:
        body = ReferralWithdraw(reason=str(form.get("reason")), note=str(form.get("note") or ""))
    except ValidationError as exc:
        raise UnprocessableEntity("Choose why the referral is withdrawn.") from exc
    change = Change(Transition.WITHDRAW, reason=body.reason, note=body.note)
    service.change_state(session, principal, referral_id, change)
    return _see_other(f"/referrals/{referral_id}")
