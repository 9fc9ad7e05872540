"""Why a home is proposed: each factor's contribution, and who covers each landlord risk; and
why one is not: each hard constraint it fails, by how much (``why_not``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from housing_match.matching.repository import (
    HomeDetails,
    ListingExplanation,
    MatchCriteria,
    RankedRow,
)
from housing_match.matching.rules import (
    FACTOR_LABELS_JA,
    FLOOR_AREA_MIN_FACTOR,
    FLOOR_AREA_TARGET_M2,
    HARD_CONSTRAINT_LABELS_JA,
    Factor,
    HardConstraint,
    certification_coverage,
)
from housing_match.matching.schemas import (
    AnchorRead,
    Candidate,
    CovererSource,
    MatchExplanation,
    Relaxation,
    RentCeiling,
)
from housing_match.matching.vocabulary import (
    COVERER_KIND_LABELS_JA,
    FACILITY_LABELS_JA,
    CovererKind,
    Facility,
)
from housing_match.models import Person, SupportPlanEntry
from housing_match.registry.accessibility import ground_floor_or_lift
from housing_match.registry.schemas import DwellingRead, RegistrationClass
from housing_match.registry.standards import DwellingKind
from housing_match.vacancies.schemas import VACANCY_STATUS_LABELS_JA, VacancyStatus
from housing_match.vocabulary import (
    PERSON_CATEGORY_LABELS_JA,
    RISK_KIND_LABELS_JA,
    PersonCategory,
    RiskKind,
)

OPEN_ENDED_JA = "期限なし（入居期間中）"


@dataclass(frozen=True)
class PersonContext:
    """What every candidate's explanation of one person needs, computed once."""

    person: Person
    anchors: list[AnchorRead]
    rent_ceiling_yen: int
    coverage_date: date  # the move-in date, or today
    active_plan: list[SupportPlanEntry]  # entries still running on coverage_date


def _period(until: date | None) -> str:
    return OPEN_ENDED_JA if until is None else f"{until.isoformat()}まで"


# The explanation is built as plain data and validated into a Candidate in one pass: pydantic
# checks it in Rust at a fraction of what a model constructor per part costs in Python.
Data = dict[str, Any]


def risk_explanations(context: PersonContext, home: HomeDetails) -> list[Data]:
    vacancy, dwelling = home.vacancy, home.dwelling
    support = dwelling.residential_support
    certified = certification_coverage(
        certified=support is not None,
        daily_safety_check=bool(support and support.daily_safety_check),
        monthly_visit=bool(support and support.monthly_visit),
        has_connections=bool(support and support.connections),
    )
    required = {risk.risk_kind for risk in dwelling.required_risks}
    whole_required = {risk.risk_kind for risk in dwelling.required_risks if risk.whole_tenancy}
    explanations: list[Data] = []
    for risk in (kind for kind in RiskKind if kind in required):
        coverers: list[Data] = []
        for entry in context.active_plan:
            if entry.risk_kind != risk.value:
                continue
            kind = CovererKind(entry.coverer_kind)
            coverers.append(
                {
                    "source": CovererSource.SUPPORT_PLAN,
                    "coverer_kind": kind,
                    "label_ja": COVERER_KIND_LABELS_JA[kind],
                    "name": entry.coverer_name,
                    "organisation_id": entry.coverer_organisation_id,
                    "until": entry.until,
                    "open_ended": entry.until is None,
                    "period_label_ja": _period(entry.until),
                }
            )
        if risk.value in home.covered_risks:
            open_ended = risk.value in home.covered_whole_tenancy_risks
            coverers.append(
                {
                    "source": CovererSource.POSTING_CORPORATION,
                    "coverer_kind": CovererKind.CORPORATION,
                    "label_ja": "居住支援法人（この空室の掲載法人）",
                    "name": vacancy.corporation_name,
                    "organisation_id": vacancy.corporation_id,
                    "until": None,
                    "open_ended": open_ended,
                    "period_label_ja": (
                        OPEN_ENDED_JA if open_ended else "期間限定（期間は法人に確認）"
                    ),
                }
            )
        if risk in certified:
            provider = support.provider_organisation_id if support else None
            coverers.append(
                {
                    "source": CovererSource.RESIDENTIAL_SUPPORT,
                    "coverer_kind": None,
                    "label_ja": f"居住サポート住宅の認定による支援（{certified[risk]}）",
                    "name": home.provider_name or "居住支援の提供者",
                    "organisation_id": provider,
                    "until": None,
                    "open_ended": True,
                    "period_label_ja": "認定の期間中（入居期間中）",
                }
            )
        whole = risk in whole_required
        covered = bool(coverers) and (not whole or any(c["open_ended"] for c in coverers))
        explanations.append(
            {
                "risk_kind": risk,
                "label_ja": RISK_KIND_LABELS_JA[risk],
                "whole_tenancy_required": whole,
                "covered": covered,
                "coverers": coverers,
                "explanation_ja": _risk_sentence(risk, whole, covered, coverers),
            }
        )
    return explanations


