"""Twenty centers' staff press "refer" on one vacancy at the same moment: exactly one wins.

The usual fixture runs each test inside one rolled-back transaction, which cannot show what
concurrent transactions do. These tests run on their own database (this worker's test database
name + ``_race``), built by the migrations, where every request commits on its own connection
as in production; the database is dropped at the end, so the append-only history needs no
cleaning and no other test sees these rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from housing_match.app import create_app
from housing_match.db import get_session, make_engine
from housing_match.dbadmin import ensure_database, migrate
from housing_match.models import (
    OrganisationKind,
    OutboxEvent,
    Referral,
    ReferralEvent,
    Vacancy,
)
from tests.conftest import OrgFixture, organisation_with_key
from tests.matching.factories import home, person_payload

RACERS = 20


def _drop(url: str) -> None:
    parsed = make_url(url)
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(parsed.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()


@dataclass(frozen=True)
class Race:
    engine: Engine
    app: FastAPI
    center: OrgFixture
    corporation: OrgFixture
    municipality: OrgFixture


@pytest.fixture(scope="module")
def race(database_url: str) -> Iterator[Race]:
    parsed = make_url(database_url)
    url = parsed.set(database=f"{parsed.database}_race").render_as_string(hide_password=False)
    _drop(url)
    ensure_database(url)
    migrate(url)
    # No pool: every session is its own connection, as concurrent requests are.
    engine = make_engine(url, poolclass=NullPool)
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)

    def committed_session() -> Iterator[Session]:
        with factory() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    app = create_app()
    app.dependency_overrides[get_session] = committed_session
    orgs: dict[OrganisationKind, OrgFixture] = {}
    with factory() as session:
        for kind, jurisdiction in (
            (OrganisationKind.CENTER, []),
            (OrganisationKind.SUPPORT_CORPORATION, []),
            (OrganisationKind.MUNICIPALITY, ["27"]),
        ):
            slug = f"race-{kind.value.replace('_', '-')}"
            _, orgs[kind] = organisation_with_key(
                session, kind, slug=slug, name=slug, jurisdiction=jurisdiction
            )
        session.commit()
    try:
        yield Race(
            engine=engine,
            app=app,
            center=orgs[OrganisationKind.CENTER],
            corporation=orgs[OrganisationKind.SUPPORT_CORPORATION],
            municipality=orgs[OrganisationKind.MUNICIPALITY],
        )
    finally:
        engine.dispose()
        _drop(url)


def _persons(client: TestClient, center: OrgFixture, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = client.post("/v1/persons", json=person_payload(), headers=center.headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _stampede(race: Race, vacancy_id: str, person_ids: list[str]) -> list[Any]:
    """Every person referred to the vacancy at once, each from its own thread and client."""
    barrier = threading.Barrier(len(person_ids))
    responses: list[Any] = [None] * len(person_ids)

    def refer(index: int, person_id: str) -> None:
        client = TestClient(race.app, raise_server_exceptions=False)
        barrier.wait(timeout=30)
        responses[index] = client.post(
            "/v1/referrals",
            json={"person_id": person_id, "vacancy_id": vacancy_id},
            headers=race.center.headers,
        )

    threads = [
        threading.Thread(target=refer, args=(index, person_id))
        for index, person_id in enumerate(person_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(response is not None for response in responses), "a request never finished"
    return responses


def _assert_one_winner(race: Race, vacancy_id: str, responses: list[Any]) -> str:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (len(responses) - 1), [r.text for r in responses]
    winner = next(response.json() for response in responses if response.status_code == 201)
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["hold_expires_at"] is not None
    with Session(race.engine) as session:
        holders = session.scalar(
            select(func.count()).where(Referral.vacancy_id == vacancy_id, Referral.holding)
        )
        created = session.scalar(
            select(func.count()).where(
                OutboxEvent.event_type == "referral.created",
                OutboxEvent.referral_id == winner["id"],
            )
        )
        status = session.scalar(select(Vacancy.status).where(Vacancy.id == vacancy_id))
    assert holders == 1
    assert created == 1
    assert status == "held"
    winner_id: str = winner["id"]
    return winner_id


def test_twenty_concurrent_referrals_one_wins(race: Race) -> None:
    setup = TestClient(race.app, raise_server_exceptions=False)
    _, vacancy_id = home(setup, race.corporation, race.municipality)
    persons = _persons(setup, race.center, RACERS)

    responses = _stampede(race, vacancy_id, persons)

    winner = _assert_one_winner(race, vacancy_id, responses)
    with Session(race.engine) as session:
        referrals = session.scalar(select(func.count()).where(Referral.vacancy_id == vacancy_id))
    assert referrals == 1
    losers = [r.json()["hold_expires_at"] for r in responses if r.status_code == 409]
    read = setup.get(f"/v1/referrals/{winner}", headers=race.center.headers).json()
    assert set(losers) == {losers[0]}
    assert read["hold_active"] is True


def test_twenty_concurrent_referrals_on_a_lapsed_hold_one_wins(race: Race) -> None:
    setup = TestClient(race.app, raise_server_exceptions=False)
    _, vacancy_id = home(setup, race.corporation, race.municipality)
    first, *persons = _persons(setup, race.center, RACERS + 1)
    lapsed = setup.post(
        "/v1/referrals",
        json={"person_id": first, "vacancy_id": vacancy_id},
        headers=race.center.headers,
    ).json()["id"]
    with Session(race.engine) as session:
        session.execute(
            update(Referral)
            .where(Referral.id == lapsed)
            .values(hold_expires_at=func.now() - text("interval '1 minute'"))
        )
        session.commit()

    responses = _stampede(race, vacancy_id, persons)

    _assert_one_winner(race, vacancy_id, responses)
    with Session(race.engine) as session:
        released = session.scalar(
            select(func.count()).where(
                ReferralEvent.referral_id == lapsed, ReferralEvent.kind == "hold_expired"
            )
        )
    assert released == 1
