"""Server-side web sessions: the cookie carries a random token, PostgreSQL the session.

A session ends when signed out (revoked), after ``session_idle_minutes`` without a request,
or ``session_absolute_hours`` after sign-in, whichever comes first. The cookie is HttpOnly,
SameSite=Lax, and Secure outside development. A request made with the cookie rather than an
API key that changes state must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy.orm import Session

from housing_match.accounts.csrf import CSRF_HEADER, csrf_token_of_session
from housing_match.accounts.repository import LiveSession, WebSessionRepository
from housing_match.accounts.tokens import keyed_hash, new_token
from housing_match.errors import NotPermitted, Unauthenticated
from housing_match.models import WebSession
from housing_match.settings import get_settings

SESSION_COOKIE = "hm_session"
SESSION_TOKEN_PURPOSE = "web-session"  # noqa: S105  # keyed-hash domain, not a secret
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The idle clock is moved on at most this often, so most requests write nothing.
TOUCH_PRECISION = timedelta(minutes=1)


def session_token_hash(token: str) -> str:
    return keyed_hash(SESSION_TOKEN_PURPOSE, token)


def idle_timeout() -> timedelta:
    return timedelta(minutes=get_settings().session_idle_minutes)


def resolve_session_principal(
    session: Session, request: Request, token: str, *, form_csrf_checked: bool = False
) -> LiveSession:
    """The signed-in session behind this cookie, for an API call (401 when there is none; 403
    when a state-changing request lacks the session's CSRF token). A page's form sends the
    token as a field instead: ``form_csrf_checked`` says its CsrfForm dependency checked it."""
    repository = WebSessionRepository(session)
    found = repository.find_live_principal(session_token_hash(token), idle=idle_timeout())
    if found is None:
        raise Unauthenticated(
            "The session has ended (signed out, idle or expired): sign in again at /login."
        )
    if request.method not in SAFE_METHODS and not form_csrf_checked:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token_of_session(token).encode()):
            raise NotPermitted(
                f"A request made with a session cookie must send the session's CSRF token in "
                f"the {CSRF_HEADER} header.",
            )
    if datetime.now(UTC) - found.last_seen_at >= TOUCH_PRECISION:
        repository.touch(found.session_id)
    return found


@dataclass(frozen=True)
class StartedSession:
    session: WebSession
    token: str


def start_session(
    session: Session, *, user_id: uuid.UUID, stage: str, client_address: str, user_agent: str
) -> StartedSession:
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = (
        timedelta(minutes=settings.session_totp_step_minutes)
        if stage == "totp"
        else timedelta(hours=settings.session_absolute_hours)
    )
    token = new_token()
    web_session = WebSessionRepository(session).add(
        WebSession(
            user_id=user_id,
            token_hash=session_token_hash(token),
            stage=stage,
            last_seen_at=now,
            expires_at=now + lifetime,
            client_address=client_address[:64],
            user_agent=user_agent[:500],
        )
    )
    return StartedSession(session=web_session, token=token)


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        # The browser may keep it no longer than the session can live; the server decides.
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=settings.secure_cookies, samesite="lax"
    )
