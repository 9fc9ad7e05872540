"""The other users' jobs, timed as the matcher is: over HTTP, by the server's own time.

Staff search the register and the vacancies; a prefecture (東京都, the largest) and an
administrator (the whole country) run each audit report; an applicant's standards check
compares its rent with the homes nearby in the densest area; 東京都 exports its register.

Each job is a phase with a deadline: a report that takes longer is reported as missed (its
figure None, the reason in the details) and the bench goes on. The server of a phase stops
with it, so a request the client gave up on does not keep running into the next phase, and
the database cancels any statement of the phase that outlives the deadline.

Each audit report is also set against one plain pass over the same jurisdiction's rows (a
``SELECT`` of the columns the report reads), timed in the same run: a report's cost should
stay within a small multiple of reading what it reports on.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from housing_match.audit.repository import ScopeCodes, in_scope
from housing_match.bench.measure import REQUEST_TIMEOUT_S, percentile
from housing_match.bench.synthetic import CITIES, City
from housing_match.middleware import server_time_ms
from housing_match.models import Dwelling, MatchQuery, Vacancy
from housing_match.openapi_examples import REQUEST_EXAMPLES
from housing_match.registry.mapping import FACT_COLUMN_KEYS
from housing_match.registry.schemas import StandardsCheckRequest
from housing_match.served import serve
from housing_match.settings import get_settings
from housing_match.vocabulary import PersonCategory

Progress = Callable[[str], None]
REPORTS = ("registrations", "vacancies", "rent-balance", "unmet-demand")
TOKYO = "13"
SEARCH_PAGE = 50
RENT_CHECKS = 60
# (label, the audit's scope codes): a prefecture's housing section and an administrator.
SCOPES: tuple[tuple[str, ScopeCodes], ...] = (("tokyo", (TOKYO,)), ("country", None))


class PhaseMissed(Exception):
    """A phase that did not finish in time or failed: its figure is missing, not wrong."""


@dataclass(frozen=True)
class JobKeys:
    """API keys of the users whose jobs are timed."""

    center: str
    tokyo: str  # a municipality organisation governing prefecture 13
    admin: str


@dataclass
class JobsResult:
    figures: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def report_key(report: str) -> str:
    return report.replace("-", "_")


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.perf_counter() + seconds

    def left(self) -> float:
        left = self.ends - time.perf_counter()
        if left <= 0:
            raise PhaseMissed(f"not finished within {self.seconds:g} s")
        return left


def _server_ms(response: httpx.Response) -> float:
    if response.status_code != 200:
        raise PhaseMissed(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    server_ms = server_time_ms(response.headers.get("server-timing"))
    if server_ms is None:
        raise PhaseMissed("the server sent no Server-Timing header")
    return server_ms


def _send(
    http: httpx.Client, deadline: _Deadline, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    try:
        return http.request(method, path, timeout=deadline.left(), **kwargs)
    except httpx.TimeoutException as exc:
        raise PhaseMissed(f"not finished within {deadline.seconds:g} s") from exc
    except httpx.HTTPError as exc:
        raise PhaseMissed(f"{method} {path}: {type(exc).__name__}: {exc}") from exc


class _Servers:
    """The server the phases share, started again after a phase that missed its deadline, so
    the request it gave up on does not keep running into the next phase. The database
    cancels any statement that outlives a phase's deadline."""

    def __init__(self, url: str, timeout_s: float, warm_up_key: str) -> None:
        self.url = url
        self.warm_up_key = warm_up_key
        self.options = f"-c statement_timeout={int(timeout_s * 1000)}"
        self.stack = ExitStack()
        self.base_url: str | None = None

    def current(self) -> str:
        if self.base_url is None:
            server = self.stack.enter_context(
                serve(self.url, workers=1, settings={"PGOPTIONS": self.options})
            )
            self.base_url = server.base_url
            # A fresh process's first request opens its connections and imports and compiles
            # what it needs: an untimed cheap report, so no timed request pays for that.
            with suppress(httpx.HTTPError):  # only a warm-up: the timed requests will tell
                httpx.get(
                    f"{self.base_url}/v1/audit/unmet-demand",
                    headers={"Authorization": f"Bearer {self.warm_up_key}"},
                    timeout=REQUEST_TIMEOUT_S,
                )
        return self.base_url

    def stop(self) -> None:
        self.stack.close()
        self.base_url = None

    @contextmanager
    def client(self, key: str) -> Iterator[httpx.Client]:
        with httpx.Client(
            base_url=self.current(), headers={"Authorization": f"Bearer {key}"}
        ) as http:
            try:
                yield http
            except PhaseMissed:
                self.stop()
                raise