def _risk_sentence(risk: RiskKind, whole: bool, covered: bool, coverers: list[Data]) -> str:
    need = "入居期間を通じて必要" if whole else "必要"
    who = (
        "、".join(f"{c['name'] or c['label_ja']}（{c['period_label_ja']}）" for c in coverers)
        or "担い手なし"
    )
    if covered:
        return f"{RISK_KIND_LABELS_JA[risk]}（{need}）：{who}が担います。"
    if coverers:
        return f"{RISK_KIND_LABELS_JA[risk]}（{need}）：期限のない担い手がいません（{who}）。"
    return f"{RISK_KIND_LABELS_JA[risk]}（{need}）：担い手がいません。"


def factor_explanations(
    context: PersonContext,
    row: RankedRow,
    home: HomeDetails,
    weights: dict[Factor, float],
    risks: list[Data],
    *,
    now: datetime,
) -> list[Data]:
    person = context.person
    vacancy, dwelling = home.vacancy, home.dwelling
    details: dict[Factor, str] = {}
    if context.anchors:
        details[Factor.ANCHOR_DISTANCE] = "、".join(
            f"{anchor.label or anchor.kind_label_ja}まで{distance:,.0f}m"
            f"（上限{anchor.max_distance_m:,}m）"
            for anchor, distance in zip(context.anchors, row.anchor_distances_m, strict=True)
        )
    else:
        details[Factor.ANCHOR_DISTANCE] = "通院先等の指定なし"
    headroom = context.rent_ceiling_yen - row.monthly_cost_yen
    details[Factor.RENT_HEADROOM] = (
        f"家賃＋共益費{row.monthly_cost_yen:,}円／上限{context.rent_ceiling_yen:,}円"
        f"（余裕{headroom:,}円）"
    )
    target = max(FLOOR_AREA_TARGET_M2, FLOOR_AREA_MIN_FACTOR * float(person.min_area_m2 or 0))
    room = "個室（最小）" if dwelling.kind is DwellingKind.SHARED_HOUSE else "専有面積"
    details[Factor.FLOOR_AREA] = f"{room}{row.private_area_m2}㎡（目安{target:g}㎡）"
    features = [
        label
        for present, label in (
            (dwelling.step_free_entrance, "玄関段差なし"),
            (
                ground_floor_or_lift(floor=dwelling.floor, has_elevator=dwelling.has_elevator),
                "1階またはエレベーター",
            ),
            (dwelling.wheelchair_accessible, "車いす対応"),
        )
        if present
    ]
    details[Factor.ACCESSIBILITY] = (
        f"3項目中{len(features)}項目（{'・'.join(features)}）" if features else "該当なし"
    )
    if risks:
        coverer_total = sum(len(risk["coverers"]) for risk in risks)
        open_total = sum(1 for risk in risks for c in risk["coverers"] if c["open_ended"])
        details[Factor.COVERAGE_STRENGTH] = (
            f"大家が求めるリスク{len(risks)}件に担い手延べ{coverer_total}件"
            f"（うち期限なし{open_total}件）"
        )
    else:
        details[Factor.COVERAGE_STRENGTH] = "大家が求めるリスクなし"
    age_days = (now - vacancy.refreshed_at).total_seconds() / 86_400
    details[Factor.FRESHNESS] = f"{max(age_days, 0):.0f}日前に空室を確認"
    details[Factor.CLASS_FIT] = _class_sentence(person, dwelling)
    details[Factor.PREFERRED_AREA] = (
        "帰住予定地・希望地域内"
        if row.values[Factor.PREFERRED_AREA] > 0
        else "帰住予定地・希望地域の外"
    )
    explanations: list[Data] = []
    for factor in Factor:
        value = row.values[factor]
        weight = weights.get(factor, 0.0)
        explanations.append(
            {
                "factor": factor,
                "label_ja": FACTOR_LABELS_JA[factor],
                "value": round(value, 4),
                "weight": weight,
                "contribution": round(value * weight, 4),
                "detail_ja": details[factor],
            }
        )
    return explanations


