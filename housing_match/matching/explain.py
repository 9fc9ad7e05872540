"""Why a home is proposed: each factor's contribution, and who covers each landlord risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from housing_match.matching.repository import HomeDetails, RankedRow
from housing_match.matching.rules import (
    FACTOR_LABELS_JA,
    FLOOR_AREA_MIN_FACTOR,
    FLOOR_AREA_TARGET_M2,
    Factor,
    certification_coverage,
)
from housing_match.matching.schemas import (
    AnchorRead,
    Candidate,
    CovererSource,
)
from housing_match.matching.vocabulary import COVERER_KIND_LABELS_JA, CovererKind
from housing_match.models import Person, SupportPlanEntry
from housing_match.registry.accessibility import ground_floor_or_lift
from housing_match.registry.schemas import DwellingRead, RegistrationClass
from housing_match.registry.standards import DwellingKind
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
