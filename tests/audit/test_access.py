"""Who may audit what: municipalities their own jurisdiction, admins any part of the country."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, OTSU_CITY, SAKAI_CITY

REPORTS = (
    "/v1/audit/registrations",
    "/v1/audit/rent-balance",
    "/v1/audit/vacancies",
    "/v1/audit/unmet-demand",
)


@pytest.mark.parametrize("path", REPORTS)
def test_centers_and_corporations_are_refused(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, path: str
) -> None:
    for caller in (center, corporation):
        response = client.get(path, headers=caller.headers)
        assert response.status_code == 403, (path, caller.kind)
        assert response.headers["content-type"] == "application/problem+json"
    # Nor can an export slip past the role check.
    response = client.get(path, params={"format": "csv"}, headers=center.headers)
    assert response.status_code == 403


@pytest.mark.parametrize("path", REPORTS)
def test_anonymous_is_401(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", REPORTS)
def test_municipality_cannot_reach_outside_its_jurisdiction(
    client: TestClient, municipality: OrgFixture, path: str
) -> None:
    for params in ({"municipality_code": OTSU_CITY}, {"prefecture": "25"}):
        response = client.get(path, params=params, headers=municipality.headers)
        assert response.status_code == 403, params
    own = client.get(path, params={"municipality_code": OSAKA_CITY}, headers=municipality.headers)
    assert own.status_code == 200
    assert own.json()["scope"]["jurisdiction_codes"] == [OSAKA_CITY]


@pytest.mark.parametrize("path", REPORTS)
def test_default_scope_is_the_callers_jurisdiction_or_the_country(
    client: TestClient, municipality: OrgFixture, admin: OrgFixture, path: str
) -> None:
    assert client.get(path, headers=municipality.headers).json()["scope"] == {
        "jurisdiction_codes": [OSAKA_CITY]
    }
    assert client.get(path, headers=admin.headers).json()["scope"] == {"jurisdiction_codes": None}
    narrowed = client.get(path, params={"prefecture": "27"}, headers=admin.headers).json()
    assert narrowed["scope"] == {"jurisdiction_codes": ["27"]}


def test_prefecture_section_may_narrow_to_a_city_and_a_city_to_its_part(
    client: TestClient, make_organisation: MakeOrganisation
) -> None:
    osaka_prefecture = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))
    response = client.get(
        "/v1/audit/registrations",
        params={"municipality_code": SAKAI_CITY},
        headers=osaka_prefecture.headers,
    )
    assert response.json()["scope"] == {"jurisdiction_codes": [SAKAI_CITY]}
    two_cities = make_organisation(
        OrganisationKind.MUNICIPALITY, jurisdiction=(OSAKA_CITY, OTSU_CITY)
    )
    response = client.get(
        "/v1/audit/registrations", params={"prefecture": "25"}, headers=two_cities.headers
    )
    assert response.json()["scope"] == {"jurisdiction_codes": [OTSU_CITY]}


def test_filters_are_validated(client: TestClient, admin: OrgFixture) -> None:
    path = "/v1/audit/registrations"
    bad_check_digit = client.get(
        path, params={"municipality_code": "271005"}, headers=admin.headers
    )
    assert bad_check_digit.status_code == 422
    assert client.get(path, params={"prefecture": "48"}, headers=admin.headers).status_code == 422
    mismatch = client.get(
        path, params={"municipality_code": OSAKA_CITY, "prefecture": "25"}, headers=admin.headers
    )
    assert mismatch.status_code == 422
    assert client.get(path, params={"format": "xlsx"}, headers=admin.headers).status_code == 422
    assert client.get(path, params={"cursor": "nonsense"}, headers=admin.headers).status_code == 400
    assert client.get(path, params={"limit": 0}, headers=admin.headers).status_code == 422
