"""What the matcher checks and how it ranks, by name, with labels and the numbers it uses.

Hard constraints run in PostgreSQL (``repository.py``); this module names them, says which
can be relaxed, and holds the constants of the ranking formulas so the SQL and the
explanations staff read say the same thing.
"""

from __future__ import annotations

from enum import StrEnum

from housing_match.vocabulary import RiskKind


class HardConstraint(StrEnum):
    """A reason a home is excluded. Counted per query, so staff see why there are few."""

    AVAILABLE_BY_MOVE_IN = "available_by_move_in"
    CATEGORIES = "categories"
    RENT_CEILING = "rent_ceiling"
    MIN_AREA = "min_area"
    ACCESSIBILITY = "accessibility"
    FACILITIES = "facilities"
    PETS = "pets"
    SMOKING = "smoking"
    EXCLUSION_ZONE = "exclusion_zone"
    ANCHOR_DISTANCE = "anchor_distance"
    SHARED_HOUSE = "shared_house"
    RISK_COVERAGE = "risk_coverage"


HARD_CONSTRAINT_LABELS_JA: dict[HardConstraint, str] = {
    HardConstraint.AVAILABLE_BY_MOVE_IN: "入居希望日までに入居可能",
    HardConstraint.CATEGORIES: "要配慮者の受入れ区分",
    HardConstraint.RENT_CEILING: "家賃上限（家賃＋共益費）",
    HardConstraint.MIN_AREA: "最低居室面積",
    HardConstraint.ACCESSIBILITY: "バリアフリー（車いす・段差・階数）",
    HardConstraint.FACILITIES: "専用設備",
    HardConstraint.PETS: "ペット可",
    HardConstraint.SMOKING: "喫煙可",
    HardConstraint.EXCLUSION_ZONE: "除外区域",
    HardConstraint.ANCHOR_DISTANCE: "通院先等からの距離",
    HardConstraint.SHARED_HOUSE: "シェアハウスは単身世帯のみ",
    HardConstraint.RISK_COVERAGE: "大家が求めるリスクの担い手",
}

# An exclusion zone protects someone else (e.g. a victim's home): never relaxed to "see more".
NOT_RELAXABLE = frozenset({HardConstraint.EXCLUSION_ZONE})
RELAXABLE = tuple(c for c in HardConstraint if c not in NOT_RELAXABLE)


class Factor(StrEnum):
    """A ranking factor: a value in [0, 1], times its weight, is its contribution.

    The names are the keys of ``settings.DEFAULT_MATCH_WEIGHTS`` (a test keeps them equal).
    """

    ANCHOR_DISTANCE = "anchor_distance"
    RENT_HEADROOM = "rent_headroom"
    FLOOR_AREA = "floor_area"
    ACCESSIBILITY = "accessibility"
    COVERAGE_STRENGTH = "coverage_strength"
    FRESHNESS = "freshness"
    CLASS_FIT = "class_fit"
    PREFERRED_AREA = "preferred_area"


FACTOR_LABELS_JA: dict[Factor, str] = {
    Factor.ANCHOR_DISTANCE: "通院先等への近さ",
    Factor.RENT_HEADROOM: "家賃上限までの余裕",
    Factor.FLOOR_AREA: "居室の広さ",
    Factor.ACCESSIBILITY: "バリアフリー度",
    Factor.COVERAGE_STRENGTH: "リスクの担い手の厚み（複数・期限なし）",
    Factor.FRESHNESS: "空室情報の新しさ",
    Factor.CLASS_FIT: "住宅類型の適合（居住サポート住宅・専用住宅）",
    Factor.PREFERRED_AREA: "希望地域",
}

# floor_area: the private area over max(FLOOR_AREA_TARGET_M2, FLOOR_AREA_MIN_FACTOR × minimum).
FLOOR_AREA_TARGET_M2 = 30.0
FLOOR_AREA_MIN_FACTOR = 1.25
# coverage_strength, per landlord risk: min(1, PER_COVERER × coverers + OPEN_ENDED if any is
# open-ended); the mean over the landlord's risks, 1 when the landlord requires none.
COVERAGE_PER_COVERER = 0.4
COVERAGE_OPEN_ENDED = 0.4
# class_fit: 居住サポート住宅 is scarce daily support, so it fits people with high support needs.
CLASS_FIT_SUPPORT_HIGH_NEEDS = 1.0
CLASS_FIT_EXCLUSIVE_HIGH_NEEDS = 0.7
CLASS_FIT_EXCLUSIVE = 0.5

# 居住サポート住宅 certification terms that cover a landlord risk for the whole tenancy. The
# trigger that fills match_listings (migration 0003) applies the same mapping in SQL.
CERTIFIED_WATCH_OVER = RiskKind.WATCH_OVER  # 安否確認 daily or 見守り visit monthly
CERTIFIED_TROUBLE_RESPONSE = RiskKind.TROUBLE_RESPONSE  # つなぎ先 to public agencies


def certification_coverage(
    *, certified: bool, daily_safety_check: bool, monthly_visit: bool, has_connections: bool
) -> dict[RiskKind, str]:
    """The risks a dwelling's residential-support terms cover, with what covers them (ja)."""
    if not certified:
        return {}
    covered: dict[RiskKind, str] = {}
    terms = [
        label
        for present, label in (
            (daily_safety_check, "毎日の安否確認"),
            (monthly_visit, "月1回以上の訪問見守り"),
        )
        if present
    ]
    if terms:
        covered[CERTIFIED_WATCH_OVER] = "・".join(terms)
    if has_connections:
        covered[CERTIFIED_TROUBLE_RESPONSE] = "公的機関・福祉サービスへのつなぎ"
    return covered
