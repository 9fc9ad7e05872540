"""Referrals (入居相談) between centers and support corporations, and the corporations' webhooks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from housing_match.auth import Principal, require_kinds
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.models import OrganisationKind, OutboxEvent, WebhookDelivery, WebhookEndpoint
from housing_match.referrals import service, webhooks
from housing_match.referrals.schemas import (
    DeliveryPage,
    DeliveryRead,
    ReasonsRead,
    ReferralContract,
    ReferralCreate,
    ReferralDecline,
    ReferralPage,
    ReferralRead,
    ReferralSummary,
    ReferralWithdraw,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from housing_match.referrals.service import Change
from housing_match.referrals.vocabulary import (
    DELIVERY_STATUS_LABELS_JA,
    DeliveryStatus,
    ReferralState,
    Transition,
    WebhookEventType,
)

router = APIRouter(tags=["referrals"])
webhooks_router = APIRouter(tags=["webhooks"])

Center = Annotated[Principal, Depends(require_kinds(OrganisationKind.CENTER))]
Corporation = Annotated[Principal, Depends(require_kinds(OrganisationKind.SUPPORT_CORPORATION))]
Party = Annotated[
    Principal,
    Depends(require_kinds(OrganisationKind.CENTER, OrganisationKind.SUPPORT_CORPORATION)),
]
Counter = Annotated[
    Principal, Depends(require_kinds(OrganisationKind.MUNICIPALITY, OrganisationKind.ADMIN))
]


@router.post(
    "/v1/referrals",
    response_model=ReferralRead,
    status_code=status.HTTP_201_CREATED,
    summary="Refer a person to an open vacancy (centers); holds the vacancy",
    description=(
        "Carries only the profile fields the person consented to share with support "
        "corporations, and freezes the match explanation. The vacancy is held (調整中) for "
        "`referral_hold_hours`; if another referral holds it, 409 with `hold_expires_at`. "
        "A home the matcher excludes for the person is refused with 409 and `not_a_candidate`."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_referral(session: SessionDep, principal: Center, body: ReferralCreate) -> ReferralRead:
    return service.create_referral(session, principal, body)


@router.get(
    "/v1/referrals",
    response_model=ReferralPage,
    summary="Your referrals: a center's own, or those on a corporation's vacancies",
    responses=problem_responses(400, 401, 403, 422),
)
def list_referrals(
    session: SessionDep,
    principal: Party,
    state: Annotated[list[ReferralState] | None, Query(description="Any of these states.")] = None,
    stalled: Annotated[
        bool | None,
        Query(description="true: open and unchanged for `referral_stall_days`; false: not."),
    ] = None,
    vacancy_id: uuid.UUID | None = None,
    person_id: Annotated[uuid.UUID | None, Query(description="Centers only.")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ReferralPage:
    items, next_cursor = service.list_referrals(
        session,
        principal,
        states=state or [],
        stalled=stalled,
        vacancy_id=vacancy_id,
        person_id=person_id,
        cursor=cursor,
        limit=limit,
    )
    return ReferralPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/referrals/summary",
    response_model=ReferralSummary,
    summary="Referral counts for your jurisdiction (municipalities; admins: everywhere)",
    responses=problem_responses(401, 403),
)
def referral_summary(session: SessionDep, principal: Counter) -> ReferralSummary:
    return service.summary(session, principal)


@router.get(
    "/v1/referrals/reasons",
    response_model=ReasonsRead,
    summary="Decline and withdrawal reasons, with Japanese labels and their side",
    responses=problem_responses(401, 403),
)
def referral_reasons(_principal: Party) -> ReasonsRead:
    return service.reasons()


@router.get(
    "/v1/referrals/{referral_id}",
    response_model=ReferralRead,
    summary="Read a referral with its timeline (the read is logged)",
    responses=problem_responses(401, 403, 404),
)
def read_referral(session: SessionDep, principal: Party, referral_id: uuid.UUID) -> ReferralRead:
    return service.get_referral(session, principal, referral_id)


@router.post(
    "/v1/referrals/{referral_id}/accept",
    response_model=ReferralRead,
    summary="Accept a requested referral (corporations): viewing arranged; renews the hold",
    responses=problem_responses(401, 403, 404, 409),
)
def accept_referral(
    session: SessionDep, principal: Corporation, referral_id: uuid.UUID
) -> ReferralRead:
    return service.change_state(session, principal, referral_id, Change(Transition.ACCEPT))


@router.post(
    "/v1/referrals/{referral_id}/decline",
    response_model=ReferralRead,
    summary="Decline a referral (corporations) with a reason; the vacancy reopens",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def decline_referral(
    session: SessionDep, principal: Corporation, referral_id: uuid.UUID, body: ReferralDecline
) -> ReferralRead:
    change = Change(Transition.DECLINE, reason=body.reason, note=body.note)
    return service.change_state(session, principal, referral_id, change)


@router.post(
    "/v1/referrals/{referral_id}/contract",
    response_model=ReferralRead,
    summary="Mark an accepted referral contracted (corporations); the vacancy is let",
    description="Every other open referral on the vacancy is declined as let to someone else.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def contract_referral(
    session: SessionDep,
    principal: Corporation,
    referral_id: uuid.UUID,
    body: ReferralContract | None = None,
) -> ReferralRead:
    change = Change(Transition.CONTRACT, note="" if body is None else body.note)
    return service.change_state(session, principal, referral_id, change)


@router.post(
    "/v1/referrals/{referral_id}/withdraw",
    response_model=ReferralRead,
    summary="Withdraw a referral (centers) with a reason; the vacancy reopens",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def withdraw_referral(
    session: SessionDep, principal: Center, referral_id: uuid.UUID, body: ReferralWithdraw
) -> ReferralRead:
    change = Change(Transition.WITHDRAW, reason=body.reason, note=body.note)
    return service.change_state(session, principal, referral_id, change)


# --- webhooks ------------------------------------------------------------------------------


def _webhook_read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        created_at=endpoint.created_at,
        events=list(WebhookEventType),
    )


def _delivery_read(delivery: WebhookDelivery, event: OutboxEvent) -> DeliveryRead:
    current = DeliveryStatus(delivery.status)
    return DeliveryRead(
        id=delivery.id,
        event_id=event.id,
        event_type=WebhookEventType(event.event_type),
        referral_id=event.referral_id,
        status=current,
        status_label_ja=DELIVERY_STATUS_LABELS_JA[current],
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if current is DeliveryStatus.PENDING else None,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


@webhooks_router.post(
    "/v1/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Register an HTTPS endpoint for referral events (corporations); secret shown once",
    description=(
        "Each event is POSTed as JSON with `X-HousingMatch-Timestamp` and "
        "`X-HousingMatch-Signature: v1=<hex HMAC-SHA256 of timestamp + '.' + body>`. "
        "Reject requests whose timestamp is more than 5 minutes old; deduplicate on "
        "`X-HousingMatch-Event-Id` (delivery is at least once)."
    ),
    responses=problem_responses(401, 403, 422),
)
def register_webhook(
    session: SessionDep, principal: Corporation, body: WebhookCreate
) -> WebhookCreated:
    endpoint, secret = webhooks.register_endpoint(
        session,
        principal,
        url=str(body.url),
        secret=body.secret,
        description=body.description,
    )
    return WebhookCreated(**_webhook_read(endpoint).model_dump(), secret=secret)


@webhooks_router.get(
    "/v1/webhooks",
    response_model=list[WebhookRead],
    summary="Your webhook endpoints (never their secrets)",
    responses=problem_responses(401, 403),
)
def list_webhooks(session: SessionDep, principal: Corporation) -> list[WebhookRead]:
    return [_webhook_read(endpoint) for endpoint in webhooks.list_endpoints(session, principal)]


@webhooks_router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a webhook endpoint and its pending deliveries",
    responses=problem_responses(401, 403, 404),
)
def delete_webhook(session: SessionDep, principal: Corporation, webhook_id: uuid.UUID) -> Response:
    webhooks.delete_endpoint(session, principal, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks_router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="Deliveries to an endpoint, newest first: attempts, next attempt, last error",
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_deliveries(
    session: SessionDep,
    principal: Corporation,
    webhook_id: uuid.UUID,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DeliveryPage:
    rows, next_cursor = webhooks.list_deliveries(
        session, principal, webhook_id, status=status_, cursor=cursor, limit=limit
    )
    return DeliveryPage(
        items=[_delivery_read(delivery, event) for delivery, event in rows],
        next_cursor=next_cursor,
    )
