"""The load test's own database: rebuilt from nothing, filled with the demo registry, centers,
persons and keys, so every run starts from the same place and owns everything it counts."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from housing_match.auth import CLI_ACTOR, Principal
from housing_match.dbadmin import ensure_database, migrate
from housing_match.demo import load_demo
from housing_match.demo_registry import DEMO_CITIES, DEMO_CORPORATIONS, DemoCity, load_demo_registry
from housing_match.matching.schemas import PersonCreate
from housing_match.matching.service import create_person
from housing_match.models import Dwelling, DwellingManager, Organisation, OrganisationKind, Vacancy
from housing_match.organisations.repository import OrganisationRepository
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation
from housing_match.vocabulary import PersonCategory, RiskKind

CENTER_COUNT = 4
SHARED = [
    "household_size",
    "categories",
    "needs",
    "move_in_date",
    "home_municipality",
    "anchor_kinds",
    "support_plan",
]
# Who typically covers which landlord risk for a person leaving prison (domain.md).
COVERERS: dict[RiskKind, tuple[str, str]] = {
    RiskKind.EMERGENCY_CONTACT: ("relative", "姉"),
    RiskKind.RENT_GUARANTEE: ("guarantee_company", "保証会社"),
    RiskKind.WATCH_OVER: ("welfare_service", "訪問看護ステーション"),
    RiskKind.ESTATE_DISPOSAL: ("center", "地域生活定着支援センター"),
    RiskKind.STABLE_INCOME: ("welfare_proxy_payment", "生活保護の代理納付"),
    RiskKind.TROUBLE_RESPONSE: ("welfare_service", "相談支援事業所"),
    RiskKind.INITIAL_COSTS: ("welfare_proxy_payment", "一時扶助"),
}


@dataclass(frozen=True)
class Key:
    organisation_id: uuid.UUID
    slug: str
    secret: str


@dataclass(frozen=True)
class OpenDwelling:
    """A registered dwelling without a live vacancy: somewhere its manager may post one."""

    id: uuid.UUID
    rent_yen: int
    common_fee_yen: int
    manager_id: uuid.UUID  # a corporation managing it: only a manager may post


@dataclass
class World:
    database_url: str
    centers: list[Key]
    corporations: list[Key]
    searchers: list[Key]  # every kind of organisation searches
    # Person id → the center owning it.
    persons: dict[uuid.UUID, uuid.UUID]
    live_vacancies: list[tuple[uuid.UUID, uuid.UUID]]  # (vacancy, its corporation)
    postable: list[OpenDwelling]
    cities: tuple[DemoCity, ...] = field(default=DEMO_CITIES)


def load_database_url(app_database_url: str) -> str:
    """The app database's name with ``_load``: never the database anyone works in."""
    url = make_url(app_database_url)
    return url.set(database=f"{url.database}_load").render_as_string(hide_password=False)


