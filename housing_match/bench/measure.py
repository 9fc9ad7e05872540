"""The timings: each match's server time beside its SQL floor, an allocation, HTTP throughput.

A match is timed by the server itself (``Server-Timing``, from the request's arrival to its
response being ready: authentication, reading the person, the statement and its logs, the
explanations, the commit and the serialised body), one request at a time, so no request waits
for another. Its floor runs in this process as a match runs its statement, in a transaction of
its own from the first statement to the commit.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from housing_match.matching import service
from housing_match.matching.repository import MatchCriteria, MatchRepository, PersonRepository
from housing_match.middleware import server_time_ms
from housing_match.served import serve

MATCH_LIMIT = 20
# A request that takes longer has failed, as far as a measurement is concerned.
REQUEST_TIMEOUT_S = 60.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest observed value with at least ``fraction`` of the
    values at or below it, never an interpolation between two."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


def summary_ms(milliseconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(milliseconds), 2),
        "p95": round(percentile(milliseconds, 0.95), 2),
        "p99": round(percentile(milliseconds, 0.99), 2),
        "max": round(max(milliseconds), 2),
    }


class BenchClient:
    """The API as a center uses it, over loopback, reading the server's own time of each
    answer."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=REQUEST_TIMEOUT_S,
        )

    def __enter__(self) -> BenchClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.http.close()

    def _timed(self, response: httpx.Response) -> tuple[float, Any]:
        if response.status_code != 200:
            raise RuntimeError(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code}: {response.text[:500]}"
            )
        server_ms = server_time_ms(response.headers.get("server-timing"))
        if server_ms is None:
            raise RuntimeError("the server sent no Server-Timing header")
        return server_ms, response.json()

    def match(self, person_id: uuid.UUID) -> float:
        """The server's milliseconds for one match of ``MATCH_LIMIT`` candidates."""
        response = self.http.get(f"/v1/persons/{person_id}/matches", params={"limit": MATCH_LIMIT})
        return self._timed(response)[0]

    def allocate(self, person_ids: Sequence[uuid.UUID]) -> tuple[float, int]:
        """The server's milliseconds for one allocation, and how many it housed."""
        response = self.http.post(
            "/v1/allocations",
            json={"person_ids": [str(p) for p in person_ids], "objective": "total_score"},
        )
        server_ms, body = self._timed(response)
        return server_ms, int(body["assigned_count"])


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


def time_floor(make_session: sessionmaker[Session], criteria: MatchCriteria) -> float:
    """Milliseconds of the floor's transaction: its statement (prepared, as the matcher's
    are) between the transaction's start and its commit, as a request has them."""
    with make_session() as session:
        started = time.perf_counter()
        MatchRepository(session).floor(criteria)
        # A commit, as a request ends: on a rollback psycopg deallocates every statement
        # prepared on the connection, so the next statement on it would be parsed again.
        session.commit()
        return (time.perf_counter() - started) * 1000


def time_matches_and_floors(
    client: BenchClient, make_session: sessionmaker[Session], person_ids: Sequence[uuid.UUID]
) -> tuple[list[float], list[float]]:
    """Each person's match, then the floor of the same person's criteria, person by person, in
    milliseconds: measured side by side, so a machine that speeds up or slows down during the
    run (a shared one does) shifts both alike and their ratio stays honest."""
    criteria = floor_criteria(make_session, person_ids)
    matches: list[float] = []
    floors: list[float] = []
    for person_id, one in zip(person_ids, criteria, strict=True):
        matches.append(client.match(person_id))
        floors.append(time_floor(make_session, one))
    return matches, floors


@dataclass(frozen=True)
class AllocationTiming:
    seconds: float
    assigned: int
    persons: int


def time_allocation(client: BenchClient, person_ids: Sequence[uuid.UUID]) -> AllocationTiming:
    server_ms, assigned = client.allocate(person_ids)
    return AllocationTiming(server_ms / 1000, assigned, len(person_ids))


# --- HTTP throughput -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    requests: int  # answered 200 within the timed seconds
    errors: int  # any other answer, a timeout or a broken connection, warm-up included
    seconds: float
    latency_ms: dict[str, float]
    reconnects: int = 0  # kept-alive connections the server had closed, opened again
    error_examples: tuple[str, ...] = ()

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class _KeepAliveClient:
    """One keep-alive HTTP/1.1 connection issuing GETs: the least a client can cost.

    The load and the server share the machine's cores, so every millisecond the client spends
    per request is taken from the server under test; a general-purpose client (httpx) spends
    about 3 ms on each of these responses, this one a tenth of that. It reads exactly the
    status line, the headers and ``Content-Length`` bytes of body, and nothing else.
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


# What a request can end in besides an answer: a broken or refused connection, a malformed
# answer, no answer in time.
_REQUEST_FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


async def _load(
    base_url: str, key: str, person_ids: Sequence[uuid.UUID], concurrency: int, seconds: float
) -> LoadResult:
    parsed = httpx.URL(base_url)
    host, port = parsed.host, parsed.port or 80
    paths = [f"/v1/persons/{person_id}/matches?limit={MATCH_LIMIT}" for person_id in person_ids]
    clients = [_KeepAliveClient(host, port, key) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []

    async def ask(client: _KeepAliveClient, path: str) -> int | None:
        """The status, or None (counted, the connection dropped) when there was none."""
        try:
            return await asyncio.wait_for(client.get(path), REQUEST_TIMEOUT_S)
        except (*_REQUEST_FAILURES, TimeoutError) as exc:
            client.close()
            errors.append(f"GET {path}: {type(exc).__name__}: {exc}")
            return None

    try:
        # Warm as a server that has been serving: every connection open, and every person
        # asked for twice, so each server process has compiled each statement shape (a
        # one-time ~20 ms per shape and process) before the clock starts.
        async def warm(client: _KeepAliveClient, own: list[str]) -> None:
            for path in own:
                await ask(client, path)

        await asyncio.gather(
            *(warm(client, (paths * 2)[i::concurrency]) for i, client in enumerate(clients))
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def client_loop(first: int, client: _KeepAliveClient) -> None:
            index = first
            while loop.time() < deadline:
                path = paths[index % len(paths)]
                started = time.perf_counter()
                status = await ask(client, path)
                if status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                elif status is not None:
                    errors.append(f"GET {path}: {status}")
                index += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(client_loop(i, client) for i, client in enumerate(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    return LoadResult(
        len(latencies),
        len(errors),
        elapsed,
        summary_ms(latencies) if latencies else {},
        reconnects=sum(client.reconnects for client in clients),
        error_examples=tuple(errors[:5]),
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
    with serve(database_url, workers=workers) as server:
        return asyncio.run(_load(server.base_url, key, person_ids, concurrency, seconds))
