"""A synthetic national registry, loaded the way a real one is: through the bulk import.

About a hundred real cities and Tokyo wards, with their real local government codes (the check
digit computed, not typed) and approximate centres, share the dwellings by population, as the
real registry concentrates in large cities. Designated cities (政令指定都市) register their own
dwellings; every other city's are registered by its prefecture. Each authority imports its
register as one CSV file, so the import runs in its production shape (worker processes and the
streaming COPY for large files). About 5 % of the registered dwellings then get an open vacancy
from one of a few support corporations, set-based; the ``vacancies`` trigger keeps
``match_listings`` as it does for every vacancy.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import String

from housing_match.auth import CLI_ACTOR
from housing_match.demo_registry import RISK_WEIGHTS
from housing_match.jurisdiction import municipality_check_digit
from housing_match.models import Organisation, OrganisationKind
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from housing_match.registry import bulk_format, bulk_service
from housing_match.registry.accessibility import ground_floor_or_lift
from housing_match.vocabulary import PersonCategory, RiskKind

Progress = Callable[[str], None]

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip


@dataclass(frozen=True)
class City:
    code: str  # 6 digits, check digit included
    name: str
    latitude: float
    longitude: float
    population: int  # in 10,000s: the weight of its share of the registry
    rent_per_m2: int  # typical yen per ㎡ per month for older small flats
    designated: bool  # 政令指定都市: its own registering authority

    @property
    def prefecture_code(self) -> str:
        return self.code[:2]

    @property
    def spread_km(self) -> float:
        # Larger cities spread further from their centre.
        return 1.5 + math.sqrt(self.population) * 0.35


def _city(first_five: str, name: str, lat: float, lon: float, population: int, rent: int) -> City:
    designated = first_five.endswith("100") or first_five in {"14130", "14150", "22130", "27140",
                                                              "40130"}  # fmt: skip
    code = first_five + municipality_check_digit(first_five)
    return City(code, name, lat, lon, population, rent, designated)


# (first five digits of the code, name, centre, population in 10,000s, rent per ㎡)
CITIES: tuple[City, ...] = (
    _city("01100", "札幌市", 43.0618, 141.3545, 197, 1400),
    _city("01202", "函館市", 41.7687, 140.7288, 25, 1100),
    _city("01204", "旭川市", 43.7707, 142.3650, 33, 1100),
    _city("02201", "青森市", 40.8222, 140.7473, 27, 1100),
    _city("03201", "盛岡市", 39.7020, 141.1545, 29, 1200),
    _city("04100", "仙台市", 38.2682, 140.8694, 110, 1500),
    _city("05201", "秋田市", 39.7200, 140.1025, 30, 1100),
    _city("06201", "山形市", 38.2554, 140.3396, 24, 1100),
    _city("07201", "福島市", 37.7608, 140.4747, 28, 1100),
    _city("07203", "郡山市", 37.4005, 140.3597, 32, 1100),
    _city("07204", "いわき市", 37.0505, 140.8877, 33, 1100),
    _city("08201", "水戸市", 36.3659, 140.4714, 27, 1200),
    _city("09201", "宇都宮市", 36.5551, 139.8828, 52, 1200),
    _city("10201", "前橋市", 36.3895, 139.0634, 33, 1100),
    _city("10202", "高崎市", 36.3220, 139.0032, 37, 1100),
    _city("11100", "さいたま市", 35.8617, 139.6455, 134, 2000),
    _city("11201", "川越市", 35.9251, 139.4858, 35, 1800),
    _city("11203", "川口市", 35.8078, 139.7241, 60, 2000),
    _city("12100", "千葉市", 35.6073, 140.1063, 98, 1800),
    _city("12204", "船橋市", 35.6947, 139.9827, 64, 1900),
    _city("12207", "松戸市", 35.7877, 139.9031, 50, 1800),
    _city("12217", "柏市", 35.8676, 139.9758, 43, 1700),
    _city("13101", "千代田区", 35.6940, 139.7536, 7, 3800),
    _city("13102", "中央区", 35.6706, 139.7720, 17, 3600),
    _city("13103", "港区", 35.6581, 139.7516, 26, 3800),
    _city("13104", "新宿区", 35.6938, 139.7034, 35, 3200),
    _city("13105", "文京区", 35.7080, 139.7523, 24, 3200),
    _city("13106", "台東区", 35.7126, 139.7800, 21, 3000),
    _city("13107", "墨田区", 35.7107, 139.8015, 27, 2800),
    _city("13108", "江東区", 35.6730, 139.8171, 52, 2900),
    _city("13109", "品川区", 35.6092, 139.7302, 42, 3200),
    _city("13110", "目黒区", 35.6415, 139.6982, 28, 3300),
    _city("13111", "大田区", 35.5613, 139.7160, 73, 2700),
    _city("13112", "世田谷区", 35.6464, 139.6533, 92, 2900),
    _city("13113", "渋谷区", 35.6640, 139.6982, 23, 3600),
    _city("13114", "中野区", 35.7074, 139.6637, 34, 2900),
    _city("13115", "杉並区", 35.6995, 139.6364, 57, 2800),
    _city("13116", "豊島区", 35.7263, 139.7167, 30, 3000),
    _city("13117", "北区", 35.7528, 139.7335, 35, 2700),
    _city("13118", "荒川区", 35.7361, 139.7834, 22, 2700),
    _city("13119", "板橋区", 35.7512, 139.7093, 57, 2500),
    _city("13120", "練馬区", 35.7356, 139.6517, 74, 2400),
    _city("13121", "足立区", 35.7750, 139.8044, 69, 2300),
    _city("13122", "葛飾区", 35.7436, 139.8472, 46, 2300),
    _city("13123", "江戸川区", 35.7066, 139.8683, 69, 2300),
    _city("13201", "八王子市", 35.6664, 139.3160, 58, 1700),
    _city("13209", "町田市", 35.5484, 139.4466, 43, 1800),
    _city("14100", "横浜市", 35.4437, 139.6380, 377, 2300),
    _city("14130", "川崎市", 35.5309, 139.7030, 154, 2400),
    _city("14150", "相模原市", 35.5714, 139.3733, 72, 1800),
    _city("14201", "横須賀市", 35.2813, 139.6722, 39, 1700),
    _city("15100", "新潟市", 37.9162, 139.0364, 77, 1300),
    _city("16201", "富山市", 36.6953, 137.2113, 41, 1200),
    _city("17201", "金沢市", 36.5613, 136.6562, 46, 1300),
    _city("18201", "福井市", 36.0641, 136.2196, 26, 1100),
    _city("19201", "甲府市", 35.6622, 138.5683, 19, 1100),
    _city("20201", "長野市", 36.6485, 138.1948, 37, 1100),
    _city("21201", "岐阜市", 35.4233, 136.7606, 40, 1200),
    _city("22100", "静岡市", 34.9756, 138.3828, 69, 1400),
    _city("22130", "浜松市", 34.7108, 137.7261, 79, 1300),
    _city("23100", "名古屋市", 35.1815, 136.9066, 233, 1800),
    _city("23201", "豊橋市", 34.7692, 137.3915, 37, 1200),
    _city("23202", "岡崎市", 34.9549, 137.1744, 38, 1300),
    _city("23211", "豊田市", 35.0826, 137.1560, 42, 1300),
    _city("24201", "津市", 34.7185, 136.5056, 27, 1100),
    _city("24202", "四日市市", 34.9652, 136.6245, 31, 1200),
    _city("25201", "大津市", 35.0045, 135.8686, 34, 1400),
    _city("26100", "京都市", 35.0116, 135.7681, 146, 1900),
    _city("27100", "大阪市", 34.6937, 135.5023, 275, 1900),
    _city("27140", "堺市", 34.5733, 135.4830, 83, 1500),
    _city("27203", "豊中市", 34.7812, 135.4699, 40, 1700),
    _city("27205", "吹田市", 34.7594, 135.5169, 38, 1800),
    _city("27207", "高槻市", 34.8463, 135.6176, 35, 1500),
    _city("27210", "枚方市", 34.8142, 135.6507, 40, 1400),
    _city("27227", "東大阪市", 34.6794, 135.6008, 49, 1500),
    _city("28100", "神戸市", 34.6901, 135.1955, 152, 1700),
    _city("28201", "姫路市", 34.8151, 134.6854, 53, 1200),
    _city("28202", "尼崎市", 34.7334, 135.4063, 46, 1600),
    _city("28204", "西宮市", 34.7377, 135.3416, 48, 1700),
    _city("29201", "奈良市", 34.6851, 135.8048, 35, 1300),
    _city("30201", "和歌山市", 34.2260, 135.1675, 36, 1100),
    _city("31201", "鳥取市", 35.5011, 134.2351, 19, 1000),
    _city("32201", "松江市", 35.4681, 133.0484, 20, 1000),
    _city("33100", "岡山市", 34.6551, 133.9195, 72, 1300),
    _city("33202", "倉敷市", 34.5850, 133.7720, 48, 1200),
    _city("34100", "広島市", 34.3853, 132.4553, 120, 1400),
    _city("34207", "福山市", 34.4858, 133.3623, 46, 1100),
    _city("35201", "下関市", 33.9578, 130.9414, 26, 1000),
    _city("35203", "山口市", 34.1780, 131.4737, 19, 1000),
    _city("36201", "徳島市", 34.0703, 134.5548, 25, 1100),
    _city("37201", "高松市", 34.3401, 134.0434, 42, 1100),
    _city("38201", "松山市", 33.8392, 132.7657, 51, 1100),
    _city("39201", "高知市", 33.5597, 133.5311, 33, 1100),
    _city("40100", "北九州市", 33.8834, 130.8752, 94, 1200),
    _city("40130", "福岡市", 33.5902, 130.4017, 161, 1600),
    _city("40203", "久留米市", 33.3193, 130.5083, 30, 1100),
    _city("41201", "佐賀市", 33.2494, 130.2988, 23, 1000),
    _city("42201", "長崎市", 32.7503, 129.8777, 41, 1200),
    _city("43100", "熊本市", 32.8031, 130.7079, 74, 1300),
    _city("44201", "大分市", 33.2382, 131.6126, 48, 1100),
    _city("45201", "宮崎市", 31.9077, 131.4202, 40, 1000),
    _city("46201", "鹿児島市", 31.5966, 130.5571, 59, 1100),
    _city("47201", "那覇市", 26.2124, 127.6809, 32, 1500),
)
CITY_BY_CODE = {city.code: city for city in CITIES}
CORPORATIONS = (
    ("bench-corp-kizuna", "NPO法人きずな居住支援（ベンチ）"),
    ("bench-corp-minato", "一般社団法人みなと住まいサポート（ベンチ）"),
    ("bench-corp-hikari", "社会福祉法人ひかり会 居住支援部（ベンチ）"),
    ("bench-corp-yorisoi", "株式会社よりそい不動産（ベンチ）"),
    ("bench-corp-tsunagu", "NPO法人つなぐ（ベンチ）"),
)
OPEN_VACANCY_SHARE = 0.05
BUILT_FROM = date(1965, 1, 1)
SEISMIC_LAW = date(1981, 6, 1)


def authority_slug(city: City) -> str:
    return f"bench-city-{city.code}" if city.designated else f"bench-pref-{city.prefecture_code}"


def city_counts(dwellings: int) -> dict[str, int]:
    """Dwellings per city, by population, summing exactly to ``dwellings``."""
    total = sum(city.population for city in CITIES)
    exact = {city.code: dwellings * city.population / total for city in CITIES}
    counts = {code: int(share) for code, share in exact.items()}
    # Largest remainders first, so the total is exact and no city is short by more than one.
    left = dwellings - sum(counts.values())
    for code in sorted(exact, key=lambda c: exact[c] - counts[c], reverse=True)[:left]:
        counts[code] += 1
    return counts


def scatter(rng: random.Random, city: City, spread_km: float) -> tuple[float, float]:
    """A point around the city's centre, dense near it as registrations are."""
    distance_km = abs(rng.gauss(0, spread_km))
    bearing = rng.uniform(0, 2 * math.pi)
    latitude = city.latitude + distance_km / 111.32 * math.cos(bearing)
    longitude = city.longitude + distance_km / (
        111.32 * math.cos(math.radians(city.latitude))
    ) * math.sin(bearing)
    return round(latitude, 6), round(longitude, 6)


