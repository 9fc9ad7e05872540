"""What a browser does with the sign-in pages, through HTTP: read the form's CSRF token, post
forms, follow the flow. No HTML parser is needed for these few fixed fields."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pyotp
from fastapi.testclient import TestClient

from housing_match.accounts.sessions import SESSION_COOKIE

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
_RECOVERY = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def invitation_path(url: str) -> str:
    return urlsplit(url).path


def totp_secret_of(page: httpx.Response) -> str:
    found = _SECRET.search(page.text)
    assert found, page.text
    return found.group(1)


def recovery_codes_of(page: httpx.Response) -> list[str]:
    return _RECOVERY.findall(page.text)


def next_code(secret: str) -> str:
    """A code of the next 30-second step: valid now (one step of drift is allowed) and later
    than any code of the current step, which enrolment or an earlier sign-in may have used."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def no_other_hosts(page: httpx.Response) -> bool:
    """Nothing on the page loads from another host (scripts, styles, images, frames)."""
    return re.search(r'(?:src|href|action)="(?:https?:)?//', page.text) is None


def accept_invitation(client: TestClient, url: str, password: str) -> tuple[str, list[str]]:
    """Sets the password and enrols TOTP; returns the TOTP secret and the recovery codes."""
    path = invitation_path(url)
    page = client.get(path)
    assert page.status_code == 200, page.text
    enrol = client.post(
        path,
        data={
            "csrf_token": csrf_of(page),
            "password": password,
            "password_confirmation": password,
        },
    )
    assert enrol.status_code == 200, enrol.text
    secret = totp_secret_of(enrol)
    done = client.post(
        f"{path}/totp",
        data={"csrf_token": csrf_of(enrol), "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.text
    return secret, recovery_codes_of(done)


def post_password(client: TestClient, email: str, password: str) -> httpx.Response:
    page = client.get("/login")
    response: httpx.Response = client.post(
        "/login",
        data={"csrf_token": csrf_of(page), "email": email, "password": password},
        follow_redirects=False,
    )
    return response


def post_code(client: TestClient, code: str) -> httpx.Response:
    page = client.get("/login/totp")
    response: httpx.Response = client.post(
        "/login/totp",
        data={"csrf_token": csrf_of(page), "code": code},
        follow_redirects=False,
    )
    return response


def sign_in(client: TestClient, email: str, password: str, secret: str | None) -> str:
    """Signs in through the pages; returns the session cookie's token."""
    first = post_password(client, email, password)
    assert first.status_code == 303, first.text
    if secret is not None:
        assert first.headers["location"].startswith("/login/totp")
        second = post_code(client, next_code(secret))
        assert second.status_code == 303, second.text
    token: str | None = client.cookies.get(SESSION_COOKIE)
    assert token
    return token
