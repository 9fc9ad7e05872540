"""Registration standards for safety-net dwellings (セーフティネット住宅の登録基準).

Source: seed 004 (「セーフティネット住宅の登録基準」 and 「共同居住型住宅（シェアハウス）の基準」)
with the 2025 revision, which from 2025-10-01 lets existing buildings register at 18 ㎡
(13 ㎡ with shared facilities) while new buildings keep 25 ㎡ / 18 ㎡. The project's
summary is the "Registration standards" section of the shared domain notes.

A local supply-promotion plan (供給促進計画) may strengthen or relax every number here
except the seismic standard, so the numbers live in dated, per-jurisdiction profiles
(`RuleProfile`) and only the seismic cut-off is a constant.

Pure and synchronous on purpose: no database and no I/O. Rent balance (近傍同種) needs
PostGIS and is checked elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

# 新耐震: the 1981 Building Standard Law amendment. Fixed by law; no profile may change it.
SEISMIC_CUTOFF: Final = date(1981, 6, 1)


class FacilityProvision(StrEnum):
    IN_UNIT = "in_unit"
    SHARED = "shared"
    NONE = "none"


class SeismicEvidence(StrEnum):
    NONE = "none"
    DIAGNOSIS = "diagnosis"
    RETROFIT = "retrofit"
    PLANNED = "planned"  # 耐震性を確保する見込み: a credible plan to obtain diagnosis or retrofit


class DwellingKind(StrEnum):
    ORDINARY = "ordinary"
    SHARED_HOUSE = "shared_house"  # 共同居住型住宅


# An explicit allow-list, so that a future evidence kind does not pass silently.
_ACCEPTED_SEISMIC_EVIDENCE: Final = frozenset(
    {SeismicEvidence.DIAGNOSIS, SeismicEvidence.RETROFIT, SeismicEvidence.PLANNED}
)


@dataclass(frozen=True)
class SharedHouseFacts:
    capacity: int  # N residents
    room_areas_m2: tuple[Decimal, ...]  # each private room incl. built-in storage
    toilets: int
    washbasins: int
    baths: int  # baths or showers
    has_living_room: bool
    has_dining_room: bool
    has_kitchen: bool
    has_laundry: bool

    def __post_init__(self) -> None:
        for name in ("capacity", "toilets", "washbasins", "baths"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")


@dataclass(frozen=True)
class DwellingFacts:
    kind: DwellingKind
    floor_area_m2: Decimal  # the unit's area; for a shared house the whole dwelling
    is_existing_building: bool  # 既存 (True) vs 新築 (False)
    construction_started_on: date | None
    seismic_evidence: SeismicEvidence
    kitchen: FacilityProvision
    toilet: FacilityProvision
    storage: FacilityProvision
    bath: FacilityProvision  # bath or shower
    washbasin: FacilityProvision  # 洗面設備
    shared_house: SharedHouseFacts | None = None  # required when kind == SHARED_HOUSE

    def __post_init__(self) -> None:
        if self.kind == DwellingKind.SHARED_HOUSE and self.shared_house is None:
            raise ValueError("a shared house needs its SharedHouseFacts")
        if self.kind == DwellingKind.ORDINARY and self.shared_house is not None:
            raise ValueError("SharedHouseFacts are only for kind 'shared_house'")


@dataclass(frozen=True)
class StandardsParameters:
    """Every number a profile may set. The seismic cut-off is deliberately not one of them."""

    min_area_m2: Decimal  # ordinary, new building
    min_area_with_shared_facilities_m2: Decimal
    existing_min_area_m2: Decimal  # ordinary, existing building
    existing_min_area_with_shared_facilities_m2: Decimal
    shared_house_area_per_resident_m2: Decimal  # the 15 in 15N + 10
    shared_house_area_base_m2: Decimal  # the 10 in 15N + 10
    shared_house_min_room_area_m2: Decimal
    shared_house_residents_per_fixture: int  # toilets/washbasins/baths >= ceil(N / this)

    def __post_init__(self) -> None:
        for parameter in fields(self):
            value = getattr(self, parameter.name)
            if parameter.name in _COUNT_PARAMETERS:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{parameter.name}: expected an int, got {value!r}")
                _coerce_count(parameter.name, value)
            else:
                if not isinstance(value, Decimal):
                    raise ValueError(f"{parameter.name}: expected a Decimal, got {value!r}")
                _coerce_area(parameter.name, value)


@dataclass(frozen=True)
class Violation:
    rule_id: str  # stable dotted id, e.g. "area.ordinary", "shared_house.toilets", "seismic"
    message_ja: str
    message_en: str
    measured: str | None  # the measured value, None when there is nothing to measure
    limit: str | None


@dataclass(frozen=True)
class StandardsResult:
    compliant: bool
    violations: tuple[Violation, ...]
    parameters: StandardsParameters  # what was applied


# --- parameters as data ---------------------------------------------------------------------

_COUNT_PARAMETERS: Final = frozenset({"shared_house_residents_per_fixture"})

PARAMETER_NAMES: Final[tuple[str, ...]] = (
    "min_area_m2",
    "min_area_with_shared_facilities_m2",
    "existing_min_area_m2",
    "existing_min_area_with_shared_facilities_m2",
    "shared_house_area_per_resident_m2",
    "shared_house_area_base_m2",
    "shared_house_min_room_area_m2",
    "shared_house_residents_per_fixture",
)


def _coerce_area(name: str, value: object) -> Decimal:
    # bool is an int subclass; True as "1 ㎡" would be a silent data error.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"{name}: expected a decimal number of ㎡, got {value!r}")
    try:
        area = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{name}: {value!r} is not a decimal number") from None
    if not area.is_finite() or area < 0:
        raise ValueError(f"{name}: must be a finite number of ㎡ >= 0, got {value!r}")
    return area


def _coerce_count(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a whole number, got {value!r}")
    if isinstance(value, int):
        count = value
    elif isinstance(value, Decimal | str):
        # JSON round trips may turn 5 into "5" or Decimal("5"); accept those, not 5.5.
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValueError(f"{name}: {value!r} is not a whole number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(f"{name}: {value!r} is not a whole number")
        count = int(number)
    else:
        raise ValueError(f"{name}: expected a whole number, got {value!r}")
    if count < 1:
        raise ValueError(f"{name}: must be at least 1, got {value!r}")
    return count


def _coerce_parameter(name: str, value: object) -> Decimal | int:
    if name in _COUNT_PARAMETERS:
        return _coerce_count(name, value)
    return _coerce_area(name, value)


def validate_overrides(
    overrides: Mapping[str, object], *, complete: bool = False
) -> dict[str, Decimal | int]:
    """Check a profile's parameter values and return them typed (Decimal ㎡, int counts).

    Raises ValueError naming any unknown key, any bad value, and (with ``complete``, as a
    national profile needs) any missing parameter.
    """
    unknown = sorted(str(key) for key in overrides if key not in PARAMETER_NAMES)
    seismic = [key for key in unknown if "seismic" in key.lower()]
    if seismic:
        raise ValueError(
            f"{', '.join(seismic)}: the seismic standard (新耐震, construction begun on or after "
            f"{SEISMIC_CUTOFF.isoformat()}) is fixed by law and no profile may change it"
        )
    if unknown:
        raise ValueError(
            f"unknown standards parameter(s): {', '.join(unknown)}; "
            f"known parameters are {', '.join(PARAMETER_NAMES)}"
        )
    if complete:
        missing = [name for name in PARAMETER_NAMES if name not in overrides]
        if missing:
            raise ValueError(f"missing standards parameter(s): {', '.join(missing)}")
    return {
        name: _coerce_parameter(name, overrides[name])
        for name in PARAMETER_NAMES
        if name in overrides
    }


def _parameters_from_values(values: Mapping[str, object]) -> StandardsParameters:
    def area(name: str) -> Decimal:
        return _coerce_area(name, values[name])

    return StandardsParameters(
        min_area_m2=area("min_area_m2"),
        min_area_with_shared_facilities_m2=area("min_area_with_shared_facilities_m2"),
        existing_min_area_m2=area("existing_min_area_m2"),
        existing_min_area_with_shared_facilities_m2=area(
            "existing_min_area_with_shared_facilities_m2"
        ),
        shared_house_area_per_resident_m2=area("shared_house_area_per_resident_m2"),
        shared_house_area_base_m2=area("shared_house_area_base_m2"),
        shared_house_min_room_area_m2=area("shared_house_min_room_area_m2"),
        shared_house_residents_per_fixture=_coerce_count(
            "shared_house_residents_per_fixture", values["shared_house_residents_per_fixture"]
        ),
    )


def parameters_from_mapping(m: Mapping[str, object]) -> StandardsParameters:
    """Build parameters from JSON-ish data (Decimals may be strings); every key required."""
    return _parameters_from_values(validate_overrides(m, complete=True))


def parameters_to_mapping(p: StandardsParameters) -> dict[str, str | int]:
    """JSON-safe form: Decimals as strings so no value passes through a float."""
    mapping: dict[str, str | int] = {}
    for name in PARAMETER_NAMES:
        value = getattr(p, name)
        mapping[name] = value if isinstance(value, int) else format_decimal(value)
    return mapping


# --- profiles -------------------------------------------------------------------------------


def _is_digits(text: str, length: int) -> bool:
    # str.isdigit() alone accepts full-width and other Unicode digits.
    return len(text) == length and text.isascii() and text.isdigit()


@dataclass(frozen=True)
class RuleProfile:
    """The standards in force for one scope over a period.

    scope_code is "" (national), a 2-digit prefecture code or a 6-digit municipality code.
    A national profile holds every parameter; a local one only what its plan changes.
    """

    scope_code: str
    effective_from: date
    effective_until: date | None  # exclusive; None = open-ended
    overrides: dict[str, Decimal | int]
    name: str = ""

    def __post_init__(self) -> None:
        if not (
            self.is_national or _is_digits(self.scope_code, 2) or _is_digits(self.scope_code, 6)
        ):
            raise ValueError(
                f"scope_code must be '', 2 digits or 6 digits, got {self.scope_code!r}"
            )
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError(
                f"profile {self.label}: effective_until {self.effective_until.isoformat()} "
                f"must be after effective_from {self.effective_from.isoformat()}"
            )
        try:
            typed = validate_overrides(self.overrides, complete=self.is_national)
        except ValueError as exc:
            raise ValueError(f"profile {self.label}: {exc}") from None
        # A private, typed copy: later edits to the caller's dict must not change the profile.
        object.__setattr__(self, "overrides", typed)

    @property
    def is_national(self) -> bool:
        return self.scope_code == ""

    @property
    def label(self) -> str:
        scope = "national" if self.is_national else f"scope {self.scope_code}"
        named = f" {self.name!r}" if self.name else ""
        return f"{scope}{named} from {self.effective_from.isoformat()}"

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )


_NATIONAL_SHARED_HOUSE: Final[dict[str, Decimal | int]] = {
    "shared_house_area_per_resident_m2": Decimal("15"),
    "shared_house_area_base_m2": Decimal("10"),
    "shared_house_min_room_area_m2": Decimal("9"),
    "shared_house_residents_per_fixture": 5,
}

# Seed rows for the standards_profiles table; kept as plain data for that reason.
NATIONAL_PROFILES: Final[tuple[RuleProfile, ...]] = (
    RuleProfile(
        scope_code="",
        name="全国基準（2017年10月〜）",
        effective_from=date(2017, 10, 25),  # the amended Safety Net Act came into force
        effective_until=date(2025, 10, 1),
        overrides={
            "min_area_m2": Decimal("25"),
            "min_area_with_shared_facilities_m2": Decimal("18"),
            "existing_min_area_m2": Decimal("25"),
            "existing_min_area_with_shared_facilities_m2": Decimal("18"),
            **_NATIONAL_SHARED_HOUSE,
        },
    ),
    RuleProfile(
        scope_code="",
        name="全国基準（2025年10月改正〜）",
        effective_from=date(2025, 10, 1),
        effective_until=None,
        overrides={
            "min_area_m2": Decimal("25"),
            "min_area_with_shared_facilities_m2": Decimal("18"),
            "existing_min_area_m2": Decimal("18"),
            "existing_min_area_with_shared_facilities_m2": Decimal("13"),
            **_NATIONAL_SHARED_HOUSE,
        },
    ),
)


def _single_in_force(
    profiles: Sequence[RuleProfile], scope_code: str, as_of: date
) -> RuleProfile | None:
    in_force = [p for p in profiles if p.scope_code == scope_code and p.in_force_on(as_of)]
    if len(in_force) > 1:
        labels = "; ".join(p.label for p in in_force)
        raise ValueError(
            f"{len(in_force)} profiles for the same scope are in force on {as_of.isoformat()} "
            f"({labels}); their periods must not overlap"
        )
    return in_force[0] if in_force else None


def select_parameters(
    profiles: Sequence[RuleProfile], municipality_code: str, as_of: date
) -> tuple[StandardsParameters, RuleProfile | None]:
    """The parameters in force for a municipality on a date, and the local profile applied.

    The national profile in force is the base. On top of it goes exactly one local profile:
    the municipality's own if one is in force, else its prefecture's. The two are not
    layered, because a city that registers dwellings itself (政令市・中核市) applies its own
    plan, not the prefecture's.
    """
    if not _is_digits(municipality_code, 6):
        raise ValueError(f"municipality_code must be 6 digits, got {municipality_code!r}")
    national = _single_in_force(profiles, "", as_of)
    if national is None:
        raise ValueError(f"no national standards profile is in force on {as_of.isoformat()}")
    local = _single_in_force(profiles, municipality_code, as_of) or _single_in_force(
        profiles, municipality_code[:2], as_of
    )
    values: dict[str, Decimal | int] = dict(national.overrides)
    if local is not None:
        values.update(local.overrides)
    return _parameters_from_values(values), local


# --- the checks -----------------------------------------------------------------------------


def format_decimal(value: Decimal) -> str:
    """Plain notation without trailing-zero noise: 25.00 -> "25", 24.90 -> "24.9"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def required_fixtures(capacity: int, residents_per_fixture: int) -> int:
    """⌈N / residents_per_fixture⌉ in exact integer arithmetic."""
    return -(-capacity // residents_per_fixture)


def shared_house_min_total_area(capacity: int, parameters: StandardsParameters) -> Decimal:
    return (
        parameters.shared_house_area_per_resident_m2 * capacity
        + parameters.shared_house_area_base_m2
    )


def _japanese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _ordinary_area_violations(
    facts: DwellingFacts, parameters: StandardsParameters
) -> Iterator[Violation]:
    # A toilet or washbasin is not among them: only a shared kitchen, storage or bath is what
    # the standard accepts as giving an environment equivalent to having it in the unit.
    uses_shared_facilities = FacilityProvision.SHARED in (facts.kitchen, facts.storage, facts.bath)
    if facts.is_existing_building:
        limit = (
            parameters.existing_min_area_with_shared_facilities_m2
            if uses_shared_facilities
            else parameters.existing_min_area_m2
        )
    else:
        limit = (
            parameters.min_area_with_shared_facilities_m2
            if uses_shared_facilities
            else parameters.min_area_m2
        )
    if facts.floor_area_m2 >= limit:
        return
    building_ja = "既存住宅" if facts.is_existing_building else "新築住宅"
    building_en = "an existing building" if facts.is_existing_building else "a new building"
    if uses_shared_facilities:
        basis_ja = f"共用の台所等がある{building_ja}の基準"
        basis_en = f"the standard for {building_en} with a shared kitchen, storage or bath"
    else:
        basis_ja = f"{building_ja}の基準"
        basis_en = f"the standard for {building_en}"
    measured, minimum = format_decimal(facts.floor_area_m2), format_decimal(limit)
    yield Violation(
        rule_id="area.ordinary",
        message_ja=f"床面積が基準に達していません（{measured}㎡ < {minimum}㎡、{basis_ja}）",
        message_en=f"Floor area is below the minimum ({measured} m² < {minimum} m², {basis_en})",
        measured=measured,
        limit=minimum,
    )


_FACILITY_NAMES: Final = {
    "kitchen": ("台所", "kitchen"),
    "toilet": ("便所", "toilet"),
    "storage": ("収納設備", "storage"),
    "bath": ("浴室又はシャワー室", "bath or shower"),
    "washbasin": ("洗面設備", "washbasin"),
}
# What an ordinary dwelling may share instead of having it in the unit (with the lower
# floor-area minimum); the toilet and the washbasin must be in the unit.
SHAREABLE_IN_ORDINARY: Final = frozenset({"kitchen", "storage", "bath"})


def _facility_violations(facts: DwellingFacts) -> Iterator[Violation]:
    provisions = {
        "kitchen": facts.kitchen,
        "toilet": facts.toilet,
        "storage": facts.storage,
        "bath": facts.bath,
        "washbasin": facts.washbasin,
    }
    for facility, provision in provisions.items():
        name_ja, name_en = _FACILITY_NAMES[facility]
        if provision == FacilityProvision.NONE:
            if facility in SHAREABLE_IN_ORDINARY:
                where_ja, where_en = "住戸内又は共用部分", "in the unit or as a shared facility"
                limit = f"{FacilityProvision.IN_UNIT.value} or {FacilityProvision.SHARED.value}"
            else:
                where_ja, where_en = "住戸内", "in the unit"
                limit = FacilityProvision.IN_UNIT.value
            yield Violation(
                rule_id=f"facility.{facility}",
                message_ja=f"{name_ja}がありません（{where_ja}に設ける必要があります）",
                message_en=f"No {name_en}: one is required {where_en}",
                measured=FacilityProvision.NONE.value,
                limit=limit,
            )
        elif provision == FacilityProvision.SHARED and facility not in SHAREABLE_IN_ORDINARY:
            yield Violation(
                rule_id=f"facility.{facility}_in_unit",
                message_ja=(
                    f"{name_ja}が共用です（共同居住型でない住宅では{name_ja}を住戸内に設ける"
                    "必要があります。共用にできるのは台所・収納設備・浴室又はシャワー室のみ）"
                ),
                message_en=(
                    f"The {name_en} is shared: outside a shared house it must be in the unit "
                    "(only the kitchen, storage and bath or shower may be shared)"
                ),
                measured=FacilityProvision.SHARED.value,
                limit=FacilityProvision.IN_UNIT.value,
            )


_COMMON_SPACES: Final = (
    ("living_room", "居間", "living room"),
    ("dining_room", "食堂", "dining room"),
    ("kitchen", "台所", "kitchen"),
    ("laundry", "洗濯室（場）", "laundry"),
)

_FIXTURES: Final = (
    ("toilets", "便所", "toilets"),
    ("washbasins", "洗面", "washbasins"),
    ("baths", "浴室又はシャワー室", "baths or showers"),
)


def _shared_house_violations(
    floor_area_m2: Decimal, house: SharedHouseFacts, parameters: StandardsParameters
) -> Iterator[Violation]:
    residents = house.capacity
    if residents < 2:
        yield Violation(
            rule_id="shared_house.capacity",
            message_ja=f"共同居住型住宅の居住人数は2人以上である必要があります（{residents}人）",
            message_en=f"A shared house must be for at least 2 residents (capacity {residents})",
            measured=str(residents),
            limit="2",
        )

    required_area = shared_house_min_total_area(residents, parameters)
    if floor_area_m2 < required_area:
        measured, minimum = format_decimal(floor_area_m2), format_decimal(required_area)
        per_resident = format_decimal(parameters.shared_house_area_per_resident_m2)
        base = format_decimal(parameters.shared_house_area_base_m2)
        yield Violation(
            rule_id="shared_house.total_area",
            message_ja=(
                f"住宅全体の面積が基準に達していません（{measured}㎡ < {minimum}㎡ = "
                f"{per_resident}㎡ × {residents}人 + {base}㎡）"
            ),
            message_en=(
                f"The whole dwelling is smaller than required ({measured} m² < {minimum} m² = "
                f"{per_resident} m² × {residents} residents + {base} m²)"
            ),
            measured=measured,
            limit=minimum,
        )

    rooms = len(house.room_areas_m2)
    if rooms < residents:
        yield Violation(
            rule_id="shared_house.capacity",
            message_ja=(
                f"専用居室が{rooms}室しかなく、居住人数{residents}人に足りません"
                "（専用居室の入居者は1人）"
            ),
            message_en=(
                f"Only {rooms} private rooms for {residents} residents "
                "(one resident per private room)"
            ),
            measured=str(rooms),
            limit=str(residents),
        )

    room_minimum = format_decimal(parameters.shared_house_min_room_area_m2)
    for number, room_area in enumerate(house.room_areas_m2, start=1):
        if room_area >= parameters.shared_house_min_room_area_m2:
            continue
        measured = format_decimal(room_area)
        yield Violation(
            rule_id="shared_house.room_area",
            message_ja=(
                f"専用居室{number}の面積が基準に達していません"
                f"（{measured}㎡ < {room_minimum}㎡、造り付けの収納を含む）"
            ),
            message_en=(
                f"Private room {number} is smaller than the minimum "
                f"({measured} m² < {room_minimum} m², including built-in storage)"
            ),
            measured=measured,
            limit=room_minimum,
        )

    present = {
        "living_room": house.has_living_room,
        "dining_room": house.has_dining_room,
        "kitchen": house.has_kitchen,
        "laundry": house.has_laundry,
    }
    missing = [space for space in _COMMON_SPACES if not present[space[0]]]
    if missing:
        yield Violation(
            rule_id="shared_house.common_spaces",
            message_ja=f"共用部分に{'・'.join(ja for _, ja, _ in missing)}がありません",
            message_en=f"Shared spaces missing: {', '.join(en for _, _, en in missing)}",
            measured=",".join(key for key, _, _ in _COMMON_SPACES if present[key]),
            limit=",".join(key for key, _, _ in _COMMON_SPACES),
        )

    per_fixture = parameters.shared_house_residents_per_fixture
    required = required_fixtures(residents, per_fixture)
    counts = {"toilets": house.toilets, "washbasins": house.washbasins, "baths": house.baths}
    for fixture, name_ja, name_en in _FIXTURES:
        count = counts[fixture]
        if count >= required:
            continue
        yield Violation(
            rule_id=f"shared_house.{fixture}",
            message_ja=(
                f"{name_ja}の数が基準に達していません（{count}箇所 < {required}箇所、"
                f"居住人数{residents}人・概ね{per_fixture}人につき1箇所）"
            ),
            message_en=(
                f"Too few {name_en} ({count} < {required}: one per {per_fixture} residents "
                f"for {residents} residents)"
            ),
            measured=str(count),
            limit=str(required),
        )


def _seismic_violations(facts: DwellingFacts) -> Iterator[Violation]:
    started = facts.construction_started_on
    if started is not None and started >= SEISMIC_CUTOFF:
        return
    if facts.seismic_evidence in _ACCEPTED_SEISMIC_EVIDENCE:
        return
    evidence_ja = "耐震診断・耐震改修の書類又は耐震性を確保する見込みが必要です"
    evidence_en = "a seismic diagnosis, a retrofit, or a credible plan to obtain one is required"
    if started is None:
        reason_ja = "着工日が不明で、新耐震基準の建物か確認できません"
        reason_en = (
            "The construction start date is unknown, so the post-1981 seismic code "
            "cannot be confirmed"
        )
    else:
        reason_ja = (
            f"旧耐震基準の建物です（着工日{_japanese_date(started)}は"
            f"{_japanese_date(SEISMIC_CUTOFF)}より前）"
        )
        reason_en = (
            f"Built to the pre-1981 seismic code (construction began {started.isoformat()}, "
            f"before {SEISMIC_CUTOFF.isoformat()})"
        )
    yield Violation(
        rule_id="seismic",
        message_ja=f"{reason_ja}。{evidence_ja}",
        message_en=f"{reason_en}; {evidence_en}",
        measured=None if started is None else started.isoformat(),
        limit=f">= {SEISMIC_CUTOFF.isoformat()}",
    )


def check_dwelling(facts: DwellingFacts, parameters: StandardsParameters) -> StandardsResult:
    """Check one dwelling against the registration standards (rent balance aside)."""
    violations: list[Violation] = []
    if facts.kind == DwellingKind.ORDINARY:
        violations.extend(_ordinary_area_violations(facts, parameters))
        violations.extend(_facility_violations(facts))
    elif facts.shared_house is not None:
        # The shared house's own rules (common spaces and fixture counts) take the place of
        # the per-unit area and facility rules.
        violations.extend(
            _shared_house_violations(facts.floor_area_m2, facts.shared_house, parameters)
        )
    else:
        raise ValueError("a shared house needs its SharedHouseFacts")
    violations.extend(_seismic_violations(facts))
    return StandardsResult(
        compliant=not violations, violations=tuple(violations), parameters=parameters
    )
