"""Signed webhooks for support corporations: endpoints, the outbox, signing and verifying.

Every referral event is written to ``outbox`` in the transaction that made the change, with
one pending ``webhook_deliveries`` row per endpoint of the vacancy's corporation; the worker
(``housing-match webhooks run``, ``worker.py``) sends them. Delivery is at least once and may
be out of order after a retry: receivers deduplicate on the event id and order by
``occurred_at``.

Each delivery is a POST of JSON with these headers:

- ``X-HousingMatch-Event``: the event type, e.g. ``referral.state_changed``
- ``X-HousingMatch-Event-Id``: the event id (the same on every retry)
- ``X-HousingMatch-Timestamp``: Unix seconds when this attempt was signed
- ``X-HousingMatch-Signature``: ``v1=`` + hex HMAC-SHA256 of ``timestamp + "." + body``
  under the endpoint's secret

A receiver recomputes the HMAC over the exact bytes received and rejects the request when the
timestamp is more than five minutes away from its clock (``verify_signature`` does both), so
a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from housing_match.auth import Principal
from housing_match.errors import BadRequest, ResourceNotFound, UnprocessableEntity
from housing_match.history.service import record_change
from housing_match.models import OutboxEvent, Referral, WebhookDelivery, WebhookEndpoint
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.referrals.egress import host_problem
from housing_match.referrals.repository import (
    OutboxRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
)
from housing_match.referrals.vocabulary import DeliveryStatus, WebhookEventType
from housing_match.settings import get_settings

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105  # a label, not a secret
EVENT_HEADER = "X-HousingMatch-Event"
EVENT_ID_HEADER = "X-HousingMatch-Event-Id"
DELIVERY_HEADER = "X-HousingMatch-Delivery"
TIMESTAMP_HEADER = "X-HousingMatch-Timestamp"
SIGNATURE_HEADER = "X-HousingMatch-Signature"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


# --- signing -------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for one attempt."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    *,
    timestamp: str,
    signature: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``signature`` signs ``timestamp + "." + body`` with ``secret`` and the
    timestamp is within ``tolerance_seconds`` of ``now`` (default: the current time).

    For receivers: pass the raw request body (not re-serialised JSON) and the
    ``X-HousingMatch-Timestamp`` and ``X-HousingMatch-Signature`` headers. The signature header
    may list several comma-separated ``v1=`` values (during a secret rotation); one match
    suffices. The comparison is constant-time.
    """
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    candidates = [part.strip() for part in signature.split(",")]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def signed_headers(
    secret: str, body: bytes, *, event_type: str, event_id: uuid.UUID, delivery_id: uuid.UUID
) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event_type,
        EVENT_ID_HEADER: str(event_id),
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


# --- endpoint URLs ---------------------------------------------------------------------------


def loopback_allowed(url: httpx.URL) -> bool:
    """Whether the development and test escape hatch lets this URL use http and loopback
    addresses (``webhook_allow_http_loopback``, which production refuses to start with)."""
    host = url.raw_host.decode("ascii").lower()
    return get_settings().webhook_allow_http_loopback and host in LOOPBACK_HOSTS


def parse_url(url: str) -> httpx.URL | None:
    """The URL as the worker's HTTP client reads it (one parser for the check and the send)."""
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError, UnicodeError):
        return None


def url_problem(url: str) -> str | None:
    """Why the URL may not receive webhooks, as far as is known without DNS, or None.

    HTTPS to a public host only: person data travels in these requests, and a URL naming a
    private address would let a caller reach the service's own network (``egress.py``; the
    address a name resolves to is checked at send time). Plain http is allowed to the loopback
    address only where ``webhook_allow_http_loopback`` is set (tests, local development).
    """
    parsed = parse_url(url)
    if parsed is None:
        return "the URL is not valid"
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        return "the URL has no host"
    if parsed.userinfo:
        return "credentials in the URL are not allowed; verify the signature instead"
    loopback = loopback_allowed(parsed)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        return "webhook URLs must use https"
    if loopback:
        return None
    return host_problem(host)


# --- endpoints -----------------------------------------------------------------------------


def _history_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # Never the secret: the history is readable by admins.
    return {
        "id": str(endpoint.id),
        "organisation_id": str(endpoint.organisation_id),
        "url": endpoint.url,
        "description": endpoint.description,
    }


def register_endpoint(
    session: Session, principal: Principal, *, url: str, secret: str | None, description: str
) -> tuple[WebhookEndpoint, str]:
    problem = url_problem(url)
    if problem is not None:
        raise UnprocessableEntity(f"The webhook URL is not accepted: {problem}.")
    chosen = secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpointRepository(session).add(
        WebhookEndpoint(
            organisation_id=principal.organisation_id,
            url=url,
            secret=chosen,
            description=description,
        )
    )
    record_change(
        session,
        principal.actor,
        action="webhook.registered",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        before=None,
        after=_history_view(endpoint),
    )
    return endpoint, chosen


def list_endpoints(session: Session, principal: Principal) -> Sequence[WebhookEndpoint]:
    return WebhookEndpointRepository(session).list_for(principal.organisation_id)


def _own_endpoint(
    session: Session, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = WebhookEndpointRepository(session).get(endpoint_id)
    if endpoint is None or endpoint.organisation_id != principal.organisation_id:
        raise ResourceNotFound("No such webhook endpoint of yours.")
    return endpoint


def delete_endpoint(session: Session, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Deletes the endpoint and its deliveries, pending ones included."""
    endpoint = _own_endpoint(session, principal, endpoint_id)
    before = _history_view(endpoint)
    WebhookEndpointRepository(session).delete(endpoint)
    record_change(
        session,
        principal.actor,
        action="webhook.deleted",
        entity_type="webhook_endpoint",
        entity_id=endpoint_id,
        before=before,
        after=None,
    )


def list_deliveries(
    session: Session,
    principal: Principal,
    endpoint_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[WebhookDelivery, OutboxEvent]], str | None]:
    _own_endpoint(session, principal, endpoint_id)
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        values = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(str(values["t"])), uuid.UUID(str(values["id"])))
        except (KeyError, ValueError) as exc:
            raise BadRequest(INVALID_CURSOR) from exc
    rows = list(
        WebhookDeliveryRepository(session).list_for_endpoint(
            endpoint_id,
            status=None if status is None else status.value,
            after=after,
            limit=limit + 1,
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "id": str(last.id)})
    return rows, next_cursor


# --- the outbox ----------------------------------------------------------------------------


def emit(
    session: Session, referral: Referral, event_type: WebhookEventType, data: dict[str, Any]
) -> OutboxEvent:
    """An event for the vacancy's corporation, in the caller's transaction.

    ``data`` must be what the corporation may read (its view of the referral): the payload is
    stored as given and sent as is.
    """
    return OutboxRepository(session).add_with_deliveries(
        OutboxEvent(
            id=uuid.uuid4(),
            organisation_id=referral.corporation_id,
            event_type=event_type.value,
            referral_id=referral.id,
            payload=data,
        )
    )
