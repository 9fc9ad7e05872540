"""The counters of the rate limits: one row per bucket and its current fixed window.

Every time is the database's ``clock_timestamp()``: one clock for all API processes, and the
moment of the statement rather than of its transaction's start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, Subquery, Text, and_, bindparam, case, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from housing_match.models import RateLimitCounter
from housing_match.repository import RepositoryBase


@dataclass(frozen=True)
class WindowCount:
    """A bucket's hits in its current window, and how long until that window ends."""

    bucket: str
    hits: int
    seconds_left: float


def _reached_limits_wait() -> Subquery:
    row = RateLimitCounter
    now = func.clock_timestamp()
    limits = (
        func.unnest(
            bindparam("limited_buckets", type_=ARRAY(Text)),
            bindparam("bucket_limits", type_=ARRAY(Integer)),
        )
        .table_valued("bucket", "hits_limit")
        .render_derived(name="bucket_limit")
    )
    return (
        select(func.max(func.extract("epoch", row.expires_at - now)).label("seconds"))
        .select_from(limits)
        .join(row, and_(row.bucket == limits.c.bucket, row.hits >= limits.c.hits_limit))
        .where(row.expires_at > now)
        .subquery("reached_limits")
    )


# For another repository's statement, so that a request reads the counters in a round trip it
# makes anyway: a derived table of exactly one row, whose ``seconds`` is how long until the
# windows of those buckets that have reached their limits end, NULL while none has. Its
# parameters come from ``reached_limits_parameters``. The buckets and their limits are arrays,
# so one statement serves any number of buckets and is built once.
REACHED_LIMITS_WAIT = _reached_limits_wait()


def reached_limits_parameters(limits: Mapping[str, int]) -> dict[str, Any]:
    """The parameters of ``REACHED_LIMITS_WAIT``: each bucket with its limit of hits."""
    return {"limited_buckets": list(limits), "bucket_limits": list(limits.values())}


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

    def seconds_until_unthrottled(self, limits: Mapping[str, int]) -> float | None:
        """How long until the windows end of those buckets that have reached their limits
        within windows that have not ended; None while none has (a read: takes no lock)."""
        if not limits:
            return None
        seconds: Any = self.session.execute(
            select(REACHED_LIMITS_WAIT.c.seconds), reached_limits_parameters(limits)
        ).scalar_one()
        return None if seconds is None else float(seconds)

    def prune(self) -> int:
        """Forgets windows that have ended; returns how many."""
        result = self.session.execute(
            delete(RateLimitCounter).where(RateLimitCounter.expires_at <= func.clock_timestamp())
        )
        return int(getattr(result, "rowcount", 0) or 0)
