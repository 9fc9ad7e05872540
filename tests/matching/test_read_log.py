"""The read log, for the center that owns the person: who read what and when, paged, with
other organisations' refused attempts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind, UserRole
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture, UserFixture
from tests.matching.factories import create_person, home, person_payload


def read_log(
    client: TestClient, center: OrgFixture | UserFixture, person_id: str, **params: Any
) -> dict[str, Any]:
    response = client.get(f"/v1/persons/{person_id}/reads", params=params, headers=center.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def every_entry(client: TestClient, center: OrgFixture, person_id: str) -> list[dict[str, Any]]:
    return list(read_log(client, center, person_id, limit=200)["items"])


def test_the_owner_reads_who_read_what_and_when(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    _, vacancy = home(client, corporation, municipality)
    person = create_person(client, center)
    client.get(f"/v1/persons/{person}", headers=center.headers)
    client.get(f"/v1/persons/{person}/matches", headers=center.headers)
    client.get(
        f"/v1/persons/{person}/matches/explain",
        params={"vacancy_id": vacancy},
        headers=center.headers,
    )
    created = client.post(
        "/v1/referrals", json={"person_id": person, "vacancy_id": vacancy}, headers=center.headers
    )
    assert created.status_code == 201, created.text
    seen = client.get(f"/v1/referrals/{created.json()['id']}", headers=corporation.headers)
    assert seen.status_code == 200

    entries = every_entry(client, center, person)
    # Newest first.
    assert [(e["purpose"], e["kind"]) for e in entries] == [
        ("referral.read", "referral"),
        ("referral.create", "referral"),
        ("person.explain", "explain"),
        ("person.matches", "matches"),
        ("person.read", "profile"),
        ("person.create", "profile"),
    ]
    read_at = [e["read_at"] for e in entries]
    assert read_at == sorted(read_at, reverse=True)
    by_corporation = entries[0]
    assert by_corporation["organisation_id"] == str(corporation.id)
    assert by_corporation["organisation_name"] == corporation.slug
    assert by_corporation["organisation_kind"] == "support_corporation"
    assert by_corporation["organisation_kind_label_ja"] == "居住支援法人"
    assert by_corporation["api_key_id"] == str(corporation.api_key_id)
    assert by_corporation["purpose_label_ja"] == "入居相談の閲覧"
    assert by_corporation["kind_label_ja"] == "入居相談"
    assert by_corporation["user_id"] is None
    assert {e["refused"] for e in entries} == {False}
    assert {e["organisation_id"] for e in entries[1:]} == {str(center.id)}
    # Reading the log is not itself a read of the person's data.
    assert len(every_entry(client, center, person)) == len(entries)


def test_the_log_is_paged_newest_first(client: TestClient, center: OrgFixture) -> None:
    person = create_person(client, center)
    for _ in range(6):
        client.get(f"/v1/persons/{person}", headers=center.headers)
    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = read_log(client, center, person, **params)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(items) for items in pages] == [3, 3, 1]
    ids = [entry["id"] for items in pages for entry in items]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 7
    assert pages[-1][-1]["purpose"] == "person.create"
    bad = client.get(f"/v1/persons/{person}/reads?cursor=nonsense", headers=center.headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_other_centers_get_404_and_their_attempts_are_recorded_as_refused(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    _, vacancy = home(client, corporation, municipality)
    person = create_person(client, center)
    other = make_organisation(OrganisationKind.CENTER, name="他県センター")
    attempts = [
        client.get(f"/v1/persons/{person}", headers=other.headers),
        client.get(f"/v1/persons/{person}/matches", headers=other.headers),
        client.get(
            f"/v1/persons/{person}/matches/explain",
            params={"vacancy_id": vacancy},
            headers=other.headers,
        ),
        client.patch(f"/v1/persons/{person}", json={"household_size": 2}, headers=other.headers),
        client.delete(f"/v1/persons/{person}", headers=other.headers),
        client.post("/v1/allocations", json={"person_ids": [person]}, headers=other.headers),
        client.post(
            "/v1/referrals",
            json={"person_id": person, "vacancy_id": vacancy},
            headers=other.headers,
        ),
        client.get(f"/v1/persons/{person}/reads", headers=other.headers),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    assert {response.headers["content-type"] for response in attempts} == {
        "application/problem+json"
    }
    # Nothing was changed or done for them.
    profile = client.get(f"/v1/persons/{person}", headers=center.headers)
    assert profile.status_code == 200
    assert profile.json()["household_size"] == 1
    assert client.get("/v1/referrals", headers=center.headers).json()["items"] == []

    refused = read_log(client, center, person, refused=True)["items"]
    assert [entry["purpose"] for entry in refused] == [
        "person.reads",
        "referral.create",
        "allocation",
        "person.delete",
        "person.update",
        "person.explain",
        "person.matches",
        "person.read",
    ]
    assert {entry["organisation_name"] for entry in refused} == {"他県センター"}
    assert {entry["organisation_kind"] for entry in refused} == {"center"}
    assert {entry["refused"] for entry in refused} == {True}
    reads = read_log(client, center, person, refused=False)["items"]
    assert [entry["purpose"] for entry in reads] == ["person.read", "person.create"]
    everything = every_entry(client, center, person)
    assert len(everything) == len(refused) + len(reads)


def test_unknown_persons_and_other_kinds(
    client: TestClient, center: OrgFixture, corporation: OrgFixture
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    response = client.get(f"/v1/persons/{missing}/reads", headers=center.headers)
    assert response.status_code == 404
    person = create_person(client, center, **person_payload())
    assert client.get(f"/v1/persons/{person}/reads", headers=corporation.headers).status_code == 403
    limit = client.get(f"/v1/persons/{person}/reads?limit=0", headers=center.headers)
    assert limit.status_code == 422


def test_a_signed_in_user_is_named_and_another_centers_user_refused(
    client: TestClient,
    center: OrgFixture,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
) -> None:
    person = create_person(client, center)
    staff = make_user(center, role=UserRole.STAFF)
    assert client.get(f"/v1/persons/{person}/matches", headers=staff.headers).status_code == 200
    outsider = make_user(make_organisation(OrganisationKind.CENTER), role=UserRole.STAFF)
    assert client.get(f"/v1/persons/{person}", headers=outsider.headers).status_code == 404

    refused, matched = read_log(client, center, person, limit=2)["items"]
    assert (matched["purpose"], matched["user_id"], matched["user_name"]) == (
        "person.matches",
        str(staff.id),
        "テスト 利用者",
    )
    assert matched["api_key_id"] is None
    assert (refused["refused"], refused["user_id"]) == (True, str(outsider.id))
    assert refused["organisation_id"] == str(outsider.organisation.id)
    # The owner's own staff read the log through their sign-in as well.
    assert read_log(client, staff, person)["items"][0]["id"] == refused["id"]
