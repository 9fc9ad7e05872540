"""Throttling: failed authentication per client address and per key prefix, expensive
operations per organisation, with 429 and Retry-After, counted in PostgreSQL so that every
API process sees one count.

The counters are committed at once through a connection of their own (the failing request
rolls back), so every test here names its own client addresses and key prefixes: nothing
collides with another test's counts, and nothing needs undoing.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from housing_match.accounts.sessions import SESSION_COOKIE
from housing_match.app import create_app
from housing_match.db import get_session, keep_after_rollback, make_engine
from housing_match.models import OrganisationKind
from housing_match.settings import get_settings
from housing_match.throttling.limiter import Operation, RateLimiter, RateLimits
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture
from tests.matching.factories import create_person, home

ME = "/v1/organisations/me"


@pytest.fixture(scope="module")
def counters_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=2)
    yield engine
    engine.dispose()


def limited_app(session: Session, engine: Engine, limits: RateLimits) -> FastAPI:
    """The application on the test's transaction, with these limits counted through
    ``engine`` (autocommit, as deployed: the request's rollback cannot undo a count)."""
    application = create_app()

    def test_session() -> Iterator[Session]:
        try:
            yield session
        except BaseException as exc:
            session.rollback()
            keep_after_rollback(session, exc)
            raise
        session.commit()

    application.dependency_overrides[get_session] = test_session
    application.state.rate_limiter = RateLimiter(
        limits, counter_session=sessionmaker(bind=engine, expire_on_commit=False)
    )
    return application


def address() -> str:
    """A documentation address (RFC 5737) of this test's own."""
    return f"198.51.100.{secrets.randbelow(250) + 1}-{uuid.uuid4().hex[:6]}"


def client_from(app: FastAPI, client_address: str) -> TestClient:
    return TestClient(app, client=(client_address, 50_000), raise_server_exceptions=False)


def wrong_key(prefix: str | None = None) -> dict[str, str]:
    prefix = prefix or "hm_" + secrets.token_urlsafe(7)[:9]
    return {"Authorization": f"Bearer {prefix}{secrets.token_urlsafe(30)}"}


def assert_throttled(response: Any) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    body = response.json()
    assert body["status"] == 429
    assert body["type"].endswith("/too-many-requests")
    return wait


def end_windows(engine: Engine) -> None:
    """As if every window had ended (no sleeping in tests)."""
    with engine.connect() as connection:
        connection.execute(
            text("UPDATE rate_limit_counters SET expires_at = clock_timestamp() - interval '1 s'")
        )


AUTH_LIMITS = RateLimits(
    failures_per_address=5, failures_per_key_prefix=1_000, failure_window=timedelta(minutes=5)
)


def test_wrong_keys_from_one_address_get_429_with_retry_after(
    session: Session, counters_engine: Engine, corporation: OrgFixture
) -> None:
    app = limited_app(session, counters_engine, AUTH_LIMITS)
    attacker = client_from(app, address())
    for _ in range(AUTH_LIMITS.failures_per_address):
        assert attacker.get(ME, headers=wrong_key()).status_code == 401
    wait = assert_throttled(attacker.get(ME, headers=wrong_key()))
    assert wait <= AUTH_LIMITS.failure_window.total_seconds()
    # The address is refused before any key is checked, the right one included ...
    assert_throttled(attacker.get(ME, headers=corporation.headers))
    # ... while the organisation's own systems elsewhere go on.
    assert client_from(app, address()).get(ME, headers=corporation.headers).status_code == 200


def test_a_key_request_reads_the_counts_in_its_keys_statement_and_only_when_limited(
    session: Session, counters_engine: Engine, corporation: OrgFixture
) -> None:
    """One round trip for the throttle's read and the key: the statement that looks the key
    up is the one that reads the counts, and with the failure limits off nothing reads them."""
    statements: list[str] = []

    def record(*arguments: Any) -> None:
        statements.append(arguments[2])

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        for limits, limited in ((AUTH_LIMITS, True), (RateLimits(), False)):
            statements.clear()
            app = limited_app(session, counters_engine, limits)
            response = client_from(app, address()).get(ME, headers=corporation.headers)
            assert response.status_code == 200
            (key_lookup,) = [s for s in statements if "api_keys.key_hash =" in s]
            reading_counts = [s for s in statements if "rate_limit_counters" in s]
            assert reading_counts == ([key_lookup] if limited else [])
    finally:
        event.remove(connection, "before_cursor_execute", record)


def test_the_count_outlives_the_failed_requests_rollback(
    session: Session, counters_engine: Engine
) -> None:
    app = limited_app(session, counters_engine, AUTH_LIMITS)
    source = address()
    for _ in range(3):
        assert client_from(app, source).get(ME, headers=wrong_key()).status_code == 401
    # Read from another connection: the count was committed, not left in the request's work.
    with counters_engine.connect() as connection:
        hits = connection.execute(
            text("SELECT hits FROM rate_limit_counters WHERE bucket = :bucket"),
            {"bucket": f"auth-address:{source}"},
        ).scalar_one()
    assert hits == 3


def test_one_key_prefix_is_throttled_across_addresses(
    session: Session, counters_engine: Engine
) -> None:
    limits = replace(AUTH_LIMITS, failures_per_address=1_000, failures_per_key_prefix=3)
    app = limited_app(session, counters_engine, limits)
    prefix = "hm_" + secrets.token_urlsafe(7)[:9]
    for _ in range(limits.failures_per_key_prefix):
        response = client_from(app, address()).get(ME, headers=wrong_key(prefix))
        assert response.status_code == 401
    # A new address does not help with the same prefix ...
    assert_throttled(client_from(app, address()).get(ME, headers=wrong_key(prefix)))
    # ... and another prefix is not held back by it.
    assert client_from(app, address()).get(ME, headers=wrong_key()).status_code == 401


def test_the_window_ending_lets_requests_through(
    session: Session, counters_engine: Engine, corporation: OrgFixture
) -> None:
    app = limited_app(session, counters_engine, AUTH_LIMITS)
    attacker = client_from(app, address())
    for _ in range(AUTH_LIMITS.failures_per_address):
        attacker.get(ME, headers=wrong_key())
    assert_throttled(attacker.get(ME, headers=corporation.headers))
    end_windows(counters_engine)
    assert attacker.get(ME, headers=corporation.headers).status_code == 200
    # A new window counts from one again.
    for _ in range(AUTH_LIMITS.failures_per_address):
        assert attacker.get(ME, headers=wrong_key()).status_code == 401
    assert_throttled(attacker.get(ME, headers=wrong_key()))


def test_bad_session_cookies_are_throttled_per_address(
    session: Session, counters_engine: Engine, center: OrgFixture, make_user: MakeUser
) -> None:
    app = limited_app(session, counters_engine, AUTH_LIMITS)
    source = address()
    user = make_user(center)
    forged = {"Cookie": f"{SESSION_COOKIE}={secrets.token_urlsafe(32)}"}
    for _ in range(AUTH_LIMITS.failures_per_address):
        assert client_from(app, source).get(ME, headers=forged).status_code == 401
    assert_throttled(client_from(app, source).get(ME, headers=forged))
    assert_throttled(client_from(app, source).get(ME, headers=user.headers))
    assert client_from(app, address()).get(ME, headers=user.headers).status_code == 200


def test_requests_without_credentials_count_nothing(
    session: Session, counters_engine: Engine
) -> None:
    app = limited_app(session, counters_engine, AUTH_LIMITS)
    anonymous = client_from(app, address())
    for _ in range(AUTH_LIMITS.failures_per_address * 2):
        assert anonymous.get(ME).status_code == 401


MATCH_LIMITS = RateLimits(per_organisation={Operation.MATCH: 2}, window=timedelta(minutes=1))


def test_an_organisations_match_limit_does_not_touch_another_organisation(
    session: Session,
    counters_engine: Engine,
    make_organisation: MakeOrganisation,
    corporation: OrgFixture,
) -> None:
    municipality = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))
    busy = make_organisation(OrganisationKind.CENTER)
    quiet = make_organisation(OrganisationKind.CENTER)
    app = limited_app(session, counters_engine, MATCH_LIMITS)
    client = client_from(app, address())
    _, vacancy_id = home(client, corporation, municipality)
    busy_person = create_person(client, busy)
    quiet_person = create_person(client, quiet)

    matches = f"/v1/persons/{busy_person}/matches"
    for _ in range(MATCH_LIMITS.per_organisation[Operation.MATCH]):
        assert client.get(matches, headers=busy.headers).status_code == 200
    wait = assert_throttled(client.get(matches, headers=busy.headers))
    assert wait <= 60
    assert "per organisation" in client.get(matches, headers=busy.headers).json()["detail"]
    # Explanations share the matches' count.
    explain = f"/v1/persons/{busy_person}/matches/explain"
    assert_throttled(client.get(explain, params={"vacancy_id": vacancy_id}, headers=busy.headers))

    # Another center is untouched, from the same address too.
    quiet_matches = f"/v1/persons/{quiet_person}/matches"
    assert client.get(quiet_matches, headers=quiet.headers).status_code == 200
    # Another kind of organisation is refused by its kind, and charged nothing.
    for _ in range(3):
        assert client.get(matches, headers=corporation.headers).status_code == 403

    end_windows(counters_engine)
    assert client.get(matches, headers=busy.headers).status_code == 200


