"""Every allowed and every forbidden transition, who may make it, and what it does to the hold,
the vacancy, the timeline and the history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from housing_match.models import HistoryEntry, ReferralEvent
from tests.conftest import OrgFixture
from tests.referrals.factories import act, open_home, referred, simple_person, vacancy_status

ACTIONS = ("accept", "decline", "contract", "withdraw")
# (from state, action) → the state it leads to; anything missing is refused with 409.
ALLOWED = {
    ("requested", "accept"): "accepted",
    ("requested", "decline"): "declined",
    ("requested", "withdraw"): "withdrawn",
    ("accepted", "contract"): "contracted",
    ("accepted", "decline"): "declined",
    ("accepted", "withdraw"): "withdrawn",
}
# How to reach each state from a fresh referral.
PATHS = {
    "requested": (),
    "accepted": ("accept",),
    "contracted": ("accept", "contract"),
    "declined": ("decline",),
    "withdrawn": ("withdraw",),
}
# The vacancy's status once the referral is in each state.
VACANCY_AFTER = {
    "requested": "held",
    "accepted": "held",
    "contracted": "let",
    "declined": "open",
    "withdrawn": "open",
}


@pytest.fixture
def parties(
    client: TestClient, center: OrgFixture, corporation: OrgFixture
) -> Callable[[str], OrgFixture]:
    def actor(action: str) -> OrgFixture:
        return center if action == "withdraw" else corporation

    return actor


@pytest.mark.parametrize("start", list(PATHS))
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    parties: Callable[[str], OrgFixture],
    start: str,
    action: str,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    for step in PATHS[start]:
        assert act(client, parties(step), referral_id, step).status_code == 200

    response = act(client, parties(action), referral_id, action)
    target = ALLOWED.get((start, action))
    if target is None:
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["state"] == start
        target = start
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["state"] == target
        last = body["events"][-1]
        assert (last["from_state"], last["to_state"]) == (start, target)
        assert last["actor_organisation_id"] == str(parties(action).id)
        assert last["occurred_at"]
    read = client.get(f"/v1/referrals/{referral_id}", headers=center.headers).json()
    assert read["state"] == target
    assert read["hold_active"] is (target in ("requested", "accepted"))
    assert read["vacancy_status"] == VACANCY_AFTER[target]
    assert vacancy_status(client, center, vacancy_id) == VACANCY_AFTER[target]


def test_only_the_right_side_may_act(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    for action in ("accept", "decline", "contract"):
        assert act(client, center, referral_id, action).status_code == 403
    assert act(client, corporation, referral_id, "withdraw").status_code == 403
    assert client.get(f"/v1/referrals/{referral_id}", headers=center.headers).json()["state"] == (
        "requested"
    )


def test_decline_and_withdraw_need_a_listed_reason(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    assert act(client, corporation, referral_id, "decline", {"note": "x"}).status_code == 422
    assert act(client, corporation, referral_id, "decline", {"reason": "bad"}).status_code == 422
    assert act(client, center, referral_id, "withdraw", {"reason": "rent"}).status_code == 422
    declined = act(
        client,
        corporation,
        referral_id,
        "decline",
        {"reason": "risk_not_covered", "note": "残置物処理の担い手が必要"},
    )
    assert declined.status_code == 200
    closing = declined.json()["closing"]
    assert closing == {
        "code": "risk_not_covered",
        "label_ja": "大家が求めるリスク（保証・見守り・残置物等）の担い手が不足",
        "side": "provider",
        "side_label_ja": "住宅・大家・法人側の事情",
        "note": "残置物処理の担い手が必要",
    }
    assert declined.json()["hold_expires_at"] is None


def test_contract_lets_the_home_and_ends_the_other_referrals(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    from tests.referrals.factories import lapse_hold

    vacancy_id = open_home(client, corporation, municipality)
    first = referred(client, center, simple_person(client, center), vacancy_id)
    # The first hold lapses unanswered; a second referral takes the vacancy.
    lapse_hold(session, first)
    second = referred(client, center, simple_person(client, center), vacancy_id)
    assert act(client, corporation, second, "accept").status_code == 200
    contracted = act(client, corporation, second, "contract", {"note": "4月1日入居"})
    assert contracted.status_code == 200, contracted.text
    assert contracted.json()["state"] == "contracted"

    vacancy = client.get(f"/v1/vacancies/{vacancy_id}", headers=corporation.headers).json()
    assert vacancy["status"] == "let"
    assert vacancy["closed_reason"] == "入居相談により成約"
    ended = client.get(f"/v1/referrals/{first}", headers=center.headers).json()
    assert ended["state"] == "declined"
    assert ended["closing"]["code"] == "unit_let_to_someone_else"
    assert ended["events"][-1]["automatic"] is True
    # Nothing more can happen to either.
    assert act(client, corporation, first, "accept").status_code == 409
    assert act(client, center, second, "withdraw").status_code == 409

    actions = [
        entry.action
        for entry in session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.entity_id.in_([first, second, vacancy_id]))
            .order_by(HistoryEntry.id)
        )
    ]
    assert actions[-3:] == ["vacancy.let", "referral.contracted", "referral.declined"]
    kinds = [
        (event.referral_id.hex, event.kind)
        for event in session.scalars(select(ReferralEvent).order_by(ReferralEvent.id))
    ]
    assert [kind for ref, kind in kinds if ref == second.replace("-", "")] == [
        "created",
        "accepted",
        "contracted",
    ]


def test_a_vacancy_cannot_be_changed_by_hand_while_a_referral_holds_it(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    for status in ("open", "let", "withdrawn"):
        response = client.patch(
            f"/v1/vacancies/{vacancy_id}", json={"status": status}, headers=corporation.headers
        )
        assert response.status_code == 409, status
        assert response.json()["referral_id"] == referral_id
        assert response.json()["hold_expires_at"]
    # Editing the offer is still fine; the referral's snapshot is frozen anyway.
    edited = client.patch(
        f"/v1/vacancies/{vacancy_id}",
        json={"conditions": "内見は平日"},
        headers=corporation.headers,
    )
    assert edited.status_code == 200
    assert act(client, corporation, referral_id, "decline").status_code == 200
    reopened = client.patch(
        f"/v1/vacancies/{vacancy_id}", json={"status": "withdrawn"}, headers=corporation.headers
    )
    assert reopened.status_code == 200
