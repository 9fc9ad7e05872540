"""The matcher's own terms, with the Japanese labels staff read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

# Release, move-in and the end of a follow-up are Japanese calendar dates (no DST in Japan).
JST = timezone(timedelta(hours=9), "JST")


def today_jst() -> date:
    return datetime.now(JST).date()


class PlaceRole(StrEnum):
    ANCHOR = "anchor"
    PREFERRED_AREA = "preferred_area"
    EXCLUSION_ZONE = "exclusion_zone"


class AnchorKind(StrEnum):
    """Places a person must stay near after release."""

    PSYCHIATRIC_HOSPITAL = "psychiatric_hospital"
    HOSPITAL = "hospital"
    SUPPORT_OFFICE = "support_office"
    WELFARE_OFFICE = "welfare_office"
    DAY_ACTIVITY = "day_activity"
    WORKPLACE = "workplace"
    FAMILY = "family"
    OTHER = "other"


ANCHOR_KIND_LABELS_JA: dict[AnchorKind, str] = {
    AnchorKind.PSYCHIATRIC_HOSPITAL: "精神科病院（通院先）",
    AnchorKind.HOSPITAL: "病院・診療所",
    AnchorKind.SUPPORT_OFFICE: "相談支援事業所",
    AnchorKind.WELFARE_OFFICE: "福祉事務所",
    AnchorKind.DAY_ACTIVITY: "日中活動の場（就労支援・デイケア等）",
    AnchorKind.WORKPLACE: "就労先",
    AnchorKind.FAMILY: "家族",
    AnchorKind.OTHER: "その他",
}


class CovererKind(StrEnum):
    """Who covers a risk in a person's support plan (domain.md, typical coverers)."""

    CENTER = "center"
    CORPORATION = "corporation"
    GUARANTEE_COMPANY = "guarantee_company"
    WELFARE_PROXY_PAYMENT = "welfare_proxy_payment"
    WELFARE_SERVICE = "welfare_service"
    GUARDIAN = "guardian"
    RELATIVE = "relative"
    SELF = "self"
    OTHER = "other"


COVERER_KIND_LABELS_JA: dict[CovererKind, str] = {
    CovererKind.CENTER: "地域生活定着支援センター",
    CovererKind.CORPORATION: "居住支援法人",
    CovererKind.GUARANTEE_COMPANY: "家賃債務保証業者",
    CovererKind.WELFARE_PROXY_PAYMENT: "生活保護（代理納付）",
    CovererKind.WELFARE_SERVICE: "福祉サービス事業所・訪問看護等",
    CovererKind.GUARDIAN: "成年後見人・日常生活自立支援事業",
    CovererKind.RELATIVE: "親族",
    CovererKind.SELF: "本人（貯蓄・年金・就労収入）",
    CovererKind.OTHER: "その他",
}


class Facility(StrEnum):
    """A facility the person needs in the unit itself, not shared."""

    KITCHEN = "kitchen"
    TOILET = "toilet"
    STORAGE = "storage"
    BATH = "bath"


FACILITY_LABELS_JA: dict[Facility, str] = {
    Facility.KITCHEN: "専用台所",
    Facility.TOILET: "専用便所",
    Facility.STORAGE: "専用収納",
    Facility.BATH: "専用浴室・シャワー",
}


class ConsentRecipient(StrEnum):
    """Who may receive a person's data in a referral (issue 5), if the person agreed."""

    SUPPORT_CORPORATION = "support_corporation"
    MUNICIPALITY = "municipality"


CONSENT_RECIPIENT_LABELS_JA: dict[ConsentRecipient, str] = {
    ConsentRecipient.SUPPORT_CORPORATION: "居住支援法人",
    ConsentRecipient.MUNICIPALITY: "自治体住宅部局",
}


class SharedField(StrEnum):
    """A group of profile fields a person may agree to share.

    The reference, the exclusion zones and the anchors' locations are never shareable:
    they could identify the person or a victim.
    """

    HOUSEHOLD_SIZE = "household_size"
    CATEGORIES = "categories"
    # Rent ceiling, minimum area, accessibility, facilities, pets, smoking.
    NEEDS = "needs"
    MOVE_IN_DATE = "move_in_date"
    HOME_MUNICIPALITY = "home_municipality"
    # Anchor kinds and maximum distances only, never their locations.
    ANCHOR_KINDS = "anchor_kinds"
    SUPPORT_PLAN = "support_plan"


SHARED_FIELD_LABELS_JA: dict[SharedField, str] = {
    SharedField.HOUSEHOLD_SIZE: "世帯人数",
    SharedField.CATEGORIES: "要配慮者の区分",
    SharedField.NEEDS: "住まいの条件（家賃上限・面積・バリアフリー・設備・ペット・喫煙）",
    SharedField.MOVE_IN_DATE: "入居希望日",
    SharedField.HOME_MUNICIPALITY: "帰住予定地",
    SharedField.ANCHOR_KINDS: "通院先等の種類と距離（位置は含まない）",
    SharedField.SUPPORT_PLAN: "支援計画（誰がどのリスクをいつまで担うか）",
}