def test_the_candidates_page_shares_the_match_limit(
    session: Session, counters_engine: Engine, center: OrgFixture, make_user: MakeUser
) -> None:
    app = limited_app(session, counters_engine, MATCH_LIMITS)
    client = client_from(app, address())
    person_id = create_person(client, center)
    staff = make_user(center)
    for _ in range(MATCH_LIMITS.per_organisation[Operation.MATCH]):
        assert client.get(f"/v1/persons/{person_id}/matches", headers=center.headers).is_success
    page = client.get(
        f"/persons/{person_id}/candidates", headers={**staff.headers, "Accept": "text/html"}
    )
    assert page.status_code == 429
    assert int(page.headers["retry-after"]) >= 1
    assert "しばらくお待ちください" in page.text


def test_counts_are_shared_by_separate_app_instances_and_engines(
    session: Session, database_url: str
) -> None:
    """Two API processes: each its own application, limiter and database engine."""
    engines = [
        make_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1) for _ in range(2)
    ]
    try:
        apps = [limited_app(session, engine, AUTH_LIMITS) for engine in engines]
        source = address()
        clients = [client_from(app, source) for app in apps]
        for attempt in range(AUTH_LIMITS.failures_per_address):
            # Alternating: neither process alone has seen enough failures to refuse.
            assert clients[attempt % 2].get(ME, headers=wrong_key()).status_code == 401
        for client in clients:
            assert_throttled(client.get(ME, headers=wrong_key()))
    finally:
        for engine in engines:
            engine.dispose()


