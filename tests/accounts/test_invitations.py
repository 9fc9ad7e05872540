"""Invitations: one-time, 72 hours, replaced by a newer one; a reset is recorded and ends the
old password, device and sessions; deactivated users are out at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import Invitation, UserRole
from tests.accounts.pages import (
    accept_invitation,
    csrf_of,
    invitation_path,
    post_password,
    sign_in,
)
from tests.conftest import TEST_PASSWORD, MakeUser, OrgFixture

PASSWORD = "sakura namiki 88 michi"


def _invite(client: TestClient, manager_headers: dict[str, str], email: str) -> dict[str, object]:
    response = client.post(
        "/v1/users", json={"email": email, "name": "招待 太郎"}, headers=manager_headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_invitation_is_valid_72_hours(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    before = datetime.now(UTC)
    body = _invite(client, manager.headers, "late@example.jp")
    expires = datetime.fromisoformat(str(body["expires_at"]))
    assert timedelta(hours=71, minutes=59) < expires - before <= timedelta(hours=72, minutes=1)
    path = invitation_path(str(body["invitation_url"]))
    page = client.get(path)
    session.execute(update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    session.commit()
    expired = client.get(path)
    assert expired.status_code == 410
    assert "有効期限が切れています" in expired.text
    posted = client.post(
        path,
        data={"csrf_token": csrf_of(page), "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert posted.status_code == 410
    assert post_password(client, "late@example.jp", PASSWORD).status_code == 401


def test_unknown_link_is_404(client: TestClient) -> None:
    response = client.get(f"/invitations/{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert "無効です" in response.text


def test_duplicate_email_is_409(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    _invite(client, manager.headers, "twice@example.jp")
    again = client.post(
        "/v1/users", json={"email": "TWICE@example.jp", "name": "x"}, headers=manager.headers
    )
    assert again.status_code == 409
    assert (
        client.post(
            "/v1/users", json={"email": "not-an-address", "name": "x"}, headers=manager.headers
        ).status_code
        == 422
    )


def test_reset_replaces_password_and_device_and_is_recorded(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    body = _invite(client, manager.headers, "reset@example.jp")
    user_id = body["user"]["id"]  # type: ignore[index]
    old_secret, _ = accept_invitation(client, str(body["invitation_url"]), PASSWORD)
    sign_in(client, "reset@example.jp", PASSWORD, old_secret)
    assert client.get("/v1/me").status_code == 200

    first = client.post(f"/v1/users/{user_id}/invitations", headers=manager.headers)
    second = client.post(f"/v1/users/{user_id}/invitations", headers=manager.headers)
    assert first.status_code == second.status_code == 201
    # Only the newest link works.
    replaced = client.get(invitation_path(first.json()["invitation_url"]))
    assert replaced.status_code == 410
    assert "置き換えられました" in replaced.text
    client.cookies.clear()
    new_password = "atarashii pasuwaado 77"
    new_secret, _ = accept_invitation(client, second.json()["invitation_url"], new_password)
    assert new_secret != old_secret

    assert post_password(client, "reset@example.jp", PASSWORD).status_code == 401
    sign_in(client, "reset@example.jp", new_password, new_secret)
    kinds = [
        item["kind"]
        for item in client.get(
            "/v1/account-events", params={"user_id": user_id}, headers=manager.headers
        ).json()["items"]
    ]
    assert kinds.count("reset_issued") == 2
    assert kinds.count("invitation_accepted") == 2


def test_reset_ends_existing_sessions(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    staff = make_user(corporation, role=UserRole.STAFF)
    url = client.post(f"/v1/users/{staff.id}/invitations", headers=manager.headers).json()[
        "invitation_url"
    ]
    assert client.get("/v1/me", headers=staff.headers).status_code == 200
    accept_invitation(client, url, PASSWORD)
    assert client.get("/v1/me", headers=staff.headers).status_code == 401


def test_deactivated_user_is_out_at_once(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    staff = make_user(corporation, role=UserRole.STAFF)
    pending = client.post(f"/v1/users/{staff.id}/invitations", headers=manager.headers).json()
    deactivated = client.post(f"/v1/users/{staff.id}/deactivate", headers=manager.headers)
    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "deactivated"
    # The session, the password and the pending link all stop working.
    assert client.get("/v1/me", headers=staff.headers).status_code == 401
    refused = post_password(client, staff.email, TEST_PASSWORD)
    assert refused.status_code == 403
    assert "無効化されています" in refused.text
    assert client.get(invitation_path(pending["invitation_url"])).status_code == 410
    # Again is a conflict; so is a new link; and a manager cannot deactivate themselves.
    again = client.post(f"/v1/users/{staff.id}/deactivate", headers=manager.headers)
    assert again.status_code == 409
    assert (
        client.post(f"/v1/users/{staff.id}/invitations", headers=manager.headers).status_code == 409
    )
    assert (
        client.post(f"/v1/users/{manager.id}/deactivate", headers=manager.headers).status_code
        == 409
    )
    # The user is kept, for the records that name them.
    listed = client.get("/v1/users", headers=manager.headers).json()
    assert staff.email in {user["email"] for user in listed}
