"""Failed sign-ins: a growing delay per account, then a lock a manager can lift; a delay per
client address across accounts; every step recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import SignInThrottle, User, UserRole
from housing_match.settings import get_settings
from tests.accounts.pages import post_password
from tests.conftest import TEST_PASSWORD, MakeUser, OrgFixture

# Corporations may go without TOTP, so the password alone signs in: the test is about failures.


def _rewind(session: Session, user_id: object, **values: object) -> None:
    """Moves the account's clock as if time had passed (no sleeping in tests)."""
    session.execute(update(User).where(User.id == user_id).values(**values))
    session.commit()


@pytest.mark.usefixtures("long_delays")
def test_growing_delay_then_lock_lifted_by_a_manager(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    settings = get_settings()
    manager = make_user(corporation)
    staff = make_user(corporation, role=UserRole.STAFF)

    free = settings.sign_in_free_failures
    for _ in range(free):
        failed = post_password(client, staff.email, "not the password at all")
        assert failed.status_code == 401
        assert "メールアドレスまたはパスワードが正しくありません" in failed.text
    # Now each try waits: even the right password is not checked before the delay.
    waiting = post_password(client, staff.email, TEST_PASSWORD)
    assert waiting.status_code == 429
    first_wait = int(waiting.headers["retry-after"])
    assert first_wait >= 1
    assert "秒待ってから" in waiting.text

    # After the wait, another failure doubles it.
    past = datetime.now(UTC) - timedelta(hours=1)
    _rewind(session, staff.id, last_failed_sign_in_at=past)
    assert post_password(client, staff.email, "still wrong password").status_code == 401
    second = post_password(client, staff.email, TEST_PASSWORD)
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) > first_wait

    # Enough failures in a row lock the account; the right password does not open it.
    _rewind(
        session,
        staff.id,
        failed_sign_ins=settings.sign_in_lock_failures - 1,
        last_failed_sign_in_at=past,
    )
    locked = post_password(client, staff.email, "wrong once more")
    assert locked.status_code == 423
    assert "ロック" in locked.text
    refused = post_password(client, staff.email, TEST_PASSWORD)
    assert refused.status_code == 423
    listed = client.get(f"/v1/users/{staff.id}", headers=manager.headers).json()
    assert listed["status"] == "locked"

    # A staff member cannot lift it; the manager can.
    assert client.post(f"/v1/users/{staff.id}/unlock", headers=staff.headers).status_code == 403
    lifted = client.post(f"/v1/users/{staff.id}/unlock", headers=manager.headers)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["status"] == "active"
    signed_in = post_password(client, staff.email, TEST_PASSWORD)
    assert signed_in.status_code == 303

    kinds = [
        item["kind"]
        for item in client.get(
            "/v1/account-events", params={"user_id": str(staff.id)}, headers=manager.headers
        ).json()["items"]
    ]
    assert kinds[0] == "sign_in"
    assert "unlocked" in kinds
    assert "locked" in kinds
    assert kinds.count("sign_in_failed") == free + 2


def test_a_lock_ends_by_itself(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation, role=UserRole.STAFF)
    _rewind(
        session,
        staff.id,
        failed_sign_ins=get_settings().sign_in_lock_failures,
        locked_until=datetime.now(UTC) - timedelta(seconds=1),
        last_failed_sign_in_at=datetime.now(UTC) - timedelta(hours=1),
    )
    assert post_password(client, staff.email, TEST_PASSWORD).status_code == 303


@pytest.fixture
def few_free_address_failures(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOUSING_MATCH_SIGN_IN_ADDRESS_FREE_FAILURES", "4")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("HOUSING_MATCH_SIGN_IN_ADDRESS_FREE_FAILURES")
    get_settings.cache_clear()


@pytest.mark.usefixtures("few_free_address_failures", "long_delays")
def test_many_failures_from_one_address_slow_every_account(
    client: TestClient, session: Session, corporation: OrgFixture, make_user: MakeUser
) -> None:
    staff = make_user(corporation, role=UserRole.STAFF)
    # Password spraying: failures on other accounts (and on no account) from this address.
    for number in range(get_settings().sign_in_address_free_failures):
        failed = post_password(client, f"nobody-{number}@example.jp", "Summer2026!!")
        assert failed.status_code == 401
    row = session.get(SignInThrottle, "testclient")
    assert row is not None
    assert row.failures == get_settings().sign_in_address_free_failures
    throttled = post_password(client, staff.email, TEST_PASSWORD)
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers
    # An unknown e-mail gets the same answer as a wrong password: accounts are not revealed.
    records = client.get(
        "/v1/account-events",
        params={"kind": "sign_in_failed"},
        headers=make_user(corporation).headers,
    ).json()["items"]
    assert records == []  # failures naming no account belong to no organisation
