"""A believable demo registry: real cities, codes and coordinates; every class and kind."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from housing_match.auth import CLI_ACTOR
from housing_match.history.service import record_change
from housing_match.models import Dwelling, DwellingManager, Organisation, OrganisationKind, Vacancy
from housing_match.organisations.repository import OrganisationRepository
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from housing_match.registry.accessibility import ground_floor_or_lift
from housing_match.registry.mapping import new_dwelling
from housing_match.registry.schemas import DwellingInput
from housing_match.registry.service import ProfileCache, check_registration_standards
from housing_match.vocabulary import PersonCategory, RiskKind


@dataclass(frozen=True)
class DemoCity:
    code: str
    name: str
    slug: str
    latitude: float
    longitude: float
    weight: int  # share of the demo registry, roughly like the real concentration in big cities
    rent_per_m2: int  # typical yen per ㎡ per month for older small flats


DEMO_CITIES = (
    DemoCity("271004", "大阪市", "demo-osaka-city", 34.6937, 135.5023, 30, 1900),
    DemoCity("131041", "新宿区", "demo-shinjuku-city", 35.6938, 139.7034, 15, 3200),
    DemoCity("141003", "横浜市", "demo-yokohama-city", 35.4437, 139.6380, 12, 2300),
    DemoCity("231002", "名古屋市", "demo-nagoya-city", 35.1815, 136.9066, 10, 1800),
    DemoCity("011002", "札幌市", "demo-sapporo-city", 43.0618, 141.3545, 10, 1400),
    DemoCity("401307", "福岡市", "demo-fukuoka-city", 33.5902, 130.4017, 10, 1600),
    DemoCity("271403", "堺市", "demo-sakai-city", 34.5733, 135.4830, 5, 1500),
    DemoCity("252018", "大津市", "demo-otsu-city", 35.0045, 135.8686, 4, 1400),
    DemoCity("472018", "那覇市", "demo-naha-city", 26.2124, 127.6809, 4, 1600),
)
DEMO_CORPORATIONS = (
    ("demo-naniwa-support", "居住支援法人なにわ住まいサポート（デモ）"),
    ("demo-kizuna-kyoju", "NPO法人きずな居住支援（デモ）"),
)
RISK_WEIGHTS = {
    RiskKind.EMERGENCY_CONTACT: 0.8,
    RiskKind.RENT_GUARANTEE: 0.7,
    RiskKind.WATCH_OVER: 0.45,
    RiskKind.ESTATE_DISPOSAL: 0.35,
    RiskKind.STABLE_INCOME: 0.3,
    RiskKind.TROUBLE_RESPONSE: 0.25,
    RiskKind.INITIAL_COSTS: 0.15,
}


def _organisation(
    session: Session, spec: OrganisationCreate, progress: Callable[[str], None]
) -> Organisation:
    existing = OrganisationRepository(session).get_by_slug(spec.slug)
    if existing is not None:
        return existing
    progress(f"created {spec.kind.value} {spec.slug}")
    return create_organisation(session, CLI_ACTOR, spec)


def _dwelling_input(rng: random.Random, city: DemoCity, number: int) -> DwellingInput:
    # Most homes cluster near the centre, as registrations do.
    distance_km = abs(rng.gauss(0, 3.0))
    bearing = rng.uniform(0, 2 * math.pi)
    latitude = city.latitude + distance_km / 111.32 * math.cos(bearing)
    longitude = city.longitude + distance_km / (111.32 * math.cos(math.radians(city.latitude))) * (
        math.sin(bearing)
    )
    shared = rng.random() < 0.08
    existing = rng.random() < 0.85
    built = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 58))
    data: dict[str, Any] = {
        "registration_number": f"DEMO-{city.code}-{number:05d}",
        "registration_class": "exclusive" if rng.random() < 0.25 else "registered",
        "kind": "shared_house" if shared else "ordinary",
        "address": (
            f"{city.name}デモ町{rng.randint(1, 9)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        ),
        "municipality_code": city.code,
        "location": {"latitude": round(latitude, 6), "longitude": round(longitude, 6)},
        "floors_total": rng.choice((2, 2, 3, 4, 5, 8, 11)),
        "construction_started_on": built.isoformat(),
        "is_existing_building": existing,
        "seismic_evidence": "none"
        if built >= date(1981, 6, 1)
        else rng.choice(("diagnosis", "retrofit", "planned")),
        "pets_allowed": rng.random() < 0.1,
        "smoking_allowed": rng.random() < 0.3,
    }
    data["floor"] = rng.randint(1, data["floors_total"])
    data["has_elevator"] = data["floors_total"] >= 4 and rng.random() < 0.8
    data["step_free_entrance"] = rng.random() < 0.35
    # Only a home with a step-free route may claim wheelchair access (registry/accessibility).
    data["wheelchair_accessible"] = (
        data["step_free_entrance"]
        and rng.random() < 0.3
        and ground_floor_or_lift(floor=data["floor"], has_elevator=data["has_elevator"])
    )
    if shared:
        capacity = rng.randint(3, 9)
        data["shared_house"] = {
            "capacity": capacity,
            "room_areas_m2": [str(Decimal(rng.randint(900, 1300)) / 100) for _ in range(capacity)],
            "toilets": math.ceil(capacity / 5),
            "washbasins": math.ceil(capacity / 5),
            "baths": math.ceil(capacity / 5),
            "has_living_room": True,
            "has_dining_room": True,
            "has_kitchen": True,
            "has_laundry": True,
        }
        data["floor_area_m2"] = str(15 * capacity + 10 + rng.randint(0, 40))
        data["facilities"] = {
            "kitchen": "shared", "toilet": "shared", "storage": "in_unit", "bath": "shared",
            "washbasin": "shared",
        }  # fmt: skip
        data["rent_yen"] = rng.randrange(30000, 52000, 1000)
    else:
        shared_bath = rng.random() < 0.1
        low = 18 if shared_bath else 25
        area = Decimal(rng.randint(low * 100, 55 * 100)) / 100
        data["floor_area_m2"] = str(area)
        data["facilities"] = {
            "kitchen": "in_unit", "toilet": "in_unit", "storage": "in_unit",
            "bath": "shared" if shared_bath else "in_unit", "washbasin": "in_unit",
        }  # fmt: skip
        data["rent_yen"] = int(float(area) * city.rent_per_m2 * rng.uniform(0.8, 1.25)) // 100 * 100
    data["common_fee_yen"] = rng.choice((0, 2000, 3000, 5000))
    data["deposit_yen"] = rng.choice((0, 0, data["rent_yen"]))
    if data["registration_class"] == "exclusive":
        data["exclusive_target_categories"] = rng.sample(
            ["elderly", "disabled", "low_income", "released_from_correctional_facility"], k=2
        )
    if rng.random() < 0.3:
        data["accepted_categories"] = rng.sample([c.value for c in PersonCategory], k=6)
    data["required_risks"] = [
        {
            "risk_kind": kind.value,
            "whole_tenancy": kind is RiskKind.WATCH_OVER and rng.random() < 0.5,
        }
        for kind, weight in RISK_WEIGHTS.items()
        if rng.random() < weight
    ]
    if rng.random() < 0.05:
        data["residential_support"] = {
            "certifying_municipality_code": city.code,
            "daily_safety_check": True,
            "monthly_visit": True,
            "connections": ["地域包括支援センター", "基幹相談支援センター"],
        }
    return DwellingInput.model_validate(data)


def load_demo_registry(
    session: Session,
    *,
    dwellings: int = 3000,
    seed: int = 20261122,
    progress: Callable[[str], None] = lambda _message: None,
) -> int:
    """Idempotent: does nothing when the demo registry is already there. Returns rows added."""
    already = session.scalar(
        select(func.count())
        .select_from(Dwelling)
        .where(Dwelling.registration_number.like("DEMO-%"))
    )
    if already:
        progress(f"demo registry already loaded ({already} dwellings)")
        return 0
    rng = random.Random(seed)  # noqa: S311  # reproducible demo data, not secrets
    authorities = {
        city.code: _organisation(
            session,
            OrganisationCreate(
                kind=OrganisationKind.MUNICIPALITY,
                slug=city.slug,
                name=f"{city.name} 住宅部局（デモ）",
                jurisdiction_codes=[city.code],
            ),
            progress,
        )
        for city in DEMO_CITIES
    }
    corporations = [
        _organisation(
            session,
            OrganisationCreate(kind=OrganisationKind.SUPPORT_CORPORATION, slug=slug, name=name),
            progress,
        )
        for slug, name in DEMO_CORPORATIONS
    ]
    cache = ProfileCache(session)
    total_weight = sum(city.weight for city in DEMO_CITIES)
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    rows: list[Dwelling] = []
    for city in DEMO_CITIES:
        count = round(dwellings * city.weight / total_weight)
        for number in range(count):
            data = _dwelling_input(rng, city, number)
            result, _ = check_registration_standards(cache.profiles(city.code), data, today)
            applicant = rng.choice(corporations)
            dwelling = new_dwelling(
                data, authority_id=authorities[city.code].id, applicant_id=applicant.id
            )
            dwelling.status = "registered" if result.compliant else "applied"
            dwelling.registered_on = today - timedelta(days=rng.randrange(0, 2000))
            dwelling.standards_compliant = result.compliant
            dwelling.standards_checked_at = now
            dwelling.standards_violations = [
                {
                    "rule_id": v.rule_id,
                    "message_ja": v.message_ja,
                    "message_en": v.message_en,
                    "measured": v.measured,
                    "limit": v.limit,
                }
                for v in result.violations
            ]
            rows.append(dwelling)
        progress(f"{city.name}: {count} dwellings")
    session.add_all(rows)
    session.flush()
    # Each applicant, a corporation, manages its dwellings and posts their vacancies.
    session.add_all(
        DwellingManager(dwelling_id=dwelling.id, corporation_id=dwelling.applicant_id)
        for dwelling in rows
    )
    vacancies = []
    for dwelling in rows:
        if dwelling.status != "registered" or rng.random() > 0.12:
            continue
        posted = now - timedelta(days=rng.randrange(0, 40))
        covered = [k.value for k in RISK_WEIGHTS if rng.random() < 0.5]
        vacancies.append(
            Vacancy(
                dwelling_id=dwelling.id,
                corporation_id=dwelling.applicant_id,
                status="open",
                available_from=today + timedelta(days=rng.randrange(0, 60)),
                rent_offered_yen=dwelling.rent_yen,
                common_fee_offered_yen=dwelling.common_fee_yen,
                covered_risks=sorted(covered),
                covered_whole_tenancy_risks=sorted(
                    k for k in covered if k == RiskKind.WATCH_OVER.value and rng.random() < 0.6
                ),
                refreshed_at=posted,
                # Some were never refreshed: they read as expired, as stale postings should.
                expires_at=posted + timedelta(days=30),
            )
        )
    session.add_all(vacancies)
    session.flush()
    record_change(
        session,
        CLI_ACTOR,
        action="demo.registry_loaded",
        entity_type="import",
        entity_id="demo",
        before=None,
        after={"dwellings": len(rows), "vacancies": len(vacancies)},
    )
    progress(f"demo registry: {len(rows)} dwellings, {len(vacancies)} vacancies")
    return len(rows)
