"""Authentication and role checks, as FastAPI dependencies.

One principal, two ways in: a system sends its organisation's API key as a bearer token; a
person's browser sends the session cookie of their sign-in (see ``accounts/sessions.py``),
and then every state-changing request must also carry the session's CSRF token in the
``X-CSRF-Token`` header. Either way the same kind and jurisdiction rules apply.

Missing or unknown credentials → 401; the wrong organisation kind → 403. Whether an
object belongs to the caller is the services' business: another tenant's object is 404.
Failed authentication is throttled per client address and per key prefix (429 with
Retry-After; see ``throttling/limiter.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from housing_match.accounts.sessions import SESSION_COOKIE, resolve_session_principal
from housing_match.db import SessionDep
from housing_match.errors import NotPermitted, Unauthenticated
from housing_match.jurisdiction import jurisdiction_contains
from housing_match.models import OrganisationKind, UserRole
from housing_match.organisations.repository import ApiKeyRepository
from housing_match.settings import get_settings
from housing_match.throttling.limiter import limiter_of, refuse_while_throttled

API_KEY_PREFIX = "hm_"
_bearer = HTTPBearer(auto_error=False, description="An organisation's API key.")
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description=(
        "A person's sign-in from /login (the web UI). State-changing requests must also send "
        "the session's CSRF token in the X-CSRF-Token header."
    ),
)


@dataclass(frozen=True)
class Actor:
    """Who made a change, as written to the history."""

    organisation_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    channel: str  # "api" (a key), "web" (a person's session) or "cli"
    user_id: uuid.UUID | None = None


CLI_ACTOR = Actor(organisation_id=None, api_key_id=None, channel="cli")


@dataclass(frozen=True)
class Principal:
    """Who makes the current request: an organisation, through one of its API keys, or one
    of its users, through their web session (then ``user_id`` and ``role`` are set)."""

    organisation_id: uuid.UUID
    organisation_slug: str
    kind: OrganisationKind
    api_key_id: uuid.UUID | None
    jurisdiction_codes: tuple[str, ...] = field(default=())
    user_id: uuid.UUID | None = None
    role: UserRole | None = None

    @property
    def actor(self) -> Actor:
        return Actor(
            organisation_id=self.organisation_id,
            api_key_id=self.api_key_id,
            channel="api" if self.user_id is None else "web",
            user_id=self.user_id,
        )

    @property
    def is_manager(self) -> bool:
        """A signed-in manager: a system's key manages nothing."""
        return self.user_id is not None and self.role is UserRole.MANAGER

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


def authenticate(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    form_csrf_checked: bool = False,
) -> Principal:
    """The caller: an API key when one is sent, else a person's web session, if any.
    ``form_csrf_checked``: a page's form whose CSRF field was checked (see sessions)."""
    limiter = limiter_of(request)
    if credentials is None:
        session_token = request.cookies.get(SESSION_COOKIE)
        if session_token:
            limiter.refuse_throttled_authentication(session, request, None)
            try:
                return _principal_of_web_session(
                    request, session, session_token, form_csrf_checked=form_csrf_checked
                )
            except Unauthenticated:
                limiter.count_failed_authentication(request, None)
                raise
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
    key = credentials.credentials
    # The throttle's read is made by the key's own statement (one round trip for both), and
    # refuses before the key's validity matters: the right key is refused too.
    lookup = ApiKeyRepository(session).find_active_credential(
        hash_api_key(key), failure_limits=limiter.failure_limits(request, key)
    )
    refuse_while_throttled(lookup.throttled_seconds)
    found = lookup.credential
    if found is None:
        limiter.count_failed_authentication(request, key)
        raise Unauthenticated("The API key is unknown, expired or revoked.")
    ApiKeyRepository(session).mark_used(found)
    return Principal(
        organisation_id=found.organisation_id,
        organisation_slug=found.organisation_slug,
        kind=OrganisationKind(found.organisation_kind),
        api_key_id=found.api_key_id,
        jurisdiction_codes=tuple(found.jurisdiction_codes),
    )


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _cookie: Annotated[str | None, Depends(_session_cookie)],
) -> Principal:
    # The cookie's dependency documents the second way in, in the OpenAPI spec; authenticate
    # reads the cookie itself, so other dependencies can call it with the bearer alone.
    return authenticate(request, session, credentials)


def _principal_of_web_session(
    request: Request, session: Session, token: str, *, form_csrf_checked: bool = False
) -> Principal:
    found = resolve_session_principal(session, request, token, form_csrf_checked=form_csrf_checked)
    return Principal(
        organisation_id=found.organisation_id,
        organisation_slug=found.organisation_slug,
        kind=OrganisationKind(found.organisation_kind),
        api_key_id=None,
        jurisdiction_codes=tuple(found.jurisdiction_codes),
        user_id=found.user_id,
        role=UserRole(found.role),
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
