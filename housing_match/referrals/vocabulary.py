"""Referral states, who may move them where, and the reasons staff pick, in Japanese.

Decline and withdrawal reasons carry a side, as Boston CAS tags its decline reasons: whether
the case ended because of the person's circumstances (client) or the home's, the landlord's or
the corporation's (provider). Municipalities read the split to see where demand goes unmet.
"""

from __future__ import annotations

from enum import StrEnum


class ReferralState(StrEnum):
    REQUESTED = "requested"  # 入居相談中: waiting for the corporation's answer
    ACCEPTED = "accepted"  # 内見調整中: the corporation took it up, a viewing is being arranged
    CONTRACTED = "contracted"  # 成約
    DECLINED = "declined"  # 見送り (by the corporation)
    WITHDRAWN = "withdrawn"  # 取下げ (by the center)


REFERRAL_STATE_LABELS_JA: dict[ReferralState, str] = {
    ReferralState.REQUESTED: "入居相談中",
    ReferralState.ACCEPTED: "内見・調整中",
    ReferralState.CONTRACTED: "成約",
    ReferralState.DECLINED: "見送り（法人）",
    ReferralState.WITHDRAWN: "取下げ（センター）",
}

# A referral in one of these states holds its vacancy (while the hold lasts) and can stall.
ACTIVE_STATES: tuple[ReferralState, ...] = (ReferralState.REQUESTED, ReferralState.ACCEPTED)


