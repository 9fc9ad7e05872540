"""Vacancies: posted by corporations on registered dwellings, fresh or expired, owner-only changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from housing_match import db
from housing_match.cli import app as cli_app
from housing_match.models import OrganisationKind, Vacancy
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import dwelling_payload


def registered_dwelling(
    client: TestClient, applicant: OrgFixture, authority: OrgFixture, **overrides: Any
) -> str:
    created = client.post(
        "/v1/dwellings", json=dwelling_payload(**overrides), headers=applicant.headers
    )
    assert created.status_code == 201, created.text
    dwelling_id: str = created.json()["id"]
    approved = client.post(f"/v1/dwellings/{dwelling_id}/approve", headers=authority.headers)
    assert approved.status_code == 200, approved.text
    return dwelling_id


def post(client: TestClient, corporation: OrgFixture, dwelling_id: str, **extra: Any) -> Any:
    body = {"dwelling_id": dwelling_id, "available_from": "2026-12-01", "rent_offered_yen": 40000}
    return client.post("/v1/vacancies", json=body | extra, headers=corporation.headers)


def backdate_expiry(session: Session, vacancy_id: str) -> None:
    session.execute(
        update(Vacancy)
        .where(Vacancy.id == vacancy_id)
        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    session.commit()


def test_post_and_read_open_vacancy(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    response = post(
        client,
        corporation,
        dwelling_id,
        covered_risks=[{"risk_kind": "watch_over", "whole_tenancy": True}],
    )
    assert response.status_code == 201, response.text
    vacancy = response.json()
    assert vacancy["status"] == "open"
    assert vacancy["status_label_ja"] == "募集中"
    assert vacancy["covered_risks"] == [{"risk_kind": "watch_over", "whole_tenancy": True}]
    expires = datetime.fromisoformat(vacancy["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    read = client.get(f"/v1/vacancies/{vacancy['id']}", headers=center.headers).json()
    assert read["dwelling"]["id"] == dwelling_id


def test_only_registered_dwellings_take_vacancies(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    applied = client.post(
        "/v1/dwellings", json=dwelling_payload(), headers=corporation.headers
    ).json()
    assert post(client, corporation, applied["id"]).status_code == 404


def test_one_live_vacancy_per_dwelling(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    assert post(client, corporation, dwelling_id).status_code == 201
    assert post(client, corporation, dwelling_id).status_code == 409


def test_expired_vacancy_never_shows_as_open(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    vacancy_id = post(client, corporation, dwelling_id).json()["id"]
    backdate_expiry(session, vacancy_id)
    # The expiry job has not run, yet every read already says expired.
    assert (
        client.get(f"/v1/vacancies/{vacancy_id}", headers=corporation.headers).json()["status"]
        == "expired"
    )
    listed = client.get("/v1/vacancies", headers=corporation.headers).json()["items"]
    assert vacancy_id not in {item["id"] for item in listed}
    expired = client.get("/v1/vacancies", params={"status": "expired"}, headers=corporation.headers)
    assert vacancy_id in {item["id"] for item in expired.json()["items"]}
    dwellings = client.get(
        "/v1/dwellings", params={"open_vacancy": True}, headers=corporation.headers
    )
    assert dwelling_id not in {item["id"] for item in dwellings.json()["items"]}
    assert (
        client.post(f"/v1/vacancies/{vacancy_id}/refresh", headers=corporation.headers).status_code
        == 409
    )


def test_refresh_extends_expiry(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    vacancy = post(client, corporation, dwelling_id).json()
    session.execute(
        update(Vacancy)
        .where(Vacancy.id == vacancy["id"])
        .values(expires_at=datetime.now(UTC) + timedelta(days=1))
    )
    session.commit()
    refreshed = client.post(f"/v1/vacancies/{vacancy['id']}/refresh", headers=corporation.headers)
    assert refreshed.status_code == 200
    assert datetime.fromisoformat(refreshed.json()["expires_at"]) > datetime.now(UTC) + timedelta(
        days=29
    )


def test_expire_job_marks_due_vacancies(
    client: TestClient,
    session: Session,
    corporation: OrgFixture,
    municipality: OrgFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    vacancy_id = post(client, corporation, dwelling_id).json()["id"]
    backdate_expiry(session, vacancy_id)
    bound = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)
    result = CliRunner().invoke(cli_app, ["vacancies", "expire"])
    assert result.exit_code == 0, result.output
    assert int(result.stdout) >= 1
    stored = session.get(Vacancy, vacancy_id)
    assert stored is not None
    session.refresh(stored)
    assert stored.status == "expired"


def test_corporation_cannot_change_anothers_vacancy(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    vacancy_id = post(client, corporation, dwelling_id).json()["id"]
    rival = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    url = f"/v1/vacancies/{vacancy_id}"
    assert client.patch(url, json={"status": "withdrawn"}, headers=rival.headers).status_code == 404
    assert client.post(f"{url}/refresh", headers=rival.headers).status_code == 404
    assert client.get(url, headers=rival.headers).json()["status"] == "open"


def test_status_transitions(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    url = f"/v1/vacancies/{post(client, corporation, dwelling_id).json()['id']}"
    assert (
        client.patch(url, json={"status": "held"}, headers=corporation.headers).json()["status"]
        == "held"
    )
    assert (
        client.patch(url, json={"status": "open"}, headers=corporation.headers).json()["status"]
        == "open"
    )
    let = client.patch(url, json={"status": "let", "reason": "成約"}, headers=corporation.headers)
    assert let.json()["status"] == "let"
    assert (
        client.patch(url, json={"status": "open"}, headers=corporation.headers).status_code == 409
    )
    # Centers and municipalities read vacancies but never post them.
    assert post(client, center, dwelling_id).status_code == 403


def test_vacancy_search_with_the_open_vacancy_filter(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    # Found by the fuzzer: the filter's EXISTS correlated to the outer vacancy query (a 500).
    open_one = post(client, corporation, registered_dwelling(client, corporation, municipality))
    assert open_one.status_code == 201
    found = client.get("/v1/vacancies", params={"open_vacancy": "true"}, headers=center.headers)
    assert found.status_code == 200, found.text
    assert [item["id"] for item in found.json()["items"]] == [open_one.json()["id"]]


def test_an_overdue_vacancy_does_not_block_a_new_posting(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    session: Session,
) -> None:
    dwelling_id = registered_dwelling(client, corporation, municipality)
    old = post(client, corporation, dwelling_id).json()
    backdate_expiry(session, old["id"])
    other = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    shared = client.put(
        f"/v1/dwellings/{dwelling_id}/managers",
        json={"corporation_ids": [str(corporation.id), str(other.id)], "reason": "共同管理"},
        headers=corporation.headers,
    )
    assert shared.status_code == 200, shared.text
    new = post(client, other, dwelling_id)
    assert new.status_code == 201, new.text
    assert client.get(f"/v1/vacancies/{old['id']}", headers=other.headers).json()["status"] == (
        "expired"
    )
