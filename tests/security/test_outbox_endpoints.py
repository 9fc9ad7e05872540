"""A corporation may have any number of webhook endpoints, and the housekeeping jobs go on
for every other tenant when one tenant's rows fail.

Every referral change writes one outbox event with one delivery per endpoint. The deliveries
once shared a single id, so a second endpoint turned every referral change of that
corporation into a 500, and ``referrals expire-holds`` failed for everyone. The jobs now work
item by item: a row the database refuses (here a trigger standing in for bad data) is logged
and skipped, and the command exits 1 after finishing the rest.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from housing_match.cli import app as cli_app
from housing_match.models import OrganisationKind, Referral, Vacancy, WebhookDelivery
from tests.conftest import MakeOrganisation, OrgFixture
from tests.referrals.conftest import (  # noqa: F401  # fixtures used by name
    jobs_use_test_transaction,
    loopback_webhooks,
)
from tests.referrals.factories import (
    act,
    age,
    lapse_hold,
    open_home,
    receiver,
    referred,
    simple_person,
)

runner = CliRunner()


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))


def add_endpoints(client: TestClient, corporation: OrgFixture, count: int) -> None:
    for number in range(count):
        response = client.post(
            "/v1/webhooks",
            json={"url": f"https://hooks{number}.example.jp/referrals"},
            headers=corporation.headers,
        )
        assert response.status_code == 201, response.text


def delivery_ids(session: Session, corporation: OrgFixture) -> list[uuid.UUID]:
    return list(
        session.scalars(
            text(
                "SELECT d.id FROM webhook_deliveries d "
                "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.organisation_id = :org"
            ),
            {"org": corporation.id},
        )
    )


def invoke(*arguments: str) -> tuple[int, str]:
    result = runner.invoke(cli_app, list(arguments))
    return result.exit_code, result.output + (result.stderr or "")


@pytest.mark.parametrize("endpoints", [1, 2, 5])
def test_every_referral_change_reaches_every_endpoint(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    jobs_use_test_transaction: None,  # noqa: F811
    endpoints: int,
) -> None:
    add_endpoints(client, corporation, endpoints)
    accepted = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    assert act(client, corporation, accepted, "accept").status_code == 200
    withdrawn = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    assert act(client, center, withdrawn, "withdraw").status_code == 200
    lapsing = referred(
        client, center, simple_person(client, center), open_home(client, corporation, municipality)
    )
    lapse_hold(session, lapsing)

    code, output = invoke("referrals", "expire-holds")
    assert code == 0, output
    assert "released 1" in output
    assert session.get(Referral, uuid.UUID(lapsing), populate_existing=True).holding is False  # type: ignore[union-attr]
    # created ×3, accepted, withdrawn, hold expired: one delivery each per endpoint.
    ids = delivery_ids(session, corporation)
    assert len(ids) == 6 * endpoints
    assert len(set(ids)) == len(ids)


@pytest.fixture
def poison(session: Session) -> None:
    """A trigger that refuses the rows of one organisation, as bad data would (created in the
    test's transaction, so it is gone when the test ends)."""
    session.execute(
        text(
            "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'refused for this tenant'; END $$"
        )
    )
    session.commit()


def poison_rows(session: Session, table: str, condition: str, when: str = "INSERT") -> None:
    session.execute(
        text(
            f"CREATE TRIGGER test_poison_{table} BEFORE {when} ON {table} FOR EACH ROW "
            f"WHEN ({condition}) EXECUTE FUNCTION test_poison()"
        )
    )
    session.commit()


def two_tenants(
    make_organisation: MakeOrganisation,
) -> tuple[OrgFixture, OrgFixture]:
    return (
        make_organisation(OrganisationKind.SUPPORT_CORPORATION),
        make_organisation(OrganisationKind.SUPPORT_CORPORATION),
    )


def test_expire_holds_goes_on_past_a_tenant_it_cannot_process(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    jobs_use_test_transaction: None,  # noqa: F811
    poison: None,
) -> None:
    bad, good = two_tenants(make_organisation)
    referrals = {}
    for corporation in (bad, good):
        vacancy_id = open_home(client, corporation, municipality)
        referrals[corporation.slug] = referred(
            client, center, simple_person(client, center), vacancy_id
        )
        lapse_hold(session, referrals[corporation.slug])
    # The bad tenant's hold comes first in the job's order.
    session.execute(
        text(
            "UPDATE referrals SET hold_expires_at = hold_expires_at - interval '1 day' WHERE id = :id"
        ),
        {"id": referrals[bad.slug]},
    )
    poison_rows(session, "outbox", f"NEW.organisation_id = '{bad.id}'")

    code, output = invoke("referrals", "expire-holds")
    assert code == 1, output
    assert "released 1" in output
    assert "1 failed" in output
    holding = {
        slug: session.get(Referral, uuid.UUID(rid), populate_existing=True).holding  # type: ignore[union-attr]
        for slug, rid in referrals.items()
    }
    assert holding == {bad.slug: True, good.slug: False}


def test_flag_stalled_goes_on_past_a_tenant_it_cannot_process(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    jobs_use_test_transaction: None,  # noqa: F811
    poison: None,
) -> None:
    bad, good = two_tenants(make_organisation)
    referrals = {}
    for days, corporation in ((5, bad), (4, good)):
        vacancy_id = open_home(client, corporation, municipality)
        referrals[corporation.slug] = referred(
            client, center, simple_person(client, center), vacancy_id
        )
        age(session, referrals[corporation.slug], days=days)
    poison_rows(session, "outbox", f"NEW.organisation_id = '{bad.id}'")

    code, output = invoke("referrals", "flag-stalled")
    assert code == 1, output
    assert "flagged 1" in output
    assert "1 failed" in output
    flagged = {
        slug: session.get(Referral, uuid.UUID(rid), populate_existing=True).stalled_flagged_at  # type: ignore[union-attr]
        is not None
        for slug, rid in referrals.items()
    }
    assert flagged == {bad.slug: False, good.slug: True}
    # The next run tries the failed one again, and only that one.
    code, output = invoke("referrals", "flag-stalled")
    assert (code, "flagged 0" in output, "1 failed" in output) == (1, True, True)


def test_vacancy_expiry_goes_on_past_a_tenant_it_cannot_process(
    client: TestClient,
    session: Session,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    jobs_use_test_transaction: None,  # noqa: F811
    poison: None,
) -> None:
    bad, good = two_tenants(make_organisation)
    vacancies = {
        corporation.slug: open_home(client, corporation, municipality)
        for corporation in (bad, good)
    }
    session.execute(text("UPDATE vacancies SET expires_at = now() - interval '1 day'"))
    session.commit()
    poison_rows(
        session,
        "vacancies",
        f"NEW.corporation_id = '{bad.id}' AND NEW.status = 'expired'",
        when="UPDATE",
    )

    code, output = invoke("vacancies", "expire")
    assert code == 1, output
    assert "expired 1" in output
    assert "1 failed" in output
    statuses = {
        slug: session.scalar(
            select(Vacancy.status)
            .where(Vacancy.id == uuid.UUID(vid))
            .execution_options(populate_existing=True)
        )
        for slug, vid in vacancies.items()
    }
    assert statuses == {bad.slug: "open", good.slug: "expired"}


def test_the_webhook_worker_goes_on_past_a_delivery_it_cannot_record(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    jobs_use_test_transaction: None,  # noqa: F811
    loopback_webhooks: None,  # noqa: F811
    poison: None,
) -> None:
    bad, good = two_tenants(make_organisation)
    endpoints = {}
    with receiver() as hook:
        for corporation in (bad, good):
            response = client.post(
                "/v1/webhooks", json={"url": hook.url}, headers=corporation.headers
            )
            assert response.status_code == 201, response.text
            endpoints[corporation.slug] = response.json()["id"]
            referred(
                client,
                center,
                simple_person(client, center),
                open_home(client, corporation, municipality),
            )
        # The bad tenant's delivery is claimed first; recording its outcome fails.
        session.execute(
            text(
                "UPDATE webhook_deliveries d SET next_attempt_at = now() - "
                "CASE WHEN e.organisation_id = :bad THEN interval '2 minutes' "
                "ELSE interval '1 minute' END FROM webhook_endpoints e WHERE e.id = d.endpoint_id"
            ),
            {"bad": bad.id},
        )
        session.commit()
        poison_rows(
            session,
            "webhook_deliveries",
            f"NEW.status = 'delivered' AND NEW.endpoint_id = '{endpoints[bad.slug]}'",
            when="UPDATE",
        )
        code, output = invoke("webhooks", "run", "--once")
    assert code == 1, output
    assert "delivered 1" in output
    assert "failed 1" in output
    statuses = dict(
        session.execute(
            select(WebhookDelivery.status, func.count())
            .group_by(WebhookDelivery.status)
            .execution_options(populate_existing=True)
        ).all()
    )
    assert statuses == {"delivered": 1, "pending": 1}
