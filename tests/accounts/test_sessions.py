"""Sessions: idle and absolute timeouts, cookie flags, TOTP outside development."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import Organisation, WebSession
from housing_match.settings import get_settings
from tests.accounts.pages import post_password
from tests.conftest import TEST_PASSWORD, MakeUser, OrgFixture


def test_idle_session_ends(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    assert client.get("/v1/me", headers=staff.headers).status_code == 200
    idle = timedelta(minutes=get_settings().session_idle_minutes, seconds=5)
    session.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - idle))
    session.commit()
    response = client.get("/v1/me", headers=staff.headers)
    assert response.status_code == 401
    assert "/login" in response.json()["detail"]


def test_session_ends_at_its_absolute_limit(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    session.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    session.commit()
    assert client.get("/v1/me", headers=staff.headers).status_code == 401


def test_session_lifetime_is_absolute_hours(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    web_session = session.query(WebSession).filter(WebSession.user_id == staff.id).one()
    lifetime = web_session.expires_at - web_session.created_at
    assert abs(lifetime - timedelta(hours=get_settings().session_absolute_hours)) < timedelta(
        minutes=1
    )


@pytest.fixture
def outside_development(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOUSING_MATCH_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("HOUSING_MATCH_ENVIRONMENT")
    get_settings.cache_clear()


def test_in_development_a_demo_user_signs_in_without_totp(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(center)
    signed_in = post_password(client, staff.email, TEST_PASSWORD)
    assert signed_in.status_code == 303
    assert "Secure" not in signed_in.headers["set-cookie"]


@pytest.mark.usefixtures("outside_development")
def test_outside_development_totp_is_required_and_cookies_are_secure(
    https_client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    make_user: MakeUser,
) -> None:
    center_user = make_user(center)
    refused = post_password(https_client, center_user.email, TEST_PASSWORD)
    assert refused.status_code == 403
    assert "二要素認証が設定されていません" in refused.text
    corporation_user = make_user(corporation)
    assert post_password(https_client, corporation_user.email, TEST_PASSWORD).status_code == 403
    # A corporation may be set to go without TOTP; then the password signs in.
    session.execute(
        update(Organisation).where(Organisation.id == corporation.id).values(totp_required=False)
    )
    session.commit()
    allowed = post_password(https_client, corporation_user.email, TEST_PASSWORD)
    assert allowed.status_code == 303
    cookie = allowed.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_centers_cannot_go_without_totp(
    client: TestClient, admin: OrgFixture, center: OrgFixture
) -> None:
    response = client.patch(
        f"/v1/organisations/{center.id}", json={"totp_required": False}, headers=admin.headers
    )
    assert response.status_code == 409
