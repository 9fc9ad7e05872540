"""CSRF: a forged or missing token is a 4xx and nothing changes, on pages and on the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from housing_match.accounts.csrf import ANONYMOUS_CSRF_COOKIE, CSRF_HEADER
from housing_match.accounts.sessions import SESSION_COOKIE
from housing_match.models import Person, WebSession
from tests.accounts.pages import csrf_of, invitation_path
from tests.conftest import TEST_PASSWORD, MakeUser, OrgFixture
from tests.matching.factories import person_payload


def test_login_without_or_with_a_forged_token_is_refused(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    sessions_before = session.scalar(select(func.count()).select_from(WebSession))
    client.get("/login")
    assert client.cookies.get(ANONYMOUS_CSRF_COOKIE)
    for token in (None, "", "forged-token", "0" * 64):
        data = {"email": staff.email, "password": TEST_PASSWORD}
        if token is not None:
            data["csrf_token"] = token
        refused = client.post("/login", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert "送信を受け付けられませんでした" in refused.text
        assert SESSION_COOKIE not in client.cookies
    assert session.scalar(select(func.count()).select_from(WebSession)) == sessions_before


def test_a_token_from_another_browser_is_refused(
    client: TestClient, app: object, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    theirs = csrf_of(client.get("/login"))
    client.cookies.clear()
    client.get("/login")  # this browser's own cookie
    refused = client.post(
        "/login",
        data={"csrf_token": theirs, "email": staff.email, "password": TEST_PASSWORD},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_logout_needs_the_sessions_token(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    cookie = {"Cookie": f"{SESSION_COOKIE}={staff.session_token}"}
    # A cross-site form posting to /logout carries the cookie but cannot know the token.
    refused = client.post("/logout", data={}, headers=cookie, follow_redirects=False)
    assert refused.status_code == 403
    forged = client.post(
        "/logout", data={"csrf_token": "x" * 64}, headers=cookie, follow_redirects=False
    )
    assert forged.status_code == 403
    assert client.get("/v1/me", headers=cookie).status_code == 200


def test_api_calls_with_a_cookie_need_the_header(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(center)
    cookie = {"Cookie": f"{SESSION_COOKIE}={staff.session_token}"}
    before = session.scalar(select(func.count()).select_from(Person))
    for headers in (cookie, {**cookie, CSRF_HEADER: "forged"}):
        refused = client.post("/v1/persons", json=person_payload(), headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert CSRF_HEADER in refused.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Person)) == before
    # Reads need no token; a state change with it goes through.
    assert client.get("/v1/persons", headers=cookie).status_code == 200
    assert client.post("/v1/persons", json=person_payload(), headers=staff.headers).is_success
    # An API key is not a cookie: a system needs no CSRF token.
    assert client.post("/v1/persons", json=person_payload(), headers=center.headers).is_success


def test_invitation_forms_need_the_token(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    url = client.post(
        "/v1/users", json={"email": "aoi@example.jp", "name": "葵"}, headers=manager.headers
    ).json()["invitation_url"]
    path = invitation_path(url)
    client.get(path)
    password = "yuki no hi ni 2026 kaeru"
    refused = client.post(path, data={"password": password, "password_confirmation": password})
    assert refused.status_code == 403
    # Nothing changed: the link still opens on the password step.
    page = client.get(path)
    assert page.status_code == 200
    assert "パスワードの設定" in page.text
