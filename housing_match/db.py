"""Engine and the one-transaction-per-request session dependency."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from housing_match.errors import ProblemError
from housing_match.settings import get_settings

logger = logging.getLogger("housing_match.db")

# Set on every connection of the service, so no transaction spends a round trip on them.
# PostGIS functions are costed so high that the planner would JIT-compile short queries
# (seconds) and start parallel workers for a few hundred rows, which on a small server only
# takes a core from the next request; and once psycopg prepares a statement, a generic plan
# would stop folding a person's geography parameters into constants.
SESSION_SETTINGS = {
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "plan_cache_mode": "force_custom_plan",
}


def connect_options(application_name: str = "housing-match") -> dict[str, str]:
    """libpq connection arguments carrying ``SESSION_SETTINGS``."""
    options = " ".join(f"-c {name}={value}" for name, value in SESSION_SETTINGS.items())
    return {"application_name": application_name, "options": options}


def make_engine(
    database_url: str, *, application_name: str = "housing-match", **kwargs: Any
) -> Engine:
    """An engine whose connections behave as the service's: every process that runs the
    service's queries (the API, the CLI, the tests, the benchmarks) makes its engine here."""
    return create_engine(database_url, connect_args=connect_options(application_name), **kwargs)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
    )


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


def get_session() -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    Services only ``flush()``; this dependency is the single place that commits.
    """
    with get_sessionmaker()() as session:
        try:
            yield session
        except BaseException as exc:
            session.rollback()
            keep_after_rollback(session, exc)
            raise
        session.commit()


def keep_after_rollback(session: Session, error: BaseException) -> None:
    """Writes and commits what a refused request must leave behind (``kept_writes``), after
    its own changes were rolled back. Should that fail, the refusal is still the answer."""
    writes = error.kept_writes if isinstance(error, ProblemError) else []
    if not writes:
        return
    try:
        for write in writes:
            write(session)
        session.commit()
    except Exception:
        logger.exception("could not record what a refused request leaves behind")
        session.rollback()


# scope="function" commits before the response is sent, so a failed commit is never a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# For a streamed export's rows: a session of its own that stays open until the last byte is
# sent (read-only; it connects only when an export uses it).
StreamingSessionDep = Annotated[Session, Depends(get_session, scope="request")]