# --- search --------------------------------------------------------------------------------


def _weighted_city(rng: random.Random) -> City:
    return rng.choices(CITIES, weights=[city.population for city in CITIES])[0]


def search_requests(count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """A mix of the searches staff run: dwellings or vacancies, in a prefecture, a
    municipality or around a point, with a few of the filters they use, a page of 50."""
    rng = random.Random(seed)  # noqa: S311  # reproducible test data, not secrets
    categories = [category.value for category in PersonCategory]
    requests = []
    for _ in range(count):
        city = _weighted_city(rng)
        params: dict[str, Any] = {"limit": SEARCH_PAGE}
        place = rng.random()
        if place < 0.35:
            params["prefecture"] = city.prefecture_code
        elif place < 0.7:
            params["municipality_code"] = city.code
        else:
            offset = 0.02
            latitude = city.latitude + rng.uniform(-offset, offset)
            longitude = city.longitude + rng.uniform(-offset, offset)
            params["near"] = f"{latitude:.5f},{longitude:.5f}"
            params["radius_m"] = rng.choice((1_000, 2_000, 5_000))
        if rng.random() < 0.5:
            params["max_rent_yen"] = city.rent_per_m2 * rng.choice((20, 25, 30, 40))
        if rng.random() < 0.3:
            params["min_area_m2"] = rng.choice((18, 25, 30))
        if rng.random() < 0.2:
            params["registration_class"] = rng.choice(("registered", "exclusive"))
        if rng.random() < 0.4:
            params["accepted_category"] = rng.choice(categories)
        if rng.random() < 0.3:
            params["step_free"] = "true"
        path = "/v1/vacancies" if rng.random() < 0.5 else "/v1/dwellings"
        requests.append((path, params))
    return requests


def time_searches(
    http: httpx.Client, requests: Sequence[tuple[str, dict[str, Any]]], deadline: _Deadline
) -> list[float]:
    return [
        _server_ms(_send(http, deadline, "GET", path, params=params)) for path, params in requests
    ]


# --- audits and their plain passes ---------------------------------------------------------


def plain_pass(report: str, codes: ScopeCodes) -> Select[*tuple[Any, ...]]:
    """The columns a report reads, over the rows of its jurisdiction, and nothing more."""
    registered: list[ColumnElement[bool]] = [Dwelling.status == "registered", *in_scope(codes)]
    if report == "registrations":
        return select(
            Dwelling.id,
            Dwelling.registration_number,
            Dwelling.address,
            Dwelling.municipality_code,
            Dwelling.authority_id,
            Dwelling.registered_on,
            Dwelling.location,
            Dwelling.standards_compliant,
            Dwelling.standards_checked_at,
            *(getattr(Dwelling, key) for key in FACT_COLUMN_KEYS),
        ).where(*registered)
    if report == "rent-balance":
        return select(
            Dwelling.id,
            Dwelling.registration_number,
            Dwelling.address,
            Dwelling.municipality_code,
            Dwelling.kind,
            Dwelling.location,
            Dwelling.rent_yen,
            Dwelling.common_fee_yen,
            Dwelling.floor_area_m2,
        ).where(*registered)
    if report == "vacancies":
        return (
            select(
                *Vacancy.__table__.columns,
                Dwelling.registration_number,
                Dwelling.address,
                Dwelling.municipality_code,
                Dwelling.location,
            )
            .join(Dwelling, Dwelling.id == Vacancy.dwelling_id)
            .where(*registered)
        )
    if report == "unmet-demand":
        return select(
            MatchQuery.municipality_code,
            MatchQuery.queried_at,
            MatchQuery.candidate_count,
            MatchQuery.excluded_by,
        ).where(
            MatchQuery.relaxed.is_(False),
            MatchQuery.queried_at >= func.now() - text("interval '1 year'"),
            *in_scope(codes, municipality_code=MatchQuery.municipality_code),
        )
    raise ValueError(f"no plain pass for {report!r}")


def time_plain_pass(
    make_session: sessionmaker[Session], report: str, codes: ScopeCodes
) -> tuple[float, int]:
    """Seconds of the pass's second run (the first warms the cache as the report's own
    reading would), and its rows."""
    best = float("inf")
    rows = 0
    for _ in range(2):
        with make_session() as session:
            started = time.perf_counter()
            # Streamed, as a report reads a large jurisdiction, and dropped as it arrives.
            result = session.execute(plain_pass(report, codes).execution_options(yield_per=5_000))
            rows = sum(len(batch) for batch in result.partitions())
            best = min(best, time.perf_counter() - started)
    return best, rows


# --- the rent balance of a standards check ---------------------------------------------------


def densest_point(make_session: sessionmaker[Session]) -> tuple[City, int]:
    """The city centre with the most registered dwellings within the rent balance's radius:
    where a standards check has the most comparables to weigh."""
    radius = get_settings().rent_balance_radius_m
    statement = text(
        "SELECT count(*) FROM dwellings WHERE status = 'registered' AND ST_DWithin("
        "location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius)"
    )
    counts = []
    with make_session() as session:
        for city in CITIES:
            found = session.scalar(
                statement, {"lon": city.longitude, "lat": city.latitude, "radius": radius}
            )
            counts.append((int(found or 0), city))
    count, city = max(counts, key=lambda pair: pair[0])
    return city, count


def standards_check_body(city: City) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(REQUEST_EXAMPLES[StandardsCheckRequest][1])
    body.pop("as_of", None)
    body["municipality_code"] = city.code
    body["address"] = f"{city.name}1丁目1-1"
    body["location"] = {"latitude": city.latitude, "longitude": city.longitude}
    body["rent_yen"] = int(float(body["floor_area_m2"]) * city.rent_per_m2) // 100 * 100
    return body


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTiming:
    seconds: float  # request sent to last byte received, over loopback
    rows: int
    megabytes: float
    first_byte_ms: float


def time_export(http: httpx.Client, deadline: _Deadline) -> ExportTiming:
    started = time.perf_counter()
    first_byte: float | None = None
    lines = 0
    size = 0
    try:
        with http.stream(
            "GET",
            "/v1/dwellings/export",
            params={"prefecture": TOKYO, "format": "csv"},
            timeout=deadline.left(),
        ) as response:
            if response.status_code != 200:
                response.read()
                _server_ms(response)
            for chunk in response.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter()
                lines += chunk.count(b"\n")
                size += len(chunk)
                deadline.left()
    except httpx.TimeoutException as exc:
        raise PhaseMissed(f"not finished within {deadline.seconds:g} s") from exc
    except httpx.HTTPError as exc:
        raise PhaseMissed(f"export: {type(exc).__name__}: {exc}") from exc
    ended = time.perf_counter()
    return ExportTiming(
        seconds=ended - started,
        rows=max(lines - 1, 0),  # the header line
        megabytes=size / 1_000_000,
        first_byte_ms=((first_byte or ended) - started) * 1000,
    )


# --- the whole phase ---------------------------------------------------------------------------


def _missed(details: dict[str, Any], name: str, error: PhaseMissed, progress: Progress) -> None:
    details[name] = {"missed": str(error)}
    progress(f"{name}: MISSED: {error}")


def run_jobs(
    url: str,
    make_session: sessionmaker[Session],
    keys: JobKeys,
    *,
    search_count: int,
    timeout_s: float,
    seed: int,
    progress: Progress,
) -> JobsResult:
    servers = _Servers(url, timeout_s, keys.tokyo)
    try:
        return _run_jobs(
            servers,
            make_session,
            keys,
            search_count=search_count,
            timeout_s=timeout_s,
            seed=seed,
            progress=progress,
        )
    finally:
        servers.stop()


def _run_jobs(
    servers: _Servers,
    make_session: sessionmaker[Session],
    keys: JobKeys,
    *,
    search_count: int,
    timeout_s: float,
    seed: int,
    progress: Progress,
) -> JobsResult:
    result = JobsResult()
    figures, details = result.figures, result.details

    # Search: a warm-up mix of other searches first (statement shapes, caches), then the
    # timed mix, one request at a time.
    figures["search_p50_ms"] = figures["search_p95_ms"] = None
    try:
        with servers.client(keys.center) as http:
            deadline = _Deadline(timeout_s)
            time_searches(http, search_requests(max(search_count // 2, 1), seed + 1), deadline)
            timed = search_requests(search_count, seed)
            searches = time_searches(http, timed, deadline)
    except PhaseMissed as error:
        _missed(details, "search", error, progress)
    else:
        figures["search_p50_ms"] = round(percentile(searches, 0.5), 2)
        figures["search_p95_ms"] = round(percentile(searches, 0.95), 2)
        details["search"] = {
            "requests": len(searches),
            "dwellings_requests": sum(path == "/v1/dwellings" for path, _ in timed),
            "page": SEARCH_PAGE,
            "p99_ms": round(percentile(searches, 0.99), 2),
            "max_ms": round(max(searches), 2),
            "measured": "Server-Timing, one request at a time, after an untimed warm-up mix",
        }
        progress(f"search (server time, ms): p50 {figures['search_p50_ms']}, p95 "
                 f"{figures['search_p95_ms']}")  # fmt: skip

    # Audits: each report for 東京都 and then for the country; the country is not asked for
    # when 東京都 alone missed its deadline (it holds 東京都).
    audits: dict[str, Any] = {}
    details["audits"] = audits
    for report in REPORTS:
        name = report_key(report)
        audits[report] = {}
        too_slow = False
        for label, codes in SCOPES:
            suffix = "" if label == "tokyo" else "_country"
            seconds_key = f"audit_{name}{suffix}_s"
            ratio_key = f"audit_{name}{suffix}_pass_ratio"
            figures[seconds_key] = figures[ratio_key] = None
            entry: dict[str, Any] = {}
            audits[report][label] = entry
            pass_s, pass_rows = time_plain_pass(make_session, report, codes)
            entry |= {"pass_s": round(pass_s, 4), "pass_rows": pass_rows}
            if too_slow:
                entry["missed"] = "not asked: 東京都's report already missed its deadline"
                continue
            key = keys.tokyo if label == "tokyo" else keys.admin
            try:
                with servers.client(key) as http:
                    deadline = _Deadline(timeout_s)
                    server_s = (
                        _server_ms(_send(http, deadline, "GET", f"/v1/audit/{report}")) / 1000
                    )
            except PhaseMissed as error:
                entry["missed"] = str(error)
                too_slow = True
                progress(f"audit {report} ({label}): MISSED: {error}")
                continue
            figures[seconds_key] = round(server_s, 3)
            if pass_s:
                figures[ratio_key] = round(server_s / pass_s, 2)
            entry["server_s"] = figures[seconds_key]
            progress(
                f"audit {report} ({label}): {server_s:.3f} s; plain pass {pass_s or 0:.3f} s "
                f"over {pass_rows} rows; ratio {figures[ratio_key]}"
            )

    # The rent balance of a standards check where the comparables are densest.
    figures["rent_balance_check_p95_ms"] = None
    city, comparables = densest_point(make_session)
    body = standards_check_body(city)
    try:
        with servers.client(keys.center) as http:
            deadline = _Deadline(timeout_s)
            for _ in range(5):
                _server_ms(_send(http, deadline, "POST", "/v1/standards/check", json=body))
            checks = [
                _server_ms(_send(http, deadline, "POST", "/v1/standards/check", json=body))
                for _ in range(RENT_CHECKS)
            ]
    except PhaseMissed as error:
        _missed(details, "rent_balance_check", error, progress)
    else:
        figures["rent_balance_check_p95_ms"] = round(percentile(checks, 0.95), 2)
        details["rent_balance_check"] = {
            "municipality_code": city.code,
            "city": city.name,
            "dwellings_within_radius": comparables,
            "checks": len(checks),
            "p50_ms": round(percentile(checks, 0.5), 2),
            "measured": "Server-Timing of POST /v1/standards/check (the whole check)",
        }
        progress(f"standards check in {city.name} ({comparables:,} dwellings within the "
                 f"radius): p95 {figures['rent_balance_check_p95_ms']} ms")  # fmt: skip

    # 東京都 exports its whole register.
    figures["export_tokyo_s"] = figures["export_rows_per_s"] = None
    try:
        with servers.client(keys.tokyo) as http:
            export = time_export(http, _Deadline(timeout_s))
    except PhaseMissed as error:
        _missed(details, "export", error, progress)
    else:
        figures["export_tokyo_s"] = round(export.seconds, 3)
        figures["export_rows_per_s"] = round(export.rows / max(export.seconds, 1e-6))
        details["export"] = {
            "rows": export.rows,
            "megabytes": round(export.megabytes, 1),
            "first_byte_ms": round(export.first_byte_ms, 1),
            "measured": "request to last byte over loopback (a streamed body has no "
            "Server-Timing for its end)",
        }
        progress(f"export 東京都: {export.rows:,} rows in {export.seconds:.2f} s")
    return result
