"""API keys: minted, listed and revoked only by the organisation's managers (or the operator's
CLI), never by a key; revoking twice is a conflict; keys carry a last-used time and an expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from housing_match import db
from housing_match.cli import app as cli
from housing_match.models import ApiKey, UserRole
from tests.conftest import MakeUser, OrgFixture

runner = CliRunner()


def test_a_key_cannot_mint_list_or_revoke_keys(
    client: TestClient, corporation: OrgFixture, admin: OrgFixture
) -> None:
    for caller in (corporation, admin):
        minted = client.post(
            f"/v1/organisations/{corporation.id}/api-keys", json={}, headers=caller.headers
        )
        assert minted.status_code == 403, caller.kind
        assert minted.headers["content-type"] == "application/problem+json"
        listed = client.get(f"/v1/organisations/{corporation.id}/api-keys", headers=caller.headers)
        assert listed.status_code == 403
        revoked = client.delete(f"/v1/api-keys/{corporation.api_key_id}", headers=caller.headers)
        assert revoked.status_code == 403
    # The key still works: nothing was revoked.
    assert client.get("/v1/organisations/me", headers=corporation.headers).status_code == 200


def test_staff_cannot_mint_keys_managers_can(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation, role=UserRole.STAFF)
    manager = make_user(corporation)
    assert (
        client.post(
            f"/v1/organisations/{corporation.id}/api-keys", json={}, headers=staff.headers
        ).status_code
        == 403
    )
    minted = client.post(
        f"/v1/organisations/{corporation.id}/api-keys",
        json={"label": "受付システム"},
        headers=manager.headers,
    )
    assert minted.status_code == 201, minted.text
    assert minted.json()["label"] == "受付システム"


def test_managers_mint_only_for_their_organisation_admins_for_any(
    client: TestClient,
    corporation: OrgFixture,
    center: OrgFixture,
    admin: OrgFixture,
    make_user: MakeUser,
) -> None:
    corporation_manager = make_user(corporation)
    admin_manager = make_user(admin)
    assert (
        client.post(
            f"/v1/organisations/{center.id}/api-keys", json={}, headers=corporation_manager.headers
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/v1/api-keys/{center.api_key_id}", headers=corporation_manager.headers
        ).status_code
        == 404
    )
    minted = client.post(
        f"/v1/organisations/{center.id}/api-keys", json={}, headers=admin_manager.headers
    )
    assert minted.status_code == 201
    assert minted.json()["organisation_id"] == str(center.id)


def test_revoking_a_revoked_key_is_409_and_an_unknown_key_404(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    key_id = client.post(
        f"/v1/organisations/{corporation.id}/api-keys", json={}, headers=manager.headers
    ).json()["id"]
    first = client.delete(f"/v1/api-keys/{key_id}", headers=manager.headers)
    assert first.status_code == 200
    revoked_at = first.json()["revoked_at"]
    second = client.delete(f"/v1/api-keys/{key_id}", headers=manager.headers)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert datetime.fromisoformat(second.json()["revoked_at"]) == datetime.fromisoformat(revoked_at)
    unknown = client.delete(
        "/v1/api-keys/00000000-0000-4000-8000-000000000000", headers=manager.headers
    )
    assert unknown.status_code == 404


def test_keys_are_listed_with_prefix_label_created_last_used_and_expiry(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    minted = client.post(
        f"/v1/organisations/{corporation.id}/api-keys",
        json={"label": "nightly export", "expires_at": expires.isoformat()},
        headers=manager.headers,
    ).json()
    listing = client.get(
        f"/v1/organisations/{corporation.id}/api-keys", headers=manager.headers
    ).json()
    entry = next(item for item in listing if item["id"] == minted["id"])
    assert minted["key"].startswith(entry["prefix"])
    assert entry["label"] == "nightly export"
    assert entry["created_at"]
    assert datetime.fromisoformat(entry["expires_at"]) == expires
    assert entry["last_used_at"] is None
    assert "key" not in entry

    assert client.get(
        "/v1/organisations/me", headers={"Authorization": f"Bearer {minted['key']}"}
    ).is_success
    used = next(
        item
        for item in client.get(
            f"/v1/organisations/{corporation.id}/api-keys", headers=manager.headers
        ).json()
        if item["id"] == minted["id"]
    )
    assert used["last_used_at"] is not None


def test_an_expired_key_is_refused(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    past = client.post(
        f"/v1/organisations/{corporation.id}/api-keys",
        json={"expires_at": "2020-01-01T00:00:00+09:00"},
        headers=manager.headers,
    )
    assert past.status_code == 422
    naive = client.post(
        f"/v1/organisations/{corporation.id}/api-keys",
        json={"expires_at": "2099-01-01T00:00:00"},
        headers=manager.headers,
    )
    assert naive.status_code == 422
    soon = client.post(
        f"/v1/organisations/{corporation.id}/api-keys",
        json={"expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        headers=manager.headers,
    ).json()
    headers = {"Authorization": f"Bearer {soon['key']}"}
    assert client.get("/v1/organisations/me", headers=headers).status_code == 200
    session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == soon["prefix"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    expired = client.get("/v1/organisations/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


@pytest.fixture
def cli_uses_test_transaction(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)


@pytest.mark.usefixtures("cli_uses_test_transaction")
def test_the_cli_mints_lists_and_revokes(client: TestClient, corporation: OrgFixture) -> None:
    minted = runner.invoke(
        cli,
        ["key", "create", "--org", corporation.slug, "--label", "batch", "--expires-in-days", "7"],
    )
    assert minted.exit_code == 0, minted.output
    secret = minted.stdout.strip()
    listed = runner.invoke(cli, ["key", "list", "--org", corporation.slug])
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    batch = next(row for row in rows if row[2] == "batch")
    assert secret.startswith(batch[1])
    assert batch[5] != "-"  # an expiry
    key_id = batch[0]
    assert runner.invoke(cli, ["key", "revoke", key_id]).exit_code == 0
    again = runner.invoke(cli, ["key", "revoke", key_id])
    assert again.exit_code == 1
    assert "already revoked" in again.stderr
    assert (
        client.get(
            "/v1/organisations/me", headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 401
    )
