"""A database that goes away is a 503 with Retry-After, not a 500 that reads as a bug.

These tests run the application with its own engine and session dependency (not the test's
rolled-back transaction) against the test database, and kill its backends from a second
connection with ``pg_terminate_backend``, as an administrator or a failover would. Nothing is
written: the requests only authenticate, with a key that does not exist.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import make_url

from housing_match import db
from housing_match.app import create_app
from housing_match.settings import get_settings

UNKNOWN_KEY = {"Authorization": f"Bearer hm_{uuid.uuid4().hex}"}
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"


@dataclass
class Served:
    client: TestClient
    backends: list[int] = field(default_factory=list)  # the app's connections' server pids


def serve(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The application as deployed (its engine with its pool, its session per request)."""
    monkeypatch.setenv("HOUSING_MATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    engine = db.get_engine()
    backends: list[int] = []

    @event.listens_for(engine, "connect")
    def remember(dbapi_connection: Any, record: Any) -> None:
        backends.append(dbapi_connection.info.backend_pid)

    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield Served(client=client, backends=backends)
    finally:
        engine.dispose()
        get_settings.cache_clear()
        db.get_engine.cache_clear()
        db.get_sessionmaker.cache_clear()


@pytest.fixture
def served(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from serve(database_url, monkeypatch)


@pytest.fixture
def admin(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A second connection, as the administrator's or the failover's."""
    libpq = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(libpq.render_as_string(hide_password=False)) as connection:
        yield connection


def terminate(admin: psycopg.Connection[Any], pids: list[int]) -> int:
    with admin.transaction():
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
        ).fetchall()
    return sum(1 for (done,) in rows if done)


def waiting_backends(admin: psycopg.Connection[Any], pids: list[int]) -> list[int]:
    """The app's backends waiting on a lock, within 15 seconds."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.05)
        # Activity is read from a snapshot kept for the transaction unless cleared.
        admin.execute("SELECT pg_stat_clear_snapshot()")
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s) AND wait_event_type = 'Lock'",
            [pids],
        ).fetchall()
        if rows:
            return [pid for (pid,) in rows]
    return []


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"].endswith("/database-unavailable")
    assert "psycopg" not in response.text
    assert "terminat" not in response.text


def test_a_backend_terminated_mid_request_is_a_503_with_retry_after(
    served: Served, admin: psycopg.Connection[Any]
) -> None:
    # Held by the second connection, the key table makes the request wait inside the
    # database, where it is terminated.
    admin.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(served.client.get, "/v1/organisations/me", headers=UNKNOWN_KEY)
        try:
            waiting = waiting_backends(admin, served.backends)
            assert waiting, "the request never waited on the lock"
            admin.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
        finally:
            admin.rollback()
        response = pending.result(timeout=30)
    assert_unavailable(response)
    # The pool recovers by itself: the next request is answered as usual.
    assert served.client.get("/v1/organisations/me", headers=UNKNOWN_KEY).status_code == 401


def test_a_dead_pooled_connection_is_replaced_before_the_request_uses_it(
    served: Served, admin: psycopg.Connection[Any]
) -> None:
    assert served.client.get("/v1/organisations/me", headers=UNKNOWN_KEY).status_code == 401
    assert terminate(admin, served.backends) >= 1
    # The request never reached the dead connection: checked at check-out, and replaced.
    for _ in range(3):
        response = served.client.get("/v1/organisations/me", headers=UNKNOWN_KEY)
        assert response.status_code == 401, response.text


def test_an_unreachable_database_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    for served in serve(UNREACHABLE, monkeypatch):
        assert_unavailable(served.client.get("/v1/organisations/me", headers=UNKNOWN_KEY))
        assert_unavailable(served.client.get("/health"))
