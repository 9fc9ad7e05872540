"""Holds: one per vacancy, hidden from the matcher while they last, gone the moment they
expire, released by the job; and stalls, listed for both sides and flagged once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from housing_match.cli import app as cli_app
from housing_match.models import OutboxEvent, ReferralEvent
from tests.conftest import OrgFixture
from tests.matching.factories import candidate_vacancies, matches
from tests.referrals.factories import (
    act,
    age,
    lapse_hold,
    open_home,
    refer,
    referred,
    simple_person,
    vacancy_status,
)

runner = CliRunner()


def referral(client: TestClient, org: OrgFixture, referral_id: str) -> dict[str, object]:
    response = client.get(f"/v1/referrals/{referral_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def event_kinds(session: Session, referral_id: str) -> list[str]:
    return [
        event.kind
        for event in session.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(ReferralEvent.id)
        )
    ]


def test_a_held_vacancy_refuses_a_second_referral_with_the_expiry(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    first = refer(client, center, simple_person(client, center), vacancy_id).json()
    held = datetime.fromisoformat(first["hold_expires_at"])
    assert held - datetime.fromisoformat(first["requested_at"]) == timedelta(hours=72)

    second = refer(client, center, simple_person(client, center), vacancy_id)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert datetime.fromisoformat(second.json()["hold_expires_at"]) == held
    assert vacancy_status(client, center, vacancy_id) == "held"


def test_the_matcher_and_the_search_do_not_offer_a_held_vacancy(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    other = simple_person(client, center)
    assert vacancy_id in candidate_vacancies(matches(client, center, other))
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    assert vacancy_id not in candidate_vacancies(matches(client, center, other))
    listed = client.get("/v1/vacancies", params={"mine": True}, headers=corporation.headers)
    assert vacancy_id not in [item["id"] for item in listed.json()["items"]]

    assert act(client, center, referral_id, "withdraw").status_code == 200
    assert vacancy_id in candidate_vacancies(matches(client, center, other))


def test_an_expired_hold_is_gone_for_readers_and_the_next_request(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    first = referred(client, center, simple_person(client, center), vacancy_id)
    lapse_hold(session, first)
    read = referral(client, corporation, first)
    assert read["hold_active"] is False
    assert read["state"] == "requested"  # the case is still open; only the hold has gone

    second = refer(client, center, simple_person(client, center), vacancy_id)
    assert second.status_code == 201, second.text
    assert second.json()["hold_active"] is True
    assert event_kinds(session, first) == ["created", "hold_expired"]
    # Released by the system, not by the other request's center, whom first's parties never see.
    timeline = referral(client, corporation, first)["events"]
    assert isinstance(timeline, list)
    assert timeline[-1]["actor_organisation_id"] is None
    assert timeline[-1]["channel"] == "system"
    assert vacancy_status(client, center, vacancy_id) == "held"


def test_the_job_releases_expired_holds_and_the_vacancy_reopens(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    kept = open_home(client, corporation, municipality)
    lapsing = referred(client, center, simple_person(client, center), vacancy_id)
    lasting = referred(client, center, simple_person(client, center), kept)
    lapse_hold(session, lapsing)

    result = runner.invoke(cli_app, ["referrals", "expire-holds"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1"
    assert vacancy_status(client, center, vacancy_id) == "open"
    assert vacancy_status(client, center, kept) == "held"
    assert referral(client, center, lasting)["hold_active"] is True
    assert vacancy_id in candidate_vacancies(matches(client, center, simple_person(client, center)))
    events = session.scalars(
        select(OutboxEvent.event_type).where(OutboxEvent.referral_id == lapsing)
    ).all()
    assert list(events) == ["referral.created", "referral.hold_expired"]
    again = runner.invoke(cli_app, ["referrals", "expire-holds"])
    assert again.stdout.strip() == "0"


def test_accepting_after_the_hold_expired_takes_it_again_if_free(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    lapse_hold(session, referral_id)
    assert runner.invoke(cli_app, ["referrals", "expire-holds"]).stdout.strip() == "1"
    assert vacancy_status(client, center, vacancy_id) == "open"

    accepted = act(client, corporation, referral_id, "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["hold_active"] is True
    assert vacancy_status(client, center, vacancy_id) == "held"


def test_accepting_renews_a_lapsed_hold_not_yet_released(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    lapse_hold(session, referral_id)
    accepted = act(client, corporation, referral_id, "accept").json()
    assert accepted["hold_active"] is True
    assert datetime.fromisoformat(accepted["hold_expires_at"]) - datetime.fromisoformat(
        accepted["state_changed_at"]
    ) == timedelta(hours=72)


def test_accepting_after_someone_else_took_the_vacancy_is_refused(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    first = referred(client, center, simple_person(client, center), vacancy_id)
    lapse_hold(session, first)
    second = refer(client, center, simple_person(client, center), vacancy_id).json()
    response = act(client, corporation, first, "accept")
    assert response.status_code == 409
    assert datetime.fromisoformat(response.json()["hold_expires_at"]) == datetime.fromisoformat(
        second["hold_expires_at"]
    )
    assert act(client, corporation, first, "decline").status_code == 200
    assert vacancy_status(client, center, vacancy_id) == "held"  # still the second's


def test_a_vacancy_the_corporation_holds_itself_takes_no_referral(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    held = client.patch(
        f"/v1/vacancies/{vacancy_id}", json={"status": "held"}, headers=corporation.headers
    )
    assert held.status_code == 200
    response = refer(client, center, simple_person(client, center), vacancy_id)
    assert response.status_code == 409
    assert "調整中" in response.json()["detail"]


def test_one_person_one_open_referral_per_vacancy(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    person_id = simple_person(client, center)
    referral_id = referred(client, center, person_id, vacancy_id)
    lapse_hold(session, referral_id)
    again = refer(client, center, person_id, vacancy_id)
    assert again.status_code == 409
    assert "already" in again.json()["detail"]


@pytest.mark.parametrize("party", ["center", "corporation"])
def test_stalled_referrals_are_listed_for_both_sides(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    party: str,
) -> None:
    viewer = center if party == "center" else corporation
    quiet = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    fresh = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    closed = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    act(client, center, closed, "withdraw")
    age(session, quiet, days=4)
    age(session, closed, days=10)

    stalled = client.get("/v1/referrals", params={"stalled": True}, headers=viewer.headers).json()
    assert [item["id"] for item in stalled["items"]] == [quiet]
    item = stalled["items"][0]
    assert item["stalled"] is True
    assert datetime.fromisoformat(item["stalled_since"]) == datetime.fromisoformat(
        item["state_changed_at"]
    ) + timedelta(days=3)
    others = client.get("/v1/referrals", params={"stalled": False}, headers=viewer.headers).json()
    assert {item["id"] for item in others["items"]} == {fresh, closed}

    assert act(client, corporation, quiet, "accept").status_code == 200
    assert referral(client, viewer, quiet)["stalled"] is False


def test_the_stall_job_flags_each_referral_once_and_tells_the_corporation(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
) -> None:
    quiet = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    age(session, quiet, days=4)
    first = runner.invoke(cli_app, ["referrals", "flag-stalled"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "1"
    assert runner.invoke(cli_app, ["referrals", "flag-stalled"]).stdout.strip() == "0"
    assert event_kinds(session, quiet) == ["created", "stalled"]
    stalled_events = session.scalars(
        select(OutboxEvent).where(
            OutboxEvent.referral_id == quiet, OutboxEvent.event_type == "referral.stalled"
        )
    ).all()
    assert len(stalled_events) == 1
    assert stalled_events[0].organisation_id == corporation.id
    assert stalled_events[0].payload["referral"]["stalled"] is True


def test_the_database_itself_refuses_a_second_holder(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    columns = (
        "person_id, center_id, vacancy_id, dwelling_id, corporation_id, state, requested_at, "
        "state_changed_at, holding, hold_expires_at, shared_profile, shared_explanation"
    )
    with (
        pytest.raises(IntegrityError, match="uq_referrals_holding_vacancy"),
        session.begin_nested(),
    ):
        session.execute(
            text(
                f"INSERT INTO referrals ({columns}) SELECT {columns} FROM referrals WHERE id = :id"  # noqa: S608
            ),
            {"id": referral_id},
        )
