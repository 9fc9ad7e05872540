"""Varied person profiles for the timings, as a center's staff would enter them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from housing_match.bench.synthetic import CITIES, City, scatter
from housing_match.matching.schemas import PersonCreate
from housing_match.matching.vocabulary import AnchorKind, CovererKind, Facility, today_jst
from housing_match.vocabulary import RiskKind

_ANCHOR_KINDS = [kind.value for kind in AnchorKind]
_COVERERS = [kind.value for kind in CovererKind]
_FACILITIES = [facility.value for facility in Facility]
_RISKS = [kind.value for kind in RiskKind]
# 出所者 the centers support are elderly or disabled, usually on welfare.
_CATEGORY_SETS = (
    ["elderly", "released_from_correctional_facility"],
    ["disabled", "released_from_correctional_facility"],
    ["elderly", "low_income", "released_from_correctional_facility"],
    ["disabled", "low_income", "released_from_correctional_facility"],
    ["elderly", "disabled", "released_from_correctional_facility"],
    ["elderly", "low_income"],
)


def _point(rng: random.Random, city: City, spread_km: float) -> dict[str, float]:
    latitude, longitude = scatter(rng, city, spread_km)
    return {"latitude": latitude, "longitude": longitude}


def _square(centre: dict[str, float], half_side_m: float) -> dict[str, Any]:
    d_lat = half_side_m / 111_320
    d_lon = half_side_m / 91_000
    lat, lon = centre["latitude"], centre["longitude"]
    ring = [
        [lon - d_lon, lat - d_lat],
        [lon + d_lon, lat - d_lat],
        [lon + d_lon, lat + d_lat],
        [lon - d_lon, lat + d_lat],
        [lon - d_lon, lat - d_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def person_profile(
    rng: random.Random,
    reference: str,
    home: City,
    *,
    preferred: Sequence[str] = (),
) -> PersonCreate:
    """A plausible profile: anchors near the home city's centre, often a rent ceiling from
    住宅扶助, some accessibility needs, a support plan covering a few landlord risks."""
    today = today_jst()
    needs: dict[str, Any] = {
        "wheelchair": rng.random() < 0.05,
        "no_stairs": rng.random() < 0.15,
        "has_pets": rng.random() < 0.03,
        "smokes": rng.random() < 0.3,
        "high_support_needs": rng.random() < 0.3,
    }
    if rng.random() < 0.55:
        needs["rent_ceiling_yen"] = rng.randrange(35000, 70000, 1000)
    if rng.random() < 0.2:
        needs["min_area_m2"] = str(rng.choice((13, 18, 20, 25, 30)))
    if rng.random() < 0.1:
        needs["max_floor"] = rng.randint(1, 3)
    if rng.random() < 0.2:
        needs["required_facilities"] = rng.sample(_FACILITIES, k=rng.randint(1, 3))
    if rng.random() < 0.5:
        needs["move_in_date"] = (today + timedelta(days=rng.randint(0, 90))).isoformat()
    anchors = [
        {
            "kind": rng.choice(_ANCHOR_KINDS),
            "location": _point(rng, home, home.spread_km),
            "max_distance_m": rng.choice((1000, 2000, 3000, 5000, 8000, 15000)),
            "required": rng.random() < 0.75,
        }
        for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 45, 22, 8))[0])
    ]
    polygons = []
    if rng.random() < 0.1:
        polygons.append(_square(_point(rng, home, home.spread_km), rng.choice((800, 1500, 3000))))
    zones = [
        {"center": _point(rng, home, home.spread_km), "radius_m": rng.choice((300, 800, 2000))}
        for _ in range(rng.choices((0, 1, 2), weights=(65, 30, 5))[0])
    ]
    plan = [
        {
            "risk_kind": risk,
            "coverer_kind": rng.choice(_COVERERS),
            "coverer_name": "支援機関（ベンチ）",
            "until": None
            if rng.random() < 0.6
            else (today + timedelta(days=rng.randint(120, 720))).isoformat(),
        }
        for risk in rng.sample(_RISKS, k=rng.randint(0, 6))
    ]
    return PersonCreate.model_validate(
        {
            "reference": reference,
            "home_municipality_code": home.code,
            "consent": {
                "given_on": (today - timedelta(days=rng.randint(1, 60))).isoformat(),
                "sharing": {"support_corporation": ["household_size", "categories", "needs"]},
            },
            "household_size": 1 if rng.random() < 0.9 else 2,
            "categories": list(rng.choice(_CATEGORY_SETS)),
            "needs": needs,
            "places": {
                "anchors": anchors,
                "preferred_areas": {"municipality_codes": list(preferred), "polygons": polygons},
                "exclusion_zones": zones,
            },
            "support_plan": plan,
        }
    )


def match_profiles(count: int, seed: int, *, prefix: str = "BENCH-M") -> list[PersonCreate]:
    """Homes spread over the country by population, as the caseload is; a quarter also prefer
    one or two other cities of their prefecture."""
    rng = random.Random(f"{seed}-{prefix}")  # noqa: S311  # reproducible data, not secrets
    weights = [city.population for city in CITIES]
    profiles = []
    for index in range(count):
        home = rng.choices(CITIES, weights=weights)[0]
        neighbours = [
            c.code for c in CITIES if c.prefecture_code == home.prefecture_code and c is not home
        ]
        preferred = (
            rng.sample(neighbours, k=min(len(neighbours), rng.randint(1, 2)))
            if neighbours and rng.random() < 0.25
            else []
        )
        profiles.append(person_profile(rng, f"{prefix}-{index:04d}", home, preferred=preferred))
    return profiles


def allocation_profiles(count: int, seed: int, prefecture_code: str) -> list[PersonCreate]:
    """Persons returning to one prefecture who would take a home anywhere in it: each lists
    every bench city of the prefecture, so together they compete for all its open vacancies."""
    rng = random.Random(f"{seed}-allocation")  # noqa: S311  # reproducible data, not secrets
    cities = [city for city in CITIES if city.prefecture_code == prefecture_code]
    codes = [city.code for city in cities]
    weights = [city.population for city in cities]
    return [
        person_profile(
            rng,
            f"BENCH-A-{index:04d}",
            home,
            preferred=[code for code in codes if code != home.code],
        )
        for index, home in enumerate(rng.choices(cities, weights=weights, k=count))
    ]