def recreate_database(database_url: str) -> None:
    url = make_url(database_url)
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(url.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()
    ensure_database(database_url)
    migrate(database_url)


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(url.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()


def _offset(city: DemoCity, rng: random.Random, max_km: float) -> dict[str, float]:
    distance_km = rng.uniform(0, max_km)
    bearing = rng.uniform(0, 2 * math.pi)
    latitude = city.latitude + distance_km / 111.32 * math.cos(bearing)
    longitude = city.longitude + distance_km / (
        111.32 * math.cos(math.radians(city.latitude))
    ) * math.sin(bearing)
    return {"latitude": round(latitude, 6), "longitude": round(longitude, 6)}


def person_input(rng: random.Random, city: DemoCity, number: int) -> PersonCreate:
    """A profile loose enough that the demo registry offers it homes, varied enough that the
    hard constraints and the ranking all do work."""
    today = datetime.now(UTC).date()
    needs: dict[str, Any] = {
        # Around what a 30–50 ㎡ flat costs in the city: some homes fit, many do not.
        "rent_ceiling_yen": int(city.rent_per_m2 * rng.uniform(30, 50)) // 1000 * 1000,
        "no_stairs": rng.random() < 0.15,
    }
    if rng.random() < 0.5:
        needs["min_area_m2"] = str(rng.choice((18, 20, 25)))
    if rng.random() < 0.7:
        needs["move_in_date"] = (today + timedelta(days=rng.randint(20, 90))).isoformat()
    places: dict[str, Any] = {}
    if rng.random() < 0.6:
        places["anchors"] = [
            {
                "kind": rng.choice(("hospital", "psychiatric_hospital", "support_office")),
                "label": "通院先",
                "location": _offset(city, rng, 3.0),
                "max_distance_m": rng.choice((3000, 5000, 8000)),
            }
        ]
    if rng.random() < 0.2:
        places["exclusion_zones"] = [
            {"label": "被害者宅周辺", "center": _offset(city, rng, 6.0), "radius_m": 800}
        ]
    covered = [kind for kind in COVERERS if rng.random() < 0.7]
    categories = {PersonCategory.RELEASED_FROM_CORRECTIONAL_FACILITY.value}
    categories.add(rng.choice((PersonCategory.ELDERLY.value, PersonCategory.DISABLED.value)))
    return PersonCreate.model_validate(
        {
            "reference": f"LOAD-{city.code}-{number:05d}",
            "home_municipality_code": city.code,
            "consent": {
                "given_on": (today - timedelta(days=10)).isoformat(),
                "sharing": {"support_corporation": SHARED, "municipality": ["categories"]},
            },
            "household_size": 1,
            "categories": sorted(categories),
            "needs": needs,
            "places": places,
            "support_plan": [
                {
                    "risk_kind": kind.value,
                    "coverer_kind": COVERERS[kind][0],
                    "coverer_name": COVERERS[kind][1],
                }
                for kind in covered
            ],
        }
    )


def _key(session: Session, organisation: Organisation) -> tuple[Key, uuid.UUID]:
    api_key, secret = create_api_key(session, CLI_ACTOR, organisation, label="loadtest")
    return Key(organisation.id, organisation.slug, secret), api_key.id


def build_world(
    database_url: str,
    *,
    dwellings: int,
    persons: int,
    seed: int = 20261122,
    progress: Callable[[str], None] = lambda _message: None,
) -> World:
    """Rebuilds ``database_url`` and fills it through the service layer, in one transaction."""
    progress(f"recreating {make_url(database_url).database}")
    recreate_database(database_url)
    rng = random.Random(seed)  # noqa: S311  # reproducible load, not secrets
    engine = create_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False, autoflush=False) as session:
            load_demo(session)
            load_demo_registry(session, dwellings=dwellings, seed=seed, progress=progress)
            organisations = OrganisationRepository(session)
            corporations: list[Key] = []
            for slug, _name in DEMO_CORPORATIONS:
                organisation = organisations.get_by_slug(slug)
                assert organisation is not None  # noqa: S101  # load_demo_registry made it
                corporations.append(_key(session, organisation)[0])
            searchers = list(corporations)
            for slug in ("demo-admin", "demo-osaka-city", "demo-shinjuku-city"):
                organisation = organisations.get_by_slug(slug)
                assert organisation is not None  # noqa: S101  # the demo made it
                searchers.append(_key(session, organisation)[0])
            centers: list[Key] = []
            principals: list[Principal] = []
            for number in range(1, CENTER_COUNT + 1):
                organisation = create_organisation(
                    session,
                    CLI_ACTOR,
                    OrganisationCreate(
                        kind=OrganisationKind.CENTER,
                        slug=f"load-center-{number}",
                        name=f"負荷試験 地域生活定着支援センター{number}",
                    ),
                )
                key, api_key_id = _key(session, organisation)
                centers.append(key)
                principals.append(
                    Principal(
                        organisation_id=organisation.id,
                        organisation_slug=organisation.slug,
                        kind=OrganisationKind.CENTER,
                        api_key_id=api_key_id,
                    )
                )
            searchers.extend(centers)
            owners: dict[uuid.UUID, uuid.UUID] = {}
            weights = [city.weight for city in DEMO_CITIES]
            for number in range(persons):
                city = rng.choices(DEMO_CITIES, weights=weights)[0]
                principal = principals[number % len(principals)]
                person = create_person(session, principal, person_input(rng, city, number))
                owners[person.id] = principal.organisation_id
            progress(f"{persons} persons in {len(centers)} centers")
            live = [
                (row[0], row[1])
                for row in session.execute(
                    select(Vacancy.id, Vacancy.corporation_id).where(
                        Vacancy.status.in_(("open", "held")), Vacancy.expires_at > datetime.now(UTC)
                    )
                )
            ]
            # Dwellings whose only vacancies are closed, or none: posting on one must succeed.
            has_live = select(Vacancy.id).where(
                Vacancy.dwelling_id == Dwelling.id, Vacancy.status.in_(("open", "held"))
            )
            manager = (
                select(DwellingManager.corporation_id)
                .where(DwellingManager.dwelling_id == Dwelling.id)
                .order_by(DwellingManager.corporation_id)
                .limit(1)
                .scalar_subquery()
            )
            postable = [
                OpenDwelling(row[0], row[1], row[2], row[3])
                for row in session.execute(
                    select(Dwelling.id, Dwelling.rent_yen, Dwelling.common_fee_yen, manager)
                    .where(
                        Dwelling.status == "registered", ~has_live.exists(), manager.is_not(None)
                    )
                    .order_by(Dwelling.id)
                )
            ]
            session.commit()
    finally:
        engine.dispose()
    return World(
        database_url=database_url,
        centers=centers,
        corporations=corporations,
        searchers=searchers,
        persons=owners,
        live_vacancies=live,
        postable=postable,
    )