def _class_sentence(person: Person, dwelling: DwellingRead) -> str:
    certified = dwelling.residential_support is not None
    targets = [
        PERSON_CATEGORY_LABELS_JA[PersonCategory(category)]
        for category in dwelling.exclusive_target_categories
        if category.value in person.categories
    ]
    parts: list[str] = []
    if certified:
        parts.append("居住サポート住宅")
    if dwelling.registration_class is RegistrationClass.EXCLUSIVE:
        parts.append(f"専用住宅（対象：{'・'.join(targets) or '該当なし'}）")
    kind = "・".join(parts) or "登録住宅"
    need = "支援の必要が高い方" if person.high_support_needs else "支援の必要が高くない方"
    return f"{kind}／{need}"


def candidate(
    context: PersonContext,
    rank: int,
    row: RankedRow,
    home: HomeDetails,
    weights: dict[Factor, float],
    *,
    now: datetime | None = None,
) -> Candidate:
    risks = risk_explanations(context, home)
    return Candidate.model_validate(
        {
            "rank": rank,
            "score": round(row.score, 4),
            "admitted_by_relaxation": not row.passes_strict,
            "monthly_cost_yen": row.monthly_cost_yen,
            "rent_ceiling_yen": context.rent_ceiling_yen,
            "private_area_m2": row.private_area_m2,
            "vacancy": home.vacancy,
            "dwelling": home.dwelling,
            "anchors": [
                {
                    "kind": anchor.kind,
                    "kind_label_ja": anchor.kind_label_ja,
                    "label": anchor.label,
                    "distance_m": round(distance, 1),
                    "max_distance_m": anchor.max_distance_m,
                    "required": anchor.required,
                    "within": distance <= anchor.max_distance_m,
                }
                for anchor, distance in zip(context.anchors, row.anchor_distances_m, strict=True)
            ],
            "factors": factor_explanations(
                context, row, home, weights, risks, now=now or datetime.now(UTC)
            ),
            "risks": risks,
        }
    )


# --- why not this home -----------------------------------------------------------------------

PROVISION_JA = {"shared": "共用です", "none": "ありません"}
SEARCH_AREA_JA = "検索範囲（帰住予定地・希望地域・通院先等の圏内）の外です"


def _number(value: Decimal | float) -> str:
    return f"{float(value):,.2f}".rstrip("0").rstrip(".")


def _categories_ja(categories: list[str] | tuple[str, ...]) -> str:
    known = {category.value for category in PersonCategory}
    labels = [PERSON_CATEGORY_LABELS_JA[PersonCategory(c)] for c in categories if c in known]
    return "・".join(labels) or "なし"


def _loosened_note(value: float, limit: float, relaxed: float, unit: str) -> str:
    if relaxed <= limit:
        return ""
    within = "以内です" if value <= relaxed else "も超えています"
    return f"（緩和後の上限{_number(relaxed)}{unit}{within}）"


def _shortfalls(
    name: HardConstraint,
    parts: tuple[str, ...],
    context: PersonContext,
    criteria: MatchCriteria,
    judged: ListingExplanation,
    home: HomeDetails | None,
) -> list[Data]:
    """Each failed part of one constraint, with the numbers that say by how much."""
    m = judged.measures
    found: list[Data] = []
    if name is HardConstraint.RISK_COVERAGE and home is not None:
        # Both parts (covered; covered for the whole tenancy) are told by the candidates'
        # own risk explanations: each risk the landlord requires that nobody covers (long
        # enough).
        found = [
            {
                "code": (
                    "risk_not_covered_whole_tenancy" if risk["coverers"] else "risk_not_covered"
                ),
                "message_ja": risk["explanation_ja"],
            }
            for risk in risk_explanations(context, home)
            if not risk["covered"]
        ]
        parts = ()
    for part in parts:
        for shortfall in _part_shortfalls(name, part, context, criteria, judged, m):
            # Two parts may fail for one reason (a wheelchair and no stairs: the steps).
            if shortfall not in found:
                found.append(shortfall)
    if not found:
        # A part the detail does not know yet still names the rule it failed.
        found.append({"code": name.value, "message_ja": HARD_CONSTRAINT_LABELS_JA[name]})
    return found


