"""API-key authentication and role checks, as FastAPI dependencies.

Missing or unknown key → 401; a key of the wrong organisation kind → 403. Whether an
object belongs to the caller is the services' business: another tenant's object is 404.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from housing_match.db import SessionDep
from housing_match.errors import NotPermitted, Unauthenticated
from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import OrganisationKind
from housing_match.organisations.repository import ApiKeyRepository
from housing_match.settings import get_settings

API_KEY_PREFIX = "hm_"
_bearer = HTTPBearer(auto_error=False, description="An organisation's API key.")


@dataclass(frozen=True)
class Actor:
    """Who made a change, as written to the history."""

    organisation_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    channel: str  # "api" or "cli"


CLI_ACTOR = Actor(organisation_id=None, api_key_id=None, channel="cli")


@dataclass(frozen=True)
class Principal:
    """The organisation behind the API key of the current request."""

    organisation_id: uuid.UUID
    organisation_slug: str
    kind: OrganisationKind
    api_key_id: uuid.UUID
    jurisdiction_codes: tuple[str, ...] = field(default=())

    @property
    def actor(self) -> Actor:
        return Actor(
            organisation_id=self.organisation_id, api_key_id=self.api_key_id, channel="api"
        )

    @property
    def is_admin(self) -> bool:
        return self.kind is OrganisationKind.ADMIN

    def governs(self, municipality_code: str) -> bool:
        """True for a municipality whose jurisdiction contains the given municipality."""
        return self.kind is OrganisationKind.MUNICIPALITY and jurisdiction_contains(
            self.jurisdiction_codes, municipality_code
        )


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys are 256-bit random, so a keyed fast hash is enough; the pepper lives outside the DB.
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
    found = ApiKeyRepository(session).find_active_credential(hash_api_key(credentials.credentials))
    if found is None:
        raise Unauthenticated("The API key is unknown or has been revoked.")
    return Principal(
        organisation_id=found.organisation_id,
        organisation_slug=found.organisation_slug,
        kind=OrganisationKind(found.organisation_kind),
        api_key_id=found.api_key_id,
        jurisdiction_codes=tuple(found.jurisdiction_codes),
    )


def require_kinds(*kinds: OrganisationKind) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = frozenset(kinds)
    names = ", ".join(sorted(kind.value for kind in allowed))

    # async: no I/O, so FastAPI runs it on the event loop instead of a worker thread.
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.kind not in allowed:
            raise NotPermitted(f"This action is for organisations of kind: {names}.")
        return principal

    return check


AuthenticatedPrincipal = Annotated[Principal, Depends(get_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_kinds(OrganisationKind.ADMIN))]
