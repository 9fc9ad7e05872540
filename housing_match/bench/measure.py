"""The timings: a match through the service, its SQL floor, an allocation, and HTTP throughput."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from housing_match.auth import Principal
from housing_match.matching import service
from housing_match.matching.repository import MatchCriteria, MatchSql, PersonRepository
from housing_match.matching.schemas import AllocationObjective, AllocationRequest
from housing_match.models import MatchListing
from housing_match.settings import get_settings

MATCH_LIMIT = 20


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(statistics.median(ms), 2),
        "p95": round(percentile(ms, 0.95), 2),
        "p99": round(percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
    }


def _time_match(
    make_session: sessionmaker[Session], principal: Principal, person_id: uuid.UUID
) -> float:
    """Server time of one match: ``match_person`` in its own session (= one request's
    transaction), timed around the service call; the commit of its logs is not timed."""
    with make_session() as session:
        started = time.perf_counter()
        service.match_person(
            session,
            principal,
            person_id,
            limit=MATCH_LIMIT,
            relax=None,
            radius_factor=None,
            weights=None,
        )
        seconds = time.perf_counter() - started
        session.commit()
    return seconds


def time_matches_and_floors(
    make_session: sessionmaker[Session], principal: Principal, person_ids: Sequence[uuid.UUID]
) -> tuple[list[float], list[float]]:
    """Each person's match, then the floor of the same person's criteria, person by person:
    measured side by side, so a machine that speeds up or slows down during the run (a shared
    one does) shifts both alike and their ratio stays honest."""
    criteria = floor_criteria(make_session, person_ids)
    matches: list[float] = []
    floors: list[float] = []
    for person_id, one in zip(person_ids, criteria, strict=True):
        matches.append(_time_match(make_session, principal, person_id))
        floors.extend(time_floor(make_session, [one]))
    return matches, floors


def floor_statement(criteria: MatchCriteria) -> Select[*tuple[Any, ...]]:
    """The least SQL any match must run: the same search area (municipality and GiST index
    scans), the same hard-constraint predicates and the anchor distances, built from the same
    ``MatchSql`` pieces as ``match_statement``, over the same ``match_listings``.

    Left out, because they are what the matcher adds on top: the per-constraint exclusion
    counts (every check evaluated on every considered home, not only until one fails), the
    factor values and weighted score, the ordering and limit, fetching the vacancies and
    dwellings of the top rows, the explanations, and the read and query logs. Aggregating to
    one row keeps result transfer out of the floor too.
    """
    sql = MatchSql(criteria)
    distances = sql.anchor_distances()
    return (
        select(func.count(), *(func.min(distance) for distance in distances))
        .select_from(MatchListing)
        .where(*sql.universe(relaxed=False), sql.admitted())
    )


def floor_criteria(
    make_session: sessionmaker[Session], person_ids: Sequence[uuid.UUID]
) -> list[MatchCriteria]:
    with make_session() as session:
        persons = {p.id: p for p in PersonRepository(session).get_many_with_details(person_ids)}
        weights = service.resolve_weights(None)
        # The service's own context and criteria, so the floor asks exactly what the match asks.
        return [
            service.criteria_for(
                persons[person_id], service.person_context(persons[person_id]), weights=weights
            )
            for person_id in person_ids
        ]


def time_floor(
    make_session: sessionmaker[Session], criteria: Sequence[MatchCriteria]
) -> list[float]:
    timings: list[float] = []
    for one in criteria:
        statement = floor_statement(one)
        with make_session() as session:
            started = time.perf_counter()
            session.execute(statement).one()
            timings.append(time.perf_counter() - started)
            # Ended as a request ends, with a commit (it wrote nothing): on a rollback psycopg
            # deallocates every statement prepared on the connection, so the next match on it
            # would parse its statement again, which no match served between requests does.
            session.commit()
    return timings


@contextlib.contextmanager
def allocation_cap(persons: int) -> Iterator[int]:
    """Raise ``allocation_max_persons`` (HOUSING_MATCH_ALLOCATION_MAX_PERSONS, default 100) for
    one call when the bench allocates more persons at once: the cap bounds a request, and the
    bench measures what one allocation of that many costs. Yields the cap in force."""
    settings = get_settings()
    previous = settings.allocation_max_persons
    settings.allocation_max_persons = max(previous, persons)
    try:
        yield settings.allocation_max_persons
    finally:
        settings.allocation_max_persons = previous


@dataclass(frozen=True)
class AllocationTiming:
    seconds: float
    assigned: int
    persons: int
    cap: int


def time_allocation(
    make_session: sessionmaker[Session], principal: Principal, person_ids: Sequence[uuid.UUID]
) -> AllocationTiming:
    request = AllocationRequest(
        person_ids=list(person_ids), objective=AllocationObjective.TOTAL_SCORE
    )
    with allocation_cap(len(person_ids)) as cap, make_session() as session:
        started = time.perf_counter()
        result = service.allocate(session, principal, request)
        seconds = time.perf_counter() - started
        session.commit()
    return AllocationTiming(seconds, result.assigned_count, len(person_ids), cap)


# --- HTTP ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def served(database_url: str, *, workers: int, startup_timeout: float = 90.0) -> Iterator[str]:
    """uvicorn in a subprocess on a free loopback port, on the bench database; its base URL."""
    port = free_port()
    env = os.environ | {"HOUSING_MATCH_DATABASE_URL": database_url}
    command = [
        sys.executable, "-m", "uvicorn", "housing_match.app:app", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603  # our own interpreter and module
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"uvicorn exited: {log.read().decode(errors='replace')}")
                try:
                    if httpx.get(f"{base_url}/health", timeout=2.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not become healthy in time")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latency_ms: dict[str, float]
    reconnects: int = 0  # kept-alive connections the server had closed, opened again

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class _KeepAliveClient:
    """One keep-alive HTTP/1.1 connection issuing GETs: the least a client can cost.

    The load and the server share the machine's cores, so every millisecond the client spends
    per request is taken from the server under test; a general-purpose client (httpx) spends
    about 3 ms on each of these 100 kB responses, this one a tenth of that. It reads exactly
    the status line, the headers and ``Content-Length`` bytes of body, and nothing else.
    """

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.headers = f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def get(self, path: str) -> int:
        """The status of one GET. A kept-alive connection the server has closed meanwhile (a
        restarted worker, an idle timeout) is opened again and the GET sent once more, as any
        HTTP client does; ``reconnects`` counts it. On a fresh connection a failure is raised."""
        fresh = self.reader is None
        try:
            return await self._get(path)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if fresh:
                raise
            self.reconnects += 1
            return await self._get(path)

    async def _get(self, path: str) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.headers)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(
    base_url: str, key: str, person_ids: Sequence[uuid.UUID], concurrency: int, seconds: float
) -> LoadResult:
    parsed = httpx.URL(base_url)
    host, port = parsed.host, parsed.port or 80
    paths = [f"/v1/persons/{person_id}/matches?limit={MATCH_LIMIT}" for person_id in person_ids]
    clients = [_KeepAliveClient(host, port, key) for _ in range(concurrency)]
    try:
        # Warm as a server that has been serving: every connection open, and every person
        # asked for twice, so each server process has compiled each statement shape (a
        # one-time ~20 ms per shape and process) before the clock starts.
        async def warm(client: _KeepAliveClient, own: list[str]) -> None:
            for path in own:
                await client.get(path)

        await asyncio.gather(
            *(warm(client, (paths * 2)[i::concurrency]) for i, client in enumerate(clients))
        )
        latencies: list[float] = []
        errors = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def client_loop(first: int, client: _KeepAliveClient) -> None:
            nonlocal errors
            index = first
            while loop.time() < deadline:
                started = time.perf_counter()
                if await client.get(paths[index % len(paths)]) == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                index += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(client_loop(i, client) for i, client in enumerate(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    return LoadResult(
        len(latencies),
        errors,
        elapsed,
        summary_ms(latencies) if latencies else {},
        reconnects=sum(client.reconnects for client in clients),
    )


def match_throughput(
    database_url: str,
    key: str,
    person_ids: Sequence[uuid.UUID],
    *,
    concurrency: int,
    seconds: float,
    workers: int,
) -> LoadResult:
    with served(database_url, workers=workers) as base_url:
        return asyncio.run(_load(base_url, key, person_ids, concurrency, seconds))