_CATEGORIES = [category.value for category in PersonCategory]
_EXCLUSIVE_TARGETS = ["elderly", "disabled", "low_income", "released_from_correctional_facility"]
_SHARED_FIELDS = {
    "shared_capacity": "", "shared_room_areas_m2": "", "shared_toilets": "",
    "shared_washbasins": "", "shared_baths": "", "shared_living_room": "",
    "shared_dining_room": "", "shared_kitchen": "", "shared_laundry": "",
}  # fmt: skip
_NO_SUPPORT = {
    "support_certifying_code": "", "support_daily_safety_check": "",
    "support_monthly_visit": "", "support_connections": "",
}  # fmt: skip


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def flat_dwelling(rng: random.Random, city: City, number: int) -> dict[str, Any]:
    """One register row in the bulk format (``bulk_format.flat_row``'s columns and values).

    Built as the flat row directly rather than through ``DwellingInput`` and ``flat_row``: a
    million pydantic models would take a minute of generation the import does not need.
    """
    latitude, longitude = scatter(rng, city, city.spread_km)
    shared = rng.random() < 0.08
    existing = rng.random() < 0.85
    built = BUILT_FROM + timedelta(days=rng.randrange(0, 365 * 58))
    floors_total = rng.choice((2, 2, 3, 4, 5, 8, 11))
    step_free = rng.random() < 0.35
    row: dict[str, Any] = {
        "registration_number": f"BN-{city.code}-{number:07d}",
        "registering_authority": "",
        "registration_class": "registered",
        "exclusive_target_categories": "",
        "kind": "shared_house" if shared else "ordinary",
        "address": f"{city.name}{rng.randint(1, 9)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}",
        "municipality_code": city.code,
        "latitude": latitude,
        "longitude": longitude,
        "floor": (floor := rng.randint(1, floors_total)),
        "floors_total": floors_total,
        "has_elevator": _yes(elevator := floors_total >= 4 and rng.random() < 0.8),
        "step_free_entrance": _yes(step_free),
        # Only a home with a step-free route may claim wheelchair access.
        "wheelchair_accessible": _yes(
            step_free
            and rng.random() < 0.3
            and ground_floor_or_lift(floor=floor, has_elevator=elevator)
        ),
        "construction_started_on": built.isoformat(),
        "is_existing_building": _yes(existing),
        # Older buildings are registered with a seismic diagnosis or retrofit, as they must.
        "seismic_evidence": "none"
        if built >= SEISMIC_LAW
        else rng.choice(("diagnosis", "retrofit", "retrofit")),
        "key_money_yen": rng.choice((0, 0, 0, 10000)),
        "pets_allowed": _yes(rng.random() < 0.1),
        "smoking_allowed": _yes(rng.random() < 0.3),
        "notes": "",
        "status": "registered",
        "registered_on": "",
    }
    if rng.random() < 0.2:
        row["registration_class"] = "exclusive"
        row["exclusive_target_categories"] = ";".join(rng.sample(_EXCLUSIVE_TARGETS, k=2))
    if shared:
        capacity = rng.randint(3, 9)
        per_five = math.ceil(capacity / 5)
        row |= {
            "shared_capacity": capacity,
            "shared_room_areas_m2": ";".join(
                f"{rng.randint(900, 1300) / 100:.2f}" for _ in range(capacity)
            ),
            "shared_toilets": per_five, "shared_washbasins": per_five, "shared_baths": per_five,
            "shared_living_room": "yes", "shared_dining_room": "yes", "shared_kitchen": "yes",
            "shared_laundry": "yes",
            "floor_area_m2": str(15 * capacity + 10 + rng.randint(0, 40)),
            "kitchen": "shared", "toilet": "shared", "storage": "in_unit", "bath": "shared",
            "washbasin": "shared", "rent_yen": rng.randrange(28000, 52000, 1000),
        }  # fmt: skip
    else:
        shared_bath = rng.random() < 0.1
        low = 18 if shared_bath else 25
        area = rng.randint(low * 100, 55 * 100) / 100
        row |= _SHARED_FIELDS | {
            "floor_area_m2": f"{area:.2f}",
            "kitchen": "in_unit", "toilet": "in_unit", "storage": "in_unit",
            "bath": "shared" if shared_bath else "in_unit", "washbasin": "in_unit",
            "rent_yen": int(area * city.rent_per_m2 * rng.uniform(0.75, 1.25)) // 100 * 100,
        }  # fmt: skip
    row["common_fee_yen"] = rng.choice((0, 2000, 3000, 5000))
    row["deposit_yen"] = rng.choice((0, 0, row["rent_yen"]))
    row["accepted_categories"] = (
        ";".join(rng.sample(_CATEGORIES, k=6)) if rng.random() < 0.3 else bulk_format.ALL_CATEGORIES
    )
    risks = [kind for kind, weight in RISK_WEIGHTS.items() if rng.random() < weight]
    row["required_risks"] = ";".join(kind.value for kind in risks)
    row["required_whole_tenancy_risks"] = ";".join(
        kind.value for kind in risks if kind is RiskKind.WATCH_OVER and rng.random() < 0.5
    )
    if rng.random() < 0.05:
        row |= {
            "support_certifying_code": city.code,
            "support_daily_safety_check": "yes",
            "support_monthly_visit": "yes",
            "support_connections": "地域包括支援センター;基幹相談支援センター",
        }
    else:
        row |= _NO_SUPPORT
    return row


