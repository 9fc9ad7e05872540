"""``housing-match bench-pages``: the server time of every page of a support center, at the
demo scale, in a database of its own.

The demo data (``demo load``: the demo organisations and a registry of 3,000 dwellings in nine
cities) is loaded into ``<app database>_bench_pages``, rebuilt each run; persons of the demo
center are created with varied profiles (``bench/persons.py``), most of them referred to one
of their candidates. A real uvicorn (one worker, its own process: ``served.py``) serves the
pages; an httpx client sends a signed-in staff member's session cookie, as a browser does,
and reads each answer's ``Server-Timing`` (``middleware.py``): the server's time from the
request to its response, the session lookup, the page's services, the rendering and the
commit included, the network not. Every page is requested once untimed (each statement shape
compiled, templates loaded), then ``rounds`` times per person, in turn.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.accounts.sessions import SESSION_COOKIE, start_session
from housing_match.auth import CLI_ACTOR, Principal
from housing_match.bench import measure
from housing_match.bench.persons import person_profile
from housing_match.bench.run import bench_database_url, recreate_database
from housing_match.bench.synthetic import CITIES
from housing_match.db import make_engine
from housing_match.demo import DEMO_ORGANISATIONS, load_demo
from housing_match.demo_registry import DEMO_CITIES, load_demo_registry
from housing_match.matching import service as matching_service
from housing_match.matching.schemas import MatchResult, PersonCreate
from housing_match.middleware import server_time_ms
from housing_match.models import MatchListing, OrganisationKind, UserRole
from housing_match.organisations.repository import OrganisationRepository
from housing_match.referrals import service as referrals_service
from housing_match.referrals.schemas import ReferralCreate
from housing_match.served import serve
from housing_match.vocabulary import RiskKind
from housing_match.web.candidates import SCREEN_LIMIT

Progress = Callable[[str], None]
TARGET_P95_MS = 300.0
ALLOCATION_PERSONS = 10  # persons of each allocation the bench asks for
REQUEST_TIMEOUT_S = 60.0
DEMO_CENTER = next(o.slug for o in DEMO_ORGANISATIONS if o.kind is OrganisationKind.CENTER)
STAFF_EMAIL = f"bench-pages@{DEMO_CENTER}.example"


@dataclass(frozen=True)
class PageBenchOptions:
    dwellings: int = 3_000  # the demo registry's size (``demo load``)
    persons: int = 30
    rounds: int = 3  # timed requests of each page per person
    database_url: str | None = None
    seed: int = 11


def pages_database_url(explicit: str | None) -> str:
    """The bench's own database, dropped and rebuilt: ``<app>_bench_pages`` by default; any
    other must have 'bench' in its name (``bench_database_url`` checks)."""
    if explicit is not None:
        return bench_database_url(explicit)
    national = make_url(bench_database_url(None))
    name = str(national.database).removesuffix("_bench_national") + "_bench_pages"
    return national.set(database=name).render_as_string(hide_password=False)


@dataclass
class PageSample:
    """One page of the center: the path of each request, in the order they are sent."""

    name: str
    route: str  # as the application declares it
    paths: list[str]
    server_ms: list[float]
    wall_ms: list[float]


def _lenient(profile: PersonCreate, *, anywhere: bool) -> PersonCreate:
    """The profile with a rent ceiling above the demo's rents, a support plan covering every
    landlord risk and its places as preferences, so that its candidates page lists many homes
    (the page's costliest form); ``anywhere``: also no places and no needs, the home in 大阪市."""
    data = profile.model_dump(mode="json")
    data["needs"] = {"rent_ceiling_yen": 120_000} | (
        {} if anywhere else {"no_stairs": data["needs"].get("no_stairs", False)}
    )
    data["support_plan"] = [
        {"risk_kind": risk.value, "coverer_kind": "center", "coverer_name": "センター（ベンチ）"}
        for risk in RiskKind
    ]
    # Places kept as preferences: their distances are still computed and shown.
    for anchor in data["places"]["anchors"]:
        anchor["required"] = False
    if anywhere:
        data["home_municipality_code"] = DEMO_CITIES[0].code
        data["categories"] = ["elderly", "released_from_correctional_facility"]
        data["places"] = {"anchors": [], "exclusion_zones": []}
    return PersonCreate.model_validate(data)


def _profiles(count: int, seed: int) -> list[PersonCreate]:
    """Persons of the demo center, homes in the demo cities by their share of the registry
    (most in 大阪市), with varied needs and places (``bench/persons.py``). Under the demo's
    rents most such profiles find no home at all, and a page without candidates is the
    cheapest: every other person is made lenient (``_lenient``), and the first would take
    almost any home of 大阪市, so that even a tiny registry has a candidate to refer to."""
    rng = random.Random(f"{seed}-pages")  # noqa: S311  # reproducible data, not secrets
    by_code = {city.code: city for city in CITIES}
    cities = [by_code[city.code] for city in DEMO_CITIES]
    weights = [city.weight for city in DEMO_CITIES]
    profiles = [
        person_profile(rng, f"BENCH-P-{index:04d}", rng.choices(cities, weights=weights)[0])
        for index in range(count)
    ]
    return [
        _lenient(profile, anywhere=index == 0) if index % 2 == 0 else profile
        for index, profile in enumerate(profiles)
    ]


@dataclass(frozen=True)
class BenchWorld:
    token: str  # the staff member's session cookie
    person_ids: list[uuid.UUID]
    # Per person (when it has them): a candidate to preview, its referral, the constraint
    # that excluded most and one home it excluded.
    preview_vacancy: dict[uuid.UUID, uuid.UUID]
    referral: dict[uuid.UUID, uuid.UUID]
    excluding: dict[uuid.UUID, str]
    excluded_vacancy: dict[uuid.UUID, uuid.UUID]
    open_vacancies: int
    candidates: list[int]  # each person's candidate count, holds in place


def _build_world(make_session: sessionmaker[Session], options: PageBenchOptions) -> BenchWorld:
    with make_session() as session:
        load_demo(session)
        load_demo_registry(session, dwellings=options.dwellings)
        center = OrganisationRepository(session).get_by_slug(DEMO_CENTER)
        if center is None:
            raise RuntimeError(f"the demo has no {DEMO_CENTER}")
        user = invite_user(
            session, CLI_ACTOR, center, email=STAFF_EMAIL, name="相談員（ベンチ）",
            role=UserRole.STAFF, client=CLI_CLIENT,
        ).user  # fmt: skip
        user.password_hash = hash_password(uuid.uuid4().hex)
        user.activated_at = datetime.now(UTC)
        session.flush()
        token = start_session(
            session,
            user_id=user.id,
            stage="active",
            client_address="127.0.0.1",
            user_agent="housing-match bench-pages",
        ).token
        principal = Principal(
            organisation_id=center.id,
            organisation_slug=center.slug,
            kind=OrganisationKind.CENTER,
            api_key_id=None,
            user_id=user.id,
            role=UserRole.STAFF,
        )
        session.commit()
        open_vacancies = session.scalar(select(func.count()).select_from(MatchListing)) or 0
    with make_session() as session:
        person_ids = [
            matching_service.create_person(session, principal, profile).id
            for profile in _profiles(options.persons, options.seed)
        ]
        session.commit()
    preview: dict[uuid.UUID, uuid.UUID] = {}
    referral: dict[uuid.UUID, uuid.UUID] = {}
    excluding: dict[uuid.UUID, str] = {}
    excluded_vacancy: dict[uuid.UUID, uuid.UUID] = {}
    candidates: list[int] = []
    no_relaxation = matching_service.NO_RELAXATION

    def match(session: Session, person_id: uuid.UUID) -> MatchResult:
        return matching_service.match_person(
            session, principal, person_id, limit=5, relaxation=no_relaxation, weights=None
        )

    # Each person referred to its best candidate (holding it), as a caseload mostly is.
    for person_id in person_ids:
        with make_session() as session:
            best = match(session, person_id).candidates[:1]
            for candidate in best:
                data = ReferralCreate(person_id=person_id, vacancy_id=candidate.vacancy.id)
                referral[person_id] = referrals_service.create_referral(session, principal, data).id
            session.commit()
    # Then, with every hold in place: a candidate still open to preview, and the home that
    # the constraint excluding most keeps out, to ask why.
    for person_id in person_ids:
        with make_session() as session:
            result = match(session, person_id)
            candidates.append(result.candidate_count)
            if result.candidates:
                preview[person_id] = result.candidates[0].vacancy.id
            most = next((item for item in result.excluded_by if item.excluded), None)
            if most is not None:
                excluding[person_id] = most.constraint.value
                homes = matching_service.excluded_homes(
                    session, principal, person_id, most.constraint, relaxation=no_relaxation,
                    limit=1,
                )  # fmt: skip
                if homes:
                    excluded_vacancy[person_id] = homes[0].vacancy_id
            session.commit()
    return BenchWorld(
        token=token,
        person_ids=person_ids,
        preview_vacancy=preview,
        referral=referral,
        excluding=excluding,
        excluded_vacancy=excluded_vacancy,
        open_vacancies=open_vacancies,
        candidates=candidates,
    )


def _allocation_path(ids: list[uuid.UUID], start: int) -> str:
    """The allocation of ``ALLOCATION_PERSONS`` persons (fewer when there are fewer) from the
    ``start``-th on, going round the list: each request a different selection."""
    chosen = [ids[(start + offset) % len(ids)] for offset in range(ALLOCATION_PERSONS)]
    query = urlencode(
        [("person", str(p)) for p in dict.fromkeys(chosen)] + [("objective", "total_score")]
    )
    return f"/allocation?{query}"


def page_samples(world: BenchWorld) -> list[PageSample]:
    """Every page of the center, each with one path per person it applies to (the home and
    the empty form, which have none, as often)."""
    ids = world.person_ids
    pages: list[tuple[str, str, list[str]]] = [
        ("home", "/", ["/" for _ in ids]),
        ("person_new", "/persons/new", ["/persons/new" for _ in ids]),
        ("person", "/persons/{id}", [f"/persons/{p}" for p in ids]),
        ("person_edit", "/persons/{id}/edit", [f"/persons/{p}/edit" for p in ids]),
        ("candidates", "/persons/{id}/candidates", [f"/persons/{p}/candidates" for p in ids]),
        (
            "candidates_print",
            "/persons/{id}/candidates/print",
            [f"/persons/{p}/candidates/print" for p in ids],
        ),
        (
            "excluded_homes",
            "/persons/{id}/candidates/excluded?constraint=",
            [
                f"/persons/{p}/candidates/excluded?constraint={world.excluding[p]}"
                for p in ids
                if p in world.excluding
            ],
        ),
        (
            "why_not",
            "/persons/{id}/candidates/why-not?vacancy_id=",
            [
                f"/persons/{p}/candidates/why-not?vacancy_id={world.excluded_vacancy[p]}"
                for p in ids
                if p in world.excluded_vacancy
            ],
        ),
        (
            "referral_preview",
            "/persons/{id}/candidates/{vacancy_id}/referral",
            [
                f"/persons/{p}/candidates/{world.preview_vacancy[p]}/referral"
                for p in ids
                if p in world.preview_vacancy
            ],
        ),
        (
            "referral_timeline",
            "/referrals/{id}",
            [f"/referrals/{world.referral[p]}" for p in ids if p in world.referral],
        ),
        ("allocation_picker", "/allocation", ["/allocation" for _ in ids]),
        (
            "allocation",
            f"/allocation?person=…×{ALLOCATION_PERSONS}&objective=total_score",
            [_allocation_path(ids, start) for start in range(len(ids))],
        ),
    ]
    return [PageSample(name, route, paths, [], []) for name, route, paths in pages]


@contextmanager
def _client(base_url: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base_url,
        cookies={SESSION_COOKIE: token},
        headers={"Accept": "text/html"},
        timeout=REQUEST_TIMEOUT_S,
        follow_redirects=False,
    ) as client:
        yield client


def _get(client: httpx.Client, path: str) -> tuple[float, float]:
    started = time.perf_counter()
    response = client.get(path)
    wall_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    server_ms = server_time_ms(response.headers.get("server-timing"))
    if server_ms is None:
        raise RuntimeError(f"GET {path}: no Server-Timing header")
    return server_ms, wall_ms


def time_pages(
    base_url: str, token: str, samples: list[PageSample], rounds: int, progress: Progress
) -> None:
    with _client(base_url, token) as client:
        for sample in samples:
            for path in dict.fromkeys(sample.paths[:1] + sample.paths[-1:]):
                _get(client, path)  # warm: statements compiled, templates loaded
        for _ in range(rounds):
            # Interleaved, as staff move from page to page: no page meets only warm caches.
            for position in range(max((len(s.paths) for s in samples), default=0)):
                for sample in samples:
                    if position < len(sample.paths):
                        server_ms, wall_ms = _get(client, sample.paths[position])
                        sample.server_ms.append(server_ms)
                        sample.wall_ms.append(wall_ms)
    for sample in samples:
        if sample.server_ms:
            summary = measure.summary_ms(sample.server_ms)
            progress(f"{sample.name}: p50 {summary['p50']} ms, p95 {summary['p95']} ms")


def report_of(samples: list[PageSample]) -> tuple[dict[str, Any], dict[str, Any]]:
    pages: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for sample in samples:
        entry: dict[str, Any] = {"route": sample.route, "requests": len(sample.server_ms)}
        if sample.server_ms:
            entry |= measure.summary_ms(sample.server_ms)
            wall = measure.summary_ms(sample.wall_ms)
            entry |= {"wall_p50": wall["p50"], "wall_p95": wall["p95"]}
        pages[sample.name] = entry
        p95 = entry.get("p95")
        targets[sample.name] = {
            "target": f"p95 ≤ {TARGET_P95_MS:g} ms",
            "met": p95 is not None and p95 <= TARGET_P95_MS,
        }
    return pages, targets


def run_page_bench(
    options: PageBenchOptions, *, command: str, progress: Progress
) -> dict[str, Any]:
    url = pages_database_url(options.database_url)
    progress(f"bench database {make_url(url).database}: dropping, creating, migrating")
    recreate_database(url)
    engine = make_engine(url, application_name="hm-bench-pages", pool_size=2)
    make_session = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    try:
        progress(f"demo data: {options.dwellings:,} dwellings, {options.persons} persons")
        world = _build_world(make_session, options)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("match_listings", "dwellings", "vacancies", "persons", "referrals"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
        samples = page_samples(world)
        progress(
            f"{len(world.referral)} referrals; timing {len(samples)} pages, {options.rounds} rounds"
        )
        with serve(url, workers=1) as server:
            time_pages(server.base_url, world.token, samples, options.rounds, progress)
        with make_session() as session:
            postgresql = session.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()
    pages, targets = report_of(samples)
    return {
        "dwellings": options.dwellings,
        "open_vacancies": world.open_vacancies,
        "persons": options.persons,
        "referrals": len(world.referral),
        "candidates_per_person": {
            "min": min(world.candidates, default=0),
            "median": statistics.median(world.candidates) if world.candidates else 0,
            "max": max(world.candidates, default=0),
            "shown_at_most": SCREEN_LIMIT,
        },
        "rounds": options.rounds,
        "candidates_p50_ms": pages["candidates"].get("p50"),
        "candidates_p95_ms": pages["candidates"].get("p95"),
        "pages": pages,
        "targets": targets,
        "all_met": all(checked["met"] for checked in targets.values()),
        "measured": (
            "Server-Timing (the server's time from request to response) of GET over HTTP "
            "from a real uvicorn, 1 worker, with a signed-in staff session cookie; wall_* is "
            "the client's time on loopback"
        ),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": postgresql,
            # The machine may be shared: other work running during the bench shows here.
            "loadavg_1_5_15_at_start": [round(x, 2) for x in load_at_start],
            "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "total_seconds": round(time.perf_counter() - started, 1),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }


def write_report(report: dict[str, Any], output: Path) -> str:
    """The report as JSON (Japanese as it is), written to ``output``; returns the text."""
    rendered = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    output.write_text(rendered, encoding="utf-8")
    return rendered
