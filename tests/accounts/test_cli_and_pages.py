"""The CLI for users and organisations; the account page; where sign-in may send a browser."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from housing_match import db
from housing_match.accounts import totp
from housing_match.cli import app as cli
from housing_match.models import User, UserRole
from housing_match.settings import get_settings
from housing_match.web.accounts import safe_next
from tests.accounts.pages import (
    accept_invitation,
    csrf_of,
    invitation_path,
    next_code,
    post_password,
)
from tests.conftest import TEST_PASSWORD, MakeUser, OrgFixture

runner = CliRunner()


@pytest.fixture
def cli_uses_test_transaction(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)


@pytest.mark.usefixtures("cli_uses_test_transaction")
def test_user_invite_list_deactivate_and_org_list(client: TestClient, center: OrgFixture) -> None:
    invited = runner.invoke(
        cli,
        ["user", "invite", "--org", center.slug, "--email", "Ren@Example.jp", "--name", "蓮",
         "--role", "manager"],
    )  # fmt: skip
    assert invited.exit_code == 0, invited.output
    link = invited.stdout.strip()
    assert link.startswith(f"{get_settings().public_base_url}/invitations/")
    assert "\n" not in link
    _, codes = accept_invitation(client, link, "hoshizora no shita 2026")
    assert len(codes) == 10

    listed = runner.invoke(cli, ["user", "list", "--org", center.slug])
    assert listed.exit_code == 0
    assert listed.stdout.split("\t")[:5] == [
        "ren@example.jp",
        center.slug,
        "manager",
        "active",
        "totp",
    ]

    orgs = runner.invoke(cli, ["org", "list"])
    assert f"{center.slug}\tcenter\ttotp-required\t" in orgs.stdout

    duplicate = runner.invoke(
        cli, ["user", "invite", "--org", center.slug, "--email", "ren@example.jp", "--name", "x"]
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.stderr
    bad = runner.invoke(
        cli, ["user", "invite", "--org", center.slug, "--email", "nope", "--name", "x"]
    )
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output

    reset = runner.invoke(cli, ["user", "reset", "--email", "ren@example.jp"])
    assert reset.exit_code == 0
    assert "/invitations/" in reset.stdout

    assert runner.invoke(cli, ["user", "deactivate", "--email", "ren@example.jp"]).exit_code == 0
    again = runner.invoke(cli, ["user", "deactivate", "--email", "ren@example.jp"])
    assert again.exit_code == 1
    assert "already deactivated" in again.stderr
    assert client.get(invitation_path(reset.stdout.strip())).status_code == 410


@pytest.mark.usefixtures("cli_uses_test_transaction")
def test_centers_cannot_be_set_totp_optional(center: OrgFixture, corporation: OrgFixture) -> None:
    refused = runner.invoke(cli, ["org", "set-totp", "--org", center.slug, "--optional"])
    assert refused.exit_code == 1
    assert "always require TOTP" in refused.stderr
    allowed = runner.invoke(cli, ["org", "set-totp", "--org", corporation.slug, "--optional"])
    assert allowed.exit_code == 0
    assert (
        f"{corporation.slug}\tsupport_corporation\ttotp-optional"
        in runner.invoke(cli, ["org", "list"]).stdout
    )


def test_managers_page_lists_users_and_records_and_lifts_locks(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation, role=UserRole.STAFF)
    manager = make_user(corporation)
    for _ in range(3):
        post_password(client, staff.email, "wrong password here")
    client.post(f"/v1/users/{staff.id}/unlock", headers=manager.headers)
    client.cookies.clear()

    cookie = {"Cookie": f"hm_session={manager.session_token}"}
    page = client.get("/account", headers=cookie)
    assert page.status_code == 200
    assert staff.email in page.text
    assert "ログイン失敗" in page.text
    assert "ロック解除" in page.text
    staff_page = client.get("/account", headers={"Cookie": f"hm_session={staff.session_token}"})
    assert staff_page.status_code == 200
    assert "組織の利用者" not in staff_page.text

    # A staff member posting the manager's unlock form is refused.
    refused = client.post(
        f"/account/users/{staff.id}/unlock",
        data={"csrf_token": csrf_of(staff_page)},
        headers={"Cookie": f"hm_session={staff.session_token}"},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_signed_out_account_page_goes_to_login(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


HOSTILE_NEXT = (
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:x",
    "/\t/evil.example",  # a browser drops the tab: //evil.example
    "/\n/evil.example",
    " //evil.example",
    "evil.example",
)


def test_sign_in_never_sends_the_browser_to_another_site() -> None:
    for hostile in HOSTILE_NEXT:
        assert safe_next(hostile) == "/", hostile
    assert safe_next("/v1/me?x=1") == "/v1/me?x=1"
    assert safe_next("/persons/new") == "/persons/new"


def test_sign_in_lands_on_the_home_page_unless_a_page_of_this_site_was_asked_for(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    for sent_next, landing in (
        (None, "/"),
        ("/account", "/account"),
        *((hostile, "/") for hostile in HOSTILE_NEXT),
    ):
        client.cookies.clear()
        page = client.get("/login")
        data = {"csrf_token": csrf_of(page), "email": staff.email, "password": TEST_PASSWORD}
        if sent_next is not None:
            data["next"] = sent_next
        signed_in = client.post("/login", data=data, follow_redirects=False)
        assert signed_in.status_code == 303, (sent_next, signed_in.text)
        assert signed_in.headers["location"] == landing, sent_next
    # The login page itself never offers a foreign address back.
    offered = client.get("/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/"' in offered.text


def test_a_second_factor_keeps_the_page_asked_for(
    client: TestClient, session: Session, center: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    secret = pyotp.random_base32()
    user = session.get(User, staff.id)
    assert user is not None
    user.totp_secret = totp.seal(secret)
    session.commit()
    page = client.get("/login", params={"next": "/allocation"})
    first = client.post(
        "/login",
        data={"csrf_token": csrf_of(page), "email": staff.email, "password": TEST_PASSWORD,
              "next": "/allocation"},
        follow_redirects=False,
    )  # fmt: skip
    assert first.headers["location"] == "/login/totp?next=%2Fallocation"
    code_page = client.get(first.headers["location"])
    assert 'name="next" value="/allocation"' in code_page.text
    second = client.post(
        "/login/totp",
        data={"csrf_token": csrf_of(code_page), "code": next_code(secret), "next": "/allocation"},
        follow_redirects=False,
    )
    assert second.status_code == 303, second.text
    assert second.headers["location"] == "/allocation"
    assert "まとめて割り当てる" in client.get("/allocation", headers={"Accept": "text/html"}).text


def test_sign_in_goes_back_to_the_page_asked_for(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation)
    page = client.get("/login", params={"next": "/v1/me"})
    signed_in = client.post(
        "/login",
        data={"csrf_token": csrf_of(page), "email": staff.email, "password": TEST_PASSWORD,
              "next": "/v1/me"},
        follow_redirects=False,
    )  # fmt: skip
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/v1/me"