def register_documents(dwellings: int, seed: int) -> Iterator[tuple[str, list[str], int, bytes]]:
    """Per registering authority, in turn: (slug, its codes, rows, the CSV file).

    One file at a time, so a million rows never sit in memory as dicts all at once.
    """
    counts = city_counts(dwellings)
    by_authority: dict[str, list[City]] = {}
    for city in CITIES:
        by_authority.setdefault(authority_slug(city), []).append(city)
    for slug, cities in by_authority.items():
        rng = random.Random(f"{seed}-{slug}")  # noqa: S311  # reproducible data, not secrets
        rows = [
            flat_dwelling(rng, city, number)
            for city in cities
            for number in range(counts[city.code])
        ]
        if rows:
            yield slug, [city.code for city in cities], len(rows), bulk_format.csv_document(rows)


def authority_spec(slug: str) -> OrganisationCreate:
    if slug.startswith("bench-city-"):
        city = CITY_BY_CODE[slug.removeprefix("bench-city-")]
        return OrganisationCreate(
            kind=OrganisationKind.MUNICIPALITY,
            slug=slug,
            name=f"{city.name} 住宅政策課（ベンチ）",
            jurisdiction_codes=[city.code],
        )
    prefecture = slug.removeprefix("bench-pref-")
    return OrganisationCreate(
        kind=OrganisationKind.MUNICIPALITY,
        slug=slug,
        name=f"{PREFECTURES[int(prefecture) - 1]} 住宅課（ベンチ）",
        jurisdiction_codes=[prefecture],
    )


