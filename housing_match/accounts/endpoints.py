"""Accounts API: who am I, and managers' actions on their organisation's users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from housing_match.accounts import service
from housing_match.accounts.schemas import (
    AccountEventPage,
    AccountEventRead,
    InvitationIssued,
    Me,
    UserInvite,
    UserRead,
    UserUpdate,
)
from housing_match.auth import AuthenticatedPrincipal, Principal
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.models import USER_ROLE_LABELS_JA, User, UserRole
from housing_match.organisations.endpoints import read_model as organisation_read
from housing_match.organisations.service import get_visible_organisation
from housing_match.throttling.limiter import client_address

router = APIRouter(tags=["accounts"])


def user_read(user: User) -> UserRead:
    role = UserRole(user.role)
    return UserRead(
        id=user.id,
        organisation_id=user.organisation_id,
        email=user.email,
        name=user.name,
        role=role,
        role_label_ja=USER_ROLE_LABELS_JA[role],
        status=service.user_status(user),
        totp_enrolled=user.totp_secret is not None,
        locked_until=user.locked_until,
        last_sign_in_at=user.last_sign_in_at,
        created_at=user.created_at,
        deactivated_at=user.deactivated_at,
    )


def client_of(request: Request, principal: Principal | None = None) -> service.Client:
    return service.Client(
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        channel="api" if principal is None or principal.user_id is None else "web",
    )


@router.get(
    "/v1/me",
    response_model=Me,
    summary="Who is calling: the user (for a session), the organisation and the role",
    responses=problem_responses(401),
)
def read_me(session: SessionDep, principal: AuthenticatedPrincipal) -> Me:
    organisation = get_visible_organisation(session, principal, principal.organisation_id)
    user = None if principal.user_id is None else service.get_user(session, principal.user_id)
    return Me(
        user=None if user is None else user_read(user),
        organisation=organisation_read(organisation),
        role=principal.role,
        authenticated_by="api_key" if user is None else "session",
    )


@router.get(
    "/v1/users",
    response_model=list[UserRead],
    summary="List users (managers: their organisation's; admins' managers: any)",
    responses=problem_responses(401, 403, 404),
)
def list_users(
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    organisation_id: uuid.UUID | None = None,
) -> list[UserRead]:
    organisation = service.managed_organisation(
        session, principal, organisation_id or principal.organisation_id
    )
    return [user_read(user) for user in service.list_users(session, organisation.id)]


@router.post(
    "/v1/users",
    response_model=InvitationIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Invite a user: returns a one-time link, valid invitation_hours (72 by default)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def invite_user(
    request: Request, session: SessionDep, principal: AuthenticatedPrincipal, body: UserInvite
) -> InvitationIssued:
    organisation = service.managed_organisation(
        session, principal, body.organisation_id or principal.organisation_id
    )
    issued = service.invite_user(
        session,
        principal.actor,
        organisation,
        email=str(body.email),
        name=body.name,
        role=body.role,
        client=client_of(request, principal),
    )
    return InvitationIssued(
        user=user_read(issued.user),
        invitation_url=issued.url,
        expires_at=issued.invitation.expires_at,
    )


@router.get(
    "/v1/users/{user_id}",
    response_model=UserRead,
    summary="Read a user (managers)",
    responses=problem_responses(401, 403, 404),
)
def read_user(
    session: SessionDep, principal: AuthenticatedPrincipal, user_id: uuid.UUID
) -> UserRead:
    return user_read(service.managed_user(session, principal, user_id))


@router.post(
    "/v1/users/{user_id}/invitations",
    response_model=InvitationIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a new one-time link: a password or device reset (recorded); older links lapse",
    responses=problem_responses(401, 403, 404, 409),
)
def reissue_invitation(
    request: Request, session: SessionDep, principal: AuthenticatedPrincipal, user_id: uuid.UUID
) -> InvitationIssued:
    user = service.managed_user(session, principal, user_id)
    issued = service.reissue_invitation(
        session, principal.actor, user, client=client_of(request, principal)
    )
    return InvitationIssued(
        user=user_read(user), invitation_url=issued.url, expires_at=issued.invitation.expires_at
    )


@router.patch(
    "/v1/users/{user_id}",
    response_model=UserRead,
    summary="Change a user's role (managers; not their own)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_user(
    request: Request,
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    user_id: uuid.UUID,
    body: UserUpdate,
) -> UserRead:
    user = service.managed_user(session, principal, user_id)
    service.change_role(
        session, principal.actor, user, body.role, client=client_of(request, principal)
    )
    return user_read(user)


@router.post(
    "/v1/users/{user_id}/deactivate",
    response_model=UserRead,
    summary="Deactivate a user: their sessions and links end at once (managers; not their own)",
    responses=problem_responses(401, 403, 404, 409),
)
def deactivate_user(
    request: Request, session: SessionDep, principal: AuthenticatedPrincipal, user_id: uuid.UUID
) -> UserRead:
    user = service.managed_user(session, principal, user_id)
    service.deactivate_user(session, principal.actor, user, client=client_of(request, principal))
    return user_read(user)


@router.post(
    "/v1/users/{user_id}/unlock",
    response_model=UserRead,
    summary="Lift a sign-in lock and the failures' delay (managers)",
    responses=problem_responses(401, 403, 404),
)
def unlock_user(
    request: Request, session: SessionDep, principal: AuthenticatedPrincipal, user_id: uuid.UUID
) -> UserRead:
    user = service.managed_user(session, principal, user_id)
    service.unlock_user(session, principal.actor, user, client=client_of(request, principal))
    return user_read(user)


@router.get(
    "/v1/account-events",
    response_model=AccountEventPage,
    summary="Sign-in records: sign-ins, failures, locks, invitations, role changes, deactivations",
    responses=problem_responses(400, 401, 403, 404),
)
def list_account_events(
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    organisation_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    kind: Annotated[list[service.EventKind] | None, Query()] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccountEventPage:
    if user_id is not None:
        organisation_id = (
            organisation_id or service.managed_user(session, principal, user_id).organisation_id
        )
    organisation = service.managed_organisation(
        session, principal, organisation_id or principal.organisation_id
    )
    events, next_cursor = service.list_events(
        session,
        organisation_id=organisation.id,
        user_id=user_id,
        kinds=kind or [],
        cursor=cursor,
        limit=limit,
    )
    return AccountEventPage(
        items=[AccountEventRead.model_validate(event) for event in events], next_cursor=next_cursor
    )
