from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from housing_match.accounts.service import EventKind, UserStatus
from housing_match.models import UserRole
from housing_match.organisations.schemas import OrganisationRead

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class UserRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    name: str
    role: UserRole
    role_label_ja: str
    status: UserStatus = Field(description="invited (no password yet), active, locked, deactivated")
    totp_enrolled: bool
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime
    deactivated_at: datetime | None


class Me(BaseModel):
    user: UserRead | None = Field(description="The person signed in; null for an API key.")
    organisation: OrganisationRead
    role: UserRole | None = Field(description="The user's role; null for an API key.")
    authenticated_by: Literal["session", "api_key"]


class UserInvite(BaseModel):
    email: EmailStr = Field(description="The login; stored lower-cased.")
    name: Name
    role: UserRole = UserRole.STAFF
    organisation_id: uuid.UUID | None = Field(
        default=None,
        description="Admins' managers only: another organisation's user. Default: your own.",
    )


class InvitationIssued(BaseModel):
    user: UserRead
    invitation_url: str = Field(
        description="The one-time link to send to the user. Shown once: only its hash is kept."
    )
    expires_at: datetime


class UserUpdate(BaseModel):
    role: UserRole


class AccountEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    organisation_id: uuid.UUID | None
    user_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    kind: EventKind
    channel: str
    client_address: str
    detail: dict[str, Any]


class AccountEventPage(BaseModel):
    items: list[AccountEventRead]
    next_cursor: str | None