def _part_shortfalls(
    name: HardConstraint,
    part: str,
    context: PersonContext,
    criteria: MatchCriteria,
    judged: ListingExplanation,
    m: dict[str, Any],
) -> list[Data]:
    if name is HardConstraint.AVAILABLE_BY_MOVE_IN and criteria.move_in_date is not None:
        available: date = m["available_from"]
        days = (available - criteria.move_in_date).days
        return [
            {
                "code": "available_too_late",
                "message_ja": f"入居可能日（{available}）が入居希望日（{criteria.move_in_date}）"
                f"より{days}日遅いです",
                "actual": available.isoformat(),
                "limit": criteria.move_in_date.isoformat(),
                "difference": days,
                "unit": "day",
            }
        ]
    if name is HardConstraint.CATEGORIES and part == "accepted":
        accepted = set(m["accepted_categories"] or ())
        missing = [c for c in criteria.categories if c not in accepted]
        return [
            {
                "code": "category_not_accepted",
                "message_ja": f"大家の受入れ区分に本人の区分（{_categories_ja(missing)}）が"
                "含まれていません",
            }
        ]
    if name is HardConstraint.CATEGORIES and part == "exclusive_target":
        targets = _categories_ja(m["exclusive_target_categories"] or [])
        return [
            {
                "code": "not_exclusive_target",
                "message_ja": f"専用住宅の対象（{targets}）に本人の区分が含まれていません",
            }
        ]
    if name is HardConstraint.RENT_CEILING:
        cost, ceiling = int(m["monthly_cost_yen"]), criteria.rent_ceiling_yen
        note = _loosened_note(cost, ceiling, criteria.relaxed_rent_ceiling_yen, "円")
        return [
            {
                "code": "rent_over_ceiling",
                "message_ja": f"家賃＋共益費{cost:,}円が上限{ceiling:,}円を"
                f"{cost - ceiling:,}円超えています{note}",
                "actual": cost,
                "limit": ceiling,
                "difference": cost - ceiling,
                "unit": "yen",
            }
        ]
    if name is HardConstraint.MIN_AREA and criteria.min_area_m2 is not None:
        area: Decimal = m["private_area_m2"]
        room = "個室（最小）" if m["kind"] == DwellingKind.SHARED_HOUSE.value else "専有面積"
        short = criteria.min_area_m2 - area
        return [
            {
                "code": "area_too_small",
                "message_ja": f"{room}{_number(area)}㎡が必要な{_number(criteria.min_area_m2)}"
                f"㎡に{_number(short)}㎡足りません",
                "actual": float(area),
                "limit": float(criteria.min_area_m2),
                "difference": float(short),
                "unit": "m2",
            }
        ]
    if name is HardConstraint.ACCESSIBILITY:
        return _accessibility(part, criteria, m)
    if name is HardConstraint.FACILITIES and part in m:
        noun = FACILITY_LABELS_JA[Facility(part)].removeprefix("専用")
        provision = PROVISION_JA.get(str(m[part]), f"{m[part]}です")
        return [
            {
                "code": "facility_not_in_unit",
                "message_ja": f"{noun}が{provision}（住戸内の専用{noun}が必要）",
            }
        ]
    if name is HardConstraint.PETS:
        return [{"code": "pets_not_allowed", "message_ja": "ペット不可の住宅です"}]
    if name is HardConstraint.SMOKING:
        return [{"code": "smoking_not_allowed", "message_ja": "喫煙不可の住宅です"}]
    if name is HardConstraint.EXCLUSION_ZONE:
        return _zones(criteria, judged)
    if name is HardConstraint.ANCHOR_DISTANCE and part.startswith("anchor_"):
        return _anchor(int(part.removeprefix("anchor_")), context, criteria, judged)
    if name is HardConstraint.SHARED_HOUSE:
        return [
            {
                "code": "shared_house_for_household",
                "message_ja": "シェアハウスは単身世帯のみです"
                f"（世帯人数{criteria.household_size}人）",
            }
        ]
    return []


def _route(m: dict[str, Any]) -> list[Data]:
    """What stands in the way of a step-free route (registry/accessibility.py's rule)."""
    floor = int(m["floor"])
    issues = []
    if not m["step_free_entrance"]:
        issues.append("玄関に段差があります")
    if not ground_floor_or_lift(floor=floor, has_elevator=bool(m["has_elevator"])):
        where = f"{floor}階" if floor >= 1 else "地下の住戸"
        issues.append(f"{where}でエレベーターがありません")
    if not issues:
        return []
    return [{"code": "not_step_free", "message_ja": "、".join(issues)}]


def _accessibility(part: str, criteria: MatchCriteria, m: dict[str, Any]) -> list[Data]:
    floor = int(m["floor"])
    if part == "wheelchair":
        claim: list[Data] = []
        if not m["wheelchair_accessible"]:
            claim.append(
                {
                    "code": "not_wheelchair_accessible",
                    "message_ja": "車いす対応の住宅ではありません",
                }
            )
        return claim + _route(m)
    if part == "no_stairs":
        return _route(m)
    if part == "max_floor" and criteria.max_floor is not None:
        above = floor - criteria.max_floor
        return [
            {
                "code": "floor_too_high",
                "message_ja": f"{floor}階は上限の{criteria.max_floor}階より{above}階上です",
                "actual": floor,
                "limit": criteria.max_floor,
                "difference": above,
                "unit": "floor",
            }
        ]
    return []


