"""The rate limiter: which buckets a request counts in, and when it is refused with 429.

Two rules:

- **Failed authentication.** An API key that is unknown, expired or revoked, or a session
  cookie of no live session, counts one failure for the client address and one for the key's
  prefix (its first 12 characters, as key listings show them). Once either has reached its
  limit within the window, every request from that address, or with a key of that prefix,
  is refused with 429 before its credentials are checked, until the window ends: the right
  key is refused too, or guessing would go on behind the 429s. A request without credentials
  counts nothing (nothing was guessed).
- **Expensive operations.** Each request to a limited operation counts for the organisation
  making it; beyond the limit within the window, 429 until the window ends.

Counts are rows of ``rate_limit_counters`` in PostgreSQL, shared by every API process, and
written through a connection of their own in autocommit: a refused request rolls its own
transaction back, and its failure must still count; and a counter row is locked only for the
one statement, never for the length of an expensive request.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from housing_match.errors import TooManyRequests
from housing_match.settings import Settings, get_settings
from housing_match.throttling.repository import RateLimitRepository, WindowCount

KEY_PREFIX_LENGTH = 12  # as stored in api_keys.prefix and shown in key listings
# Ended windows are deleted every this many counts per process: the table stays as small as
# the set of live windows, at the cost of one indexed delete now and then.
PRUNE_EVERY = 500


class Operation(StrEnum):
    """An expensive operation, limited per organisation."""

    MATCH = "match"
    ALLOCATION = "allocation"
    IMPORT = "import"
    EXPORT = "export"


OPERATION_NAMES: dict[Operation, str] = {
    Operation.MATCH: "matches and match explanations",
    Operation.ALLOCATION: "allocations",
    Operation.IMPORT: "bulk imports (dry runs included)",
    Operation.EXPORT: "CSV and GeoJSON exports",
}


@dataclass(frozen=True)
class RateLimits:
    """The limits in force; 0 turns one off."""

    failures_per_address: int = 0
    failures_per_key_prefix: int = 0
    failure_window: timedelta = timedelta(minutes=5)
    per_organisation: Mapping[Operation, int] = field(default_factory=dict)
    window: timedelta = timedelta(minutes=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            failures_per_address=settings.auth_failures_per_address,
            failures_per_key_prefix=settings.auth_failures_per_key_prefix,
            failure_window=timedelta(seconds=settings.auth_failure_window_seconds),
            per_organisation={
                Operation.MATCH: settings.rate_limit_match,
                Operation.ALLOCATION: settings.rate_limit_allocation,
                Operation.IMPORT: settings.rate_limit_import,
                Operation.EXPORT: settings.rate_limit_export,
            },
            window=timedelta(seconds=settings.rate_limit_window_seconds),
        )


def client_address(request: Request) -> str:
    """The client's address as the server sees it. Behind a reverse proxy, uvicorn takes it
    from X-Forwarded-For when the proxy is one it trusts (``FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else ""


def _address_bucket(address: str) -> str:
    return f"auth-address:{address}"


def _key_prefix_bucket(presented_key: str) -> str:
    # Hashed: the first characters of whatever was sent may be a pasted password.
    digest = hashlib.sha256(presented_key[:KEY_PREFIX_LENGTH].encode()).hexdigest()[:32]
    return f"auth-key-prefix:{digest}"


def _organisation_bucket(organisation_id: object, operation: Operation) -> str:
    return f"organisation:{organisation_id}:{operation.value}"


def _seconds(count: WindowCount) -> int:
    return max(1, math.ceil(count.seconds_left))


@lru_cache
def _counter_sessions(database_url: str) -> sessionmaker[Session]:
    """Sessions on a small pool of its own, in autocommit. Its own pool: a request already
    holds a connection of the main pool, and waiting there for a second one could starve."""
    from housing_match.db import make_engine

    engine = make_engine(
        database_url,
        application_name="housing-match-limits",
        isolation_level="AUTOCOMMIT",
        pool_size=2,
        max_overflow=8,
        pool_pre_ping=True,
    )
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def default_counter_session() -> Session:
    return _counter_sessions(get_settings().database_url)()


class RateLimiter:
    """Counts and refuses. ``counter_session`` opens a session whose every statement commits
    by itself (autocommit), on any connection but the request's."""

    def __init__(
        self,
        limits: RateLimits,
        counter_session: Callable[[], Session] = default_counter_session,
    ) -> None:
        self.limits = limits
        self._counter_session = counter_session
        self._counts = itertools.count(1)

    def _count(self, buckets: list[tuple[str, timedelta]]) -> list[WindowCount]:
        with self._counter_session() as session:
            repository = RateLimitRepository(session)
            counts = [repository.count(bucket, window=window) for bucket, window in buckets]
            if next(self._counts) % PRUNE_EVERY == 0:
                repository.prune()
            session.commit()
        return counts

    # --- failed authentication ---------------------------------------------------------------

    def failure_limits(self, request: Request, presented_key: str | None) -> dict[str, int]:
        """The buckets a failed authentication of this request counts in, with their limits;
        empty while the failure limits are off."""
        buckets: dict[str, int] = {}
        if self.limits.failures_per_address:
            buckets[_address_bucket(client_address(request))] = self.limits.failures_per_address
        if presented_key and self.limits.failures_per_key_prefix:
            buckets[_key_prefix_bucket(presented_key)] = self.limits.failures_per_key_prefix
        return buckets

    def refuse_throttled_authentication(
        self, session: Session, request: Request, presented_key: str | None
    ) -> None:
        """Before credentials are checked: 429 while the address or the key's prefix has
        reached its limit of failures. A read in the request's own transaction (an API key's
        lookup makes this read in its own statement instead: see ``failure_limits``)."""
        limits = self.failure_limits(request, presented_key)
        if limits:
            refuse_while_throttled(RateLimitRepository(session).seconds_until_unthrottled(limits))

    def count_failed_authentication(self, request: Request, presented_key: str | None) -> None:
        """A failure, committed at once: the request that failed will roll back."""
        window = self.limits.failure_window
        buckets = self.failure_limits(request, presented_key)
        if buckets:
            self._count([(bucket, window) for bucket in buckets])

    # --- expensive operations ----------------------------------------------------------------

    def charge(self, organisation_id: object, operation: Operation) -> None:
        """One request of the organisation to the operation; 429 beyond its limit."""
        limit = self.limits.per_organisation.get(operation, 0)
        if not limit:
            return
        bucket = _organisation_bucket(organisation_id, operation)
        (count,) = self._count([(bucket, self.limits.window)])
        if count.hits > limit:
            wait = _seconds(count)
            raise TooManyRequests(
                f"At most {limit} {OPERATION_NAMES[operation]} {per_window(self.limits.window)} "
                f"per organisation: try again in {wait} s.",
                retry_after=wait,
            )


def refuse_while_throttled(seconds_left: float | None) -> None:
    """429 with Retry-After when a failure limit has been reached: ``seconds_left`` is how
    long until the reached limits' windows end, None while none is reached."""
    if seconds_left is not None:
        wait = max(1, math.ceil(seconds_left))
        raise TooManyRequests(
            "Too many failed authentications from this address or with this key: "
            f"try again in {wait} s.",
            retry_after=wait,
        )


def per_window(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds == 60:
        return "a minute"
    if seconds % 3600 == 0:
        return "an hour" if seconds == 3600 else f"per {seconds // 3600} hours"
    if seconds % 60 == 0:
        return f"per {seconds // 60} minutes"
    return f"per {seconds} seconds"


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter
