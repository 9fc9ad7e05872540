"""Local profiles by jurisdiction and date through the API, the dry-run check, rent balance."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_STATION, OTSU_CITY, dwelling_payload, offset
from tests.registry.test_vacancies import registered_dwelling

OTSU_STATION = {"latitude": 35.0036, "longitude": 135.8651}


def check(client: TestClient, caller: OrgFixture, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/standards/check", json=dwelling_payload(**overrides), headers=caller.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_dry_run_reports_violations_in_both_languages(
    client: TestClient, center: OrgFixture
) -> None:
    report = check(client, center, floor_area_m2="24.99", is_existing_building=False)
    assert report["compliant"] is False
    (violation,) = report["violations"]
    assert violation["rule_id"] == "area.ordinary"
    assert violation["measured"] == "24.99"
    assert violation["limit"] == "25"
    assert violation["message_ja"]
    assert violation["message_en"]
    assert check(client, center, floor_area_m2="25.00", is_existing_building=False)["compliant"]


def test_existing_building_relaxation_by_date(client: TestClient, center: OrgFixture) -> None:
    small = {"floor_area_m2": "20.00", "is_existing_building": True}
    assert not check(client, center, as_of="2025-09-30", **small)["compliant"]
    after = check(client, center, as_of="2025-10-01", **small)
    assert after["compliant"]
    assert after["profile"]["national_name"] == "全国基準（2025年10月改正〜）"


def test_local_profile_applies_from_its_date(
    client: TestClient, make_organisation: MakeOrganisation, center: OrgFixture
) -> None:
    otsu = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    created = client.post(
        "/v1/standards/profiles",
        json={
            "scope_code": OTSU_CITY,
            "name": "大津市供給促進計画",
            "effective_from": "2026-04-01",
            "parameters": {
                "min_area_m2": "22",
                "min_area_with_shared_facilities_m2": "17",
                "existing_min_area_m2": "22",
                "existing_min_area_with_shared_facilities_m2": "17",
                "shared_house_area_base_m2": "7",
            },
        },
        headers=otsu.headers,
    )
    assert created.status_code == 201, created.text
    unit = {
        "municipality_code": OTSU_CITY,
        "location": OTSU_STATION,
        "floor_area_m2": "23.00",
        "is_existing_building": False,
        "address": "滋賀県大津市春日町1-3",
    }
    before = check(client, center, as_of="2026-03-31", **unit)
    assert not before["compliant"]
    assert before["profile"]["local_name"] is None
    after = check(client, center, as_of="2026-04-01", **unit)
    assert after["compliant"], after
    assert after["profile"]["local_name"] == "大津市供給促進計画"
    listed = client.get(
        "/v1/standards/profiles", params={"municipality_code": OTSU_CITY}, headers=center.headers
    )
    assert {p["scope_code"] for p in listed.json()} == {"", OTSU_CITY}


def test_profiles_only_for_own_jurisdiction(
    client: TestClient, municipality: OrgFixture, corporation: OrgFixture
) -> None:
    body = {
        "scope_code": OTSU_CITY,
        "name": "x",
        "effective_from": "2026-01-01",
        "parameters": {"min_area_m2": "20"},
    }
    assert (
        client.post("/v1/standards/profiles", json=body, headers=municipality.headers).status_code
        == 403
    )
    assert (
        client.post("/v1/standards/profiles", json=body, headers=corporation.headers).status_code
        == 403
    )


def test_seismic_and_unknown_parameters_are_refused(
    client: TestClient, municipality: OrgFixture
) -> None:
    for parameters in ({"seismic_cutoff": "1990-01-01"}, {"no_such_rule": "1"}):
        response = client.post(
            "/v1/standards/profiles",
            json={
                "scope_code": "271004",
                "name": "x",
                "effective_from": "2026-01-01",
                "parameters": parameters,
            },
            headers=municipality.headers,
        )
        assert response.status_code == 422, parameters


def test_overlapping_profiles_conflict(client: TestClient, municipality: OrgFixture) -> None:
    body = {
        "scope_code": "271004",
        "name": "大阪市計画",
        "effective_from": "2026-01-01",
        "parameters": {"min_area_m2": "18"},
    }
    assert (
        client.post("/v1/standards/profiles", json=body, headers=municipality.headers).status_code
        == 201
    )
    later = body | {"effective_from": "2026-06-01"}
    assert (
        client.post("/v1/standards/profiles", json=later, headers=municipality.headers).status_code
        == 409
    )


def test_rent_balance_needs_comparables_then_flags_outliers(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    lat, lon = OSAKA_STATION
    lonely = check(client, center)
    assert lonely["rent_balance"]["comparable_count"] == 0
    assert lonely["rent_balance"]["out_of_balance"] is False
    assert "comparable" in lonely["warnings"][0]
    for index in range(5):
        registered_dwelling(
            client,
            corporation,
            municipality,
            registration_number=f"C-{index}",
            location=offset(lat, lon, east_m=100 * index),
            rent_yen=50000,
            common_fee_yen=0,
        )
    normal = check(client, center, rent_yen=52000, common_fee_yen=0)
    assert normal["rent_balance"]["comparable_count"] == 5
    assert normal["rent_balance"]["out_of_balance"] is False
    assert normal["warnings"] == []
    expensive = check(client, center, rent_yen=90000, common_fee_yen=0)
    assert expensive["rent_balance"]["out_of_balance"] is True
    assert expensive["compliant"] is True  # a warning, not a violation
    assert expensive["warnings"]


def test_check_before_the_system_existed_is_422(client: TestClient, center: OrgFixture) -> None:
    body = dwelling_payload(as_of="2010-01-01")
    response = client.post("/v1/standards/check", json=body, headers=center.headers)
    assert response.status_code == 422
    assert "2017-10-25" in response.json()["detail"]