def _zones(criteria: MatchCriteria, judged: ListingExplanation) -> list[Data]:
    found: list[Data] = []
    for index, (zone, (inside, distance)) in enumerate(
        zip(criteria.exclusion_zones, judged.zones, strict=True)
    ):
        if not inside:
            continue
        label = zone.label or f"除外区域{index + 1}"
        if zone.radius_m is None or distance is None:
            found.append(
                {"code": "in_exclusion_zone", "message_ja": f"除外区域「{label}」（範囲）の中です"}
            )
            continue
        found.append(
            {
                "code": "in_exclusion_zone",
                "message_ja": f"除外区域「{label}」の中です（中心から{distance:,.0f}m、"
                f"半径{zone.radius_m:,.0f}m）",
                "actual": round(distance, 1),
                "limit": zone.radius_m,
                "difference": round(zone.radius_m - distance, 1),
                "unit": "m",
            }
        )
    return found


def _anchor(
    index: int, context: PersonContext, criteria: MatchCriteria, judged: ListingExplanation
) -> list[Data]:
    distance = judged.anchor_distances_m[index]
    if distance is None:
        return []
    anchor = context.anchors[index]
    limit = criteria.anchors[index].max_distance_m
    over = distance - limit
    note = _loosened_note(distance, limit, criteria.relaxed_distance_m(limit), "m")
    return [
        {
            "code": "anchor_too_far",
            "message_ja": f"{anchor.label or anchor.kind_label_ja}まで{distance / 1000:.1f}km"
            f"（{distance:,.0f}m）で、上限{limit:,.0f}mを{over:,.0f}m超えています{note}",
            "actual": round(distance, 1),
            "limit": limit,
            "difference": round(over, 1),
            "unit": "m",
        }
    ]


def why_not(
    context: PersonContext,
    criteria: MatchCriteria,
    judged: ListingExplanation,
    home: HomeDetails | None,
    *,
    rent_ceiling: RentCeiling,
    relaxation: Relaxation | None,
) -> MatchExplanation:
    """The explanation of one home for one person, from its judgement by the match's checks."""
    relaxed = criteria.relax
    status = VacancyStatus(judged.status)
    failures: list[Data] = []
    if judged.listed:
        blocking = set(judged.fails_as_run(relaxed))
        for name in HardConstraint:
            if name not in judged.failed:
                continue
            failures.append(
                {
                    "constraint": name,
                    "label_ja": HARD_CONSTRAINT_LABELS_JA[name],
                    "relaxed": name is relaxed,
                    "admitted_by_relaxation": name not in blocking,
                    "shortfalls": _shortfalls(
                        name, judged.failed[name], context, criteria, judged, home
                    ),
                }
            )
    candidate = judged.listed and judged.in_search_area and not judged.fails_as_run(relaxed)
    return MatchExplanation.model_validate(
        {
            "person_id": context.person.id,
            "vacancy_id": judged.vacancy_id,
            "dwelling_id": judged.dwelling_id,
            "vacancy_status": status,
            "listed": judged.listed,
            "in_search_area": judged.in_search_area,
            "candidate": candidate,
            "rent_ceiling": rent_ceiling,
            "relaxation": relaxation,
            "failures": failures,
            "summary_ja": _summary(judged, status, failures, candidate=candidate),
        }
    )


def _summary(
    judged: ListingExplanation, status: VacancyStatus, failures: list[Data], *, candidate: bool
) -> str:
    if not judged.listed:
        if status is VacancyStatus.OPEN:
            return "この空室は登録住宅の募集として検索対象になっていません。"
        return (
            f"この空室は現在募集中ではありません（{VACANCY_STATUS_LABELS_JA[status]}）。"
            "候補には含まれません。"
        )
    sentences: list[str] = []
    if candidate:
        sentences.append("この住宅は候補に含まれます。")
    if not judged.in_search_area:
        sentences.append(f"{SEARCH_AREA_JA}。")
    blocking = [f for f in failures if not f["admitted_by_relaxation"]]
    if blocking:
        labels = "、".join(f["label_ja"] for f in blocking)
        sentences.append(f"満たしていない条件が{len(blocking)}件あります：{labels}。")
    admitted = [f for f in failures if f["admitted_by_relaxation"]]
    if admitted:
        sentences.append(f"緩和により{admitted[0]['label_ja']}の条件は満たしたものとしています。")
    return "".join(sentences)