@dataclass
class ImportTotals:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    # Wall clock from the first file's read to the last file's commit, files back to back.
    seconds: float = 0.0
    generation_seconds: float = 0.0
    files: int = 0
    rejected_examples: list[str] = field(default_factory=list)


def load_registry(
    make_session: sessionmaker[Session], dwellings: int, *, seed: int, progress: Progress
) -> ImportTotals:
    """Every authority imports its register, one file straight after another.

    The files are written first and the organisations created, untimed; then the clock runs
    from reading the first file to committing the last, so the database gets no pause between
    imports that a busy day of imports would not give it either."""
    totals = ImportTotals()
    with tempfile.TemporaryDirectory(prefix="housing-match-bench-") as folder:
        generating = time.perf_counter()
        files: list[tuple[str, int, Path]] = []
        for slug, _codes, count, raw in register_documents(dwellings, seed):
            path = Path(folder) / f"{slug}.csv"
            path.write_bytes(raw)
            files.append((slug, count, path))
        with make_session() as session:
            importers = {
                slug: bulk_service.Importer.from_organisation(
                    create_organisation(session, CLI_ACTOR, authority_spec(slug))
                )
                for slug, _, _ in files
            }
            session.commit()
        totals.generation_seconds = time.perf_counter() - generating
        progress(
            f"{len(files)} register files of {dwellings:,} rows written in "
            f"{totals.generation_seconds:.0f} s; importing them back to back"
        )
        started = time.perf_counter()
        for slug, count, path in files:
            importing = time.perf_counter()
            raw = path.read_bytes()
            with make_session() as session:
                total, rows = bulk_service.read_source(raw, filename=path.name)
                report = bulk_service.import_dwellings(
                    session, importers[slug], rows, total_rows=total
                )
                session.commit()
            seconds = time.perf_counter() - importing
            totals.files += 1
            totals.rows += count
            totals.accepted += report.accepted
            totals.rejected += report.rejected
            for row in report.rows:
                if row.outcome == "rejected" and len(totals.rejected_examples) < 5:
                    totals.rejected_examples.append(
                        f"{slug} row {row.row}: {'; '.join(row.reasons)}"
                    )
            progress(
                f"import {slug}: {count:,} rows in {seconds:.1f} s ({count / seconds:,.0f} "
                f"rows/s); {totals.rows:,}/{dwellings:,} after "
                f"{time.perf_counter() - started:.0f} s"
            )
        totals.seconds = time.perf_counter() - started
    return totals


