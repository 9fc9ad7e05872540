"""CSRF protection for every state-changing form and every cookie-authenticated API call.

A synchronizer token tied to the session without storing it: the token is a keyed hash of the
session's cookie token (HMAC with the secret key), so it changes with every sign-in, an
attacker's page can neither read nor compute it, and checking it needs no query. Before sign-in
(the login and invitation forms) it is tied the same way to a random ``hm_csrf`` cookie.
No library fits: each binds its token to a cookie of its own, not to our server-side session.

Use in a page: ``{{ csrf_input() }}`` inside every ``<form method="post">`` (a Jinja global, see
``install_csrf_globals``), and ``form: CsrfForm`` as the endpoint's parameter, which reads the
form and refuses it (403) unless it carries the token. Scripts (htmx) send
``{{ csrf_token() }}`` in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.datastructures import FormData

from housing_match.accounts.tokens import keyed_hash
from housing_match.errors import NotPermitted
from housing_match.settings import get_settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ANONYMOUS_CSRF_COOKIE = "hm_csrf"
_SESSION_COOKIE = "hm_session"  # sessions.SESSION_COOKIE; repeated to avoid an import cycle
_NEW_NONCE = "csrf_new_nonce"


class CsrfRejected(NotPermitted):
    slug, title = "csrf-rejected", "CSRF token missing or wrong"


def csrf_token_of_session(session_token: str) -> str:
    return keyed_hash("csrf-session", session_token)


def _anonymous_token(nonce: str) -> str:
    return keyed_hash("csrf-anonymous", nonce)


def expected_csrf_token(request: Request) -> str | None:
    """The token a form posted with this request's cookies must carry; None without cookies."""
    session_token = request.cookies.get(_SESSION_COOKIE)
    if session_token:
        return csrf_token_of_session(session_token)
    nonce = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    return _anonymous_token(nonce) if nonce else None


def csrf_token(request: Request) -> str:
    """The token for forms of this page; before sign-in, a fresh ``hm_csrf`` cookie is made
    for it, which ``set_csrf_cookie`` adds to the response."""
    expected = expected_csrf_token(request)
    if expected is not None:
        return expected
    nonce = getattr(request.state, _NEW_NONCE, None)
    if nonce is None:
        nonce = secrets.token_urlsafe(32)
        setattr(request.state, _NEW_NONCE, nonce)
    return _anonymous_token(nonce)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Adds the cookie that ``csrf_token`` made for an anonymous page, if it made one."""
    nonce = getattr(request.state, _NEW_NONCE, None)
    if nonce is not None:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            nonce,
            path="/",
            httponly=True,
            secure=get_settings().secure_cookies,
            samesite="lax",
        )


def install_csrf_globals(environment: Environment) -> None:
    """``csrf_input()`` and ``csrf_token()`` in every template rendered with a ``request``."""

    @pass_context
    def csrf_input(context: Context) -> Markup:
        token = csrf_token(context["request"])
        # The token is hex from keyed_hash, escaped all the same.
        html = f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'
        return Markup(html)  # noqa: S704

    @pass_context
    def csrf_token_global(context: Context) -> str:
        return csrf_token(context["request"])

    environment.globals["csrf_input"] = csrf_input
    environment.globals["csrf_token"] = csrf_token_global


def check_csrf(request: Request, sent: object) -> None:
    expected = expected_csrf_token(request)
    if (
        expected is None
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRejected(
            "The form's CSRF token is missing or does not belong to this session: "
            "reload the page and send it again."
        )


async def csrf_protected_form(request: Request) -> FormData:
    """A dependency: the POSTed form, once its CSRF token is checked (403 otherwise)."""
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    return form


CsrfForm = Annotated[FormData, Depends(csrf_protected_form)]
