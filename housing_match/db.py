"""Engine and the one-transaction-per-request session dependency."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any

import psycopg
from fastapi import Depends
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from starlette.concurrency import run_in_threadpool

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


def begin_on_checkout(engine: Engine) -> None:
    """Every connection the engine hands out is checked alive by opening its transaction.

    A pooled connection may have died since its last use (a restarted or failed-over server,
    an administrator's ``pg_terminate_backend``): SQLAlchemy's ``pool_pre_ping`` finds out
    with a statement of its own at every check-out, and psycopg then opens the transaction
    with a ``BEGIN`` of its own before the first statement: two round trips before any work.
    Here the ``BEGIN`` is the check: sent at check-out, straight on the libpq connection, it
    answers whether the connection is alive and leaves it in the transaction psycopg would
    have opened (psycopg sees the open transaction and sends no ``BEGIN`` itself). A dead
    connection is a ``DisconnectionError``, on which the pool replaces it and checks out
    again. For engines whose connections stay in transactions (never autocommit)."""

    @event.listens_for(engine, "checkout")
    def begin(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        connection: psycopg.Connection[Any] = dbapi_connection
        pgconn = connection.pgconn
        if connection.autocommit or pgconn.transaction_status != TransactionStatus.IDLE:
            return
        try:
            result = pgconn.exec_(b"BEGIN")
        except psycopg.Error as exc:
            raise DisconnectionError(str(exc)) from exc
        if result.status != ExecStatus.COMMAND_OK:
            raise DisconnectionError((result.error_message or b"BEGIN failed").decode())


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    begin_on_checkout(engine)
    return engine


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


async def get_session() -> AsyncIterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    Services only ``flush()``; this dependency is the single place that commits.

    A coroutine, so that FastAPI runs it on the event loop: making a session does no I/O (its
    connection is checked out by the first statement, on a worker thread), and only the end
    of the transaction, which waits on the database, goes to a worker thread. A synchronous
    dependency would cost a thread hand-off on entry and another on exit.
    """
    session = get_sessionmaker()()
    try:
        yield session
    except BaseException as exc:
        await run_in_threadpool(_end_after_error, session, exc)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit, session)
    else:
        session.close()  # nothing was read or written: no connection to give back


def _commit(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _end_after_error(session: Session, error: BaseException) -> None:
    try:
        session.rollback()
        keep_after_rollback(session, error)
    finally:
        session.close()


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