def create_corporations(session: Session) -> list[Organisation]:
    return [
        create_organisation(
            session,
            CLI_ACTOR,
            OrganisationCreate(kind=OrganisationKind.SUPPORT_CORPORATION, slug=slug, name=name),
        )
        for slug, name in CORPORATIONS
    ]


# Set-based: one statement for every vacancy, and for the corporation that manages each of
# those dwellings (only a managing corporation may post a vacancy): the managers rows go in
# through the same statement, no round trip per row. Each vacancy row's trigger rebuilds its
# dwelling's match_listings row exactly as a vacancy posted through the API would. The
# corporation and the covered risks are drawn per row (the subquery refers to the row, so it
# is evaluated for each one); the CTE is materialised, so both inserts see the same draw.
_POST_VACANCIES = text(
    """
    WITH picked AS MATERIALIZED (
        SELECT d.id, d.rent_yen, d.common_fee_yen,
               (:corporations)[1 + floor(random() * cardinality(:corporations))::int]
                   AS corporation_id,
               ARRAY(SELECT kind FROM unnest(:risk_kinds) AS kind
                     WHERE random() < 0.5 AND d.id IS NOT NULL)::varchar(32)[] AS covered,
               now() - make_interval(secs => random() * 25 * 86400) AS refreshed
        FROM dwellings d
        WHERE d.status = 'registered' AND random() < :share
    ), managed AS (
        INSERT INTO dwelling_managers (dwelling_id, corporation_id)
        SELECT id, corporation_id FROM picked
        ON CONFLICT DO NOTHING
    )
    INSERT INTO vacancies (
        dwelling_id, corporation_id, status, available_from, rent_offered_yen,
        common_fee_offered_yen, covered_risks, covered_whole_tenancy_risks, refreshed_at,
        expires_at
    )
    SELECT
        picked.id,
        picked.corporation_id,
        'open',
        current_date + floor(random() * 60)::int,
        picked.rent_yen,
        picked.common_fee_yen,
        picked.covered,
        CASE WHEN 'watch_over' = ANY(picked.covered) AND random() < 0.6
             THEN ARRAY['watch_over']::varchar(32)[] ELSE '{}'::varchar(32)[] END,
        picked.refreshed,
        picked.refreshed + make_interval(days => :ttl_days)
    FROM picked
    """
).bindparams(
    bindparam("corporations", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("risk_kinds", type_=ARRAY(String(32))),
)


def post_vacancies(
    session: Session,
    corporations: Sequence[uuid.UUID],
    *,
    share: float = OPEN_VACANCY_SHARE,
    ttl_days: int = 30,
    seed: float = 0.42,
) -> int:
    """About ``share`` of the registered dwellings get an open vacancy, refreshed in the last
    25 days (so none has expired), from a corporation that then manages the dwelling. Returns
    how many were posted."""
    session.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    result = session.execute(
        _POST_VACANCIES,
        {
            "corporations": list(corporations),
            "risk_kinds": [kind.value for kind in RISK_WEIGHTS],
            "share": share,
            "ttl_days": ttl_days,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
