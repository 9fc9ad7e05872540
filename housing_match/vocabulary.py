"""The shared vocabulary of domain.md: risk kinds and 住宅確保要配慮者 categories, with labels."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class RiskKind(StrEnum):
    """What a landlord fears, and what someone must cover (domain.md, seeds 000 and 004)."""

    EMERGENCY_CONTACT = "emergency_contact"
    RENT_GUARANTEE = "rent_guarantee"
    INITIAL_COSTS = "initial_costs"
    STABLE_INCOME = "stable_income"
    WATCH_OVER = "watch_over"
    TROUBLE_RESPONSE = "trouble_response"
    MONEY_MANAGEMENT = "money_management"
    ESTATE_DISPOSAL = "estate_disposal"
    CONTRACT_SUPPORT = "contract_support"


RISK_KIND_LABELS_JA: dict[RiskKind, str] = {
    RiskKind.EMERGENCY_CONTACT: "緊急連絡先",
    RiskKind.RENT_GUARANTEE: "家賃債務保証・保証人",
    RiskKind.INITIAL_COSTS: "初期費用（敷金・礼金）",
    RiskKind.STABLE_INCOME: "定期収入・家賃支払",
    RiskKind.WATCH_OVER: "見守り・安否確認",
    RiskKind.TROUBLE_RESPONSE: "入居後のトラブル対応",
    RiskKind.MONEY_MANAGEMENT: "金銭・財産管理",
    RiskKind.ESTATE_DISPOSAL: "死後事務・残置物処理",
    RiskKind.CONTRACT_SUPPORT: "契約手続きの支援",
}


class PersonCategory(StrEnum):
    """住宅確保要配慮者: by law, by ordinance, and added by local plans (seed 004)."""

    LOW_INCOME = "low_income"
    DISASTER_VICTIM = "disaster_victim"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    CHILD_RAISING = "child_raising"
    FOREIGNER = "foreigner"
    DV_VICTIM = "dv_victim"
    CRIME_VICTIM = "crime_victim"
    RELEASED_FROM_CORRECTIONAL_FACILITY = "released_from_correctional_facility"
    NEEDY = "needy"
    OTHER = "other"


PERSON_CATEGORY_LABELS_JA: dict[PersonCategory, str] = {
    PersonCategory.LOW_INCOME: "低額所得者",
    PersonCategory.DISASTER_VICTIM: "被災者",
    PersonCategory.ELDERLY: "高齢者",
    PersonCategory.DISABLED: "障害者",
    PersonCategory.CHILD_RAISING: "子育て世帯",
    PersonCategory.FOREIGNER: "外国人",
    PersonCategory.DV_VICTIM: "DV被害者",
    PersonCategory.CRIME_VICTIM: "犯罪被害者",
    PersonCategory.RELEASED_FROM_CORRECTIONAL_FACILITY: "矯正施設退所者",
    PersonCategory.NEEDY: "生活困窮者",
    PersonCategory.OTHER: "その他",
}


# --- bit sets -------------------------------------------------------------------------------
# The matcher tests "are these risks covered" and "are these categories accepted" on thousands
# of homes per match, as integer bit operations on bit sets that ``match_listings`` stores next
# to its arrays (migration 0005 computes them with the same positions). A position, once given,
# is stored in the database: add new members at the end, never reorder or reuse one.
RISK_KIND_BIT_ORDER: tuple[RiskKind, ...] = (
    RiskKind.EMERGENCY_CONTACT,
    RiskKind.RENT_GUARANTEE,
    RiskKind.INITIAL_COSTS,
    RiskKind.STABLE_INCOME,
    RiskKind.WATCH_OVER,
    RiskKind.TROUBLE_RESPONSE,
    RiskKind.MONEY_MANAGEMENT,
    RiskKind.ESTATE_DISPOSAL,
    RiskKind.CONTRACT_SUPPORT,
)
PERSON_CATEGORY_BIT_ORDER: tuple[PersonCategory, ...] = (
    PersonCategory.LOW_INCOME,
    PersonCategory.DISASTER_VICTIM,
    PersonCategory.ELDERLY,
    PersonCategory.DISABLED,
    PersonCategory.CHILD_RAISING,
    PersonCategory.FOREIGNER,
    PersonCategory.DV_VICTIM,
    PersonCategory.CRIME_VICTIM,
    PersonCategory.RELEASED_FROM_CORRECTIONAL_FACILITY,
    PersonCategory.NEEDY,
    PersonCategory.OTHER,
)
# A stored risk kind outside the vocabulary gets this bit, which no plan or home can cover: a
# landlord's unknown requirement is never taken as met.
UNKNOWN_RISK_BIT = 1 << 30

_RISK_BITS = {kind.value: 1 << index for index, kind in enumerate(RISK_KIND_BIT_ORDER)}
_CATEGORY_BITS = {
    category.value: 1 << index for index, category in enumerate(PERSON_CATEGORY_BIT_ORDER)
}


def risk_bits(kinds: Iterable[str]) -> int:
    bits = 0
    for kind in kinds:
        bits |= _RISK_BITS.get(kind, UNKNOWN_RISK_BIT)
    return bits


def category_bits(categories: Iterable[str]) -> int:
    # An unknown category is nobody's, so it adds nothing.
    bits = 0
    for category in categories:
        bits |= _CATEGORY_BITS.get(category, 0)
    return bits
