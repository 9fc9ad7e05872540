"""The history is append-only, written with each change, readable by admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import MakeUser, OrgFixture


def test_changes_are_recorded_with_actor(
    client: TestClient, admin: OrgFixture, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    created = client.post(
        f"/v1/organisations/{center.id}/api-keys", json={"label": "tablet"}, headers=manager.headers
    )
    key_id = created.json()["id"]
    client.delete(f"/v1/api-keys/{key_id}", headers=manager.headers)

    response = client.get(
        "/v1/history", params={"entity_type": "api_key", "entity_id": key_id}, headers=admin.headers
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["action"] for item in items] == ["api_key.revoked", "api_key.created"]
    revoked, created_entry = items
    assert revoked["actor_organisation_id"] == str(center.id)
    assert revoked["actor_user_id"] == str(manager.id)
    assert revoked["actor_api_key_id"] is None
    assert revoked["channel"] == "web"
    assert revoked["before"]["revoked_at"] is None
    assert revoked["after"]["revoked_at"] is not None
    assert created_entry["before"] is None
    assert "key_hash" not in created_entry["after"]
    assert created.json()["key"] not in response.text


def test_history_is_for_admins_only(client: TestClient, center: OrgFixture) -> None:
    assert client.get("/v1/history", headers=center.headers).status_code == 403


def test_history_pages_with_a_cursor(client: TestClient, admin: OrgFixture) -> None:
    for index in range(5):
        client.post(
            "/v1/organisations",
            json={"kind": "center", "slug": f"paged-{index}", "name": f"センター{index}"},
            headers=admin.headers,
        )
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"entity_type": "organisation", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/history", params=params, headers=admin.headers).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) >= 5


@pytest.mark.parametrize(
    "statement",
    ["UPDATE history SET action = 'forged'", "DELETE FROM history", "TRUNCATE history"],
)
def test_database_refuses_rewriting_history(
    session: Session, center: OrgFixture, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))


def test_history_documents_are_compressed_with_lz4_where_the_server_has_it(
    session: Session,
) -> None:
    # An import's history row lists every dwelling it inserted (MBs of JSON): lz4 stores it in
    # about a third of pglz's time (migration 0009).
    has_lz4 = session.scalar(
        text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    )
    methods = session.execute(
        text(
            "SELECT attname, attcompression FROM pg_attribute"
            " WHERE attrelid = 'history'::regclass AND attname IN ('before', 'after')"
        )
    ).all()
    assert dict(methods) == dict.fromkeys(("before", "after"), "l" if has_lz4 else "")
