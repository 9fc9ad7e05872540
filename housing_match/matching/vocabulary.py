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


class ReadKind(StrEnum):
    """What a read of a person's data was, as the owning center reads its log."""

    PROFILE = "profile"
    MATCHES = "matches"
    EXPLAIN = "explain"
    REFERRAL = "referral"
    READ_LOG = "read_log"
    OTHER = "other"


READ_KIND_LABELS_JA: dict[ReadKind, str] = {
    ReadKind.PROFILE: "プロフィール",
    ReadKind.MATCHES: "候補住宅の検索",
    ReadKind.EXPLAIN: "候補外の理由の確認",
    ReadKind.REFERRAL: "入居相談",
    ReadKind.READ_LOG: "閲覧記録",
    ReadKind.OTHER: "その他",
}

# Each purpose written to person_reads (matching and referrals services, the webhook worker),
# with what it was and its Japanese label. A purpose not listed reads as "other".
READ_PURPOSES: dict[str, tuple[ReadKind, str]] = {
    "person.create": (ReadKind.PROFILE, "プロフィールの作成"),
    "person.read": (ReadKind.PROFILE, "プロフィールの閲覧"),
    "person.list": (ReadKind.PROFILE, "一覧での閲覧"),
    "person.update": (ReadKind.PROFILE, "プロフィールの変更"),
    "person.delete": (ReadKind.PROFILE, "プロフィールの削除"),
    "person.matches": (ReadKind.MATCHES, "候補住宅の検索"),
    "allocation": (ReadKind.MATCHES, "複数人の一括割当て"),
    "person.explain": (ReadKind.EXPLAIN, "住宅が候補にならない理由の確認"),
    "person.reads": (ReadKind.READ_LOG, "閲覧記録の確認"),
    "referral.create": (ReadKind.REFERRAL, "入居相談の送付"),
    "referral.read": (ReadKind.REFERRAL, "入居相談の閲覧"),
    "referral.list": (ReadKind.REFERRAL, "入居相談一覧での閲覧"),
    "referral.update": (ReadKind.REFERRAL, "入居相談の状態変更"),
    "referral.webhook": (ReadKind.REFERRAL, "Webhookによる入居相談の送信"),
}
