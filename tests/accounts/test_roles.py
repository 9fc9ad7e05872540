"""Staff do the domain work; managers manage their own organisation; admins' managers all."""

from __future__ import annotations

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind, UserRole
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture


def test_staff_and_keys_cannot_manage(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation, role=UserRole.STAFF)
    manager = make_user(corporation)
    for headers in (staff.headers, corporation.headers):
        assert client.get("/v1/users", headers=headers).status_code == 403
        invite = client.post(
            "/v1/users", json={"email": "x@example.jp", "name": "x"}, headers=headers
        )
        assert invite.status_code == 403
        assert invite.headers["content-type"] == "application/problem+json"
        for action in ("deactivate", "unlock", "invitations"):
            assert (
                client.post(f"/v1/users/{manager.id}/{action}", headers=headers).status_code == 403
            )
        assert (
            client.patch(
                f"/v1/users/{manager.id}", json={"role": "staff"}, headers=headers
            ).status_code
            == 403
        )
        assert client.get("/v1/account-events", headers=headers).status_code == 403
    # Staff still do the organisation's work and can see who they are.
    me = client.get("/v1/me", headers=staff.headers)
    assert me.json()["role"] == "staff"
    assert client.get("/v1/vacancies", headers=staff.headers).status_code == 200
    # An API key is the organisation, with no user.
    key_me = client.get("/v1/me", headers=corporation.headers).json()
    assert key_me["user"] is None
    assert key_me["authenticated_by"] == "api_key"


def test_manager_changes_roles_of_their_own_organisation(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    manager = make_user(corporation)
    staff = make_user(corporation, role=UserRole.STAFF)
    promoted = client.patch(
        f"/v1/users/{staff.id}", json={"role": "manager"}, headers=manager.headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "manager"
    # The promoted user's existing session now carries the new role.
    assert client.get("/v1/users", headers=staff.headers).status_code == 200
    own = client.patch(f"/v1/users/{manager.id}", json={"role": "staff"}, headers=manager.headers)
    assert own.status_code == 409
    events = client.get(
        "/v1/account-events", params={"kind": "role_changed"}, headers=manager.headers
    ).json()["items"]
    assert events[0]["detail"] == {"from": "staff", "to": "manager"}
    assert events[0]["actor_user_id"] == str(manager.id)


def test_a_manager_of_another_organisation_sees_nothing(
    client: TestClient, make_organisation: MakeOrganisation, make_user: MakeUser
) -> None:
    mine = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    theirs = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    my_manager = make_user(mine)
    their_staff = make_user(theirs, role=UserRole.STAFF)
    for method, path in (
        ("GET", f"/v1/users/{their_staff.id}"),
        ("POST", f"/v1/users/{their_staff.id}/deactivate"),
        ("POST", f"/v1/users/{their_staff.id}/unlock"),
        ("POST", f"/v1/users/{their_staff.id}/invitations"),
        ("GET", f"/v1/users?organisation_id={theirs.id}"),
        ("GET", f"/v1/account-events?organisation_id={theirs.id}"),
        ("GET", f"/v1/account-events?user_id={their_staff.id}"),
    ):
        response = client.request(method, path, headers=my_manager.headers)
        assert response.status_code == 404, (method, path, response.text)
    invite = client.post(
        "/v1/users",
        json={"email": "spy@example.jp", "name": "x", "organisation_id": str(theirs.id)},
        headers=my_manager.headers,
    )
    assert invite.status_code == 404
    assert client.get("/v1/me", headers=their_staff.headers).json()["user"]["status"] == "active"


def test_admins_managers_manage_every_organisation(
    client: TestClient, admin: OrgFixture, corporation: OrgFixture, make_user: MakeUser
) -> None:
    admin_manager = make_user(admin)
    invited = client.post(
        "/v1/users",
        json={"email": "new@example.jp", "name": "新人", "organisation_id": str(corporation.id)},
        headers=admin_manager.headers,
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["user"]["organisation_id"] == str(corporation.id)
    listed = client.get(
        "/v1/users", params={"organisation_id": str(corporation.id)}, headers=admin_manager.headers
    )
    assert [user["email"] for user in listed.json()] == ["new@example.jp"]
    # An admin organisation's staff are not managers.
    admin_staff = make_user(admin, role=UserRole.STAFF)
    assert client.get("/v1/users", headers=admin_staff.headers).status_code == 403
