"""What one match request costs the database in round trips, served as deployed.

Each round trip is a wait on the database, and on a busy server a wait for the backend's turn
on a core as well, so their number is pinned here: a change that adds one fails this test
instead of showing up, if at all, as a few percent in a benchmark on a noisy machine.

The application runs with its own engine and pool and its own session per request (not the
test's rolled-back transaction, whose savepoints are not what production sends), against a
database of its own (this worker's test database name + ``_round_trips``), built by the
migrations and dropped at the end. libpq's protocol trace of every connection of the pool counts
the exchanges: each ends in the server's ReadyForQuery.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient
from psycopg.pq import Trace
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from housing_match import db
from housing_match.app import create_app
from housing_match.dbadmin import ensure_database, migrate
from housing_match.models import OrganisationKind
from housing_match.settings import get_settings
from tests.conftest import OrgFixture, organisation_with_key
from tests.matching.factories import at, create_person, home, matches

# BEGIN (sent at check-out, as the connection's liveness check), the API key with the
# failed-authentication throttle's read of the address's and the key prefix's counts in the
# same statement, the person with places and support plan, the match statement with its read
# and query logs, COMMIT.
MATCH_ROUND_TRIPS = 5
# psycopg prepares a statement at its fifth run on a connection (the matcher's at its first):
# the requests before that are not the steady state.
WARM_UP_REQUESTS = 6


@dataclass
class Traced:
    """libpq's protocol trace of each connection the application's pool opened."""

    directory: Path
    connections: list[tuple[Any, IO[str], Path]] = field(default_factory=list)

    def start(self, pgconn: Any) -> None:
        path = self.directory / f"connection-{len(self.connections)}.trace"
        handle = path.open("w")
        self.connections.append((pgconn, handle, path))
        self._trace(pgconn, handle)

    @staticmethod
    def _trace(pgconn: Any, handle: IO[str]) -> None:
        pgconn.trace(handle.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

    def messages(self) -> list[str]:
        """Every message so far. libpq buffers its trace: stopping it writes it out."""
        lines = []
        for pgconn, handle, path in self.connections:
            pgconn.untrace()
            lines += path.read_text().splitlines()
            self._trace(pgconn, handle)
        return lines

    def exchanges(self) -> int:
        return sum(1 for line in self.messages() if _message(line)[:2] == ("B", "ReadyForQuery"))

    def close(self) -> None:
        for _, handle, _ in self.connections:
            handle.close()


def _message(line: str) -> tuple[str, str, str]:
    """A trace line (without timestamps) as who sent it (F: the client, B: the server), the
    message's type and its contents: ``F\t10\tQuery\t "BEGIN"``. A statement's text may go
    on over several lines: those are no messages (empty fields)."""
    direction, _length, kind, contents, *_ = [*line.split("\t"), "", "", ""]
    return direction, kind, contents.strip()


@dataclass(frozen=True)
class Served:
    client: TestClient
    traced: Traced
    center: OrgFixture
    corporation: OrgFixture
    municipality: OrgFixture


def _drop(url: str) -> None:
    parsed = make_url(url)
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(parsed.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()


def _organisations(url: str) -> dict[OrganisationKind, OrgFixture]:
    """A center, a support corporation and Osaka's municipality, committed: the server's
    sessions see only committed rows."""
    setup = db.make_engine(url, poolclass=NullPool)
    found: dict[OrganisationKind, OrgFixture] = {}
    with Session(setup) as session:
        for kind, jurisdiction in (
            (OrganisationKind.CENTER, []),
            (OrganisationKind.SUPPORT_CORPORATION, []),
            (OrganisationKind.MUNICIPALITY, ["27"]),
        ):
            slug = f"trips-{kind.value.replace('_', '-')}"
            _, found[kind] = organisation_with_key(
                session, kind, slug=slug, name=slug, jurisdiction=jurisdiction
            )
        session.commit()
    setup.dispose()
    return found


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    parsed = make_url(database_url)
    url = parsed.set(database=f"{parsed.database}_round_trips").render_as_string(
        hide_password=False
    )
    _drop(url)
    ensure_database(url)
    migrate(url)
    organisations = _organisations(url)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("HOUSING_MATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    engine = db.get_engine()
    directory = tempfile.TemporaryDirectory()
    traced = Traced(Path(directory.name))

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: Any, record: Any) -> None:
        traced.start(dbapi_connection.pgconn)

    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield Served(
                client=client,
                traced=traced,
                center=organisations[OrganisationKind.CENTER],
                corporation=organisations[OrganisationKind.SUPPORT_CORPORATION],
                municipality=organisations[OrganisationKind.MUNICIPALITY],
            )
    finally:
        engine.dispose()
        traced.close()
        directory.cleanup()
        monkeypatch.undo()
        get_settings.cache_clear()
        db.get_engine.cache_clear()
        db.get_sessionmaker.cache_clear()
        _drop(url)


def test_one_match_request_is_five_round_trips(served: Served) -> None:
    client = served.client
    for rent in (40_000, 45_000, 60_000):
        home(client, served.corporation, served.municipality, rent_yen=rent)
    person = create_person(
        client,
        served.center,
        places={
            "anchors": [
                {
                    "kind": "hospital",
                    "label": "通院先",
                    "location": at(north_m=300),
                    "max_distance_m": 3_000,
                    "required": True,
                }
            ]
        },
    )
    for _ in range(WARM_UP_REQUESTS):
        matches(client, served.center, person, limit=20)

    for _ in range(3):
        before = served.traced.exchanges()
        body = matches(client, served.center, person, limit=20)
        assert served.traced.exchanges() - before == MATCH_ROUND_TRIPS
        assert body["candidate_count"] == 2


def test_no_round_trip_checks_the_connection_apart_from_begin(served: Served) -> None:
    """SQLAlchemy's pre-ping would send a statement of its own at each check-out (``;`` or
    ``SELECT 1``) and psycopg a ``BEGIN`` after it; the check-out's ``BEGIN`` is both."""
    person = create_person(served.client, served.center)
    before = len(served.traced.messages())
    matches(served.client, served.center, person)
    sent = [
        contents
        for direction, kind, contents in map(_message, served.traced.messages()[before:])
        if (direction, kind) == ("F", "Query")
    ]
    assert sent == ['"BEGIN"', '"COMMIT"'], sent
