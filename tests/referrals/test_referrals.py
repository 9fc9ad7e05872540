"""Making a referral: consent decides what the corporation sees, the explanation is frozen,
only the two parties see it, municipalities get counts, and every read is logged."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from housing_match.models import HistoryEntry, OrganisationKind, PersonReadLogEntry
from tests.conftest import MakeOrganisation, OrgFixture
from tests.referrals.factories import (
    FULL_CONSENT,
    act,
    open_home,
    refer,
    referred,
    rich_person,
    simple_person,
    vacancy_status,
)

# Strings of the rich person's profile that no corporation may ever receive.
NEVER_SHARED = ["こころクリニック通院", "被害者宅周辺", "reference", "exclusion_zones"]
PROFILE_GROUPS = {
    "household_size": ["household_size"],
    "categories": ["categories", "category_labels_ja"],
    "needs": ["needs"],
    "move_in_date": ["move_in_date"],
    "home_municipality": ["home_municipality_code"],
    "anchor_kinds": ["anchors"],
    "support_plan": ["support_plan"],
}


def assert_only_consented(referral: dict[str, Any], shared: list[str], reference: str) -> None:
    profile = referral["shared_profile"]
    assert profile["fields"] == sorted(shared)
    for group, keys in PROFILE_GROUPS.items():
        for key in keys:
            if group in shared:
                assert profile[key] is not None, key
            else:
                assert profile[key] is None, key
    assert referral["person_id"] is None
    assert referral["match_snapshot"] is None
    text = json.dumps(referral, ensure_ascii=False)
    for secret in [*NEVER_SHARED, reference]:
        assert secret not in text, secret
    explanation = referral["explanation"]
    factors = {factor["factor"] for factor in explanation["factors"]}
    assert "anchor_distance" not in factors
    assert "preferred_area" not in factors
    assert {"accessibility", "freshness"} <= factors
    assert ("rent_headroom" in factors) == ("needs" in shared)
    assert ("coverage_strength" in factors) == ("support_plan" in shared)
    assert ("class_fit" in factors) == ({"needs", "categories"} <= set(shared))
    assert (explanation["risks"] is not None) == ("support_plan" in shared)
    assert (explanation["anchors"] is not None) == ("anchor_kinds" in shared)
    if explanation["anchors"]:
        assert set(explanation["anchors"][0]) == {
            "kind",
            "kind_label_ja",
            "max_distance_m",
            "required",
            "within",
        }
    if "needs" not in shared:
        assert "50,000" not in text  # the rent ceiling, in any factor's detail


@pytest.mark.parametrize(
    "shared",
    [[], ["household_size"], ["needs"], ["categories", "needs"], ["support_plan"], FULL_CONSENT],
    ids=lambda shared: "+".join(shared) or "nothing",
)
def test_the_corporation_sees_only_what_was_consented(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    shared: list[str],
) -> None:
    person_id = rich_person(client, center, shared=shared)
    reference = client.get(f"/v1/persons/{person_id}", headers=center.headers).json()["reference"]
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)

    seen = client.get(f"/v1/referrals/{referral_id}", headers=corporation.headers)
    assert seen.status_code == 200, seen.text
    assert_only_consented(seen.json(), shared, reference)
    listed = client.get("/v1/referrals", headers=corporation.headers).json()["items"]
    assert [item["id"] for item in listed] == [referral_id]
    assert_only_consented(listed[0], shared, reference)


def test_full_consent_carries_the_groups_in_the_right_shape(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person_id = rich_person(client, center, shared=FULL_CONSENT)
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)
    profile = client.get(f"/v1/referrals/{referral_id}", headers=corporation.headers).json()[
        "shared_profile"
    ]
    assert profile["household_size"] == 1
    assert profile["category_labels_ja"] == ["高齢者", "矯正施設退所者"]
    assert profile["needs"]["rent_ceiling_yen"] == 50_000
    assert profile["needs"]["no_stairs"] is True
    assert profile["home_municipality_code"] == "271004"
    assert profile["anchors"] == [
        {
            "kind": "psychiatric_hospital",
            "kind_label_ja": "精神科病院（通院先）",
            "max_distance_m": 3000,
            "required": True,
        }
    ]
    assert profile["support_plan"][0]["coverer_name"] == "訪問看護ステーション"


def test_the_center_sees_the_full_frozen_snapshot(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person_id = rich_person(client, center, shared=["needs"])
    better = open_home(client, corporation, municipality, rent_yen=30_000)
    vacancy_id = open_home(client, corporation, municipality)
    matched = client.get(f"/v1/persons/{person_id}/matches", headers=center.headers).json()
    expected = next(c for c in matched["candidates"] if c["vacancy"]["id"] == vacancy_id)
    assert better in [c["vacancy"]["id"] for c in matched["candidates"]]

    created = refer(client, center, person_id, vacancy_id)
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["person_id"] == person_id
    assert referral["state"] == "requested"
    assert referral["state_label_ja"] == "入居相談中"
    assert referral["hold_active"] is True
    snapshot = referral["match_snapshot"]
    assert snapshot["rank"] == expected["rank"] == 2
    assert snapshot["candidate_count"] == matched["candidate_count"]
    assert snapshot["in_search_area"] is True
    assert snapshot["candidate"]["score"] == expected["score"]
    assert snapshot["candidate"]["factors"] == expected["factors"]
    assert snapshot["candidate"]["anchors"][0]["label"] == "こころクリニック通院"
    assert [event["kind"] for event in referral["events"]] == ["created"]

    # Frozen: what changes later does not touch what was true then.
    client.patch(
        f"/v1/persons/{person_id}",
        json={"needs": {"rent_ceiling_yen": 45_000}},
        headers=center.headers,
    )
    again = client.get(f"/v1/referrals/{referral['id']}", headers=center.headers).json()
    assert again["match_snapshot"] == snapshot
    assert again["shared_profile"]["needs"]["rent_ceiling_yen"] == 50_000


def test_a_home_the_matcher_excludes_is_refused_with_the_reasons(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person_id = rich_person(client, center, shared=["needs"])
    too_dear = open_home(client, corporation, municipality, rent_yen=60_000)
    response = refer(client, center, person_id, too_dear)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["not_a_candidate"] == [
        {"constraint": "rent_ceiling", "label_ja": "家賃上限（家賃＋共益費）"}
    ]
    # It points to the explanation that says by how much.
    explain = f"/v1/persons/{person_id}/matches/explain?vacancy_id={too_dear}"
    assert explain in response.json()["detail"]
    shown = client.get(explain, headers=center.headers).json()
    assert shown["failures"][0]["shortfalls"][0]["difference"] == 13_000
    assert vacancy_status(client, center, too_dear) == "open"


def test_no_consent_to_share_with_corporations_means_no_referral(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person_id = rich_person(client, center, shared=None)
    vacancy_id = open_home(client, corporation, municipality)
    response = refer(client, center, person_id, vacancy_id)
    assert response.status_code == 409
    assert "consent" in response.json()["detail"]


def test_unknown_or_foreign_person_and_vacancy(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    other_center = make_organisation(OrganisationKind.CENTER)
    theirs = simple_person(client, other_center)
    mine = simple_person(client, center)
    vacancy_id = open_home(client, corporation, municipality)
    assert refer(client, center, theirs, vacancy_id).status_code == 404
    assert refer(client, center, mine, str(uuid.uuid4())).status_code == 404
    assert refer(client, corporation, mine, vacancy_id).status_code == 403
    assert vacancy_status(client, center, vacancy_id) == "open"


def test_who_sees_a_referral(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    admin: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    person_id = simple_person(client, center)
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)
    other_center = make_organisation(OrganisationKind.CENTER)
    other_corporation = make_organisation(OrganisationKind.SUPPORT_CORPORATION)

    for party in (center, corporation):
        assert client.get(f"/v1/referrals/{referral_id}", headers=party.headers).status_code == 200
    for stranger in (other_center, other_corporation):
        assert client.get(f"/v1/referrals/{referral_id}", headers=stranger.headers).status_code == (
            404
        )
        assert client.get("/v1/referrals", headers=stranger.headers).json()["items"] == []
        assert act(client, stranger, referral_id, "accept").status_code in (403, 404)
        assert act(client, stranger, referral_id, "withdraw").status_code in (403, 404)
    for counter in (municipality, admin):
        assert client.get(f"/v1/referrals/{referral_id}", headers=counter.headers).status_code == (
            403
        )
        assert client.get("/v1/referrals", headers=counter.headers).status_code == 403
    assert client.get("/v1/referrals").status_code == 401


def test_municipalities_get_counts_for_their_jurisdiction_only(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    admin: OrgFixture,
    make_organisation: MakeOrganisation,
) -> None:
    vacancies = [open_home(client, corporation, municipality) for _ in range(3)]
    persons = [simple_person(client, center) for _ in range(3)]
    ids = [referred(client, center, p, v) for p, v in zip(persons, vacancies, strict=True)]
    assert act(client, corporation, ids[0], "decline").status_code == 200
    assert act(client, center, ids[1], "withdraw").status_code == 200

    summary = client.get("/v1/referrals/summary", headers=municipality.headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["jurisdiction_codes"] == ["27"]
    assert body["total"] == 3
    assert {row["state"]: row["count"] for row in body["by_state"]} == {
        "requested": 1,
        "accepted": 0,
        "contracted": 0,
        "declined": 1,
        "withdrawn": 1,
    }
    assert body["active_holds"] == 1
    assert body["declined_by_reason"] == [
        {
            "code": "landlord_refused_category",
            "label_ja": "大家が要配慮者の区分（矯正施設退所者等）を理由に断った",
            "side": "provider",
            "count": 1,
        }
    ]
    assert body["withdrawn_by_reason"][0]["side"] == "client"
    text = json.dumps(body)
    assert all(person_id not in text for person_id in persons)

    tokyo = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("13",))
    assert client.get("/v1/referrals/summary", headers=tokyo.headers).json()["total"] == 0
    assert client.get("/v1/referrals/summary", headers=admin.headers).json()["total"] >= 3
    for party in (center, corporation):
        assert client.get("/v1/referrals/summary", headers=party.headers).status_code == 403


def test_every_read_of_referral_data_is_logged(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    person_id = simple_person(client, center)
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)
    client.get(f"/v1/referrals/{referral_id}", headers=corporation.headers)
    client.get("/v1/referrals", headers=corporation.headers)
    act(client, corporation, referral_id, "accept")
    purposes = [
        (entry.organisation_id, entry.purpose)
        for entry in session.scalars(
            select(PersonReadLogEntry)
            .where(
                PersonReadLogEntry.person_id == uuid.UUID(person_id),
                PersonReadLogEntry.purpose.like("referral.%"),
            )
            .order_by(PersonReadLogEntry.id)
        )
    ]
    assert purposes == [
        (center.id, "referral.create"),
        (corporation.id, "referral.read"),
        (corporation.id, "referral.list"),
        (corporation.id, "referral.update"),
    ]


def test_the_history_records_states_never_person_data(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    person_id = rich_person(client, center, shared=FULL_CONSENT)
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)
    entries = list(
        session.scalars(
            select(HistoryEntry).where(HistoryEntry.entity_id.in_([referral_id, vacancy_id]))
        )
    )
    actions = {entry.action for entry in entries}
    assert {"referral.created", "vacancy.held"} <= actions
    text = json.dumps([entry.after for entry in entries], ensure_ascii=False)
    assert person_id not in text
    assert "訪問看護" not in text


def test_a_deleted_person_leaves_the_corporations_record_and_takes_the_snapshot(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person_id = rich_person(client, center, shared=["needs"])
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, person_id, vacancy_id)
    assert act(client, center, referral_id, "withdraw").status_code == 200
    assert client.delete(f"/v1/persons/{person_id}", headers=center.headers).status_code == 204
    seen = client.get(f"/v1/referrals/{referral_id}", headers=center.headers).json()
    assert seen["person_id"] is None
    assert seen["match_snapshot"] is None
    assert seen["shared_profile"]["needs"]["rent_ceiling_yen"] == 50_000


def test_reasons_are_listed_with_labels_and_sides(client: TestClient, center: OrgFixture) -> None:
    body = client.get("/v1/referrals/reasons", headers=center.headers).json()
    decline = {reason["code"]: reason for reason in body["decline"]}
    assert decline["unit_let_to_someone_else"]["side"] == "provider"
    assert decline["rent_not_affordable"]["side_label_ja"] == "本人側の事情"
    assert {reason["code"] for reason in body["withdraw"]} >= {"housed_elsewhere", "other"}


def test_listing_pages_and_filters(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    persons = [simple_person(client, center) for _ in range(3)]
    vacancies = [open_home(client, corporation, municipality) for _ in range(3)]
    ids = {referred(client, center, p, v) for p, v in zip(persons, vacancies, strict=True)}
    first = client.get("/v1/referrals", params={"limit": 2}, headers=center.headers).json()
    assert len(first["items"]) == 2
    second = client.get(
        "/v1/referrals", params={"limit": 2, "cursor": first["next_cursor"]}, headers=center.headers
    ).json()
    assert second["next_cursor"] is None
    assert {item["id"] for item in first["items"] + second["items"]} == ids

    mine = client.get(
        "/v1/referrals", params={"person_id": persons[0]}, headers=center.headers
    ).json()["items"]
    assert [item["vacancy_id"] for item in mine] == [vacancies[0]]
    by_vacancy = client.get(
        "/v1/referrals", params={"vacancy_id": vacancies[1]}, headers=corporation.headers
    ).json()["items"]
    assert [item["vacancy_id"] for item in by_vacancy] == [vacancies[1]]
    assert (
        client.get(
            "/v1/referrals", params={"state": ["accepted", "declined"]}, headers=center.headers
        ).json()["items"]
        == []
    )
    assert (
        client.get(
            "/v1/referrals", params={"person_id": persons[0]}, headers=corporation.headers
        ).status_code
        == 400
    )
    assert (
        client.get(
            "/v1/referrals", params={"cursor": "nonsense"}, headers=center.headers
        ).status_code
        == 400
    )
