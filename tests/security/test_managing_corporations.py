"""Managing corporations: only a support corporation that manages a dwelling posts, refreshes,
changes or withdraws its vacancies. Another corporation cannot post first and so block the
manager (one live vacancy per dwelling) nor receive referrals for a home it does not manage.
The tie is set at application, seen and corrected by the municipality whose jurisdiction
contains the dwelling, and handed over by a manager; migration 0013 backfills it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from housing_match.auth import CLI_ACTOR, Principal
from housing_match.db import make_engine
from housing_match.dbadmin import alembic_config, ensure_database, migrate
from housing_match.models import DwellingManager, Organisation, OrganisationKind, Vacancy
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from housing_match.registry import service as registry_service
from housing_match.registry.schemas import DwellingInput, DwellingManagersUpdate
from housing_match.vacancies import service as vacancies_service
from housing_match.vacancies.schemas import VacancyCreate
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OTSU_CITY, dwelling_payload
from tests.registry.test_bulk import csv_bytes, flat, post_import
from tests.registry.test_vacancies import post, registered_dwelling

FORBIDDEN = 403


def managers(client: TestClient, caller: OrgFixture, dwelling_id: str) -> Any:
    return client.get(f"/v1/dwellings/{dwelling_id}/managers", headers=caller.headers)


def replace(client: TestClient, caller: OrgFixture, dwelling_id: str, *ids: uuid.UUID | str) -> Any:
    return client.put(
        f"/v1/dwellings/{dwelling_id}/managers",
        json={"corporation_ids": [str(i) for i in ids], "reason": "管理委託契約の変更"},
        headers=caller.headers,
    )


def manager_ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {m["corporation_id"] for m in response.json()["managers"]}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def outsider(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.SUPPORT_CORPORATION, slug="outsider-corp")


@pytest.fixture
def successor(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.SUPPORT_CORPORATION, slug="successor-corp")


def test_a_corporation_without_a_tie_cannot_post_nor_block_the_manager(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, outsider: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    # The dwelling is in the public register: the outsider sees it, so 403 rather than 404.
    assert client.get(f"/v1/dwellings/{dwelling_id}", headers=outsider.headers).status_code == 200
    refused = assert_problem(post(client, outsider, dwelling_id), FORBIDDEN)
    assert "manages this dwelling" in refused["detail"]
    assert refused["dwelling_id"] == dwelling_id

    posted = post(client, corporation, dwelling_id)
    assert posted.status_code == 201, posted.text
    vacancy_id = posted.json()["id"]
    # Another's vacancy still looks like it does not exist to a change.
    refreshed = client.post(f"/v1/vacancies/{vacancy_id}/refresh", headers=outsider.headers)
    assert_problem(refreshed, 404)
    withdrawn = client.patch(
        f"/v1/vacancies/{vacancy_id}", json={"status": "withdrawn"}, headers=outsider.headers
    )
    assert_problem(withdrawn, 404)

    ok = client.post(f"/v1/vacancies/{vacancy_id}/refresh", headers=corporation.headers)
    assert ok.status_code == 200, ok.text
    ok = client.patch(
        f"/v1/vacancies/{vacancy_id}",
        json={"status": "withdrawn", "reason": "募集終了"},
        headers=corporation.headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "withdrawn"


def test_a_vacancy_posted_without_a_tie_can_no_longer_be_refreshed_or_changed(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    outsider: OrgFixture,
    session: Session,
) -> None:
    """A vacancy the outsider posted before managers were recorded (and the backfill gave the
    dwelling to its applicant): frozen for the outsider; the manager's change of the managers
    withdraws it, and the manager can post."""
    dwelling_id = registered_dwelling(client, corporation, municipality)
    stale = Vacancy(
        dwelling_id=uuid.UUID(dwelling_id),
        corporation_id=outsider.id,
        status="open",
        available_from=datetime.now(UTC).date(),
        rent_offered_yen=40000,
        expires_at=datetime.now(UTC) + timedelta(days=20),
    )
    session.add(stale)
    session.commit()

    refresh = client.post(f"/v1/vacancies/{stale.id}/refresh", headers=outsider.headers)
    assert_problem(refresh, FORBIDDEN)
    for change in ({"status": "withdrawn"}, {"status": "held"}, {"rent_offered_yen": 1}):
        assert_problem(
            client.patch(f"/v1/vacancies/{stale.id}", json=change, headers=outsider.headers),
            FORBIDDEN,
        )
    assert_problem(post(client, corporation, dwelling_id), 409)  # the stale one still blocks

    assert manager_ids(replace(client, corporation, dwelling_id, corporation.id)) == {
        str(corporation.id)
    }
    read = client.get(f"/v1/vacancies/{stale.id}", headers=corporation.headers).json()
    assert (read["status"], read["closed_reason"]) == ("withdrawn", "managing corporation changed")
    assert post(client, corporation, dwelling_id).status_code == 201


def test_the_applicant_manages_and_the_municipality_sees_and_corrects_the_tie(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    successor: OrgFixture,
    admin: OrgFixture,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    for reader in (municipality, corporation, admin):
        listed = managers(client, reader, dwelling_id)
        assert manager_ids(listed) == {str(corporation.id)}
    assert listed.json()["managers"][0]["slug"] == corporation.slug
    live = post(client, corporation, dwelling_id).json()["id"]

    corrected = replace(client, municipality, dwelling_id, successor.id)
    assert manager_ids(corrected) == {str(successor.id)}
    # The former manager's live vacancy is withdrawn, so it blocks nobody; it may post no more.
    assert client.get(f"/v1/vacancies/{live}", headers=successor.headers).json()["status"] == (
        "withdrawn"
    )
    assert_problem(post(client, corporation, dwelling_id), FORBIDDEN)
    assert_problem(managers(client, corporation, dwelling_id), FORBIDDEN)
    assert post(client, successor, dwelling_id).status_code == 201

    history = client.get(
        "/v1/history",
        params={"entity_type": "dwelling", "entity_id": dwelling_id},
        headers=admin.headers,
    ).json()["items"]
    changes = [entry for entry in history if entry["action"] == "dwelling.managers_changed"]
    assert len(changes) == 2  # the application's, then the correction
    latest = changes[0]
    assert latest["actor_organisation_id"] == str(municipality.id)
    assert latest["before"] == {"managing_corporation_ids": [str(corporation.id)]}
    assert latest["after"] == {
        "managing_corporation_ids": [str(successor.id)],
        "reason": "管理委託契約の変更",
    }
    assert changes[1]["before"] is None


def test_a_current_manager_hands_over_and_then_holds_no_say(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    successor: OrgFixture,
    outsider: OrgFixture,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    shared = replace(client, corporation, dwelling_id, corporation.id, successor.id)
    assert manager_ids(shared) == {str(corporation.id), str(successor.id)}
    # Both manage it: either may post (one live vacancy at a time).
    vacancy = post(client, successor, dwelling_id)
    assert vacancy.status_code == 201, vacancy.text

    handed = replace(client, corporation, dwelling_id, successor.id)
    assert manager_ids(handed) == {str(successor.id)}
    # The successor's vacancy is kept.
    read = client.get(f"/v1/vacancies/{vacancy.json()['id']}", headers=successor.headers)
    assert read.json()["status"] == "open"
    assert_problem(replace(client, corporation, dwelling_id, corporation.id), FORBIDDEN)
    assert_problem(replace(client, outsider, dwelling_id, outsider.id), FORBIDDEN)
    assert manager_ids(managers(client, successor, dwelling_id)) == {str(successor.id)}


def test_an_outside_municipality_or_another_organisation_can_neither_see_nor_change(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    outsider: OrgFixture,
    center: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    otsu = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    dwelling_id = registered_dwelling(client, corporation, municipality)
    for caller in (otsu, outsider, center):
        assert_problem(managers(client, caller, dwelling_id), FORBIDDEN)
        assert_problem(replace(client, caller, dwelling_id, outsider.id), FORBIDDEN)
    assert manager_ids(managers(client, municipality, dwelling_id)) == {str(corporation.id)}

    # An application is not public: to another corporation it does not exist.
    applied = client.post(
        "/v1/dwellings",
        json=dwelling_payload(registration_number="APPLIED-1"),
        headers=corporation.headers,
    ).json()["id"]
    assert_problem(managers(client, outsider, applied), 404)
    assert_problem(replace(client, outsider, applied, outsider.id), 404)
    assert_problem(managers(client, municipality, str(uuid.uuid4())), 404)


def test_the_managers_must_be_one_or_more_distinct_support_corporations(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    center: OrgFixture,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    path = f"/v1/dwellings/{dwelling_id}/managers"
    empty = client.put(
        path, json={"corporation_ids": [], "reason": "誤り"}, headers=municipality.headers
    )
    assert assert_problem(empty, 422)["errors"][0]["location"] == "body.corporation_ids"
    twice = replace(client, municipality, dwelling_id, corporation.id, corporation.id)
    assert_problem(twice, 422)
    no_reason = client.put(
        path, json={"corporation_ids": [str(corporation.id)]}, headers=municipality.headers
    )
    assert_problem(no_reason, 422)

    wrong = replace(client, municipality, dwelling_id, corporation.id, center.id, uuid.uuid4())
    problem = assert_problem(wrong, 422)
    assert [e["location"] for e in problem["errors"]] == [
        "body.corporation_ids.1",
        "body.corporation_ids.2",
    ]
    assert {e["type"] for e in problem["errors"]} == {"not_a_support_corporation"}
    # Nothing changed.
    assert manager_ids(managers(client, municipality, dwelling_id)) == {str(corporation.id)}


def test_a_dwelling_the_municipality_registers_has_no_manager_until_named(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, municipality, municipality)
    assert manager_ids(managers(client, municipality, dwelling_id)) == set()
    assert_problem(post(client, corporation, dwelling_id), FORBIDDEN)
    assert manager_ids(replace(client, municipality, dwelling_id, corporation.id)) == {
        str(corporation.id)
    }
    assert post(client, corporation, dwelling_id).status_code == 201

    # A deregistered dwelling's managers are history.
    deregistered = client.post(
        f"/v1/dwellings/{dwelling_id}/deregister",
        json={"reason": "大家の申出"},
        headers=municipality.headers,
    )
    assert deregistered.status_code == 200, deregistered.text
    assert_problem(replace(client, municipality, dwelling_id, corporation.id), 409)


def test_a_corporations_bulk_applications_make_it_their_manager(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, session: Session
) -> None:
    report = post_import(client, corporation, csv_bytes([flat("B-1"), flat("B-2")])).json()
    assert report["accepted"] == 2, report
    ids = [uuid.UUID(row["dwelling_id"]) for row in report["rows"]]
    rows = session.execute(
        select(DwellingManager.dwelling_id, DwellingManager.corporation_id).where(
            DwellingManager.dwelling_id.in_(ids)
        )
    ).all()
    assert sorted(rows) == sorted((i, corporation.id) for i in ids)
    # A municipality's import registers homes without managers: it names them afterwards.
    registered = post_import(client, municipality, csv_bytes([flat("M-1")])).json()
    assert registered["accepted"] == 1, registered
    municipal = uuid.UUID(registered["rows"][0]["dwelling_id"])
    assert (
        session.scalar(
            select(DwellingManager.corporation_id).where(DwellingManager.dwelling_id == municipal)
        )
        is None
    )


# --- migration 0013: the backfill --------------------------------------------------------------


@pytest.fixture
def before_0013(database_url: str) -> Iterator[str]:
    url = make_url(database_url)
    name = f"{url.database}_m0013"
    scratch = url.set(database=name).render_as_string(hide_password=False)
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with maintenance.connect() as connection:
        connection.execute(drop)
    ensure_database(scratch)
    migrate(scratch, "0012")
    try:
        yield scratch
    finally:
        with maintenance.connect() as connection:
            connection.execute(drop)
        maintenance.dispose()


def _organisation(connection: Connection, slug: str, kind: str) -> uuid.UUID:
    codes = "{271004}" if kind == "municipality" else "{}"
    organisation: uuid.UUID = connection.execute(
        text(
            "INSERT INTO organisations (slug, name, kind, jurisdiction_codes, totp_required) "
            "VALUES (:slug, :name, :kind, CAST(:codes AS varchar[]), true) RETURNING id"
        ),
        {"slug": slug, "name": slug, "kind": kind, "codes": codes},
    ).scalar_one()
    return organisation


def _dwelling(
    connection: Connection, number: str, authority: uuid.UUID, applicant: uuid.UUID
) -> uuid.UUID:
    dwelling: uuid.UUID = connection.execute(
        text(
            """
            INSERT INTO dwellings (authority_id, applicant_id, registration_number, status,
                registration_class, kind, address, municipality_code, location, floor_area_m2,
                floor, floors_total, has_elevator, step_free_entrance, wheelchair_accessible,
                kitchen, toilet, storage, bath, washbasin, is_existing_building,
                seismic_evidence, rent_yen, common_fee_yen, deposit_yen, key_money_yen,
                accepts_all_categories, pets_allowed, smoking_allowed, standards_compliant)
            VALUES (:authority, :applicant, :number, 'registered', 'registered', 'ordinary',
                '大阪市', '271004', 'SRID=4326;POINT(135.4959 34.7025)', 30, 1, 5, false, true,
                false, 'in_unit', 'in_unit', 'in_unit', 'in_unit', 'in_unit', true, 'none',
                40000, 0, 0, 0, true, false, false, true)
            RETURNING id
            """
        ),
        {"authority": authority, "applicant": applicant, "number": number},
    ).scalar_one()
    return dwelling


def _vacancy(
    connection: Connection, dwelling: uuid.UUID, corporation: uuid.UUID, status: str
) -> None:
    connection.execute(
        text(
            "INSERT INTO vacancies (dwelling_id, corporation_id, status, available_from, "
            "rent_offered_yen, common_fee_offered_yen, expires_at) VALUES (:dwelling, :org, "
            ":status, current_date, 40000, 0, now() + interval '20 days')"
        ),
        {"dwelling": dwelling, "org": corporation, "status": status},
    )


def test_migration_backfills_the_applicant_else_the_posting_corporations(
    before_0013: str,
) -> None:
    engine = create_engine(before_0013)
    with engine.begin() as connection:
        city = _organisation(connection, "osaka-city", "municipality")
        applicant, poster, other = (
            _organisation(connection, slug, "support_corporation")
            for slug in ("applicant-corp", "poster-corp", "other-corp")
        )
        dwellings = {
            # The applicant manages; a stranger's vacancy gives the stranger nothing.
            "applied-by-corporation": _dwelling(connection, "A-1", city, applicant),
            # Registered by the city: whoever posted its vacancies, live or closed.
            "posted-by-two": _dwelling(connection, "A-2", city, city),
            "never-posted": _dwelling(connection, "A-3", city, city),
            # A vacancy row of a non-corporation (no such row can come from the API).
            "posted-by-city": _dwelling(connection, "A-4", city, city),
        }
        _vacancy(connection, dwellings["applied-by-corporation"], poster, "open")
        _vacancy(connection, dwellings["posted-by-two"], poster, "let")
        _vacancy(connection, dwellings["posted-by-two"], poster, "withdrawn")
        _vacancy(connection, dwellings["posted-by-two"], other, "open")
        _vacancy(connection, dwellings["posted-by-city"], city, "expired")

    migrate(before_0013, "head")

    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT dwelling_id, corporation_id FROM dwelling_managers")
        ).all()
        history = connection.execute(
            text(
                "SELECT entity_id, channel, action, before, after FROM history "
                "WHERE action = 'dwelling.managers_changed'"
            )
        ).all()
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for dwelling, corporation in stored:
        found.setdefault(dwelling, set()).add(corporation)
    assert found == {
        dwellings["applied-by-corporation"]: {applicant},
        dwellings["posted-by-two"]: {poster, other},
    }
    logged = {uuid.UUID(row[0]): row[1:] for row in history}
    assert set(logged) == set(found)
    channel, action, before, after = logged[dwellings["posted-by-two"]]
    assert (channel, action, before) == ("migration", "dwelling.managers_changed", None)
    assert after == {
        "managing_corporation_ids": sorted(str(c) for c in (poster, other)),
        "backfilled_from": "vacancies",
    }
    assert logged[dwellings["applied-by-corporation"]][3]["backfilled_from"] == "applicant"

    command.downgrade(alembic_config(before_0013), "0012")
    migrate(before_0013, "head")
    engine.dispose()


# --- a change of the managers while a vacancy is being posted ---------------------------------


@pytest.fixture
def race_database(database_url: str) -> Iterator[str]:
    """A database of its own where each transaction commits, as in production."""
    url = make_url(database_url)
    name = f"{url.database}_managers_race"
    scratch = url.set(database=name).render_as_string(hide_password=False)
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with maintenance.connect() as connection:
        connection.execute(drop)
    ensure_database(scratch)
    migrate(scratch)
    try:
        yield scratch
    finally:
        with maintenance.connect() as connection:
            connection.execute(drop)
        maintenance.dispose()


def _principal(organisation: Organisation) -> Principal:
    return Principal(
        organisation_id=organisation.id,
        organisation_slug=organisation.slug,
        kind=OrganisationKind(organisation.kind),
        api_key_id=None,
        jurisdiction_codes=tuple(organisation.jurisdiction_codes),
    )


def test_a_tie_removed_while_its_vacancy_is_posted_withdraws_that_vacancy(
    race_database: str,
) -> None:
    engine = make_engine(race_database, pool_size=3)
    make_session = sessionmaker(engine, expire_on_commit=False)
    with make_session() as session:
        city, manager, successor = (
            create_organisation(
                session,
                CLI_ACTOR,
                OrganisationCreate(kind=kind, slug=slug, name=slug, jurisdiction_codes=list(codes)),
            )
            for kind, slug, codes in (
                (OrganisationKind.MUNICIPALITY, "race-city", ("271004",)),
                (OrganisationKind.SUPPORT_CORPORATION, "race-manager", ()),
                (OrganisationKind.SUPPORT_CORPORATION, "race-successor", ()),
            )
        )
        dwelling, _ = registry_service.submit_application(
            session, _principal(manager), DwellingInput.model_validate(dwelling_payload())
        )
        registry_service.approve(session, _principal(city), dwelling.id)
        session.commit()

    posting = make_session()
    vacancy = vacancies_service.post_vacancy(
        posting,
        _principal(manager),
        VacancyCreate(
            dwelling_id=dwelling.id, available_from=datetime.now(UTC).date(), rent_offered_yen=1
        ),
    )

    def hand_over() -> None:
        with make_session() as session:
            registry_service.replace_managers(
                session,
                _principal(city),
                dwelling.id,
                DwellingManagersUpdate(corporation_ids=[successor.id], reason="是正"),
            )
            session.commit()

    changing = threading.Thread(target=hand_over)
    changing.start()
    changing.join(timeout=1.0)
    assert changing.is_alive(), "the change of managers must wait for the posting"
    posting.commit()
    posting.close()
    changing.join(timeout=30)
    assert not changing.is_alive()

    with make_session() as session:
        stored = session.get(Vacancy, vacancy.id)
        assert stored is not None
        assert (stored.status, stored.closed_reason) == (
            "withdrawn",
            "managing corporation changed",
        )
        managing = session.scalars(
            select(DwellingManager.corporation_id).where(DwellingManager.dwelling_id == dwelling.id)
        ).all()
        assert managing == [successor.id]
    engine.dispose()
