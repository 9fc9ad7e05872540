"""The import's plain path (no pydantic) against the model it stands in for.

For every generated CSV record the plain path either declines, and the record goes through
``parse_row`` and ``DwellingInput`` as before, or gives exactly what the model would: the
stored values as COPY text, the standards facts and result.
Records are made valid and then pushed to, onto and past each limit the model enforces, so
the two cannot drift apart unnoticed. Seeded, so a failure reproduces.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from housing_match.models import OrganisationKind
from housing_match.registry import bulk_format, bulk_plain, bulk_prepare, standards
from housing_match.registry.bulk_format import COLUMNS, EXPORT_ONLY_COLUMNS
from housing_match.registry.mapping import dwelling_facts
from housing_match.registry.schemas import REGISTRATION_CLASS_LABELS_JA, RegistrationClass
from housing_match.vocabulary import (
    PERSON_CATEGORY_LABELS_JA,
    RISK_KIND_LABELS_JA,
    PersonCategory,
    RiskKind,
)

SEED = 20_240_611
RECORDS = 6_000
KEYS = [column.key for column in COLUMNS + EXPORT_ONLY_COLUMNS]
OSAKA = "271004"
VALID_CODES = ["271004", "271217", "131016", "011002", "472018", "252018", "401307"]
BAD_CODES = ["271005", "001007", "481009", "27100", "2710044", "２７１００４", "٢٧١٠٠٤", "27100a"]
# Around the edges of a cell: what Python's strip and the model's strip_whitespace might
# disagree on (U+001C..U+001F are spaces only to Python; U+180E and U+200B to neither).
EDGES = ["", " ", "\u3000", "\x1c", "\x85", "\u00a0", "\u180e", "\u200b", "\t"]
CATEGORY_WORDS = [c.value for c in PersonCategory] + list(PERSON_CATEGORY_LABELS_JA.values())
RISK_WORDS = [r.value for r in RiskKind] + list(RISK_KIND_LABELS_JA.values())
DATES = [
    "1981-05-31",
    "1981-06-01",
    "2025-09-30",
    "2025-10-01",
    "2024-02-29",
    "2023-02-29",
    "2020-13-01",
    "2020-00-10",
    "0001-01-01",
    "0999-12-31",
    "1000-01-01",
    "9999-12-31",
    "2020-1-1",
    "2020-01-01T00:00:00",
    "2020-01-01 00:00",
    "20200101",
    "1654646400",
    "２０２０-０１-０１",
]


def _length(rng: random.Random, length: int) -> str:
    alphabet = "abcXYZ0189-大阪市北区梅田丁目号棟𠮷"
    return "".join(rng.choice(alphabet) for _ in range(length))


def _around(rng: random.Random, value: str) -> str:
    if rng.random() < 0.15:
        return rng.choice(EDGES) + value + rng.choice(EDGES)
    return value


def _words(rng: random.Random, words: list[str], most: int) -> str:
    picked = [rng.choice(words) for _ in range(rng.randint(0, most))]
    if rng.random() < 0.2:
        picked.append(rng.choice(["", " ", "unknown", "ALL", "Elderly"]))
    return rng.choice([";", " ; ", ";;"]).join(picked)


def _area(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.uniform(5, 120):.2f}",
            f"{rng.uniform(5, 120):.1f}",
            str(rng.randint(1, 200)),
            "0",
            "0.00",
            "0.01",
            "0.001",
            "0.010",
            "9.00",
            "8.99",
            "24.99",
            "25.00",
            "10000",
            "10000.00",
            "10000.01",
            "9999.999",
            "12.345",
            "12.500",
            "00012.50",
            "1,000",
            "1e2",
            "-5",
            "１２",
            "NaN",
        ]
    )


def _integer(rng: random.Random, low: int, high: int) -> str:
    return rng.choice(
        [
            str(rng.randint(low, high)),
            str(low),
            str(high),
            str(low - 1),
            str(high + 1),
            f"{rng.randint(low, high)}.0",
            f"{rng.randint(low, high)}.5",
            "1,000",
            "-0",
            "１",
        ]
    )


def _coordinate(rng: random.Random, low: float, high: float) -> str:
    return rng.choice(
        [
            f"{rng.uniform(low, high):.6f}",
            repr(rng.uniform(low, high)),
            str(int(low)),
            f"{low}",
            f"{high}",
            f"{high:.0f}",
            f"{low - 0.000001:.6f}",
            f"{high + 0.000001:.6f}",
            "1e1",
            "nan",
            "inf",
            "-0",
        ]
    )


def _boolean(rng: random.Random) -> str:
    return rng.choice(["yes", "no", "はい", "いいえ", "Y", "0", "1", "○", "×", "maybe", "TRUE"])


def _base(rng: random.Random) -> dict[str, str]:
    """A record the plain path should take: every cell plain and within its limits."""
    shared = rng.random() < 0.25
    exclusive = rng.random() < 0.2
    floors_total = rng.randint(1, 30)
    row = {
        "registration_number": f"R-{rng.randint(0, 10**9)}",
        "registration_class": rng.choice(
            ["exclusive", REGISTRATION_CLASS_LABELS_JA[RegistrationClass.EXCLUSIVE]]
        )
        if exclusive
        else rng.choice(["registered", "登録住宅"]),
        "exclusive_target_categories": ";".join(rng.sample(CATEGORY_WORDS, rng.randint(1, 3)))
        if exclusive
        else "",
        "kind": rng.choice(["shared_house", "共同居住型", "シェアハウス"])
        if shared
        else rng.choice(["ordinary", "一般"]),
        "address": "大阪府大阪市北区梅田" + str(rng.randint(1, 9)) + "丁目",
        "municipality_code": rng.choice(VALID_CODES),
        "latitude": f"{rng.uniform(20, 46):.6f}",
        "longitude": f"{rng.uniform(122, 154):.6f}",
        "floor_area_m2": f"{rng.uniform(10, 200):.2f}",
        "floor": str(rng.randint(1, floors_total)),
        "floors_total": str(floors_total),
        "has_elevator": rng.choice(["yes", "no", "はい", "1", "○", "×", "TRUE"]),
        "step_free_entrance": rng.choice(["", "yes", "no"]),
        "wheelchair_accessible": rng.choice(["", "はい", "いいえ"]),
        "kitchen": rng.choice(["in_unit", "shared", "none", "専用", "共用", "なし"]),
        "toilet": rng.choice(["in_unit", "shared", "none", "専用", "共用"]),
        "storage": rng.choice(["in_unit", "shared", "none", "専用"]),
        "bath": rng.choice(["in_unit", "shared", "none", "共用"]),
        "washbasin": rng.choice(["in_unit", "shared", "none", "専用", "共用"]),
        "construction_started_on": rng.choice(["", "1975-03-01", "1981-06-01", "2010-10-10"]),
        "is_existing_building": rng.choice(["yes", "no", "はい", "いいえ"]),
        "seismic_evidence": rng.choice(["", "none", "diagnosis", "耐震改修", "改修予定"]),
        "rent_yen": str(rng.randint(0, 200_000)),
        "common_fee_yen": rng.choice(["", str(rng.randint(0, 10_000))]),
        "deposit_yen": rng.choice(["", "0", str(rng.randint(0, 100_000))]),
        "key_money_yen": rng.choice(["", "0"]),
        "accepted_categories": rng.choice(["all", "全て", "", _words(rng, CATEGORY_WORDS, 4)]),
        "required_risks": _words(rng, RISK_WORDS, 3),
        "required_whole_tenancy_risks": _words(rng, RISK_WORDS, 2),
        "pets_allowed": rng.choice(["", "no", "可"]),
        "smoking_allowed": rng.choice(["", "不可", "yes"]),
        "notes": rng.choice(["", "駅近", "a\\b\tc", '"quoted"', "line\nbreak"]),
        "status": rng.choice(["", "registered"]),
        "registered_on": rng.choice(["", "2024-01-01"]),
        "registering_authority": rng.choice(["", "osaka-city"]),
    }
    for key in ("required_risks", "required_whole_tenancy_risks"):
        if "unknown" in row[key] or "ALL" in row[key] or "Elderly" in row[key]:
            row[key] = ""
    for key in ("exclusive_target_categories", "accepted_categories"):
        if any(word in row[key] for word in ("unknown", "ALL")):
            row[key] = "elderly"
    # A wheelchair claim needs a step-free route: the ground floor or a lift (the mutations
    # break this).
    route = row["step_free_entrance"] == "yes" and (
        row["floor"] == "1" or row["has_elevator"] in {"yes", "はい", "1", "○", "TRUE"}
    )
    if row["wheelchair_accessible"] == "はい" and not route:
        row["wheelchair_accessible"] = "いいえ"
    if shared:
        row |= _base_shared(rng)
    if rng.random() < 0.3:
        row |= {
            "support_certifying_code": rng.choice(VALID_CODES),
            "support_daily_safety_check": rng.choice(["", "yes", "no"]),
            "support_monthly_visit": rng.choice(["", "yes"]),
            "support_connections": rng.choice(["", "地域包括支援センター", "A; B ;;C"]),
        }
    return row


def _base_shared(rng: random.Random) -> dict[str, str]:
    capacity = rng.randint(1, 12)
    return {
        "shared_capacity": str(capacity),
        "shared_room_areas_m2": ";".join(f"{rng.uniform(7, 15):.2f}" for _ in range(capacity)),
        "shared_toilets": str(rng.randint(0, 4)),
        "shared_washbasins": str(rng.randint(0, 4)),
        "shared_baths": str(rng.randint(0, 4)),
        "shared_living_room": rng.choice(["yes", "no"]),
        "shared_dining_room": rng.choice(["yes", "no"]),
        "shared_kitchen": rng.choice(["yes", "no"]),
        "shared_laundry": rng.choice(["yes", "no"]),
    }


def _mutations() -> list[Callable[[random.Random, dict[str, str]], None]]:
    def set_(key: str, make: Callable[[random.Random], str]) -> Callable[..., None]:
        def mutate(rng: random.Random, row: dict[str, str]) -> None:
            row[key] = make(rng)

        return mutate

    def length(key: str, limit: int) -> Callable[..., None]:
        return set_(key, lambda rng: _around(rng, _length(rng, limit + rng.choice([-1, 0, 1]))))

    def drop(rng: random.Random, row: dict[str, str]) -> None:
        row[rng.choice(sorted(bulk_format.REQUIRED_KEYS))] = rng.choice(["", " "])

    def shared_cells(rng: random.Random, row: dict[str, str]) -> None:
        if "shared_capacity" not in row and rng.random() < 0.8:
            row |= _base_shared(rng)
            row["kind"] = "shared_house"
        key = rng.choice([k for k in KEYS if k.startswith("shared_")])
        if key == "shared_room_areas_m2":
            count = rng.choice([0, 1, 99, 100, 101])
            row[key] = ";".join(
                _area(rng) if count < 5 and rng.random() < 0.5 else "9.50" for _ in range(count)
            )
        elif key == "shared_capacity":
            row[key] = _integer(rng, 1, 100)
        elif key in {"shared_toilets", "shared_washbasins", "shared_baths"}:
            row[key] = _integer(rng, 0, 100)
        else:
            row[key] = rng.choice(["", _boolean(rng)])

    def support(rng: random.Random, row: dict[str, str]) -> None:
        row["support_certifying_code"] = rng.choice(["", *VALID_CODES, *BAD_CODES])
        row["support_connections"] = ";".join(
            _around(rng, _length(rng, rng.choice([1, 199, 200, 201]))) for _ in range(2)
        )
        row["support_daily_safety_check"] = rng.choice(["", _boolean(rng)])

    def floors(rng: random.Random, row: dict[str, str]) -> None:
        if rng.random() < 0.5:
            total = rng.randint(1, 100)
            row["floors_total"] = str(total)
            row["floor"] = str(total + rng.choice([-1, 0, 1]))
        else:
            row["floor"] = _integer(rng, -5, 100)
            row["floors_total"] = rng.choice(["", _integer(rng, 1, 100)])

    def exclusive(rng: random.Random, row: dict[str, str]) -> None:
        row["registration_class"] = rng.choice(["exclusive", "registered", "専用住宅"])
        row["exclusive_target_categories"] = rng.choice(["", ";", _words(rng, CATEGORY_WORDS, 4)])

    def kind(rng: random.Random, row: dict[str, str]) -> None:
        row["kind"] = rng.choice(["ordinary", "shared_house", "一般", "other"])

    def wheelchair(rng: random.Random, row: dict[str, str]) -> None:
        row["wheelchair_accessible"] = rng.choice(["はい", "yes", "1"])
        row["step_free_entrance"] = rng.choice(["", "yes", "no"])
        row["has_elevator"] = rng.choice(["", "yes", "no", "○"])
        row["floor"] = rng.choice(["", "-1", "0", "1", "2"])

    return [
        length("registration_number", 64),
        length("address", 300),
        length("notes", 2000),
        set_("registration_number", lambda rng: _around(rng, "R-1")),
        set_("address", lambda rng: rng.choice(EDGES) + "x" + rng.choice(EDGES)),
        set_("municipality_code", lambda rng: _around(rng, rng.choice(VALID_CODES + BAD_CODES))),
        set_("latitude", lambda rng: _coordinate(rng, 20.0, 46.0)),
        set_("longitude", lambda rng: _coordinate(rng, 122.0, 154.0)),
        set_("floor_area_m2", _area),
        floors,
        *(set_(key, lambda rng: _integer(rng, 0, 10_000_000)) for key in _YEN),
        set_("construction_started_on", lambda rng: rng.choice(DATES)),
        set_("accepted_categories", lambda rng: _words(rng, [*CATEGORY_WORDS, "all"], 5)),
        set_("required_risks", lambda rng: _words(rng, RISK_WORDS, 6)),
        set_("required_whole_tenancy_risks", lambda rng: _words(rng, RISK_WORDS, 6)),
        *(set_(key, _boolean) for key in ("has_elevator", "is_existing_building", "pets_allowed")),
        set_("kitchen", lambda rng: rng.choice(["in_unit", "Shared", "共用", "bad", "NONE"])),
        set_("seismic_evidence", lambda rng: rng.choice(["planned", "耐震診断", "x", "Retrofit"])),
        exclusive,
        kind,
        wheelchair,
        shared_cells,
        shared_cells,
        shared_cells,
        support,
        drop,
    ]


_YEN = ("rent_yen", "common_fee_yen", "deposit_yen", "key_money_yen")


def _records(rng: random.Random) -> Iterator[dict[str, str]]:
    mutations = _mutations()
    for index in range(RECORDS):
        row = _base(rng)
        # A fifth stay as made (the plain path must take them); the rest get one to three
        # mutations, so limits are also met in combination.
        if index % 5:
            for mutate in rng.sample(mutations, rng.choice([1, 1, 2, 3])):
                mutate(rng, row)
        yield row


def _profiles() -> tuple[standards.RuleProfile, ...]:
    local = standards.RuleProfile(
        scope_code="25",
        effective_from=date(2020, 1, 1),
        effective_until=None,
        overrides={"min_area_m2": Decimal("22"), "shared_house_area_base_m2": Decimal("7")},
    )
    return (*standards.NATIONAL_PROFILES, local)


def test_the_plain_path_gives_what_the_model_gives_or_declines() -> None:
    rng = random.Random(SEED)
    profiles = _profiles()
    days = [date(2025, 9, 30), date(2025, 10, 1)]
    taken = declined = rejected = 0
    together: list[tuple[list[str], bulk_plain.PlainRow | None]] = []
    for row in _records(rng):
        keys = KEYS[:]
        if rng.random() < 0.1:
            rng.shuffle(keys)
        cells = [str(row.get(key, "")) for key in keys]
        (plain,) = bulk_plain.plain_records(keys, [cells])
        if keys == KEYS:
            together.append((cells, plain))
        source = bulk_format.source_row(keys, 2, cells)
        assert source is not None
        reference = bulk_format.parse_row(source)
        if reference.data is None:
            rejected += 1
        if plain is None:
            declined += 1
            continue
        taken += 1
        data = reference.data
        assert data is not None, (row, reference.errors)
        assert plain.registration_number == reference.registration_number
        assert plain.authority_slug == reference.authority_slug
        assert plain.municipality_code == data.municipality_code
        assert repr(plain.facts) == repr(dwelling_facts(data))
        for day in days:
            parameters, _ = standards.select_parameters(profiles, data.municipality_code, day)
            result = standards.check_dwelling(plain.facts, parameters)
            assert result == standards.check_dwelling(dwelling_facts(data), parameters)
            violations = bulk_prepare._violations(result)
            expected = bulk_prepare._content_cells(data, result.compliant, violations)
            assert plain.cells == expected[: len(plain.cells)], row
            assert len(plain.cells) == len(expected) - 2  # the standards result comes after
    # A chunk of many records gives what each record gives alone: parsing a column's distinct
    # cells once is no shortcut that one record could see.
    records = [cells for cells, _ in together]
    assert bulk_plain.plain_records(KEYS, records) == [plain for _, plain in together]
    # Not vacuous: both paths and rejections are exercised in bulk.
    assert taken > RECORDS // 4, (taken, declined, rejected)
    assert declined - rejected > RECORDS // 20, (taken, declined, rejected)
    assert rejected > RECORDS // 4, (taken, declined, rejected)


def test_the_plain_path_takes_every_unmutated_record() -> None:
    rng = random.Random(SEED + 1)
    records = [[row.get(key, "") for key in KEYS] for row in (_base(rng) for _ in range(500))]
    assert None not in bulk_plain.plain_records(KEYS, records)


def _context(kind: OrganisationKind) -> bulk_prepare.PrepareContext:
    osaka = bulk_prepare.Authority(uuid.uuid4(), "osaka-city", (OSAKA,))
    prefecture = bulk_prepare.Authority(uuid.uuid4(), "osaka-pref", ("27",))
    importer = osaka if kind is OrganisationKind.MUNICIPALITY else None
    return bulk_prepare.PrepareContext(
        importer_id=importer.id if importer else uuid.uuid4(),
        importer_kind=kind,
        importer_jurisdiction=importer.jurisdiction_codes if importer else (),
        municipalities=(osaka, prefecture),
        profiles=_profiles(),
        as_of=date(2025, 10, 1),
        status="registered",
        registered_on=date(2025, 10, 1),
        checked_at=datetime(2025, 10, 1, tzinfo=UTC),
    )


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind", [OrganisationKind.MUNICIPALITY, OrganisationKind.SUPPORT_CORPORATION]
)
@pytest.mark.parametrize("quoted", [False, True])
def test_a_chunk_prepares_the_same_with_and_without_the_plain_path(
    kind: OrganisationKind, quoted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(SEED + 2)
    rows: list[list[str]] = []
    for row in _records(rng):
        if len(rows) == 400:
            break
        row["municipality_code"] = rng.choice([OSAKA, OSAKA, "271217", "131016"])
        cells = [row.get(key, "") for key in KEYS]
        if rng.random() < 0.05:
            cells = [rng.choice(["", " "]) for _ in KEYS]  # blank record
        elif rng.random() < 0.05:
            cells = [*cells, "extra"]
        elif rng.random() < 0.05:
            cells = cells[: rng.randint(1, len(cells))]
        if not quoted:
            cells = [cell.replace('"', "").replace(",", "").replace("\n", " ") for cell in cells]
        rows.append(cells)
    text = _csv_text(rows)
    assert ('"' in text) is quoted
    context = _context(kind)
    fast = bulk_prepare.prepare_text(context, KEYS, (2, text))
    monkeypatch.setattr(bulk_plain, "plain_records", lambda keys, records: [None] * len(records))
    slow = bulk_prepare.prepare_text(context, KEYS, (2, text))
    for name in ("records", "numbers", "registration_numbers", "authorities", "errors"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.violations == slow.violations
    assert [line and line[36:] for line in fast.lines] == [
        line and line[36:] for line in slow.lines
    ]
    assert sum(line is not None for line in fast.lines) > 50


def test_the_plain_path_checks_against_the_profile_in_force() -> None:
    # The plain path must not depend on which profile applies: the same record checked on
    # both sides of 2025-10-01 gives each side's result.
    context = _context(OrganisationKind.MUNICIPALITY)
    row = _base(random.Random(SEED + 3)) | {
        "kind": "ordinary",
        "floor_area_m2": "18.00",
        "is_existing_building": "yes",
        "municipality_code": OSAKA,
        "kitchen": "in_unit",
        "toilet": "in_unit",
        "storage": "in_unit",
        "bath": "in_unit",
        "washbasin": "in_unit",
        "construction_started_on": "1990-01-01",
    }
    for key in [k for k in row if k.startswith("shared_")]:
        row[key] = ""
    text = _csv_text([[row.get(key, "") for key in KEYS]])
    before = bulk_prepare.prepare_text(replace(context, as_of=date(2025, 9, 30)), KEYS, (2, text))
    after = bulk_prepare.prepare_text(context, KEYS, (2, text))
    assert before.violations[0]
    assert not after.violations[0]


def test_both_paths_restore_text_that_an_export_defused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV export puts an apostrophe before formula-like text; the plain path and the
    model path both take it off, and only that one."""
    rng = random.Random(SEED + 3)
    defused = ["'=1+1", "'+81-3", "''@twice", "'-2", "'plain apostrophe", "' =spaced"]
    rows: list[list[str]] = []
    for index in range(60):
        row = _base(rng)
        row["registration_number"] = f"{defused[index % len(defused)]}-{index}"
        row["address"] = defused[(index + 1) % len(defused)]
        row["notes"] = defused[(index + 2) % len(defused)]
        cells = [row.get(key, "") for key in KEYS]
        if index % 3 == 0:
            cells[KEYS.index("rent_yen")] = "4万円"  # declined: the model path decides
        rows.append(cells)
    context = _context(OrganisationKind.MUNICIPALITY)
    text = _csv_text(rows)
    fast = bulk_prepare.prepare_text(context, KEYS, (2, text))
    monkeypatch.setattr(bulk_plain, "plain_records", lambda keys, records: [None] * len(records))
    slow = bulk_prepare.prepare_text(context, KEYS, (2, text))
    assert fast.registration_numbers == slow.registration_numbers
    assert [line and line[36:] for line in fast.lines] == [
        line and line[36:] for line in slow.lines
    ]
    restored = {
        "'=1+1": "=1+1",
        "'+81-3": "+81-3",
        "''@twice": "'@twice",
        "'-2": "-2",
        "' =spaced": "=spaced",  # stripped, as every imported value is
    }
    for number, cells in zip(fast.registration_numbers, rows, strict=True):
        original = cells[KEYS.index("registration_number")]
        prefix = original.rsplit("-", 1)[0]
        expected = restored.get(prefix, prefix) + "-" + original.rsplit("-", 1)[1]
        assert number == expected, (original, number)
