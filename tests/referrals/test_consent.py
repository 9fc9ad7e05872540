"""Withdrawn consent reaches everything not yet delivered: open referrals stop showing the
withdrawn groups to the corporation, webhook events not yet delivered are redacted, and the
referral's timeline and the history record that consent changed, never the values."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from housing_match.matching.vocabulary import SharedField
from housing_match.models import HistoryEntry, OutboxEvent, UserRole
from housing_match.referrals.schemas import SharedProfile
from housing_match.referrals.snapshot import PROFILE_FIELDS
from tests.accounts.pages import csrf_of
from tests.conftest import MakeUser, OrgFixture
from tests.matching.factories import days_from_now
from tests.referrals.factories import (
    FULL_CONSENT,
    act,
    open_home,
    receiver,
    referred,
    rich_person,
)
from tests.referrals.test_referrals import assert_only_consented
from tests.referrals.test_webhooks import register, run_worker
from tests.web.test_center_person_pages import _form, _headers

KEPT = ["categories", "household_size"]


def consent(
    client: TestClient, center: OrgFixture, person_id: str, shared: list[str] | None
) -> None:
    sharing: dict[str, list[str]] = {"municipality": ["categories"]}
    if shared is not None:
        sharing["support_corporation"] = shared
    response = client.patch(
        f"/v1/persons/{person_id}",
        json={"consent": {"given_on": days_from_now(-1), "sharing": sharing}},
        headers=center.headers,
    )
    assert response.status_code == 200, response.text


def referral(client: TestClient, org: OrgFixture, referral_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/referrals/{referral_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def reference_of(client: TestClient, center: OrgFixture, person_id: str) -> str:
    reference: str = client.get(f"/v1/persons/{person_id}", headers=center.headers).json()[
        "reference"
    ]
    return reference


def test_open_referrals_stop_showing_what_was_withdrawn(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    person = rich_person(client, center, shared=FULL_CONSENT)
    reference = reference_of(client, center, person)
    open_id = referred(client, center, person, open_home(client, corporation, municipality))
    accepted_id = referred(client, center, person, open_home(client, corporation, municipality))
    assert act(client, corporation, accepted_id, "accept").status_code == 200
    closed_id = referred(client, center, person, open_home(client, corporation, municipality))
    assert act(client, corporation, closed_id, "decline").status_code == 200

    consent(client, center, person, KEPT)

    for referral_id in (open_id, accepted_id):
        seen = referral(client, corporation, referral_id)
        assert_only_consented(seen, KEPT, reference)
        [event] = [e for e in seen["events"] if e["kind"] == "consent_changed"]
        assert event["label_ja"] == "本人の同意の変更（共有する項目の縮小）"
        assert event["from_state"] == event["to_state"] == seen["state"]
        assert event["actor_organisation_id"] == str(center.id)
        assert "住まいの条件" in event["note"]
        assert "支援計画" in event["note"]
        assert "50,000" not in event["note"]
        assert "50000" not in event["note"]
    listed = client.get("/v1/referrals", headers=corporation.headers).json()["items"]
    for item in listed:
        if item["id"] != closed_id:
            assert_only_consented(item, KEPT, reference)
    # A closed referral stays as it was when it closed.
    assert referral(client, corporation, closed_id)["shared_profile"]["fields"] == sorted(
        FULL_CONSENT
    )
    # The center keeps its own full snapshot.
    own = referral(client, center, open_id)
    assert own["match_snapshot"]["rent_ceiling"]["yen"] == 50_000

    history = session.scalars(
        select(HistoryEntry).where(
            HistoryEntry.entity_id == open_id,
            HistoryEntry.action == "referral.consent_narrowed",
        )
    ).all()
    [entry] = history
    assert entry.before == {"shared_fields": sorted(FULL_CONSENT)}
    assert entry.after == {"shared_fields": KEPT}


def test_webhook_events_not_yet_delivered_are_redacted(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    with receiver() as hook:
        register(client, corporation, hook.url)
        person = rich_person(client, center, shared=FULL_CONSENT)
        reference = reference_of(client, center, person)
        referral_id = referred(client, center, person, open_home(client, corporation, municipality))
        assert "delivered 1" in run_worker()
        assert act(client, corporation, referral_id, "accept").status_code == 200
        # The acceptance's event waits in the outbox while the person withdraws consent.
        consent(client, center, person, KEPT)
        assert "delivered 2" in run_worker()

    # The worker's order among events of one instant is not defined: read them by type.
    received = {request.json["type"]: request.json for request in hook.received}
    assert len(received) == len(hook.received) == 3
    created = received["referral.created"]
    accepted = received["referral.state_changed"]
    changed = received["referral.consent_changed"]
    assert created["data"]["referral"]["shared_profile"]["needs"]["rent_ceiling_yen"] == 50_000
    for body in (accepted, changed):
        delivered = body["data"]["referral"]
        assert delivered["state"] == "accepted"
        assert_only_consented(
            delivered | {"person_id": None, "match_snapshot": None}, KEPT, reference
        )
        assert "50,000" not in json.dumps(body, ensure_ascii=False)
    assert changed["data"]["previous_state"] == "accepted"
    # What was delivered before stays the record of what was sent.
    payloads = {
        event.event_type: event.payload
        for event in session.scalars(
            select(OutboxEvent).where(OutboxEvent.referral_id == uuid.UUID(referral_id))
        )
    }
    assert payloads["referral.created"]["referral"]["shared_profile"]["needs"] is not None
    assert payloads["referral.state_changed"]["referral"]["shared_profile"]["needs"] is None


def test_a_broader_or_unchanged_consent_changes_no_referral(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person = rich_person(client, center, shared=["categories"])
    reference = reference_of(client, center, person)
    referral_id = referred(client, center, person, open_home(client, corporation, municipality))
    consent(client, center, person, FULL_CONSENT)
    consent(client, center, person, ["categories", *FULL_CONSENT])
    seen = referral(client, corporation, referral_id)
    assert_only_consented(seen, ["categories"], reference)
    assert [e["kind"] for e in seen["events"]] == ["created"]


def test_withdrawing_all_sharing_with_corporations_empties_open_referrals(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    person = rich_person(client, center, shared=FULL_CONSENT)
    reference = reference_of(client, center, person)
    referral_id = referred(client, center, person, open_home(client, corporation, municipality))
    consent(client, center, person, None)
    seen = referral(client, corporation, referral_id)
    assert_only_consented(seen, [], reference)
    assert seen["state"] == "requested"  # the center decides whether to withdraw it
    # A new referral needs consent again.
    again = client.post(
        "/v1/referrals",
        json={"person_id": person, "vacancy_id": open_home(client, corporation, municipality)},
        headers=center.headers,
    )
    assert again.status_code == 409


def test_every_attribute_of_the_shared_profile_belongs_to_a_consented_group() -> None:
    # A new attribute without a group would reach corporations whatever the consent.
    grouped = {attribute for attributes in PROFILE_FIELDS.values() for attribute in attributes}
    assert set(SharedProfile.model_fields) - {"fields", "field_labels_ja"} == grouped
    assert set(PROFILE_FIELDS) == set(SharedField)


def test_a_withdrawal_on_the_person_form_reaches_open_referrals_too(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    created = client.post(
        "/persons/new",
        data={
            "csrf_token": csrf_of(client.get("/persons/new", headers=_headers(staff))),
            **_form(),
        },
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    person = location.rsplit("/", 1)[1]
    vacancy = open_home(client, corporation, municipality, rent_yen=35_000, common_fee_yen=0)
    referral_id = referred(client, center, person, vacancy)

    edit = client.get(f"{location}/edit", headers=_headers(staff))
    form = _form() | {"consent.sharing.support_corporation": ["household_size"]}
    saved = client.post(
        f"{location}/edit",
        data={"csrf_token": csrf_of(edit), **form},
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    seen = referral(client, corporation, referral_id)
    assert seen["shared_profile"]["fields"] == ["household_size"]
    assert seen["shared_profile"]["needs"] is None
    assert seen["shared_profile"]["categories"] is None
    [event] = [e for e in seen["events"] if e["kind"] == "consent_changed"]
    assert "要配慮者の区分" in event["note"]
