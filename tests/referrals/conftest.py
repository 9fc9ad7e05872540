"""Referral tests: homes in Osaka (the municipality governs prefecture 27), the CLI and the
webhook worker on the test's own transaction, and http webhooks to 127.0.0.1 allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from housing_match import db
from housing_match.models import OrganisationKind
from housing_match.settings import get_settings
from tests.conftest import MakeOrganisation, OrgFixture


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))


@pytest.fixture
def jobs_use_test_transaction(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI jobs and the webhook worker commit savepoints of the test's transaction."""
    bound = sessionmaker(
        bind=session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    monkeypatch.setattr(db, "get_sessionmaker", lambda: bound)


@pytest.fixture
def loopback_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOUSING_MATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("HOUSING_MATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK")
    get_settings.cache_clear()
