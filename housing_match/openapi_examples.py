"""A valid example for every JSON request body, shown by /docs and used by "Try it out".

Keyed by request model, so every operation taking that model shows it. The examples are
checked against their models in tests/foundation/test_openapi_examples.py, and POST
/v1/persons (among others) is sent as shown; a new endpoint with a JSON body needs its model's
example here (that test fails without one). Ids in the examples are placeholders: replace them
with real ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from housing_match.accounts.schemas import UserInvite, UserUpdate
from housing_match.matching.schemas import AllocationRequest, PersonCreate, PersonUpdate
from housing_match.organisations.schemas import ApiKeyCreate, OrganisationCreate, OrganisationUpdate
from housing_match.referrals.schemas import (
    ReferralContract,
    ReferralCreate,
    ReferralDecline,
    ReferralWithdraw,
    WebhookCreate,
)
from housing_match.registry.schemas import (
    DwellingInput,
    DwellingManagersUpdate,
    ReasonBody,
    StandardsCheckRequest,
    StandardsProfileCreate,
)
from housing_match.vacancies.schemas import VacancyCreate, VacancyUpdate

PLACEHOLDER_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER_PLACEHOLDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

_UMEDA = {"latitude": 34.7025, "longitude": 135.4959}

_PERSON: dict[str, Any] = {
    "reference": "OSK-2026-014",
    "home_municipality_code": "271004",
    "consent": {
        "given_on": "2026-11-20",
        "sharing": {
            "support_corporation": ["household_size", "categories", "needs", "move_in_date"],
        },
    },
    "household_size": 1,
    "categories": ["elderly", "released_from_correctional_facility"],
    "needs": {
        "min_area_m2": 18,
        "no_stairs": True,
        "required_facilities": ["toilet", "bath"],
        "move_in_date": "2027-01-15",
        "high_support_needs": True,
    },
    "places": {
        "anchors": [
            {
                "kind": "psychiatric_hospital",
                "label": "通院先",
                "location": _UMEDA,
                "max_distance_m": 3000,
            }
        ],
        "exclusion_zones": [
            {
                "label": "被害者宅周辺",
                "center": {"latitude": 34.6867, "longitude": 135.52},
                "radius_m": 800,
            }
        ],
    },
    "support_plan": [
        {
            "risk_kind": "emergency_contact",
            "coverer_kind": "center",
            "coverer_name": "大阪府地域生活定着支援センター",
            "until": "2027-07-31",
        },
        {
            "risk_kind": "stable_income",
            "coverer_kind": "welfare_proxy_payment",
            "coverer_name": "生活保護（代理納付）",
        },
    ],
}

_DWELLING: dict[str, Any] = {
    "registration_number": "27100-2026-0001",
    "registration_class": "registered",
    "kind": "ordinary",
    "address": "大阪府大阪市北区梅田一丁目1番1号 梅田ハイツ101",
    "municipality_code": "271004",
    "location": _UMEDA,
    "floor_area_m2": 25.5,
    "floor": 1,
    "floors_total": 3,
    "step_free_entrance": True,
    "facilities": {
        "kitchen": "in_unit",
        "toilet": "in_unit",
        "washbasin": "in_unit",
        "storage": "in_unit",
        "bath": "in_unit",
    },
    "construction_started_on": "1995-04-01",
    "is_existing_building": True,
    "rent_yen": 38000,
    "common_fee_yen": 2000,
    "required_risks": [
        {"risk_kind": "rent_guarantee", "whole_tenancy": True},
        {"risk_kind": "emergency_contact"},
    ],
}

REQUEST_EXAMPLES: dict[type[BaseModel], tuple[str, Any]] = {
    # request model: (summary, value)
    OrganisationCreate: (
        "大阪市の住宅部局",
        {
            "kind": "municipality",
            "slug": "osaka-city-housing",
            "name": "大阪市 都市整備局",
            "jurisdiction_codes": ["271004"],
        },
    ),
    OrganisationUpdate: ("二要素認証を任意にする", {"totp_required": False}),
    ApiKeyCreate: ("連携システム用のキー", {"label": "ケース記録システム連携"}),
    UserInvite: (
        "職員を招待",
        {"email": "hanako@example.jp", "name": "山田 花子", "role": "staff"},
    ),
    UserUpdate: ("管理者にする", {"role": "manager"}),
    DwellingInput: ("既存の建物の一般住戸", _DWELLING),
    ReasonBody: ("理由", {"reason": "大家から登録廃止の申出がありました。"}),
    DwellingManagersUpdate: (
        "管理法人の引継ぎ",
        {
            "corporation_ids": [OTHER_PLACEHOLDER_ID],
            "reason": "管理委託契約の終了に伴い、後継の居住支援法人へ引き継ぎます。",
        },
    ),
    StandardsCheckRequest: ("申請前の確認", _DWELLING | {"as_of": "2026-12-01"}),
    StandardsProfileCreate: (
        "市の計画で面積基準を緩和",
        {
            "scope_code": "271004",
            "name": "大阪市賃貸住宅供給促進計画",
            "effective_from": "2027-04-01",
            "parameters": {"min_area_m2": "22", "min_area_with_shared_facilities_m2": "17"},
        },
    ),
    VacancyCreate: (
        "空室の掲載",
        {
            "dwelling_id": PLACEHOLDER_ID,
            "available_from": "2027-01-01",
            "rent_offered_yen": 38000,
            "common_fee_offered_yen": 2000,
            "conditions": "内見は平日のみ",
            "covered_risks": [
                {"risk_kind": "watch_over", "whole_tenancy": True},
                {"risk_kind": "estate_disposal", "whole_tenancy": True},
            ],
        },
    ),
    VacancyUpdate: ("家賃を下げる", {"rent_offered_yen": 36000, "reason": "家賃改定"}),
    PersonCreate: ("高齢で通院が必要な方", _PERSON),
    PersonUpdate: (
        "世帯人数と必要の変更",
        {"household_size": 2, "needs": _PERSON["needs"] | {"wheelchair": True}},
    ),
    AllocationRequest: (
        "二人の割り当て",
        {"person_ids": [PLACEHOLDER_ID, OTHER_PLACEHOLDER_ID], "objective": "most_housed"},
    ),
    ReferralCreate: (
        "候補の住戸への入居相談",
        {"person_id": PLACEHOLDER_ID, "vacancy_id": OTHER_PLACEHOLDER_ID},
    ),
    ReferralDecline: (
        "見守りの担い手が足りない",
        {"reason": "support_capacity", "note": "見守り訪問の担当者を確保できません。"},
    ),
    ReferralWithdraw: (
        "他の住戸で決まった",
        {"reason": "housed_elsewhere", "note": "別の候補で契約しました。"},
    ),
    ReferralContract: ("契約", {"note": "2027年1月10日に賃貸借契約を締結"}),
    WebhookCreate: (
        "受信先の登録",
        {"url": "https://example.jp/housing-match/events", "description": "ケース記録システム"},
    ),
}


_BY_SCHEMA_NAME = {model.__name__: example for model, example in REQUEST_EXAMPLES.items()}


def request_model_names(media: dict[str, Any]) -> list[str]:
    """The component names a JSON request body refers to (``Model`` or ``Model | None``);
    FastAPI names a model used both ways ``Model-Input``."""
    schema = media.get("schema", {})
    refs = [schema.get("$ref")] + [option.get("$ref") for option in schema.get("anyOf", [])]
    return [ref.rsplit("/", 1)[-1].removesuffix("-Input") for ref in refs if ref]


def add_request_examples(schema: dict[str, Any]) -> None:
    """Puts each request model's example on the JSON request bodies that take it (an OpenAPI
    media-type example, which Swagger UI fills into "Try it out")."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is None:
                continue
            for name in request_model_names(media):
                if name in _BY_SCHEMA_NAME:
                    summary, value = _BY_SCHEMA_NAME[name]
                    media["examples"] = {"example": {"summary": summary, "value": value}}
                    break
