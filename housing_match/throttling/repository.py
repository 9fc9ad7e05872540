"""The counters of the rate limits: one row per bucket and its current fixed window.

Every time is the database's ``clock_timestamp()``: one clock for all API processes, and the
moment of the statement rather than of its transaction's start.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from housing_match.models import RateLimitCounter
from housing_match.repository import RepositoryBase


@dataclass(frozen=True)
class WindowCount:
    """A bucket's hits in its current window, and how long until that window ends."""

    bucket: str
    hits: int
    seconds_left: float


class RateLimitRepository(RepositoryBase[RateLimitCounter]):
    model = RateLimitCounter

    def count(self, bucket: str, *, window: timedelta) -> WindowCount:
        """One more hit, atomically: a window that has ended starts again at one. The row is
        locked only for this statement when run outside a longer transaction."""
        row = RateLimitCounter
        now = func.clock_timestamp()
        ended = row.expires_at <= now
        statement = (
            insert(row)
            .values(bucket=bucket, hits=1, expires_at=now + window)
            .on_conflict_do_update(
                index_elements=[row.bucket],
                set_={
                    "hits": case((ended, 1), else_=row.hits + 1),
                    "expires_at": case((ended, now + window), else_=row.expires_at),
                },
            )
            .returning(row.hits, func.extract("epoch", row.expires_at - now))
        )
        hits, seconds_left = self.session.execute(statement).one()
        return WindowCount(bucket=bucket, hits=hits, seconds_left=float(seconds_left))

    def current(self, buckets: Collection[str]) -> list[WindowCount]:
        """The buckets' counts in windows that have not ended (a read: takes no lock)."""
        if not buckets:
            return []
        row = RateLimitCounter
        now = func.clock_timestamp()
        rows = self.session.execute(
            select(row.bucket, row.hits, func.extract("epoch", row.expires_at - now)).where(
                row.bucket.in_(buckets), row.expires_at > now
            )
        ).all()
        return [
            WindowCount(bucket=bucket, hits=hits, seconds_left=float(left))
            for bucket, hits, left in rows
        ]

    def prune(self) -> int:
        """Forgets windows that have ended; returns how many."""
        result = self.session.execute(
            delete(RateLimitCounter).where(RateLimitCounter.expires_at <= func.clock_timestamp())
        )
        return int(getattr(result, "rowcount", 0) or 0)