def test_each_limited_operation_states_its_limit_in_the_openapi_description(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOUSING_MATCH_RATE_LIMIT_MATCH", "7")
    monkeypatch.setenv("HOUSING_MATCH_RATE_LIMIT_EXPORT", "3")
    get_settings.cache_clear()
    try:
        spec = create_app().openapi()
    finally:
        get_settings.cache_clear()
    settings = get_settings()
    expected = {
        ("/v1/persons/{person_id}/matches", "get"): "at most 7 matches",
        ("/v1/persons/{person_id}/matches/explain", "get"): "at most 7 matches",
        ("/v1/allocations", "post"): f"at most {settings.rate_limit_allocation} allocations",
        ("/v1/dwellings/import", "post"): f"at most {settings.rate_limit_import} bulk imports",
        ("/v1/dwellings/export", "get"): "at most 3 CSV and GeoJSON exports",
        ("/v1/audit/registrations", "get"): "at most 3 CSV and GeoJSON exports",
        ("/v1/audit/rent-balance", "get"): "at most 3 CSV and GeoJSON exports",
        ("/v1/audit/vacancies", "get"): "at most 3 CSV and GeoJSON exports",
        ("/v1/audit/unmet-demand", "get"): "at most 3 CSV and GeoJSON exports",
    }
    for (path, method), limit in expected.items():
        operation = spec["paths"][path][method]
        assert limit in operation["description"], path
        assert "Retry-After" in operation["responses"]["429"]["headers"], path
    # Every authenticated operation documents the throttle of failed authentication.
    me = spec["paths"][ME]["get"]
    assert "failed authentications" in me["responses"]["429"]["description"]
    assert "Rate limit" not in me.get("description", "")
