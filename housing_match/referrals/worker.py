"""The webhook worker: sends due deliveries, one transaction per step, retrying with backoff.

For each delivery: claim it (``FOR UPDATE SKIP LOCKED``, lease pushed into
``next_attempt_at``, attempt counted) and commit; sign and POST it with no transaction open;
then record the outcome and commit. So any number of workers can run, a slow receiver holds
no database lock, and a worker that dies between the steps leaves a delivery that falls due
again when its lease ends: at least once, never lost.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from housing_match import __version__, db
from housing_match.matching.repository import PersonReadLogRepository
from housing_match.referrals import egress
from housing_match.referrals.repository import (
    Claimed,
    ReferralRepository,
    WebhookDeliveryRepository,
)
from housing_match.referrals.vocabulary import DeliveryStatus
from housing_match.referrals.webhooks import (
    loopback_allowed,
    parse_url,
    signed_headers,
    url_problem,
)
from housing_match.settings import Settings, get_settings

logger = logging.getLogger("housing_match.webhooks")

READ_PURPOSE = "referral.webhook"
ERROR_MAX_CHARS = 500


@dataclass
class RunReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    # Deliveries the worker itself failed on (logged); each is tried again after its lease.
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"delivered {self.delivered}, retrying {self.retrying}, dead {self.dead}, "
            f"failed {self.failed}"
        )

    def add(self, other: RunReport) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead
        self.failed += other.failed


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


@contextmanager
def _transaction() -> Iterator[Session]:
    """One committed transaction, as ``cli_session`` opens for a command."""
    with db.get_sessionmaker()() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


def backoff(attempts: int, settings: Settings) -> timedelta:
    """After the n-th failed attempt: base × 2^(n-1), capped."""
    seconds = settings.webhook_backoff_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


def body_of(claimed: Claimed) -> bytes:
    envelope = {
        "id": str(claimed.event_id),
        "type": claimed.event_type,
        "occurred_at": claimed.event_created_at.isoformat(),
        "data": claimed.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def send(
    client: httpx.Client, claimed: Claimed, resolver: egress.Resolver = egress.system_resolver
) -> Outcome:
    """One attempt, to an address checked for this attempt (``egress.py``). The outcome says
    only what kind of failure it was: it is shown to the corporation."""
    # Checked again at send time: the rules may have tightened since the endpoint was added.
    problem = url_problem(claimed.url)
    url = parse_url(claimed.url)
    if problem is not None or url is None:
        return Outcome(ok=False, status_code=None, error=f"URL refused: {problem}")
    addresses = egress.resolve(url, resolver, allow_loopback=loopback_allowed(url))
    if addresses is None:
        logger.info("webhook delivery %s: %s refused by address", claimed.delivery_id, url.host)
        return Outcome(ok=False, status_code=None, error=egress.ADDRESS_REFUSED)
    body = body_of(claimed)
    headers = signed_headers(
        claimed.secret,
        body,
        event_type=claimed.event_type,
        event_id=claimed.event_id,
        delivery_id=claimed.delivery_id,
    )
    for address in addresses:
        target, host_header, extensions = egress.pinned(url, address)
        try:
            with client.stream(
                "POST", target, content=body, headers=headers | host_header, extensions=extensions
            ) as response:
                # The receiver's body is never read: its owner has its own logs.
                if response.is_success:
                    return Outcome(ok=True, status_code=response.status_code, error=None)
                error = f"HTTP {response.status_code}"
                return Outcome(ok=False, status_code=response.status_code, error=error)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing was sent to this address: the next one of the name may answer.
            logger.info("webhook delivery %s: %s: %r", claimed.delivery_id, address, exc)
        except httpx.HTTPError as exc:
            logger.info("webhook delivery %s: %s: %r", claimed.delivery_id, address, exc)
            break
    return Outcome(ok=False, status_code=None, error=egress.NO_RESPONSE)


def record(session: Session, claimed: Claimed, outcome: Outcome, settings: Settings) -> str | None:
    """Writes the outcome; returns the delivery's new status (None: the endpoint is gone)."""
    repository = WebhookDeliveryRepository(session)
    delivery = repository.lock(claimed.delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
        return None
    now = repository.database_now()
    delivery.last_status_code = outcome.status_code
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        delivery.last_error = None
        _log_disclosure(session, claimed)
    else:
        delivery.last_error = (outcome.error or "failed")[:ERROR_MAX_CHARS]
        if delivery.attempts >= settings.webhook_max_attempts:
            delivery.status = DeliveryStatus.DEAD.value
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts, settings)
    session.flush()
    return delivery.status


def _log_disclosure(session: Session, claimed: Claimed) -> None:
    """A delivered event carried the person's consented data to the corporation: a read."""
    if claimed.referral_id is None:
        return
    referral = ReferralRepository(session).get(claimed.referral_id)
    if referral is None or referral.person_id is None:
        return
    PersonReadLogRepository(session).record(
        [referral.person_id],
        organisation_id=claimed.organisation_id,
        api_key_id=None,
        purpose=READ_PURPOSE,
    )


def deliver_due(
    client: httpx.Client,
    settings: Settings | None = None,
    resolver: egress.Resolver = egress.system_resolver,
) -> RunReport:
    """Sends every delivery due now, including retries that fall due while it runs."""
    settings = settings or get_settings()
    lease = timedelta(seconds=settings.webhook_lease_seconds)
    report = RunReport()
    while True:
        with _transaction() as session:
            claimed = WebhookDeliveryRepository(session).claim_due(lease)
        if claimed is None:
            return report
        try:
            outcome = send(client, claimed, resolver)
            with _transaction() as session:
                status = record(session, claimed, outcome, settings)
        except Exception:
            # One delivery's failure (a row the database refuses, say) must not hold back the
            # other corporations' deliveries: it stays leased, so this pass moves on, and it
            # falls due again when the lease ends.
            logger.exception("webhook delivery %s failed in the worker", claimed.delivery_id)
            report.failed += 1
            continue
        if status == DeliveryStatus.DELIVERED.value:
            report.delivered += 1
        elif status == DeliveryStatus.DEAD.value:
            report.dead += 1
            logger.warning("webhook delivery %s gave up: %s", claimed.delivery_id, outcome.error)
        elif status == DeliveryStatus.PENDING.value:
            report.retrying += 1


def make_client(settings: Settings) -> httpx.Client:
    return egress.make_client(
        timeout=settings.webhook_timeout_seconds,
        user_agent=f"housing-match-webhooks/{__version__}",
    )


def run(
    *,
    once: bool,
    settings: Settings | None = None,
    resolver: egress.Resolver = egress.system_resolver,
) -> RunReport:
    """The worker loop: deliver what is due, sleep, repeat; ``once`` stops when nothing is due."""
    settings = settings or get_settings()
    total = RunReport()
    with make_client(settings) as client:
        while True:
            try:
                report = deliver_due(client, settings, resolver)
            except Exception:
                if once:
                    raise
                # A lost database connection must not end the loop: whatever was claimed is
                # retried after its lease.
                logger.exception("webhook worker iteration failed; retrying")
                report = RunReport()
            total.add(report)
            if once:
                return total
            time.sleep(settings.webhook_poll_seconds)
