"""Housekeeping jobs item by item: an item that fails is logged and skipped, never the end of
the job.

The jobs (``referrals expire-holds``, ``referrals flag-stalled``, ``vacancies expire``) run
over every tenant's rows in one transaction. Each item gets its own savepoint, so a row the
database refuses rolls back only that item's changes: one tenant's bad data never stops the
job for the others. The caller skips the failed items for the rest of the run (they would
otherwise be selected again) and reports them, and the command exits non-zero so whoever
schedules it hears of them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

logger = logging.getLogger("housing_match.jobs")


@dataclass
class JobReport:
    done: int = 0
    failed: set[uuid.UUID] = field(default_factory=set)

    @property
    def failed_count(self) -> int:
        return len(self.failed)


def attempt(
    session: Session, report: JobReport, job: str, key: uuid.UUID, work: Callable[[], bool]
) -> None:
    """Runs ``work`` for one item in a savepoint; it returns whether it changed the item.

    On any error the item's changes are rolled back, the error is logged with the item's id
    and the item is added to ``report.failed``.
    """
    try:
        with session.begin_nested():
            changed = work()
    except Exception:
        logger.exception("%s: item %s failed and was skipped", job, key)
        report.failed.add(key)
        return
    if changed:
        report.done += 1
