"""Webhooks against a real receiver on 127.0.0.1: registration rules, signatures that verify
and cannot be replayed, retries with backoff, giving up, and outbox events that survive a crash."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from housing_match.cli import app as cli_app
from housing_match.models import (
    HistoryEntry,
    OrganisationKind,
    OutboxEvent,
    PersonReadLogEntry,
    WebhookDelivery,
)
from housing_match.referrals import worker
from housing_match.referrals.egress import NO_RESPONSE
from housing_match.referrals.repository import WebhookDeliveryRepository
from housing_match.referrals.webhooks import sign, verify_signature
from housing_match.settings import Settings, get_settings
from tests.conftest import MakeOrganisation, OrgFixture
from tests.referrals.factories import (
    act,
    open_home,
    receiver,
    refer,
    referred,
    rich_person,
    simple_person,
)
from tests.referrals.test_referrals import assert_only_consented

runner = CliRunner()
SECRET = "s3cret-shared-with-the-corporation-0123456789"


def register(
    client: TestClient, corporation: OrgFixture, url: str, **extra: object
) -> dict[str, str]:
    response = client.post(
        "/v1/webhooks", json={"url": url, "secret": SECRET} | extra, headers=corporation.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def run_worker() -> str:
    result = runner.invoke(cli_app, ["webhooks", "run", "--once"])
    assert result.exit_code == 0, result.output
    return result.stderr


def deliveries(
    client: TestClient, corporation: OrgFixture, webhook_id: str
) -> list[dict[str, object]]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=corporation.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def make_due(session: Session) -> None:
    session.execute(
        text(
            "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second' "
            "WHERE status = 'pending'"
        )
    )
    session.commit()


# --- signatures ------------------------------------------------------------------------------


def test_verify_signature_accepts_the_signed_body_only() -> None:
    body = b'{"id":"1","type":"referral.created"}'
    now = time.time()
    stamp = str(int(now))
    signature = sign(SECRET, stamp, body)
    assert signature.startswith("v1=")
    assert verify_signature(SECRET, body, timestamp=stamp, signature=signature, now=now)
    assert not verify_signature(SECRET, body + b" ", timestamp=stamp, signature=signature, now=now)
    assert not verify_signature("other" * 8, body, timestamp=stamp, signature=signature, now=now)
    later = str(int(now) + 1)
    assert not verify_signature(SECRET, body, timestamp=later, signature=signature, now=now)
    assert not verify_signature(SECRET, body, timestamp="soon", signature=signature, now=now)
    # Several signatures during a secret rotation: one match suffices.
    rotated = sign("old-secret" * 4, stamp, body) + ", " + signature
    assert verify_signature(SECRET, body, timestamp=stamp, signature=rotated, now=now)


def test_a_replayed_request_is_rejected_once_its_timestamp_is_old() -> None:
    body = b"{}"
    signed_at = int(time.time()) - 301
    signature = sign(SECRET, str(signed_at), body)
    assert verify_signature(
        SECRET, body, timestamp=str(signed_at), signature=signature, now=signed_at + 299
    )
    assert not verify_signature(SECRET, body, timestamp=str(signed_at), signature=signature)
    assert not verify_signature(
        SECRET, body, timestamp=str(signed_at), signature=signature, now=signed_at - 301
    )


# --- registration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.jp/referrals",
        "http://127.0.0.1:9000/hooks",
        "https://10.0.0.5/hooks",
        "https://localhost/hooks",
        "https://user:pass@hooks.example.jp/",
        "ftp://hooks.example.jp/",
    ],
)
def test_only_public_https_urls_are_accepted(
    client: TestClient, corporation: OrgFixture, url: str
) -> None:
    response = client.post("/v1/webhooks", json={"url": url}, headers=corporation.headers)
    assert response.status_code == 422, response.text


def test_loopback_http_only_where_the_setting_allows(
    client: TestClient, corporation: OrgFixture, loopback_webhooks: None
) -> None:
    assert register(client, corporation, "http://127.0.0.1:9000/hooks")["url"]
    refused = client.post(
        "/v1/webhooks", json={"url": "http://hooks.example.jp/"}, headers=corporation.headers
    )
    assert refused.status_code == 422


def test_production_refuses_the_loopback_setting() -> None:
    with pytest.raises(ValueError, match="tests only"):
        Settings(environment="production", secret_key="x" * 48, webhook_allow_http_loopback=True)


def test_the_secret_is_shown_once_and_never_again(
    client: TestClient, session: Session, corporation: OrgFixture, center: OrgFixture
) -> None:
    generated = client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.jp/referrals", "description": "本部システム"},
        headers=corporation.headers,
    )
    assert generated.status_code == 201, generated.text
    created = generated.json()
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) >= 40
    supplied = register(client, corporation, "https://hooks.example.jp/two")
    assert supplied["secret"] == SECRET
    short = client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.jp/", "secret": "short"},
        headers=corporation.headers,
    )
    assert short.status_code == 422

    listed = client.get("/v1/webhooks", headers=corporation.headers).json()
    assert {item["id"] for item in listed} == {created["id"], supplied["id"]}
    text_ = json.dumps(listed)
    assert created["secret"] not in text_
    assert SECRET not in text_
    history = session.scalars(
        select(HistoryEntry).where(HistoryEntry.entity_type == "webhook_endpoint")
    ).all()
    assert history
    assert all(SECRET not in json.dumps(entry.after) for entry in history)
    assert (
        client.post(
            "/v1/webhooks", json={"url": "https://a.jp/"}, headers=center.headers
        ).status_code
        == 403
    )


def test_delete_is_for_the_owner(
    client: TestClient, corporation: OrgFixture, make_organisation: MakeOrganisation
) -> None:
    created = register(client, corporation, "https://hooks.example.jp/referrals")
    other = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    path = f"/v1/webhooks/{created['id']}"
    assert client.delete(path, headers=other.headers).status_code == 404
    assert client.get(f"{path}/deliveries", headers=other.headers).status_code == 404
    assert client.delete(path, headers=corporation.headers).status_code == 204
    assert client.get("/v1/webhooks", headers=corporation.headers).json() == []
    assert client.delete(path, headers=corporation.headers).status_code == 404


# --- delivery --------------------------------------------------------------------------------


def test_a_referral_is_delivered_signed_with_only_consented_fields(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    bystander = make_organisation(OrganisationKind.SUPPORT_CORPORATION)
    with receiver() as mine, receiver() as theirs:
        webhook = register(client, corporation, mine.url)
        register(client, bystander, theirs.url)
        shared = ["categories", "anchor_kinds"]
        person_id = rich_person(client, center, shared=shared)
        reference = client.get(f"/v1/persons/{person_id}", headers=center.headers).json()[
            "reference"
        ]
        referral_id = referred(
            client, center, person_id, open_home(client, corporation, municipality)
        )
        assert "delivered 1" in run_worker()

        assert theirs.received == []
        [request] = mine.received
        assert request.headers["X-HousingMatch-Event"] == "referral.created"
        assert verify_signature(
            SECRET,
            request.body,
            timestamp=request.headers["X-HousingMatch-Timestamp"],
            signature=request.headers["X-HousingMatch-Signature"],
        )
        assert not verify_signature(
            SECRET,
            request.body.replace(b"requested", b"accepted"),
            timestamp=request.headers["X-HousingMatch-Timestamp"],
            signature=request.headers["X-HousingMatch-Signature"],
        )
        body = request.json
        assert body["id"] == request.headers["X-HousingMatch-Event-Id"]
        assert body["type"] == "referral.created"
        delivered = body["data"]["referral"]
        assert delivered["id"] == referral_id
        for absent in ("person_id", "match_snapshot", "events"):
            assert absent not in delivered
        assert_only_consented(
            delivered | {"person_id": None, "match_snapshot": None}, shared, reference
        )
        assert person_id not in request.body.decode()

    [delivery] = deliveries(client, corporation, webhook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200
    assert delivery["next_attempt_at"] is None
    assert delivery["referral_id"] == referral_id
    logged = session.scalars(
        select(PersonReadLogEntry.organisation_id).where(
            PersonReadLogEntry.person_id == uuid.UUID(person_id),
            PersonReadLogEntry.purpose == "referral.webhook",
        )
    ).all()
    assert list(logged) == [corporation.id]


def test_a_failing_receiver_is_retried_with_backoff(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    with receiver() as hook:
        hook.statuses = [500]
        webhook = register(client, corporation, hook.url)
        referred(
            client,
            center,
            simple_person(client, center),
            open_home(client, corporation, municipality),
        )

        assert "retrying 1" in run_worker()
        [pending] = deliveries(client, corporation, webhook["id"])
        assert pending["status"] == "pending"
        assert pending["attempts"] == 1
        assert pending["last_status_code"] == 500
        # The status only: the receiver's body ("boom") is never shown.
        assert pending["last_error"] == "HTTP 500"
        waited = _parse(pending["next_attempt_at"]) - _parse(pending["last_attempt_at"])
        assert waited == timedelta(seconds=get_settings().webhook_backoff_base_seconds)

        assert "delivered 0" in run_worker()  # not due yet
        assert len(hook.received) == 1
        make_due(session)
        assert "delivered 1" in run_worker()
        first, second = hook.received
        assert first.headers["X-HousingMatch-Event-Id"] == second.headers["X-HousingMatch-Event-Id"]
        assert first.body == second.body

    [done] = deliveries(client, corporation, webhook["id"])
    assert done["status"] == "delivered"
    assert done["attempts"] == 2
    assert done["last_error"] is None


def test_the_worker_gives_up_after_the_configured_attempts(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    settings = get_settings().model_copy(
        update={"webhook_max_attempts": 3, "webhook_backoff_base_seconds": 0.0}
    )
    with receiver() as hook:
        hook.statuses = [500, 503, 502, 200]
        webhook = register(client, corporation, hook.url)
        referred(
            client,
            center,
            simple_person(client, center),
            open_home(client, corporation, municipality),
        )
        report = worker.run(once=True, settings=settings)
        assert (report.delivered, report.dead) == (0, 1)
        assert len(hook.received) == 3
    [dead] = deliveries(client, corporation, webhook["id"])
    assert dead["status"] == "dead"
    assert dead["status_label_ja"] == "送信断念"
    assert dead["attempts"] == 3
    assert dead["next_attempt_at"] is None
    assert dead["last_error"] == "HTTP 502"
    listed = client.get(
        f"/v1/webhooks/{webhook['id']}/deliveries",
        params={"status": "delivered"},
        headers=corporation.headers,
    ).json()
    assert listed["items"] == []


def test_an_unreachable_receiver_is_an_error_not_a_crash(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    with receiver() as hook:
        closed_url = hook.url
    webhook = register(client, corporation, closed_url)
    referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    assert "retrying 1" in run_worker()
    [pending] = deliveries(client, corporation, webhook["id"])
    # A class of failure, not the exception: "refused" vs a TLS error would map ports.
    assert pending["last_error"] == NO_RESPONSE
    assert pending["last_status_code"] is None


def test_events_written_before_a_crash_are_delivered_when_the_worker_next_runs(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,
    loopback_webhooks: None,
) -> None:
    with receiver() as hook:
        webhook = register(client, corporation, hook.url)
        referral_id = referred(
            client,
            center,
            simple_person(client, center),
            open_home(client, corporation, municipality),
        )
        assert act(client, corporation, referral_id, "accept").status_code == 200
        # The changes committed with their events; no worker has run yet.
        types = session.scalars(
            select(OutboxEvent.event_type)
            .where(OutboxEvent.referral_id == referral_id)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        assert sorted(types) == ["referral.created", "referral.state_changed"]
        # A worker claims one delivery and dies before sending it.
        lease = timedelta(seconds=get_settings().webhook_lease_seconds)
        with session.begin_nested():
            claimed = WebhookDeliveryRepository(session).claim_due(lease)
        assert claimed is not None
        assert hook.received == []

        # The next worker sends what is due now; the dead worker's claim waits for its lease.
        assert "delivered 1" in run_worker()
        make_due(session)
        assert "delivered 1" in run_worker()
        assert sorted(r.headers["X-HousingMatch-Event"] for r in hook.received) == sorted(types)
        changed = next(r.json for r in hook.received if r.json["type"] == "referral.state_changed")
        assert changed["data"]["previous_state"] == "requested"
        assert changed["data"]["referral"]["state"] == "accepted"
    statuses = {str(item["status"]) for item in deliveries(client, corporation, webhook["id"])}
    assert statuses == {"delivered"}


def test_a_refused_change_writes_no_event(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    register(client, corporation, "https://hooks.example.jp/referrals")
    vacancy_id = open_home(client, corporation, municipality)
    referral_id = referred(client, center, simple_person(client, center), vacancy_id)
    before = session.scalar(select(func.count()).select_from(WebhookDelivery))
    assert refer(client, center, simple_person(client, center), vacancy_id).status_code == 409
    assert act(client, corporation, referral_id, "contract").status_code == 409
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == before


def _parse(value: object) -> datetime:
    return datetime.fromisoformat(str(value))
