"""Application, approval, rejection, amendment and deregistration, and who may do each."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, SAKAI_CITY, dwelling_payload


def apply(client: TestClient, caller: OrgFixture, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/dwellings", json=dwelling_payload(**overrides), headers=caller.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_corporation_applies_and_governing_municipality_approves(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, admin: OrgFixture
) -> None:
    applied = apply(client, corporation)
    assert applied["status"] == "applied"
    assert applied["status_label_ja"] == "登録申請中"
    assert applied["authority_id"] == str(municipality.id)
    assert applied["standards_report"]["compliant"] is True
    assert applied["standards_compliant"] is True

    approved = client.post(f"/v1/dwellings/{applied['id']}/approve", headers=municipality.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "registered"
    assert approved.json()["registered_on"] is not None

    history = client.get(
        "/v1/history",
        params={"entity_type": "dwelling", "entity_id": applied["id"]},
        headers=admin.headers,
    ).json()["items"]
    # The applying corporation became the dwelling's manager with the application.
    assert [entry["action"] for entry in history] == [
        "dwelling.registered",
        "dwelling.managers_changed",
        "dwelling.applied",
    ]
    assert history[1]["after"] == {"managing_corporation_ids": [str(corporation.id)]}
    assert history[0]["before"]["status"] == "applied"
    assert history[0]["after"]["status"] == "registered"


def test_municipality_cannot_approve_outside_its_jurisdiction(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    applied = apply(client, corporation)
    sakai = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(SAKAI_CITY,))
    # Sakai cannot even see Osaka city's application.
    response = client.post(f"/v1/dwellings/{applied['id']}/approve", headers=sakai.headers)
    assert response.status_code == 404
    # Once registered (public), another municipality sees it but may not deregister it.
    client.post(f"/v1/dwellings/{applied['id']}/approve", headers=municipality.headers)
    response = client.post(
        f"/v1/dwellings/{applied['id']}/deregister", json={"reason": "x"}, headers=sakai.headers
    )
    assert response.status_code == 403


def test_prefecture_governs_its_cities(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    prefecture = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))
    applied = apply(client, corporation, authority_id=str(prefecture.id))
    assert applied["authority_id"] == str(prefecture.id)
    response = client.post(f"/v1/dwellings/{applied['id']}/approve", headers=prefecture.headers)
    assert response.status_code == 200


def test_rejection_needs_a_reason_and_is_final(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    applied = apply(client, corporation)
    url = f"/v1/dwellings/{applied['id']}"
    assert client.post(f"{url}/reject", json={}, headers=municipality.headers).status_code == 422
    rejected = client.post(
        f"{url}/reject", json={"reason": "耐震性の書類が不足"}, headers=municipality.headers
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "耐震性の書類が不足"
    assert client.post(f"{url}/approve", headers=municipality.headers).status_code == 409


def test_non_compliant_application_cannot_be_approved(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    applied = apply(client, corporation, floor_area_m2="12.00")
    assert applied["standards_report"]["compliant"] is False
    rule_ids = {v["rule_id"] for v in applied["standards_report"]["violations"]}
    assert "area.ordinary" in rule_ids
    response = client.post(f"/v1/dwellings/{applied['id']}/approve", headers=municipality.headers)
    assert response.status_code == 409
    assert response.json()["violations"][0]["message_ja"]


def test_amendment_reruns_the_check(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    applied = apply(client, corporation)
    client.post(f"/v1/dwellings/{applied['id']}/approve", headers=municipality.headers)
    url = f"/v1/dwellings/{applied['id']}"
    smaller = client.put(
        url, json=dwelling_payload(floor_area_m2="10.00"), headers=corporation.headers
    )
    assert smaller.status_code == 409
    assert client.get(url, headers=corporation.headers).json()["floor_area_m2"] == "25.00"
    cheaper = client.put(url, json=dwelling_payload(rent_yen=38000), headers=corporation.headers)
    assert cheaper.status_code == 200, cheaper.text
    assert cheaper.json()["rent_yen"] == 38000
    assert cheaper.json()["status"] == "registered"


def test_only_applicant_or_authority_amends(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    applied = apply(client, corporation)
    other = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    response = client.put(
        f"/v1/dwellings/{applied['id']}", json=dwelling_payload(), headers=other.headers
    )
    assert response.status_code == 404


def test_deregistration_withdraws_live_vacancies(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    applied = apply(client, corporation)
    client.post(f"/v1/dwellings/{applied['id']}/approve", headers=municipality.headers)
    vacancy = client.post(
        "/v1/vacancies",
        json={
            "dwelling_id": applied["id"],
            "available_from": "2026-12-01",
            "rent_offered_yen": 40000,
        },
        headers=corporation.headers,
    ).json()
    response = client.post(
        f"/v1/dwellings/{applied['id']}/deregister",
        json={"reason": "所有者の売却"},
        headers=municipality.headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "deregistered"
    assert (
        client.get(f"/v1/vacancies/{vacancy['id']}", headers=corporation.headers).json()["status"]
        == "withdrawn"
    )


def test_duplicate_registration_number_is_409(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    apply(client, corporation)
    response = client.post("/v1/dwellings", json=dwelling_payload(), headers=corporation.headers)
    assert response.status_code == 409


def test_applications_are_hidden_from_others(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, center: OrgFixture
) -> None:
    applied = apply(client, corporation)
    assert client.get(f"/v1/dwellings/{applied['id']}", headers=center.headers).status_code == 404
    assert (
        client.get(f"/v1/dwellings/{applied['id']}", headers=municipality.headers).status_code
        == 200
    )


def test_centers_cannot_apply(client: TestClient, center: OrgFixture) -> None:
    response = client.post("/v1/dwellings", json=dwelling_payload(), headers=center.headers)
    assert response.status_code == 403


def test_no_governing_municipality_is_422(client: TestClient, corporation: OrgFixture) -> None:
    response = client.post(
        "/v1/dwellings",
        json=dwelling_payload(municipality_code="131041"),
        headers=corporation.headers,
    )
    assert response.status_code == 422
    assert "131041" in response.json()["detail"]


def test_invalid_dwelling_lists_fields(client: TestClient, corporation: OrgFixture) -> None:
    payload = dwelling_payload(municipality_code="271003", rent_yen=-1)
    response = client.post("/v1/dwellings", json=payload, headers=corporation.headers)
    assert response.status_code == 422
    locations = {e["location"] for e in response.json()["errors"]}
    assert {"body.municipality_code", "body.rent_yen"} <= locations


def test_osaka_city_is_in_osaka(municipality: OrgFixture) -> None:
    assert OSAKA_CITY.startswith("27")
