"""The whole flow through HTTP: a manager invites → the invitee sets a password and enrols
TOTP → signs in → calls the API with the session → signs out → the cookie no longer works."""

from __future__ import annotations

import uuid

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from housing_match.accounts.sessions import SESSION_COOKIE
from housing_match.models import HistoryEntry, PersonReadLogEntry, User, UserRole, WebSession
from tests.accounts.pages import (
    accept_invitation,
    csrf_of,
    invitation_path,
    next_code,
    no_other_hosts,
    post_code,
    post_password,
    recovery_codes_of,
    totp_secret_of,
)
from tests.conftest import MakeUser, OrgFixture
from tests.matching.factories import person_payload

PASSWORD = "kotatsu mikan 2026 fuyu"


def test_invitation_to_sign_out(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    invited = client.post(
        "/v1/users",
        json={"email": "Hanako.Yamada@Example.JP", "name": "山田 花子", "role": "staff"},
        headers=manager.headers,
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["user"]["status"] == "invited"
    assert body["user"]["email"] == "hanako.yamada@example.jp"
    path = invitation_path(body["invitation_url"])

    # The password step: Japanese errors next to the field, nothing from other hosts.
    page = client.get(path)
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text
    assert "パスワードの設定" in page.text
    assert no_other_hosts(page)
    assert page.headers["cache-control"] == "no-store"
    token = csrf_of(page)
    for weak, message in (
        ("short", "12文字以上"),
        ("password1234", "よく使われている"),
    ):
        refused = client.post(
            path,
            data={"csrf_token": token, "password": weak, "password_confirmation": weak},
        )
        assert refused.status_code == 422
        assert message in refused.text
        assert 'id="password-error"' in refused.text
    mismatch = client.post(
        path,
        data={"csrf_token": token, "password": PASSWORD, "password_confirmation": PASSWORD + "x"},
    )
    assert mismatch.status_code == 422
    assert "一致しません" in mismatch.text

    # The TOTP step: an inline SVG QR code and the key; a wrong code is refused.
    enrol = client.post(
        path, data={"csrf_token": token, "password": PASSWORD, "password_confirmation": PASSWORD}
    )
    assert enrol.status_code == 200
    assert "<svg" in enrol.text
    assert no_other_hosts(enrol)
    secret = totp_secret_of(enrol)
    wrong = client.post(f"{path}/totp", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422
    assert "確認コードが正しくありません" in wrong.text
    done = client.post(f"{path}/totp", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = recovery_codes_of(done)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    # Neither the TOTP secret nor a recovery code is stored as itself.
    stored = session.scalars(select(User).where(User.email == "hanako.yamada@example.jp")).one()
    assert stored.totp_secret is not None
    assert secret not in stored.totp_secret
    dump = session.execute(text("SELECT row_to_json(recovery_codes)::text FROM recovery_codes"))
    assert not any(code in row for row in dump.scalars() for code in codes)

    # The link works once.
    assert client.get(path).status_code == 410

    # Sign-in: password, then a TOTP code.
    first = post_password(client, "hanako.yamada@example.jp", PASSWORD)
    assert first.status_code == 303
    assert first.headers["location"] == "/login/totp"
    set_cookie = first.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie
    # The password alone is no session for the API.
    assert client.get("/v1/me").status_code == 401
    second = post_code(client, next_code(secret))
    assert second.status_code == 303
    assert second.headers["location"] == "/"  # the organisation's home
    cookie = client.cookies[SESSION_COOKIE]

    # The API with the session: who am I, and the center's own work.
    me = client.get("/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"]["name"] == "山田 花子"
    assert me.json()["role"] == "staff"
    assert me.json()["organisation"]["id"] == str(center.id)
    assert me.json()["authenticated_by"] == "session"
    account = client.get("/account")
    assert account.status_code == 200
    assert "山田 花子" in account.text
    csrf = account.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    created = client.post("/v1/persons", json=person_payload(), headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text

    # Sign-out ends the session server-side: the same cookie, replayed, is refused.
    out = client.post("/logout", data={"csrf_token": csrf_of(account)}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith("/login")
    assert SESSION_COOKIE not in client.cookies
    stolen = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    assert client.get("/v1/me", headers=stolen).status_code == 401
    assert client.get("/v1/persons", headers=stolen).status_code == 401
    revoked = session.scalars(select(WebSession).where(WebSession.revoked_at.is_not(None))).all()
    assert revoked


def test_read_log_and_history_name_the_user(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    created = client.post("/v1/persons", json=person_payload(), headers=staff.headers)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert client.get(f"/v1/persons/{person_id}", headers=staff.headers).status_code == 200
    assert client.get(f"/v1/persons/{person_id}/matches", headers=staff.headers).status_code == 200

    reads = session.scalars(
        select(PersonReadLogEntry).where(PersonReadLogEntry.person_id == uuid.UUID(person_id))
    ).all()
    assert {read.purpose for read in reads} >= {"person.read", "person.matches"}
    assert all(read.user_id == staff.id for read in reads)
    assert all(read.organisation_id == center.id for read in reads)
    assert all(read.api_key_id is None for read in reads)

    entry = session.scalars(
        select(HistoryEntry).where(
            HistoryEntry.entity_type == "person", HistoryEntry.entity_id == person_id
        )
    ).one()
    assert entry.actor_user_id == staff.id
    assert entry.actor_organisation_id == center.id
    assert entry.channel == "web"

    # The same through a system's key names the key and no user.
    client.get(f"/v1/persons/{person_id}", headers=center.headers)
    last = session.scalars(
        select(PersonReadLogEntry)
        .where(PersonReadLogEntry.person_id == uuid.UUID(person_id))
        .order_by(PersonReadLogEntry.id.desc())
    ).first()
    assert last is not None
    assert last.user_id is None
    assert last.api_key_id == center.api_key_id


def test_recovery_code_signs_in_once(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    invited = client.post(
        "/v1/users", json={"email": "kaito@example.jp", "name": "海斗"}, headers=manager.headers
    ).json()
    _, codes = accept_invitation(client, invited["invitation_url"], PASSWORD)

    assert post_password(client, "kaito@example.jp", PASSWORD).status_code == 303
    used = post_code(client, codes[0].upper().replace("-", " "))
    assert used.status_code == 303, used.text
    client.cookies.clear()

    assert post_password(client, "kaito@example.jp", PASSWORD).status_code == 303
    again = post_code(client, codes[0])
    assert again.status_code == 401
    assert "確認コードが正しくありません" in again.text


def test_replayed_totp_code_is_refused(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    invited = client.post(
        "/v1/users", json={"email": "sora@example.jp", "name": "空"}, headers=manager.headers
    ).json()
    secret, _ = accept_invitation(client, invited["invitation_url"], PASSWORD)
    code = next_code(secret)
    assert post_password(client, "sora@example.jp", PASSWORD).status_code == 303
    assert post_code(client, code).status_code == 303
    client.cookies.clear()

    # The same code again, by someone who saw it: refused, and recorded as a replay.
    assert post_password(client, "sora@example.jp", PASSWORD).status_code == 303
    replayed = post_code(client, code)
    assert replayed.status_code == 401
    assert client.get("/v1/me").status_code == 401
    records = client.get(
        "/v1/account-events",
        params={"user_id": invited["user"]["id"], "kind": "sign_in_failed"},
        headers=manager.headers,
    ).json()["items"]
    assert records[0]["detail"]["reason"] == "totp_replayed"
