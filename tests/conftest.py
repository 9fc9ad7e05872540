"""Every test runs against the real PostGIS, in a transaction rolled back at its end.

Each xdist worker gets its own database, dropped and rebuilt by ``alembic upgrade head`` at
the start of the run, so the schema under test is exactly what the migrations produce.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from housing_match.app import create_app
from housing_match.auth import CLI_ACTOR
from housing_match.db import get_session, keep_after_rollback, make_engine
from housing_match.dbadmin import ensure_database, migrate
from housing_match.models import Organisation, OrganisationKind
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation
from housing_match.testing import database_url_for_tests


def _recreate_database(url: str) -> None:
    parsed = make_url(url)
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(parsed.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()
    ensure_database(url)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> str:
    # Read from the config rather than xdist's worker_id fixture, so `-p no:xdist` works too.
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")
    url = database_url_for_tests(worker_id)
    _recreate_database(url)
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
        organisation: Organisation = create_organisation(
            session,
            CLI_ACTOR,
            OrganisationCreate(
                kind=kind,
                slug=slug,
                name=name or slug,
                jurisdiction_codes=list(jurisdiction),
            ),
        )
        api_key, secret = create_api_key(session, CLI_ACTOR, organisation)
        # Releases the savepoint: a request that rolls back must not take fixtures with it.
        session.commit()
        return OrgFixture(
            id=organisation.id, slug=slug, kind=kind, key=secret, api_key_id=api_key.id
        )

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
