"""API keys: random, shown once, stored hashed, revocable; tenants never see each other."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from housing_match.models import ApiKey, OrganisationKind
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture


def test_own_organisation_is_readable(client: TestClient, center: OrgFixture) -> None:
    response = client.get("/v1/organisations/me", headers=center.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(center.id)
    assert body["kind"] == "center"
    assert body["kind_label_ja"] == "地域生活定着支援センター"


def test_key_is_stored_only_as_a_hash(session: Session, center: OrgFixture) -> None:
    stored = session.scalars(select(ApiKey).where(ApiKey.id == center.api_key_id)).one()
    assert stored.key_hash != center.key
    assert center.key not in stored.key_hash
    assert center.key.startswith(stored.prefix)
    dump = session.execute(text("SELECT row_to_json(api_keys)::text FROM api_keys")).scalars()
    assert all(center.key not in row for row in dump)


def test_keys_are_random_and_long(make_organisation: MakeOrganisation) -> None:
    keys = {make_organisation(OrganisationKind.CENTER).key for _ in range(5)}
    assert len(keys) == 5
    assert all(len(key) >= 40 for key in keys)


def test_new_key_is_shown_once(client: TestClient, center: OrgFixture, make_user: MakeUser) -> None:
    manager = make_user(center)
    created = client.post(
        f"/v1/organisations/{center.id}/api-keys", json={"label": "laptop"}, headers=manager.headers
    )
    assert created.status_code == 201
    secret = created.json()["key"]
    assert client.get(
        "/v1/organisations/me", headers={"Authorization": f"Bearer {secret}"}
    ).is_success
    listing = client.get(f"/v1/organisations/{center.id}/api-keys", headers=manager.headers)
    assert listing.status_code == 200
    assert len(listing.json()) == 2
    assert secret not in listing.text
    assert all("key" not in item for item in listing.json())


def test_revoked_key_is_refused(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(center)
    created = client.post(
        f"/v1/organisations/{center.id}/api-keys", json={}, headers=manager.headers
    )
    secret, key_id = created.json()["key"], created.json()["id"]
    revoked = client.delete(f"/v1/api-keys/{key_id}", headers=manager.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = client.get("/v1/organisations/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert client.get("/v1/organisations/me", headers=center.headers).status_code == 200


def test_another_tenants_objects_are_404(
    client: TestClient, make_organisation: MakeOrganisation, make_user: MakeUser
) -> None:
    mine = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    theirs = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    my_manager = make_user(mine)
    for path in (f"/v1/organisations/{theirs.id}", f"/v1/organisations/{theirs.id}/api-keys"):
        response = client.get(path, headers=my_manager.headers)
        assert response.status_code == 404, path
        assert str(theirs.id) not in response.json().get("detail", "")
    assert client.get(f"/v1/organisations/{theirs.id}", headers=mine.headers).status_code == 404
    assert (
        client.post(
            f"/v1/organisations/{theirs.id}/api-keys", json={}, headers=my_manager.headers
        ).status_code
        == 404
    )
    # Revoking another's key looks exactly like revoking a key that does not exist.
    assert (
        client.delete(f"/v1/api-keys/{theirs.api_key_id}", headers=my_manager.headers).status_code
        == 404
    )
    assert client.get("/v1/organisations/me", headers=theirs.headers).status_code == 200


def test_admin_sees_every_organisation(
    client: TestClient, admin: OrgFixture, center: OrgFixture, corporation: OrgFixture
) -> None:
    response = client.get("/v1/organisations", headers=admin.headers)
    assert response.status_code == 200
    slugs = {item["slug"] for item in response.json()}
    assert {center.slug, corporation.slug} <= slugs
    assert client.get(f"/v1/organisations/{center.id}", headers=admin.headers).status_code == 200


def test_admin_creates_municipality_with_jurisdiction(
    client: TestClient, admin: OrgFixture
) -> None:
    response = client.post(
        "/v1/organisations",
        json={
            "kind": "municipality",
            "slug": "otsu-city",
            "name": "大津市 住宅課",
            "jurisdiction_codes": ["252018"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["jurisdiction_codes"] == ["252018"]


def test_jurisdiction_codes_are_checked(client: TestClient, admin: OrgFixture) -> None:
    base = {"kind": "municipality", "slug": "bad-codes", "name": "x"}
    for codes in (["252017"], ["48"], ["1234"], []):
        response = client.post(
            "/v1/organisations", json={**base, "jurisdiction_codes": codes}, headers=admin.headers
        )
        assert response.status_code == 422, codes
    center_with_codes = {"kind": "center", "slug": "c", "name": "x", "jurisdiction_codes": ["27"]}
    response = client.post("/v1/organisations", json=center_with_codes, headers=admin.headers)
    assert response.status_code == 422


def test_only_admins_create_organisations(
    client: TestClient, municipality: OrgFixture, corporation: OrgFixture
) -> None:
    payload = {"kind": "admin", "slug": "sneaky", "name": "x"}
    for caller in (municipality, corporation):
        assert (
            client.post("/v1/organisations", json=payload, headers=caller.headers).status_code
            == 403
        )
