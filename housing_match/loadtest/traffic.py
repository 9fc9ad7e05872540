"""Concurrent clients on one event loop, each acting like a person at a center or a corporation,
and the ledger of what the API answered: the side of the books the database must match.

Ownership keeps the books exact. Each client owns a disjoint set of persons (so it knows which
of its persons has an open referral on which vacancy), makes every transition of the referrals
it created (so a transition never races another client's and a 409 there is a bug), and posts
only on its own dwellings. What the clients still share, deliberately, are the vacancies: many
persons' best candidates are the same homes, so referrals collide on holds, and that 409 is
the behaviour under test.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx

from housing_match.loadtest.world import Key, OpenDwelling, World
from housing_match.referrals.vocabulary import DeclineReason, WithdrawReason
from housing_match.vocabulary import RiskKind

HOLD_CONFLICT_PREFIX = "Another referral holds this vacancy"
REQUEST_TIMEOUT_S = 60.0
KEEPALIVE_EXPIRY_S = 2.0


class Kind(StrEnum):
    SEARCH_DWELLINGS = "search_dwellings"
    SEARCH_VACANCIES = "search_vacancies"
    MATCH = "match"
    REFER = "refer"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    REFRESH = "refresh"
    POST_VACANCY = "post_vacancy"


TRANSITIONS = (Kind.ACCEPT, Kind.DECLINE, Kind.WITHDRAW)
# The status each kind must answer when it works; anything else is counted against the run.
SUCCESS: dict[Kind, int] = {
    Kind.SEARCH_DWELLINGS: 200,
    Kind.SEARCH_VACANCIES: 200,
    Kind.MATCH: 200,
    Kind.REFER: 201,
    Kind.ACCEPT: 200,
    Kind.DECLINE: 200,
    Kind.WITHDRAW: 200,
    Kind.REFRESH: 200,
    Kind.POST_VACANCY: 201,
}
# Relative frequency of what a client does next (a transition or referral with nothing to act
# on falls back to a match, a post with no dwelling left to a refresh).
MIX: dict[str, int] = {
    "search_dwellings": 20,
    "search_vacancies": 20,
    "match": 25,
    "refer": 15,
    "transition": 12,
    "refresh": 6,
    "post": 2,
}


@dataclass
class Sample:
    kind: Kind
    status: int | None  # None: the request never got an answer
    latency_ms: float


@dataclass
class TrackedReferral:
    id: uuid.UUID
    person_id: uuid.UUID
    vacancy_id: uuid.UUID
    corporation_id: uuid.UUID
    state: str
    # Event kinds in order, as this client caused them: the referral's timeline must say so.
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HoldConflict:
    vacancy_id: uuid.UUID
    person_id: uuid.UUID
    detail: str
    hold_expires_at: datetime | None
    answered_at: datetime


@dataclass(frozen=True)
class Unexpected:
    kind: Kind
    status: int | None
    detail: str


@dataclass
class Ledger:
    samples: list[Sample] = field(default_factory=list)
    referrals: dict[uuid.UUID, TrackedReferral] = field(default_factory=dict)
    conflicts: list[HoldConflict] = field(default_factory=list)
    refreshed: Counter[uuid.UUID] = field(default_factory=Counter)
    posted: list[uuid.UUID] = field(default_factory=list)
    # Answered matches per person, and per center: each wrote one read and one query row.
    matched: Counter[uuid.UUID] = field(default_factory=Counter)
    matched_by_center: Counter[uuid.UUID] = field(default_factory=Counter)
    unexpected: list[Unexpected] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    # CPU the clients themselves used: on a 2-core machine it is taken from the server.
    client_cpu_s: float = 0.0

    def successes(self, kind: Kind) -> int:
        wanted = SUCCESS[kind]
        return sum(1 for sample in self.samples if sample.kind is kind and sample.status == wanted)


@dataclass
class Client:
    number: int
    center: Key
    persons: list[uuid.UUID]
    postable: list[OpenDwelling]
    rng: random.Random
    candidates: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    active: dict[uuid.UUID, TrackedReferral] = field(default_factory=dict)
    # (person, vacancy) pairs with an open referral: referring them again is the client's bug.
    open_pairs: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)


def _auth(key: Key) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.secret}"}


class Traffic:
    def __init__(self, world: World, http: httpx.AsyncClient, *, seed: int) -> None:
        self.world = world
        self.http = http
        self.rng = random.Random(seed)  # noqa: S311  # load shape, not secrets
        self.ledger = Ledger()
        self.corporations = {key.organisation_id: key for key in world.corporations}
        # Shared by every client: refreshing one vacancy twice at once is fine, and realistic.
        self.refreshable: list[tuple[uuid.UUID, uuid.UUID]] = list(world.live_vacancies)

    def clients(self, count: int) -> list[Client]:
        by_center: dict[uuid.UUID, list[uuid.UUID]] = {}
        for person, owner in sorted(self.world.persons.items()):
            by_center.setdefault(owner, []).append(person)
        made: list[Client] = []
        for number in range(count):
            center = self.world.centers[number % len(self.world.centers)]
            sharing = [n for n in range(count) if n % len(self.world.centers) == number % len(
                self.world.centers
            )]  # fmt: skip
            position = sharing.index(number)
            made.append(
                Client(
                    number=number,
                    center=center,
                    persons=by_center.get(center.organisation_id, [])[position :: len(sharing)],
                    postable=self.world.postable[number::count],
                    rng=random.Random(self.rng.getrandbits(64)),  # noqa: S311
                )
            )
        return made

    # --- one request, timed and classified ---------------------------------------------------

    async def _call(
        self,
        kind: Kind,
        method: str,
        path: str,
        *,
        key: Key,
        params: list[tuple[str, str]] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.http.request(
                method,
                path,
                params=tuple(params or ()),
                json=json,
                headers=_auth(key) | (headers or {}),
            )
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            self.ledger.samples.append(Sample(kind, None, elapsed))
            self.ledger.unexpected.append(Unexpected(kind, None, f"{type(exc).__name__}: {exc}"))
            return None
        elapsed = (time.perf_counter() - started) * 1000
        self.ledger.samples.append(Sample(kind, response.status_code, elapsed))
        return response

    def _unexpected(self, kind: Kind, response: httpx.Response) -> None:
        self.ledger.unexpected.append(Unexpected(kind, response.status_code, response.text[:500]))

    # --- what clients do -------------------------------------------------------------------

    def _search_params(self, client: Client) -> list[tuple[str, str]]:
        rng = client.rng
        city = rng.choices(self.world.cities, weights=[c.weight for c in self.world.cities])[0]
        params: list[tuple[str, str]] = [("limit", str(rng.choice((20, 50, 100))))]
        if rng.random() < 0.5:
            latitude = city.latitude + rng.uniform(-0.02, 0.02)
            longitude = city.longitude + rng.uniform(-0.02, 0.02)
            params.append(("near", f"{latitude:.5f},{longitude:.5f}"))
            params.append(("radius_m", str(rng.choice((1000, 2000, 5000)))))
        else:
            params.append(("municipality_code", city.code))
        if rng.random() < 0.5:
            params.append(("max_rent_yen", str(int(city.rent_per_m2 * rng.uniform(25, 50)))))
        if rng.random() < 0.3:
            params.append(("min_area_m2", str(rng.choice((18, 25, 30)))))
        if rng.random() < 0.2:
            params.append(("step_free", "true"))
        if rng.random() < 0.15:
            params.append(("registration_class", rng.choice(("registered", "exclusive"))))
        if rng.random() < 0.15:
            params.append(("accepted_category", "released_from_correctional_facility"))
        return params

    async def search(self, client: Client, kind: Kind) -> None:
        params = self._search_params(client)
        path = "/v1/dwellings"
        if kind is Kind.SEARCH_VACANCIES:
            path = "/v1/vacancies"
        elif client.rng.random() < 0.5:
            params.append(("open_vacancy", "true"))
        headers = {"Accept": "application/geo+json"} if client.rng.random() < 0.2 else None
        key = client.rng.choice(self.world.searchers)
        response = await self._call(kind, "GET", path, key=key, params=params, headers=headers)
        if response is not None and response.status_code != SUCCESS[kind]:
            self._unexpected(kind, response)

    async def match(self, client: Client, person: uuid.UUID | None = None) -> None:
        if not client.persons:
            return await self.search(client, Kind.SEARCH_VACANCIES)
        person = person or client.rng.choice(client.persons)
        params = [("limit", "20")]
        if client.rng.random() < 0.1:
            params += [("relax", "anchor_distance"), ("radius_factor", "2")]
        response = await self._call(
            Kind.MATCH, "GET", f"/v1/persons/{person}/matches", key=client.center, params=params
        )
        if response is None:
            return None
        if response.status_code != SUCCESS[Kind.MATCH]:
            return self._unexpected(Kind.MATCH, response)
        self.ledger.matched[person] += 1
        self.ledger.matched_by_center[client.center.organisation_id] += 1
        if any(name == "relax" for name, _ in params):
            return None  # a relaxed candidate is not one the person may be referred to
        vacancies = [uuid.UUID(c["vacancy"]["id"]) for c in response.json()["candidates"]]
        client.candidates[person] = [v for v in vacancies if (person, v) not in client.open_pairs]
        return None

    async def refer(self, client: Client) -> None:
        ready = [person for person in client.persons if client.candidates.get(person)]
        if not ready:
            return await self.match(client)
        person = client.rng.choice(ready)
        candidates = client.candidates[person]
        # Mostly the top few: where real staff look first, and where holds collide.
        vacancy = candidates.pop(client.rng.randrange(min(3, len(candidates))))
        response = await self._call(
            Kind.REFER,
            "POST",
            "/v1/referrals",
            key=client.center,
            json={"person_id": str(person), "vacancy_id": str(vacancy)},
        )
        if response is None:
            return None
        if response.status_code == 409 and str(response.json().get("detail", "")).startswith(
            HOLD_CONFLICT_PREFIX
        ):
            body = response.json()
            expires = body.get("hold_expires_at")
            self.ledger.conflicts.append(
                HoldConflict(
                    vacancy_id=vacancy,
                    person_id=person,
                    detail=str(body["detail"]),
                    hold_expires_at=None if expires is None else datetime.fromisoformat(expires),
                    answered_at=datetime.now(UTC),
                )
            )
            return None
        if response.status_code != SUCCESS[Kind.REFER]:
            return self._unexpected(Kind.REFER, response)
        body = response.json()
        referral = TrackedReferral(
            id=uuid.UUID(body["id"]),
            person_id=person,
            vacancy_id=vacancy,
            corporation_id=uuid.UUID(body["corporation_id"]),
            state=body["state"],
            events=["created"],
        )
        self.ledger.referrals[referral.id] = referral
        client.active[referral.id] = referral
        client.open_pairs.add((person, vacancy))
        return None

    async def transition(self, client: Client) -> None:
        if not client.active:
            return await self.refer(client)
        referral = client.active[client.rng.choice(sorted(client.active))]
        options = TRANSITIONS if referral.state == "requested" else (Kind.DECLINE, Kind.WITHDRAW)
        kind = client.rng.choice(options)
        body: dict[str, Any] = {}
        if kind is Kind.DECLINE:
            reason = client.rng.choice(
                [r for r in DeclineReason if r is not DeclineReason.UNIT_LET_TO_SOMEONE_ELSE]
            )
            body = {"reason": reason.value, "note": "負荷試験"}
        elif kind is Kind.WITHDRAW:
            body = {"reason": client.rng.choice(list(WithdrawReason)).value}
        # The corporation answers; the center withdraws.
        key = client.center if kind is Kind.WITHDRAW else self.corporations[referral.corporation_id]
        response = await self._call(
            kind, "POST", f"/v1/referrals/{referral.id}/{kind.value}", key=key, json=body
        )
        if response is None:
            return None
        if response.status_code != SUCCESS[kind]:
            return self._unexpected(kind, response)
        referral.state = response.json()["state"]
        referral.events.append({"accept": "accepted", "decline": "declined"}.get(kind, "withdrawn"))
        if referral.state not in ("requested", "accepted"):
            del client.active[referral.id]
            client.open_pairs.discard((referral.person_id, referral.vacancy_id))
        return None

    async def refresh(self, client: Client) -> None:
        if not self.refreshable:  # a registry with no vacancy yet: nothing to refresh
            return await self.search(client, Kind.SEARCH_VACANCIES)
        vacancy, corporation = client.rng.choice(self.refreshable)
        key = self.corporations[corporation]
        response = await self._call(
            Kind.REFRESH, "POST", f"/v1/vacancies/{vacancy}/refresh", key=key
        )
        if response is None:
            return
        if response.status_code != SUCCESS[Kind.REFRESH]:
            self._unexpected(Kind.REFRESH, response)
            return
        self.ledger.refreshed[vacancy] += 1

    async def post(self, client: Client) -> None:
        if not client.postable:
            return await self.refresh(client)
        dwelling = client.postable.pop()
        key = self.corporations[dwelling.manager_id]
        covered = [
            {"risk_kind": kind.value, "whole_tenancy": kind is RiskKind.WATCH_OVER}
            for kind in (RiskKind.EMERGENCY_CONTACT, RiskKind.RENT_GUARANTEE, RiskKind.WATCH_OVER)
            if client.rng.random() < 0.6
        ]
        offer = {
            "dwelling_id": str(dwelling.id),
            "available_from": (datetime.now(UTC).date() + timedelta(days=7)).isoformat(),
            "rent_offered_yen": dwelling.rent_yen,
            "common_fee_offered_yen": dwelling.common_fee_yen,
            "covered_risks": covered,
        }
        response = await self._call(Kind.POST_VACANCY, "POST", "/v1/vacancies", key=key, json=offer)
        if response is None:
            return None
        if response.status_code != SUCCESS[Kind.POST_VACANCY]:
            return self._unexpected(Kind.POST_VACANCY, response)
        vacancy = uuid.UUID(response.json()["id"])
        self.ledger.posted.append(vacancy)
        self.refreshable.append((vacancy, key.organisation_id))
        return None

    # --- the run -------------------------------------------------------------------------

    async def run_client(self, client: Client, deadline: float) -> None:
        actions = list(MIX)
        weights = [MIX[name] for name in actions]
        while time.monotonic() < deadline:
            action = client.rng.choices(actions, weights=weights)[0]
            if action == "search_dwellings":
                await self.search(client, Kind.SEARCH_DWELLINGS)
            elif action == "search_vacancies":
                await self.search(client, Kind.SEARCH_VACANCIES)
            elif action == "match":
                await self.match(client)
            elif action == "refer":
                await self.refer(client)
            elif action == "transition":
                await self.transition(client)
            elif action == "refresh":
                await self.refresh(client)
            else:
                await self.post(client)


async def drive(world: World, base_url: str, *, clients: int, seconds: float, seed: int) -> Ledger:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: reusing
    # one the server is closing at that instant is a client mistake, not a server error.
    limits = httpx.Limits(
        max_connections=clients,
        max_keepalive_connections=clients,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as http:
        traffic = Traffic(world, http, seed=seed)
        made = traffic.clients(clients)
        cpu = time.process_time()
        traffic.ledger.started = time.monotonic()
        deadline = traffic.ledger.started + seconds
        await asyncio.gather(*(traffic.run_client(client, deadline) for client in made))
        traffic.ledger.finished = time.monotonic()
        traffic.ledger.client_cpu_s = time.process_time() - cpu
        return traffic.ledger
