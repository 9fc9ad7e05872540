"""Every test runs against the real PostGIS, in a transaction rolled back at its end.

Each xdist worker gets its own database, dropped and rebuilt by ``alembic upgrade head`` at
the start of the run, so the schema under test is exactly what the migrations produce.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from housing_match.accounts.csrf import CSRF_HEADER, csrf_token_of_session
from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.accounts.sessions import SESSION_COOKIE, start_session
from housing_match.app import create_app
from housing_match.auth import CLI_ACTOR
from housing_match.db import get_session, keep_after_rollback, make_engine
from housing_match.dbadmin import migrate
from housing_match.models import Organisation, OrganisationKind, UserRole
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation
from housing_match.testing import database_url_for_tests, recreate_database
from housing_match.throttling.limiter import RateLimiter, RateLimits

BROWSER_TEST_FILES = "test_browser_"


@pytest.hookimpl(trylast=True)  # after any shuffling plugin
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last when run together with the rest (``make test`` runs them apart)."""
    items.sort(key=lambda item: item.path.name.startswith(BROWSER_TEST_FILES))


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> str:
    # Read from the config rather than xdist's worker_id fixture, so `-p no:xdist` works too.
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")
    url = database_url_for_tests(worker_id)
    recreate_database(url)
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def app(session: Session) -> FastAPI:
    application = create_app()

    def test_session() -> Iterator[Session]:
        # Mirrors get_session; commit and rollback act on a savepoint of the test's transaction.
        try:
            yield session
        except BaseException as exc:
            session.rollback()
            keep_after_rollback(session, exc)
            raise
        session.commit()

    application.dependency_overrides[get_session] = test_session
    # No rate limits: tests make many requests as one organisation from one address; the
    # limits have their own tests (tests/security/test_throttling.py).
    application.state.rate_limiter = RateLimiter(RateLimits())
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class OrgFixture:
    id: uuid.UUID
    slug: str
    kind: OrganisationKind
    key: str
    api_key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


MakeOrganisation = Callable[..., OrgFixture]


def organisation_with_key(
    session: Session,
    kind: OrganisationKind,
    *,
    slug: str,
    name: str,
    jurisdiction: Sequence[str] = (),
) -> tuple[Organisation, OrgFixture]:
    """An organisation and one API key for it, flushed (the caller commits)."""
    organisation: Organisation = create_organisation(
        session,
        CLI_ACTOR,
        OrganisationCreate(kind=kind, slug=slug, name=name, jurisdiction_codes=list(jurisdiction)),
    )
    api_key, secret = create_api_key(session, CLI_ACTOR, organisation)
    return organisation, OrgFixture(
        id=organisation.id, slug=slug, kind=kind, key=secret, api_key_id=api_key.id
    )


@pytest.fixture
def make_organisation(session: Session) -> MakeOrganisation:
    def make(
        kind: OrganisationKind,
        *,
        slug: str | None = None,
        name: str | None = None,
        jurisdiction: tuple[str, ...] = (),
    ) -> OrgFixture:
        if kind is OrganisationKind.MUNICIPALITY and not jurisdiction:
            jurisdiction = ("271004",)
        slug = slug or f"{kind.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
        _, fixture = organisation_with_key(
            session, kind, slug=slug, name=name or slug, jurisdiction=jurisdiction
        )
        # Releases the savepoint: a request that rolls back must not take fixtures with it.
        session.commit()
        return fixture

    return make


@pytest.fixture
def admin(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.ADMIN)


@pytest.fixture
def center(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.CENTER)


@pytest.fixture
def corporation(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.SUPPORT_CORPORATION)


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("271004",))


TEST_PASSWORD = "sunlit harbour 42 lanterns"


@lru_cache(maxsize=1)
def _test_password_hash() -> str:
    # Argon2id is slow on purpose; one hash serves every test user of the run.
    return hash_password(TEST_PASSWORD)


@dataclass(frozen=True)
class UserFixture:
    """A signed-in user (password set, no TOTP) and the headers of their web session."""

    id: uuid.UUID
    email: str
    role: UserRole
    organisation: OrgFixture
    session_token: str

    @property
    def headers(self) -> dict[str, str]:
        """The session cookie, and the CSRF header every state-changing call needs with it."""
        return {
            "Cookie": f"{SESSION_COOKIE}={self.session_token}",
            CSRF_HEADER: csrf_token_of_session(self.session_token),
        }


MakeUser = Callable[..., UserFixture]


@pytest.fixture
def make_user(session: Session) -> MakeUser:
    def make(
        organisation: OrgFixture, *, role: UserRole = UserRole.MANAGER, email: str | None = None
    ) -> UserFixture:
        owner = session.get(Organisation, organisation.id)
        assert owner is not None
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.jp"
        user = invite_user(
            session, CLI_ACTOR, owner, email=email, name="テスト 利用者", role=role,
            client=CLI_CLIENT,
        ).user  # fmt: skip
        user.password_hash = _test_password_hash()
        user.activated_at = datetime.now(UTC)
        started = start_session(
            session, user_id=user.id, stage="active", client_address="testclient", user_agent=""
        )
        session.commit()
        return UserFixture(
            id=user.id, email=email, role=role, organisation=organisation,
            session_token=started.token,
        )  # fmt: skip

    return make
