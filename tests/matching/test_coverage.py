"""Every landlord risk covered for as long as required: support plan, posting corporation,
residential-support terms; and the explanation says who covers what until when."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import OrgFixture
from tests.matching.factories import (
    candidate_vacancies,
    create_person,
    days_from_now,
    excluded,
    home,
    matches,
)
from tests.registry.factories import OSAKA_CITY

WATCH_OVER_WHOLE_TENANCY = [{"risk_kind": "watch_over", "whole_tenancy": True}]
EMERGENCY_CONTACT = [{"risk_kind": "emergency_contact", "whole_tenancy": False}]


def follow_up(risk: str, days: int) -> dict[str, Any]:
    return {
        "risk_kind": risk,
        "coverer_kind": "center",
        "coverer_name": "大阪府地域生活定着支援センター",
        "until": days_from_now(days),
    }


def open_ended(risk: str, kind: str = "corporation", name: str = "見守り法人") -> dict[str, Any]:
    return {"risk_kind": risk, "coverer_kind": kind, "coverer_name": name}


def test_a_six_month_follow_up_does_not_cover_whole_tenancy_watch_over(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, vacancy = home(client, corporation, municipality, required_risks=WATCH_OVER_WHOLE_TENANCY)
    six_months = create_person(client, center, support_plan=[follow_up("watch_over", 182)])
    body = matches(client, center, six_months)
    assert candidate_vacancies(body) == []
    assert excluded(body, "risk_coverage") == 1
    assert body["excluded_by"][0]["constraint"] == "risk_coverage"
    contract = create_person(client, center, support_plan=[open_ended("watch_over")])
    assert candidate_vacancies(matches(client, center, contract)) == [vacancy]
    # Relaxing coverage shows the home, with the gap spelled out.
    relaxed = matches(client, center, six_months, relax="risk_coverage")
    (risk,) = relaxed["candidates"][0]["risks"]
    assert risk["covered"] is False
    assert risk["whole_tenancy_required"] is True
    assert "期限のない担い手がいません" in risk["explanation_ja"]


def test_a_follow_up_covers_a_risk_needed_only_for_a_period(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, vacancy = home(client, corporation, municipality, required_risks=EMERGENCY_CONTACT)
    follow = create_person(client, center, support_plan=[follow_up("emergency_contact", 182)])
    assert candidate_vacancies(matches(client, center, follow)) == [vacancy]
    nobody = create_person(client, center)
    assert excluded(matches(client, center, nobody), "risk_coverage") == 1


def test_coverage_ending_before_move_in_counts_for_nothing(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    home(client, corporation, municipality, required_risks=EMERGENCY_CONTACT)
    person = create_person(
        client,
        center,
        needs={"rent_ceiling_yen": 50_000, "move_in_date": days_from_now(30)},
        support_plan=[follow_up("emergency_contact", 10)],
    )
    assert excluded(matches(client, center, person), "risk_coverage") == 1


def test_the_posting_corporations_own_services_count(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    _, covered = home(
        client,
        corporation,
        municipality,
        required_risks=WATCH_OVER_WHOLE_TENANCY,
        vacancy={"covered_risks": [{"risk_kind": "watch_over", "whole_tenancy": True}]},
    )
    _, _short = home(
        client,
        corporation,
        municipality,
        required_risks=WATCH_OVER_WHOLE_TENANCY,
        vacancy={"covered_risks": [{"risk_kind": "watch_over", "whole_tenancy": False}]},
    )
    person = create_person(client, center, support_plan=[follow_up("watch_over", 182)])
    body = matches(client, center, person)
    assert candidate_vacancies(body) == [covered]
    assert excluded(body, "risk_coverage") == 1
    (risk,) = body["candidates"][0]["risks"]
    assert risk["risk_kind"] == "watch_over"
    assert risk["label_ja"] == "見守り・安否確認"
    assert risk["covered"] is True
    sources = {c["source"]: c for c in risk["coverers"]}
    assert set(sources) == {"support_plan", "posting_corporation"}
    posting = sources["posting_corporation"]
    assert posting["organisation_id"] == str(corporation.id)
    assert posting["name"] == corporation.slug  # the fixture names organisations by slug
    assert posting["open_ended"] is True
    assert posting["period_label_ja"] == "期限なし（入居期間中）"
    plan = sources["support_plan"]
    assert plan["until"] == days_from_now(182)
    assert plan["open_ended"] is False
    assert plan["label_ja"] == "地域生活定着支援センター"
    assert plan["period_label_ja"] == f"{days_from_now(182)}まで"
    assert corporation.slug in risk["explanation_ja"]


def residential_support(provider: OrgFixture, **terms: Any) -> dict[str, Any]:
    return {
        "certifying_municipality_code": OSAKA_CITY,
        "provider_organisation_id": str(provider.id),
        "daily_safety_check": True,
        "monthly_visit": True,
        "connections": ["北区保健福祉センター"],
    } | terms


def test_residential_support_terms_count_as_watch_over(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, certified = home(
        client,
        corporation,
        municipality,
        required_risks=[*WATCH_OVER_WHOLE_TENANCY, {"risk_kind": "trouble_response"}],
        residential_support=residential_support(corporation),
    )
    home(
        client,
        corporation,
        municipality,
        required_risks=WATCH_OVER_WHOLE_TENANCY,
        residential_support=residential_support(
            corporation, daily_safety_check=False, monthly_visit=False
        ),
    )
    person = create_person(client, center)
    body = matches(client, center, person)
    assert candidate_vacancies(body) == [certified]
    assert excluded(body, "risk_coverage") == 1
    risks = {risk["risk_kind"]: risk for risk in body["candidates"][0]["risks"]}
    (watch,) = risks["watch_over"]["coverers"]
    assert watch["source"] == "residential_support"
    assert watch["open_ended"] is True
    assert "毎日の安否確認" in watch["label_ja"]
    assert watch["organisation_id"] == str(corporation.id)
    (trouble,) = risks["trouble_response"]["coverers"]
    assert "つなぎ" in trouble["label_ja"]


def test_redundant_and_open_ended_coverers_rank_higher(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    _, single = home(client, corporation, municipality, required_risks=EMERGENCY_CONTACT)
    _, double = home(
        client,
        corporation,
        municipality,
        required_risks=EMERGENCY_CONTACT,
        vacancy={"covered_risks": [{"risk_kind": "emergency_contact", "whole_tenancy": True}]},
    )
    person = create_person(client, center, support_plan=[follow_up("emergency_contact", 182)])
    body = matches(client, center, person)
    strength = {
        c["vacancy"]["id"]: next(f for f in c["factors"] if f["factor"] == "coverage_strength")
        for c in body["candidates"]
    }
    assert strength[single]["value"] == 0.4  # one coverer, time-limited
    assert strength[double]["value"] == 1.0  # two coverers, one open-ended
    assert candidate_vacancies(body) == [double, single]
    assert "担い手延べ2件（うち期限なし1件）" in strength[double]["detail_ja"]


def test_explanation_of_factors(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    home(client, corporation, municipality, rent_yen=40_000, common_fee_yen=2_000)
    person = create_person(client, center)
    (candidate,) = matches(client, center, person)["candidates"]
    factors = {f["factor"]: f for f in candidate["factors"]}
    assert set(factors) == {
        "anchor_distance",
        "rent_headroom",
        "floor_area",
        "accessibility",
        "coverage_strength",
        "freshness",
        "class_fit",
        "preferred_area",
    }
    for factor in factors.values():
        assert 0 <= factor["value"] <= 1
        assert factor["contribution"] == round(factor["value"] * factor["weight"], 4)
        assert factor["label_ja"]
        assert factor["detail_ja"]
    assert (
        sum(f["contribution"] for f in factors.values()) == candidate["score"]
        or abs(sum(f["contribution"] for f in factors.values()) - candidate["score"]) < 1e-3
    )
    rent = factors["rent_headroom"]
    assert rent["value"] == round((50_000 - 42_000) / 50_000, 4)
    assert rent["detail_ja"] == "家賃＋共益費42,000円／上限50,000円（余裕8,000円）"
    assert factors["freshness"]["value"] > 0.99
    assert factors["preferred_area"]["value"] == 1.0
    assert factors["anchor_distance"]["detail_ja"] == "通院先等の指定なし"
    assert factors["accessibility"]["value"] == round(2 / 3, 4)  # step-free, ground floor
    assert candidate["monthly_cost_yen"] == 42_000
    assert candidate["rent_ceiling_yen"] == 50_000
    assert candidate["dwelling"]["address"]
    assert candidate["vacancy"]["corporation_name"] == corporation.slug
