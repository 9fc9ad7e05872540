"""match_listings follows the registry through its triggers, and the match query uses indexes."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from housing_match.matching.repository import (
    AnchorCriterion,
    MatchCriteria,
    MatchRepository,
    ZoneCriterion,
)
from housing_match.matching.rules import Factor
from housing_match.models import MatchListing
from tests.conftest import OrgFixture
from tests.matching.factories import LAT, LON, home
from tests.registry.factories import OSAKA_CITY, dwelling_payload, shared_house_payload


def listing(session: Session, vacancy_id: str) -> MatchListing | None:
    session.expire_all()
    return session.scalars(
        select(MatchListing).where(MatchListing.vacancy_id == uuid.UUID(vacancy_id))
    ).first()


def test_an_open_vacancy_is_listed_with_what_the_matcher_needs(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    shared = {
        k: v
        for k, v in shared_house_payload(capacity=3).items()
        if k in {"kind", "floor_area_m2", "shared_house", "facilities"}
    }
    shared["shared_house"]["room_areas_m2"] = ["9.50", "12.00", "10.00"]
    dwelling_id, vacancy_id = home(
        client,
        corporation,
        municipality,
        rent_yen=30_000,
        common_fee_yen=4_000,
        required_risks=[{"risk_kind": "watch_over", "whole_tenancy": True}],
        residential_support={
            "certifying_municipality_code": OSAKA_CITY,
            "daily_safety_check": True,
            "monthly_visit": False,
            "connections": [],
        },
        vacancy={
            "covered_risks": [
                {"risk_kind": "watch_over", "whole_tenancy": False},
                {"risk_kind": "estate_disposal", "whole_tenancy": True},
            ]
        },
        **shared,
    )
    row = listing(session, vacancy_id)
    assert row is not None
    assert str(row.dwelling_id) == dwelling_id
    assert row.monthly_cost_yen == 34_000
    assert row.private_area_m2 == Decimal("9.50")  # the smallest room
    assert row.municipality_code == OSAKA_CITY
    assert row.required_whole_tenancy_risks == ["watch_over"]
    # The corporation's services, then the certification's (watch-over, whole tenancy).
    assert row.covered_risks == ["estate_disposal", "watch_over", "watch_over"]
    assert row.covered_whole_tenancy_risks == ["estate_disposal", "watch_over"]
    assert row.residential_support is True


def test_listings_follow_vacancy_changes(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, vacancy_id = home(client, corporation, municipality)
    before = listing(session, vacancy_id)
    assert before is not None
    expires_at = before.expires_at
    refreshed = client.post(f"/v1/vacancies/{vacancy_id}/refresh", headers=corporation.headers)
    assert refreshed.status_code == 200
    after_refresh = listing(session, vacancy_id)
    assert after_refresh is not None
    assert after_refresh.expires_at > expires_at
    client.patch(
        f"/v1/vacancies/{vacancy_id}", json={"status": "held"}, headers=corporation.headers
    )
    assert listing(session, vacancy_id) is None
    client.patch(
        f"/v1/vacancies/{vacancy_id}",
        json={"status": "open", "rent_offered_yen": 35_000},
        headers=corporation.headers,
    )
    reopened = listing(session, vacancy_id)
    assert reopened is not None
    assert reopened.monthly_cost_yen == 35_000 + 3_000
    client.patch(f"/v1/vacancies/{vacancy_id}", json={"status": "let"}, headers=corporation.headers)
    assert listing(session, vacancy_id) is None


def test_listings_follow_dwelling_amendment_and_deregistration(
    client: TestClient, session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id, vacancy_id = home(client, corporation, municipality)
    current = client.get(f"/v1/dwellings/{dwelling_id}", headers=corporation.headers).json()
    amended = dwelling_payload(
        registration_number=current["registration_number"], pets_allowed=True, required_risks=[]
    )
    response = client.put(f"/v1/dwellings/{dwelling_id}", json=amended, headers=corporation.headers)
    assert response.status_code == 200, response.text
    row = listing(session, vacancy_id)
    assert row is not None
    assert row.pets_allowed is True
    client.post(
        f"/v1/dwellings/{dwelling_id}/deregister",
        json={"reason": "取壊し"},
        headers=municipality.headers,
    )
    assert listing(session, vacancy_id) is None


def _fill(session: Session, authority: OrgFixture, corporation: OrgFixture, count: int) -> None:
    """A few thousand registered dwellings around Osaka, a third with an open vacancy."""
    session.execute(
        text(
            """
            INSERT INTO dwellings (authority_id, applicant_id, registration_number, status,
                registration_class, kind, address, municipality_code, location, floor_area_m2,
                floor, floors_total, has_elevator, step_free_entrance, wheelchair_accessible,
                kitchen, toilet, storage, bath, washbasin, is_existing_building, seismic_evidence,
                rent_yen, common_fee_yen, deposit_yen, key_money_yen, accepts_all_categories,
                pets_allowed, smoking_allowed)
            SELECT :authority, :corporation, 'X-' || g, 'registered', 'registered', 'ordinary',
                '大阪市', CASE WHEN g % 3 = 0 THEN '271403' ELSE '271004' END,
                ST_SetSRID(ST_MakePoint(:lon + (random() - 0.5) * 0.3,
                                        :lat + (random() - 0.5) * 0.3), 4326)::geography,
                20 + g % 15, 1, 3, false, true, false, 'in_unit', 'in_unit', 'in_unit',
                'in_unit', 'in_unit', true, 'none', 30000 + (g % 30) * 1000, 0, 0, 0, true, false, false
            FROM generate_series(1, :count) AS g
            """
        ),
        {
            "authority": authority.id,
            "corporation": corporation.id,
            "lat": LAT,
            "lon": LON,
            "count": count,
        },
    )
    session.execute(
        text(
            """
            INSERT INTO vacancies (dwelling_id, corporation_id, status, available_from,
                rent_offered_yen, common_fee_offered_yen, expires_at)
            SELECT id, :corporation, 'open', current_date, rent_yen, 0, now() + interval '20 days'
            FROM dwellings WHERE registration_number LIKE 'X-%' AND random() < 0.34
            """
        ),
        {"corporation": corporation.id},
    )
    # As a live database's autovacuum would have it, and as the bench does after its load.
    for table in ("match_listings", "vacancies", "dwellings"):
        session.execute(text(f"ANALYZE {table}"))


def test_the_match_query_uses_the_indexes(
    session: Session, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _fill(session, municipality, corporation, 6_000)
    criteria = MatchCriteria(
        home_municipality_code="472018",  # Naha: no listing there, so only the anchor reaches
        household_size=1,
        categories=("elderly",),
        rent_ceiling_yen=45_000,
        anchors=(AnchorCriterion(f"SRID=4326;POINT({LON} {LAT})", 1_500, True),),
        exclusion_zones=(ZoneCriterion(f"SRID=4326;POINT({LON + 0.01} {LAT})", 300),),
        weights=dict.fromkeys(Factor, 1.0),
    )
    repository = MatchRepository(session)
    statement, _ = repository.match_statement(criteria, limit=20)
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    connection = session.connection()
    plan = "\n".join(
        row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    )
    assert "Seq Scan" not in plan, plan
    assert "idx_match_listings_location" in plan, plan
    assert "ix_match_listings_municipality_code" in plan, plan
    outcome = repository.match(criteria, limit=20)
    assert (
        0 < outcome.counts.considered < 1_000
    )  # ~1,500 m around Osaka station, not 2,000 listings
    assert outcome.rows
