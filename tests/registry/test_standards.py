"""Registration standards: the boundaries of seed 004 and its 2025 revision, and local profiles."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from housing_match.registry.standards import (
    NATIONAL_PROFILES,
    PARAMETER_NAMES,
    SEISMIC_CUTOFF,
    DwellingFacts,
    DwellingKind,
    FacilityProvision,
    RuleProfile,
    SeismicEvidence,
    SharedHouseFacts,
    StandardsParameters,
    StandardsResult,
    check_dwelling,
    format_decimal,
    parameters_from_mapping,
    parameters_to_mapping,
    required_fixtures,
    select_parameters,
    validate_overrides,
)

IN_UNIT = FacilityProvision.IN_UNIT
SHARED = FacilityProvision.SHARED
NONE = FacilityProvision.NONE

BEFORE_REVISION = date(2025, 9, 30)
REVISION = date(2025, 10, 1)

TOKYO_CHIYODA = "131016"  # no local profile in these tests: national numbers apply
OSAKA_CITY = "271004"  # in Osaka prefecture ("27")
OTSU = "252018"
KUSATSU = "252069"  # in Shiga ("25") but not Otsu

# Real numbers (domain notes); the effective dates are illustrative.
OSAKA_PREFECTURE = RuleProfile(
    scope_code="27",
    name="大阪府賃貸住宅供給促進計画",
    effective_from=date(2018, 4, 1),
    effective_until=None,
    overrides={
        "min_area_m2": Decimal("18"),
        "min_area_with_shared_facilities_m2": Decimal("13"),
    },
)
OTSU_CITY = RuleProfile(
    scope_code=OTSU,
    name="大津市賃貸住宅供給促進計画",
    effective_from=date(2021, 4, 1),
    effective_until=None,
    overrides={
        "min_area_m2": Decimal("22"),
        "min_area_with_shared_facilities_m2": Decimal("17"),
        "shared_house_area_base_m2": Decimal("7"),
    },
)
# Hypothetical, to show that a city's profile wins over its prefecture's.
SHIGA_PREFECTURE = RuleProfile(
    scope_code="25",
    effective_from=date(2020, 4, 1),
    effective_until=None,
    overrides={"min_area_m2": Decimal("20"), "shared_house_min_room_area_m2": Decimal("8")},
)
PROFILES = (*NATIONAL_PROFILES, OSAKA_PREFECTURE, OTSU_CITY, SHIGA_PREFECTURE)


def national(as_of: date = REVISION) -> StandardsParameters:
    parameters, local = select_parameters(NATIONAL_PROFILES, TOKYO_CHIYODA, as_of)
    assert local is None
    return parameters


def ordinary(
    area: str,
    *,
    existing: bool = False,
    kitchen: FacilityProvision = IN_UNIT,
    toilet: FacilityProvision = IN_UNIT,
    storage: FacilityProvision = IN_UNIT,
    bath: FacilityProvision = IN_UNIT,
    washbasin: FacilityProvision = IN_UNIT,
    started: date | None = date(2001, 4, 1),
    evidence: SeismicEvidence = SeismicEvidence.NONE,
) -> DwellingFacts:
    return DwellingFacts(
        kind=DwellingKind.ORDINARY,
        floor_area_m2=Decimal(area),
        is_existing_building=existing,
        construction_started_on=started,
        seismic_evidence=evidence,
        kitchen=kitchen,
        toilet=toilet,
        storage=storage,
        bath=bath,
        washbasin=washbasin,
    )


def shared_house(
    residents: int,
    *,
    area_per_resident: Decimal = Decimal("15"),
    base_area: Decimal = Decimal("10"),
    less_total: Decimal = Decimal("0"),
    room_areas: tuple[Decimal, ...] | None = None,
    toilets: int | None = None,
    washbasins: int | None = None,
    baths: int | None = None,
    has_living_room: bool = True,
    has_dining_room: bool = True,
    has_kitchen: bool = True,
    has_laundry: bool = True,
) -> DwellingFacts:
    """A shared house exactly at the national limits unless told otherwise."""
    fixtures = -(-residents // 5)
    return DwellingFacts(
        kind=DwellingKind.SHARED_HOUSE,
        floor_area_m2=area_per_resident * residents + base_area - less_total,
        is_existing_building=False,
        construction_started_on=date(2001, 4, 1),
        seismic_evidence=SeismicEvidence.NONE,
        kitchen=SHARED,
        toilet=SHARED,
        storage=IN_UNIT,
        bath=SHARED,
        washbasin=SHARED,
        shared_house=SharedHouseFacts(
            capacity=residents,
            room_areas_m2=room_areas if room_areas is not None else (Decimal("9"),) * residents,
            toilets=fixtures if toilets is None else toilets,
            washbasins=fixtures if washbasins is None else washbasins,
            baths=fixtures if baths is None else baths,
            has_living_room=has_living_room,
            has_dining_room=has_dining_room,
            has_kitchen=has_kitchen,
            has_laundry=has_laundry,
        ),
    )


def ordinary_with(area: str, facility: str, provision: FacilityProvision) -> DwellingFacts:
    """An ordinary unit with every facility in the unit except ``facility``."""
    provisions = dict.fromkeys(("kitchen", "toilet", "storage", "bath", "washbasin"), IN_UNIT)
    provisions[facility] = provision
    return ordinary(
        area,
        kitchen=provisions["kitchen"],
        toilet=provisions["toilet"],
        storage=provisions["storage"],
        bath=provisions["bath"],
        washbasin=provisions["washbasin"],
    )


def shared_house_with(residents: int, fixture: str, count: int) -> DwellingFacts:
    """A shared house at the national limits except for the count of one fixture."""
    counts = {fixture: count}
    return shared_house(
        residents,
        toilets=counts.get("toilets"),
        washbasins=counts.get("washbasins"),
        baths=counts.get("baths"),
    )


def rule_ids(result: StandardsResult) -> list[str]:
    return [violation.rule_id for violation in result.violations]


def check_at(
    facts: DwellingFacts, municipality_code: str, as_of: date = REVISION
) -> StandardsResult:
    parameters, _ = select_parameters(PROFILES, municipality_code, as_of)
    return check_dwelling(facts, parameters)


# --- ordinary dwellings: floor area ---------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "compliant"),
    [("24.99", False), ("25.00", True), ("25", True), ("25.01", True)],
)
def test_new_unit_needs_25_m2(area: str, compliant: bool) -> None:
    result = check_dwelling(ordinary(area), national())

    assert result.compliant is compliant
    assert rule_ids(result) == ([] if compliant else ["area.ordinary"])


def test_area_violation_reports_measured_and_limit_without_trailing_zeros() -> None:
    (violation,) = check_dwelling(ordinary("24.99"), national()).violations

    assert violation.measured == "24.99"
    assert violation.limit == "25"
    assert violation.message_ja.startswith("床面積が基準に達していません（24.99㎡ < 25㎡")
    assert "24.99 m² < 25 m²" in violation.message_en


@pytest.mark.parametrize("shared_facility", ["kitchen", "storage", "bath"])
@pytest.mark.parametrize(("area", "compliant"), [("17.99", False), ("18", True)])
def test_shared_kitchen_storage_or_bath_lowers_the_minimum_to_18_m2(
    shared_facility: str, area: str, compliant: bool
) -> None:
    facts = ordinary_with(area, shared_facility, SHARED)

    result = check_dwelling(facts, national())

    assert result.compliant is compliant
    if not compliant:
        assert result.violations[0].limit == "18"


@pytest.mark.parametrize(
    ("facts", "also"),
    [
        pytest.param(ordinary("18"), [], id="everything-in-unit"),
        # A shared toilet or washbasin does not lower the minimum: it fails on its own.
        pytest.param(
            ordinary("18", toilet=SHARED), ["facility.toilet_in_unit"], id="only-toilet-shared"
        ),
        pytest.param(
            ordinary("18", washbasin=SHARED),
            ["facility.washbasin_in_unit"],
            id="only-washbasin-shared",
        ),
    ],
)
def test_18_m2_without_a_shared_kitchen_storage_or_bath_fails(
    facts: DwellingFacts, also: list[str]
) -> None:
    result = check_dwelling(facts, national())

    assert rule_ids(result) == ["area.ordinary", *also]
    assert result.violations[0].limit == "25"


@pytest.mark.parametrize(
    ("existing", "as_of", "compliant"),
    [
        pytest.param(True, BEFORE_REVISION, False, id="existing-before-revision"),
        pytest.param(True, REVISION, True, id="existing-from-revision"),
        pytest.param(False, BEFORE_REVISION, False, id="new-before-revision"),
        pytest.param(False, REVISION, False, id="new-from-revision"),
    ],
)
def test_2025_revision_admits_20_m2_existing_units_only(
    existing: bool, as_of: date, compliant: bool
) -> None:
    result = check_dwelling(ordinary("20", existing=existing), national(as_of))

    assert result.compliant is compliant


@pytest.mark.parametrize(
    ("area", "kitchen", "compliant"),
    [
        ("17.99", IN_UNIT, False),
        ("18", IN_UNIT, True),
        ("12.99", SHARED, False),
        ("13", SHARED, True),
    ],
)
def test_existing_building_limits_from_2025_10_01(
    area: str, kitchen: FacilityProvision, compliant: bool
) -> None:
    facts = ordinary(area, existing=True, kitchen=kitchen)

    assert check_dwelling(facts, national(REVISION)).compliant is compliant


def test_existing_building_before_revision_uses_18_m2_with_shared_facilities() -> None:
    result = check_dwelling(ordinary("17", existing=True, bath=SHARED), national(BEFORE_REVISION))

    assert rule_ids(result) == ["area.ordinary"]
    assert result.violations[0].limit == "18"


# --- ordinary dwellings: facilities ---------------------------------------------------------


@pytest.mark.parametrize("facility", ["kitchen", "toilet", "storage", "bath", "washbasin"])
def test_a_missing_facility_is_a_violation(facility: str) -> None:
    facts = ordinary_with("30", facility, NONE)

    result = check_dwelling(facts, national())

    assert rule_ids(result) == [f"facility.{facility}"]
    assert result.violations[0].measured == "none"


def test_all_missing_facilities_are_reported_in_order() -> None:
    facts = ordinary("30", kitchen=NONE, toilet=NONE, storage=NONE, bath=NONE, washbasin=NONE)

    result = check_dwelling(facts, national())

    assert rule_ids(result) == [
        "facility.kitchen",
        "facility.toilet",
        "facility.storage",
        "facility.bath",
        "facility.washbasin",
    ]


def test_a_shared_kitchen_storage_and_bath_satisfy_the_facility_rule() -> None:
    facts = ordinary("25", kitchen=SHARED, storage=SHARED, bath=SHARED)

    assert check_dwelling(facts, national()).compliant


@pytest.mark.parametrize(("facility", "name_ja"), [("toilet", "便所"), ("washbasin", "洗面設備")])
def test_a_shared_toilet_or_washbasin_fails_an_ordinary_dwelling(
    facility: str, name_ja: str
) -> None:
    result = check_dwelling(ordinary_with("30", facility, SHARED), national())

    (violation,) = result.violations
    assert violation.rule_id == f"facility.{facility}_in_unit"
    assert violation.message_ja.startswith(f"{name_ja}が共用です")
    assert "住戸内に設ける必要があります" in violation.message_ja
    assert (violation.measured, violation.limit) == ("shared", "in_unit")


def test_a_missing_toilet_or_washbasin_must_be_in_the_unit() -> None:
    result = check_dwelling(ordinary("30", toilet=NONE, washbasin=NONE), national())

    assert [v.limit for v in result.violations] == ["in_unit", "in_unit"]
    assert result.violations[1].message_ja == "洗面設備がありません（住戸内に設ける必要があります）"


# --- shared houses (共同居住型) -------------------------------------------------------------


@pytest.mark.parametrize("residents", [2, 3, 5, 6, 11])
def test_shared_house_at_exactly_15n_plus_10_passes(residents: int) -> None:
    facts = shared_house(residents)

    assert facts.floor_area_m2 == 15 * residents + 10
    assert check_dwelling(facts, national()).compliant


@pytest.mark.parametrize("residents", [2, 3, 5, 6, 11])
def test_shared_house_0_01_m2_below_15n_plus_10_fails(residents: int) -> None:
    facts = shared_house(residents, less_total=Decimal("0.01"))

    result = check_dwelling(facts, national())

    assert rule_ids(result) == ["shared_house.total_area"]
    violation = result.violations[0]
    assert violation.limit == str(15 * residents + 10)
    assert violation.measured == format_decimal(Decimal(15 * residents + 10) - Decimal("0.01"))
    assert f"15㎡ × {residents}人 + 10㎡" in violation.message_ja


@pytest.mark.parametrize(("room_area", "compliant"), [("8.99", False), ("9.00", True)])
def test_private_room_needs_9_m2(room_area: str, compliant: bool) -> None:
    facts = shared_house(3, room_areas=(Decimal("12"), Decimal(room_area), Decimal("10")))

    result = check_dwelling(facts, national())

    assert result.compliant is compliant
    if not compliant:
        (violation,) = result.violations
        assert violation.rule_id == "shared_house.room_area"
        assert violation.measured == "8.99"
        assert violation.limit == "9"
        assert "専用居室2" in violation.message_ja
        assert "Private room 2" in violation.message_en


def test_each_small_room_is_its_own_violation() -> None:
    facts = shared_house(3, room_areas=(Decimal("8"), Decimal("9"), Decimal("7.5")))

    result = check_dwelling(facts, national())

    assert rule_ids(result) == ["shared_house.room_area", "shared_house.room_area"]
    assert [v.measured for v in result.violations] == ["8", "7.5"]
    assert "専用居室1" in result.violations[0].message_ja
    assert "専用居室3" in result.violations[1].message_ja


@pytest.mark.parametrize(("residents", "required"), [(2, 1), (5, 1), (6, 2), (10, 2), (11, 3)])
def test_fixture_count_is_ceil_n_over_5(residents: int, required: int) -> None:
    assert required_fixtures(residents, 5) == required


@pytest.mark.parametrize("fixture", ["toilets", "washbasins", "baths"])
@pytest.mark.parametrize(("residents", "required"), [(5, 1), (6, 2), (10, 2), (11, 3)])
def test_shared_house_fixtures_at_ceil_n_over_5(
    fixture: str, residents: int, required: int
) -> None:
    enough = shared_house_with(residents, fixture, required)
    too_few = shared_house_with(residents, fixture, required - 1)

    assert check_dwelling(enough, national()).compliant
    result = check_dwelling(too_few, national())
    assert rule_ids(result) == [f"shared_house.{fixture}"]
    assert result.violations[0].measured == str(required - 1)
    assert result.violations[0].limit == str(required)


def test_shared_house_needs_at_least_two_residents() -> None:
    result = check_dwelling(shared_house(1), national())

    assert rule_ids(result) == ["shared_house.capacity"]
    assert result.violations[0].measured == "1"
    assert result.violations[0].limit == "2"


def test_shared_house_needs_a_private_room_per_resident() -> None:
    facts = shared_house(4, room_areas=(Decimal("10"),) * 3)

    result = check_dwelling(facts, national())

    assert rule_ids(result) == ["shared_house.capacity"]
    assert (result.violations[0].measured, result.violations[0].limit) == ("3", "4")


def test_missing_common_spaces_are_one_violation_listing_them() -> None:
    facts = shared_house(3, has_living_room=False, has_laundry=False)

    result = check_dwelling(facts, national())

    assert rule_ids(result) == ["shared_house.common_spaces"]
    violation = result.violations[0]
    assert "居間" in violation.message_ja
    assert "洗濯室" in violation.message_ja
    assert "食堂" not in violation.message_ja
    assert "living room" in violation.message_en
    assert "laundry" in violation.message_en
    assert "dining room" not in violation.message_en
    assert violation.measured == "dining_room,kitchen"


def test_shared_house_is_not_held_to_the_ordinary_unit_rules() -> None:
    facts = replace(shared_house(2), storage=NONE)

    assert check_dwelling(facts, national()).compliant


def test_dwelling_kind_and_shared_house_facts_must_agree() -> None:
    with pytest.raises(ValueError, match="SharedHouseFacts"):
        replace(shared_house(2), shared_house=None)
    with pytest.raises(ValueError, match="shared_house"):
        replace(shared_house(2), kind=DwellingKind.ORDINARY)


# --- seismic --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "evidence", "compliant"),
    [
        (date(1981, 5, 31), SeismicEvidence.NONE, False),
        (date(1981, 6, 1), SeismicEvidence.NONE, True),
        (date(1981, 5, 31), SeismicEvidence.DIAGNOSIS, True),
        (date(1981, 5, 31), SeismicEvidence.RETROFIT, True),
        (date(1981, 5, 31), SeismicEvidence.PLANNED, True),
        (None, SeismicEvidence.NONE, False),
        (None, SeismicEvidence.DIAGNOSIS, True),
        (None, SeismicEvidence.PLANNED, True),
    ],
)
def test_seismic_standard(started: date | None, evidence: SeismicEvidence, compliant: bool) -> None:
    result = check_dwelling(ordinary("25", started=started, evidence=evidence), national())

    assert result.compliant is compliant
    assert rule_ids(result) == ([] if compliant else ["seismic"])


def test_seismic_violation_reports_the_date_and_the_cutoff() -> None:
    (violation,) = check_dwelling(ordinary("25", started=date(1981, 5, 31)), national()).violations

    assert violation.measured == "1981-05-31"
    assert violation.limit == ">= 1981-06-01"
    assert "1981年5月31日" in violation.message_ja
    assert "1981-05-31" in violation.message_en


def test_seismic_violation_with_unknown_date_has_no_measured_value() -> None:
    (violation,) = check_dwelling(ordinary("25", started=None), national()).violations

    assert violation.measured is None
    assert "不明" in violation.message_ja
    assert "unknown" in violation.message_en


def test_seismic_cutoff_is_1981_06_01() -> None:
    assert date(1981, 6, 1) == SEISMIC_CUTOFF


# --- messages -------------------------------------------------------------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(
            ordinary(
                "10", kitchen=NONE, toilet=NONE, storage=NONE, bath=NONE, started=date(1970, 1, 1)
            ),
            id="ordinary",
        ),
        pytest.param(ordinary("30", toilet=SHARED, washbasin=SHARED), id="shared-toilet"),
        pytest.param(
            replace(
                shared_house(
                    11,
                    less_total=Decimal("1"),
                    room_areas=(Decimal("8"),) * 10,
                    toilets=0,
                    washbasins=0,
                    baths=0,
                    has_living_room=False,
                    has_dining_room=False,
                    has_kitchen=False,
                    has_laundry=False,
                ),
                construction_started_on=None,
            ),
            id="shared-house",
        ),
    ],
)
def test_every_violation_has_a_japanese_and_an_english_message(facts: DwellingFacts) -> None:
    result = check_dwelling(facts, national())

    assert not result.compliant
    for violation in result.violations:
        assert JAPANESE.search(violation.message_ja), violation
        assert re.search(r"[A-Za-z]{3}", violation.message_en), violation
        assert not JAPANESE.search(violation.message_en), violation


def test_every_rule_id_can_fire() -> None:
    ordinary_result = check_dwelling(
        ordinary(
            "10", kitchen=NONE, toilet=NONE, storage=NONE, bath=NONE, washbasin=NONE, started=None
        ),
        national(),
    )
    shared_in_ordinary = check_dwelling(ordinary("30", toilet=SHARED, washbasin=SHARED), national())
    shared_result = check_dwelling(
        shared_house(
            11,
            less_total=Decimal("1"),
            room_areas=(Decimal("8"),) * 10,
            toilets=0,
            washbasins=0,
            baths=0,
            has_kitchen=False,
        ),
        national(),
    )

    fired = {*rule_ids(ordinary_result), *rule_ids(shared_result), *rule_ids(shared_in_ordinary)}
    assert fired == {
        "area.ordinary",
        "facility.kitchen",
        "facility.toilet",
        "facility.storage",
        "facility.bath",
        "facility.washbasin",
        "facility.toilet_in_unit",
        "facility.washbasin_in_unit",
        "seismic",
        "shared_house.total_area",
        "shared_house.capacity",
        "shared_house.room_area",
        "shared_house.common_spaces",
        "shared_house.toilets",
        "shared_house.washbasins",
        "shared_house.baths",
    }


def test_result_carries_the_parameters_applied() -> None:
    parameters = national(BEFORE_REVISION)

    assert check_dwelling(ordinary("25"), parameters).parameters is parameters


# --- profiles -------------------------------------------------------------------------------


def test_national_profiles_before_and_after_the_revision() -> None:
    before, after = national(BEFORE_REVISION), national(REVISION)

    assert parameters_to_mapping(before) == {
        "min_area_m2": "25",
        "min_area_with_shared_facilities_m2": "18",
        "existing_min_area_m2": "25",
        "existing_min_area_with_shared_facilities_m2": "18",
        "shared_house_area_per_resident_m2": "15",
        "shared_house_area_base_m2": "10",
        "shared_house_min_room_area_m2": "9",
        "shared_house_residents_per_fixture": 5,
    }
    assert after == replace(
        before,
        existing_min_area_m2=Decimal("18"),
        existing_min_area_with_shared_facilities_m2=Decimal("13"),
    )


@pytest.mark.parametrize("as_of", [date(2017, 10, 24), date(1990, 1, 1)])
def test_no_national_profile_in_force_is_an_error(as_of: date) -> None:
    with pytest.raises(ValueError, match="no national standards profile is in force"):
        select_parameters(PROFILES, TOKYO_CHIYODA, as_of)


def test_national_profiles_start_with_the_system() -> None:
    parameters, _ = select_parameters(NATIONAL_PROFILES, TOKYO_CHIYODA, date(2017, 10, 25))

    assert parameters.min_area_m2 == 25


@pytest.mark.parametrize(
    ("facts", "osaka", "national_rules"),
    [
        pytest.param(ordinary("18"), True, False, id="18-new"),
        pytest.param(ordinary("17.99"), False, False, id="17.99-new"),
        pytest.param(ordinary("13", kitchen=SHARED), True, False, id="13-shared"),
        pytest.param(ordinary("12.99", kitchen=SHARED), False, False, id="12.99-shared"),
    ],
)
def test_osaka_prefecture_18_and_13_m2(
    facts: DwellingFacts, osaka: bool, national_rules: bool
) -> None:
    assert check_at(facts, OSAKA_CITY, BEFORE_REVISION).compliant is osaka
    assert check_at(facts, TOKYO_CHIYODA, BEFORE_REVISION).compliant is national_rules


def test_osaka_profile_is_returned_as_the_one_applied() -> None:
    parameters, local = select_parameters(PROFILES, OSAKA_CITY, REVISION)

    assert local is OSAKA_PREFECTURE
    assert parameters.min_area_m2 == 18
    assert parameters.shared_house_area_base_m2 == 10  # not overridden: national


@pytest.mark.parametrize(
    ("facts", "otsu", "national_rules"),
    [
        pytest.param(ordinary("23"), True, False, id="23-new"),
        pytest.param(ordinary("22"), True, False, id="22-new"),
        pytest.param(ordinary("21.99"), False, False, id="21.99-new"),
        pytest.param(ordinary("17", storage=SHARED), True, False, id="17-shared"),
        pytest.param(ordinary("16.99", storage=SHARED), False, False, id="16.99-shared"),
        pytest.param(shared_house(3, base_area=Decimal("7")), True, False, id="sh-15n+7"),
        pytest.param(
            shared_house(3, base_area=Decimal("7"), less_total=Decimal("0.01")),
            False,
            False,
            id="sh-below-15n+7",
        ),
    ],
)
def test_otsu_city_22_and_17_m2_and_15n_plus_7(
    facts: DwellingFacts, otsu: bool, national_rules: bool
) -> None:
    assert check_at(facts, OTSU).compliant is otsu
    assert check_at(facts, TOKYO_CHIYODA).compliant is national_rules


def test_otsu_shared_house_limit_is_reported_as_15n_plus_7() -> None:
    result = check_at(shared_house(3, base_area=Decimal("7"), less_total=Decimal("1")), OTSU)

    (violation,) = result.violations
    assert violation.limit == "52"
    assert "15㎡ × 3人 + 7㎡" in violation.message_ja


def test_before_a_local_profile_takes_effect_national_applies() -> None:
    day_before = date(2021, 3, 31)
    profiles = (*NATIONAL_PROFILES, OTSU_CITY)

    parameters, local = select_parameters(profiles, OTSU, day_before)

    assert local is None
    assert parameters == national(day_before)
    assert not check_dwelling(ordinary("22"), parameters).compliant
    assert check_dwelling(
        ordinary("22"), select_parameters(profiles, OTSU, OTSU_CITY.effective_from)[0]
    ).compliant


def test_before_a_city_profile_takes_effect_its_prefecture_applies() -> None:
    assert select_parameters(PROFILES, OTSU, date(2021, 3, 31))[1] is SHIGA_PREFECTURE


def test_after_a_local_profile_ends_national_applies() -> None:
    ended = replace(OSAKA_PREFECTURE, effective_until=date(2024, 4, 1))
    profiles = (*NATIONAL_PROFILES, ended)

    assert select_parameters(profiles, OSAKA_CITY, date(2024, 3, 31))[1] is ended
    parameters, local = select_parameters(profiles, OSAKA_CITY, date(2024, 4, 1))
    assert local is None
    assert parameters.min_area_m2 == 25


def test_city_profile_beats_prefecture_profile() -> None:
    otsu_parameters, otsu_local = select_parameters(PROFILES, OTSU, REVISION)
    kusatsu_parameters, kusatsu_local = select_parameters(PROFILES, KUSATSU, REVISION)

    assert otsu_local is OTSU_CITY
    assert otsu_parameters.min_area_m2 == 22
    assert kusatsu_local is SHIGA_PREFECTURE
    assert kusatsu_parameters.min_area_m2 == 20
    # The city's plan replaces the prefecture's rather than layering on it.
    assert otsu_parameters.shared_house_min_room_area_m2 == 9
    assert kusatsu_parameters.shared_house_min_room_area_m2 == 8


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_area_m2", Decimal("30")),
        ("min_area_with_shared_facilities_m2", Decimal("20")),
        ("existing_min_area_m2", Decimal("16")),
        ("existing_min_area_with_shared_facilities_m2", Decimal("11.5")),
        ("shared_house_area_per_resident_m2", Decimal("12")),
        ("shared_house_area_base_m2", Decimal("0")),
        ("shared_house_min_room_area_m2", Decimal("7.5")),
        ("shared_house_residents_per_fixture", 4),
    ],
)
def test_every_parameter_can_be_set_locally(name: str, value: Decimal | int) -> None:
    profile = RuleProfile("13", date(2020, 1, 1), None, {name: value})

    parameters, _ = select_parameters((*NATIONAL_PROFILES, profile), TOKYO_CHIYODA, REVISION)

    assert getattr(parameters, name) == value
    others = [n for n in PARAMETER_NAMES if n != name]
    assert all(getattr(parameters, n) == getattr(national(), n) for n in others)


def test_stricter_fixture_ratio_changes_the_shared_house_requirement() -> None:
    strict = RuleProfile(OTSU, date(2020, 1, 1), None, {"shared_house_residents_per_fixture": 4})
    parameters, _ = select_parameters((*NATIONAL_PROFILES, strict), OTSU, REVISION)

    result = check_dwelling(shared_house(5), parameters)  # 1 of each; 4 per fixture needs 2

    assert rule_ids(result) == [
        "shared_house.toilets",
        "shared_house.washbasins",
        "shared_house.baths",
    ]


@pytest.mark.parametrize("key", ["min_area", "minimum_area_m2", "rent_ceiling_yen"])
def test_unknown_override_key_is_rejected(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        RuleProfile(OTSU, date(2020, 1, 1), None, {key: Decimal("20")})
    with pytest.raises(ValueError, match=key):
        validate_overrides({key: "20"})


@pytest.mark.parametrize("key", ["seismic_cutoff", "seismic"])
def test_seismic_cannot_be_overridden(key: str) -> None:
    with pytest.raises(ValueError, match=r"seismic standard .* no profile may change it"):
        validate_overrides({key: "1990-01-01"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_area_m2", "twenty"),
        ("min_area_m2", "-1"),
        ("min_area_m2", "NaN"),
        ("min_area_m2", True),
        ("min_area_m2", 20.5),
        ("shared_house_residents_per_fixture", 0),
        ("shared_house_residents_per_fixture", "2.5"),
        ("shared_house_residents_per_fixture", False),
    ],
)
def test_bad_override_values_are_rejected(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        validate_overrides({key: value})


def test_override_values_are_typed() -> None:
    assert validate_overrides(
        {
            "min_area_m2": 22,
            "shared_house_area_base_m2": "7",
            "shared_house_residents_per_fixture": Decimal("4"),
        }
    ) == {
        "min_area_m2": Decimal("22"),
        "shared_house_area_base_m2": Decimal("7"),
        "shared_house_residents_per_fixture": 4,
    }


def test_national_profile_must_set_every_parameter() -> None:
    with pytest.raises(ValueError, match=r"missing standards parameter.*existing_min_area_m2"):
        RuleProfile("", date(2030, 1, 1), None, {"min_area_m2": Decimal("25")})


@pytest.mark.parametrize("scope_code", ["1", "131", "13101", "1310160", "２７", "ab"])
def test_scope_code_must_be_national_prefecture_or_municipality(scope_code: str) -> None:
    with pytest.raises(ValueError, match="scope_code"):
        RuleProfile(scope_code, date(2020, 1, 1), None, {"min_area_m2": Decimal("20")})


def test_profile_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="effective_until"):
        RuleProfile("27", date(2020, 1, 1), date(2020, 1, 1), {"min_area_m2": Decimal("20")})


def test_overlapping_profiles_for_one_scope_are_an_error() -> None:
    second = replace(OTSU_CITY, effective_from=date(2024, 1, 1), name="改定")

    with pytest.raises(ValueError, match="must not overlap"):
        select_parameters((*PROFILES, second), OTSU, REVISION)


def test_municipality_code_must_have_6_digits() -> None:
    with pytest.raises(ValueError, match="municipality_code"):
        select_parameters(PROFILES, "25201", REVISION)


def test_profile_keeps_its_own_copy_of_the_overrides() -> None:
    overrides: dict[str, Decimal | int] = {"min_area_m2": Decimal("20")}
    profile = RuleProfile("27", date(2020, 1, 1), None, overrides)

    overrides["min_area_m2"] = Decimal("1")

    assert profile.overrides == {"min_area_m2": Decimal("20")}


# --- JSON round trip ------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [BEFORE_REVISION, REVISION])
def test_parameters_round_trip_through_json(as_of: date) -> None:
    parameters = national(as_of)

    restored = parameters_from_mapping(json.loads(json.dumps(parameters_to_mapping(parameters))))

    assert restored == parameters


def test_parameters_mapping_keeps_decimals_exact() -> None:
    parameters = replace(national(), min_area_with_shared_facilities_m2=Decimal("17.50"))

    mapping = parameters_to_mapping(parameters)

    assert mapping["min_area_with_shared_facilities_m2"] == "17.5"
    assert parameters_from_mapping(mapping).min_area_with_shared_facilities_m2 == Decimal("17.5")


def test_parameters_from_mapping_needs_every_key_and_no_others() -> None:
    complete = parameters_to_mapping(national())
    missing = {k: v for k, v in complete.items() if k != "shared_house_area_base_m2"}

    with pytest.raises(ValueError, match="shared_house_area_base_m2"):
        parameters_from_mapping(missing)
    with pytest.raises(ValueError, match="bonus_m2"):
        parameters_from_mapping({**complete, "bonus_m2": "1"})


def test_parameters_reject_wrong_types_at_construction() -> None:
    with pytest.raises(ValueError, match="min_area_m2"):
        replace(national(), min_area_m2=25)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shared_house_residents_per_fixture"):
        replace(national(), shared_house_residents_per_fixture=0)


@pytest.mark.parametrize(
    ("value", "text"),
    [("25.00", "25"), ("24.99", "24.99"), ("24.90", "24.9"), ("1E+2", "100"), ("0.00", "0")],
)
def test_format_decimal(value: str, text: str) -> None:
    assert format_decimal(Decimal(value)) == text