class Transition(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CONTRACT = "contract"
    WITHDRAW = "withdraw"


# From which states each action is allowed, and where it leads. Anything else is a 409.
TRANSITIONS: dict[Transition, tuple[frozenset[ReferralState], ReferralState]] = {
    Transition.ACCEPT: (frozenset({ReferralState.REQUESTED}), ReferralState.ACCEPTED),
    Transition.DECLINE: (frozenset(ACTIVE_STATES), ReferralState.DECLINED),
    Transition.CONTRACT: (frozenset({ReferralState.ACCEPTED}), ReferralState.CONTRACTED),
    Transition.WITHDRAW: (frozenset(ACTIVE_STATES), ReferralState.WITHDRAWN),
}


class ReasonSide(StrEnum):
    CLIENT = "client"  # the person's circumstances
    PROVIDER = "provider"  # the home, the landlord or the corporation


REASON_SIDE_LABELS_JA: dict[ReasonSide, str] = {
    ReasonSide.CLIENT: "本人側の事情",
    ReasonSide.PROVIDER: "住宅・大家・法人側の事情",
}


class DeclineReason(StrEnum):
    """Why a corporation declines (見送り) a referral."""

    LANDLORD_REFUSED_CATEGORY = "landlord_refused_category"
    RISK_NOT_COVERED = "risk_not_covered"
    RENT_NOT_AFFORDABLE = "rent_not_affordable"
    UNIT_LET_TO_SOMEONE_ELSE = "unit_let_to_someone_else"
    UNIT_UNAVAILABLE = "unit_unavailable"
    SUPPORT_CAPACITY = "support_capacity"
    PERSON_UNREACHABLE = "person_unreachable"
    PERSON_DECLINED = "person_declined"
    NEEDS_NOT_MET = "needs_not_met"
    OTHER = "other"


DECLINE_REASONS: dict[DeclineReason, tuple[str, ReasonSide]] = {
    DeclineReason.LANDLORD_REFUSED_CATEGORY: (
        "大家が要配慮者の区分（矯正施設退所者等）を理由に断った",
        ReasonSide.PROVIDER,
    ),
    DeclineReason.RISK_NOT_COVERED: (
        "大家が求めるリスク（保証・見守り・残置物等）の担い手が不足",
        ReasonSide.PROVIDER,
    ),
    DeclineReason.RENT_NOT_AFFORDABLE: (
        "家賃・初期費用を負担できない",
        ReasonSide.CLIENT,
    ),
    DeclineReason.UNIT_LET_TO_SOMEONE_ELSE: ("住戸が他の方で成約した", ReasonSide.PROVIDER),
    DeclineReason.UNIT_UNAVAILABLE: (
        "住戸を提供できなくなった（修繕・大家の事情等）",
        ReasonSide.PROVIDER,
    ),
    DeclineReason.SUPPORT_CAPACITY: (
        "法人の支援体制（見守り・緊急連絡先等）を確保できない",
        ReasonSide.PROVIDER,
    ),
    DeclineReason.PERSON_UNREACHABLE: ("本人・センターと連絡がつかない", ReasonSide.CLIENT),
    DeclineReason.PERSON_DECLINED: ("本人が内見後に辞退した", ReasonSide.CLIENT),
    DeclineReason.NEEDS_NOT_MET: (
        "本人の必要（バリアフリー・通院等）に住戸が合わない",
        ReasonSide.CLIENT,
    ),
    DeclineReason.OTHER: ("その他（自由記述）", ReasonSide.PROVIDER),
}


class WithdrawReason(StrEnum):
    """Why a center withdraws (取下げ) a referral."""

    HOUSED_ELSEWHERE = "housed_elsewhere"
    PERSON_DECLINED = "person_declined"
    CIRCUMSTANCES_CHANGED = "circumstances_changed"
    UNIT_UNSUITABLE = "unit_unsuitable"
    NO_RESPONSE = "no_response"
    OTHER = "other"


WITHDRAW_REASONS: dict[WithdrawReason, tuple[str, ReasonSide]] = {
    WithdrawReason.HOUSED_ELSEWHERE: ("他の住まいに決まった", ReasonSide.CLIENT),
    WithdrawReason.PERSON_DECLINED: ("本人が辞退した", ReasonSide.CLIENT),
    WithdrawReason.CIRCUMSTANCES_CHANGED: (
        "本人の状況が変わった（入院・釈放日の変更等）",
        ReasonSide.CLIENT,
    ),
    WithdrawReason.UNIT_UNSUITABLE: ("住戸が本人に合わないと分かった", ReasonSide.PROVIDER),
    WithdrawReason.NO_RESPONSE: ("法人から回答がない", ReasonSide.PROVIDER),
    WithdrawReason.OTHER: ("その他（自由記述）", ReasonSide.CLIENT),
}


class EventKind(StrEnum):
    """What a ``referral_events`` row records: a transition, or what happened to the hold."""

    CREATED = "created"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    CONTRACTED = "contracted"
    HOLD_EXPIRED = "hold_expired"
    STALLED = "stalled"
    # The person withdrew consent to share some field groups: which groups, never values.
    CONSENT_CHANGED = "consent_changed"


EVENT_KIND_LABELS_JA: dict[EventKind, str] = {
    EventKind.CREATED: "入居相談を送付",
    EventKind.ACCEPTED: "法人が受付（内見調整）",
    EventKind.DECLINED: "法人が見送り",
    EventKind.WITHDRAWN: "センターが取下げ",
    EventKind.CONTRACTED: "成約",
    EventKind.HOLD_EXPIRED: "空室の確保期限切れ",
    EventKind.STALLED: "一定期間動きなし（停滞）",
    EventKind.CONSENT_CHANGED: "本人の同意の変更（共有する項目の縮小）",
}

EVENT_KIND_OF_STATE: dict[ReferralState, EventKind] = {
    ReferralState.REQUESTED: EventKind.CREATED,
    ReferralState.ACCEPTED: EventKind.ACCEPTED,
    ReferralState.DECLINED: EventKind.DECLINED,
    ReferralState.WITHDRAWN: EventKind.WITHDRAWN,
    ReferralState.CONTRACTED: EventKind.CONTRACTED,
}


class WebhookEventType(StrEnum):
    CREATED = "referral.created"
    STATE_CHANGED = "referral.state_changed"
    HOLD_EXPIRED = "referral.hold_expired"
    STALLED = "referral.stalled"
    # Fewer field groups are shared: the receiver should delete what it holds of the others.
    CONSENT_CHANGED = "referral.consent_changed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the configured number of attempts


DELIVERY_STATUS_LABELS_JA: dict[DeliveryStatus, str] = {
    DeliveryStatus.PENDING: "送信待ち・再試行待ち",
    DeliveryStatus.DELIVERED: "送信済",
    DeliveryStatus.DEAD: "送信断念",
}
