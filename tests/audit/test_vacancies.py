"""Vacancy freshness: stale or expired postings by corporation, and the open-vacancy share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import OrganisationKind, Vacancy
from tests.audit.factories import csv_rows, get_json, osaka_dwelling, otsu_dwelling
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OTSU_CITY
from tests.registry.test_vacancies import post

PATH = "/v1/audit/vacancies"


def set_vacancy(session: Session, vacancy_id: str, **values: Any) -> None:
    session.execute(update(Vacancy).where(Vacancy.id == vacancy_id).values(**values))
    session.commit()


def posted(client: TestClient, corporation: OrgFixture, dwelling_id: str) -> str:
    response = post(client, corporation, dwelling_id)
    assert response.status_code == 201, response.text
    vacancy_id: str = response.json()["id"]
    return vacancy_id


@pytest.fixture
def postings(
    client: TestClient,
    session: Session,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> dict[str, Any]:
    """Osaka: fresh, unconfirmed for 20 days, lapsed, held and stale, replaced, none."""
    other = make_organisation(OrganisationKind.SUPPORT_CORPORATION, name="あおぞら居住支援")
    now = datetime.now(UTC)
    # Each dwelling is applied for, and so managed, by the corporation that posts on it.
    dwellings = {
        name: osaka_dwelling(
            client,
            other if name in ("LAPSED", "HELD") else corporation,
            municipality,
            name,
            east_m=100 * n,
        )
        for n, name in enumerate(("FRESH", "UNCONFIRMED", "LAPSED", "HELD", "REPLACED", "NONE"))
    }
    vacancies = {
        "FRESH": posted(client, corporation, dwellings["FRESH"]),
        "UNCONFIRMED": posted(client, corporation, dwellings["UNCONFIRMED"]),
        "LAPSED": posted(client, other, dwellings["LAPSED"]),
        "HELD": posted(client, other, dwellings["HELD"]),
        "OLD": posted(client, corporation, dwellings["REPLACED"]),
    }
    set_vacancy(session, vacancies["UNCONFIRMED"], refreshed_at=now - timedelta(days=20))
    # Past its expiry but the expiry job has not run: still "open" in the row.
    set_vacancy(
        session,
        vacancies["LAPSED"],
        refreshed_at=now - timedelta(days=31),
        expires_at=now - timedelta(days=1),
    )
    assert (
        client.patch(
            f"/v1/vacancies/{vacancies['HELD']}", json={"status": "held"}, headers=other.headers
        ).status_code
        == 200
    )
    set_vacancy(session, vacancies["HELD"], refreshed_at=now - timedelta(days=40))
    # An expired posting followed by a new one is history, not a stale listing.
    set_vacancy(session, vacancies["OLD"], status="expired", expires_at=now - timedelta(days=3))
    vacancies["NEW"] = posted(client, corporation, dwellings["REPLACED"])
    return {"dwellings": dwellings, "vacancies": vacancies, "other": other}


def test_stale_and_expired_postings_by_corporation(
    client: TestClient, municipality: OrgFixture, corporation: OrgFixture, postings: dict[str, Any]
) -> None:
    report = get_json(client, PATH, municipality)
    assert report["stale_after_days"] == 14
    vacancies = postings["vacancies"]
    items = {item["vacancy_id"]: item for item in report["items"]}
    assert set(items) == {vacancies["UNCONFIRMED"], vacancies["LAPSED"], vacancies["HELD"]}
    assert items[vacancies["UNCONFIRMED"]]["finding"] == "not_refreshed"
    assert items[vacancies["UNCONFIRMED"]]["finding_label_ja"] == "長期間未更新"
    assert items[vacancies["UNCONFIRMED"]]["days_since_refresh"] == 20
    lapsed = items[vacancies["LAPSED"]]
    assert (lapsed["finding"], lapsed["status"], lapsed["status_label_ja"]) == (
        "expired",
        "expired",
        "期限切れ",
    )
    assert items[vacancies["HELD"]]["finding"] == "not_refreshed"
    assert items[vacancies["HELD"]]["status"] == "held"
    assert lapsed["corporation_name"] == "あおぞら居住支援"

    by_corporation = {row["corporation_id"]: row for row in report["by_corporation"]}
    assert by_corporation[str(postings["other"].id)] | {"corporation_name": None} == {
        "corporation_id": str(postings["other"].id),
        "corporation_name": None,
        "current_postings": 2,
        "live": 1,
        "expired": 1,
        "not_refreshed": 1,
    }
    mine = by_corporation[str(corporation.id)]
    assert (mine["current_postings"], mine["live"], mine["expired"], mine["not_refreshed"]) == (
        3,
        3,
        0,
        1,
    )
    # Most stale first.
    assert report["by_corporation"][0]["corporation_id"] == str(postings["other"].id)


def test_open_vacancy_share(
    client: TestClient, municipality: OrgFixture, postings: dict[str, Any]
) -> None:
    share = get_json(client, PATH, municipality)["open_vacancy_share"]
    # FRESH, UNCONFIRMED and REPLACED are open and unexpired; LAPSED is past its expiry,
    # HELD is held, NONE has no vacancy.
    assert share == {"registered_dwellings": 6, "with_open_vacancy": 3, "share": 0.5}


def test_stale_after_days_is_a_parameter(
    client: TestClient, municipality: OrgFixture, postings: dict[str, Any]
) -> None:
    relaxed = get_json(client, PATH, municipality, stale_after_days=30)
    assert relaxed["stale_after_days"] == 30
    vacancies = postings["vacancies"]
    assert {item["vacancy_id"] for item in relaxed["items"]} == {
        vacancies["LAPSED"],
        vacancies["HELD"],
    }
    for bad in (0, -1, "x"):
        response = client.get(PATH, params={"stale_after_days": bad}, headers=municipality.headers)
        assert response.status_code == 422


def test_a_municipality_never_sees_another_jurisdictions_vacancies(
    client: TestClient,
    session: Session,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    admin: OrgFixture,
    postings: dict[str, Any],
) -> None:
    otsu = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    otsu_dwelling_id = otsu_dwelling(client, corporation, otsu, "OTSU-1")
    otsu_vacancy = posted(client, corporation, otsu_dwelling_id)
    set_vacancy(session, otsu_vacancy, expires_at=datetime.now(UTC) - timedelta(days=1))
    otsu_dwelling(client, corporation, otsu, "OTSU-2", east_m=200)

    osaka = get_json(client, PATH, municipality)
    assert otsu_vacancy not in {item["vacancy_id"] for item in osaka["items"]}
    assert osaka["open_vacancy_share"]["registered_dwellings"] == 6
    mine = next(r for r in osaka["by_corporation"] if r["corporation_id"] == str(corporation.id))
    assert (mine["current_postings"], mine["expired"]) == (3, 0)

    otsu_report = get_json(client, PATH, otsu)
    assert [item["vacancy_id"] for item in otsu_report["items"]] == [otsu_vacancy]
    assert otsu_report["open_vacancy_share"] == {
        "registered_dwellings": 2,
        "with_open_vacancy": 0,
        "share": 0.0,
    }
    (only,) = otsu_report["by_corporation"]
    assert (only["current_postings"], only["expired"]) == (1, 1)

    everywhere = get_json(client, PATH, admin, limit=500)
    assert otsu_vacancy in {item["vacancy_id"] for item in everywhere["items"]}
    assert everywhere["open_vacancy_share"]["registered_dwellings"] >= 8


def test_no_registered_dwellings_means_no_share(client: TestClient, admin: OrgFixture) -> None:
    # Hokkaido has nothing registered in the test database.
    report = get_json(client, PATH, admin, prefecture="01")
    assert report["open_vacancy_share"] == {
        "registered_dwellings": 0,
        "with_open_vacancy": 0,
        "share": None,
    }
    assert report["items"] == []


def test_pages_csv_and_geojson(
    client: TestClient, municipality: OrgFixture, postings: dict[str, Any]
) -> None:
    first = get_json(client, PATH, municipality, limit=2)
    second = get_json(client, PATH, municipality, limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    paged = [item["vacancy_id"] for item in first["items"] + second["items"]]
    assert len(paged) == len(set(paged)) == 3
    # Grouped by corporation name.
    names = [item["corporation_name"] for item in first["items"] + second["items"]]
    assert names == sorted(names)

    header, *rows = csv_rows(
        client.get(PATH, params={"format": "csv"}, headers=municipality.headers)
    )
    assert header[:3] == ["募集ID", "住宅ID", "登録番号"]
    assert {"居住支援法人", "判定", "最終確認日時", "掲載期限"} <= set(header)
    assert sorted(row[0] for row in rows) == sorted(paged)
    assert {row[header.index("判定")] for row in rows} == {"掲載期限切れ", "長期間未更新"}

    geojson = client.get(PATH, headers=municipality.headers | {"Accept": "application/geo+json"})
    assert geojson.headers["content-type"] == "application/geo+json"
    assert sorted(f["id"] for f in geojson.json()["features"]) == sorted(paged)
