"""Request and response models of referrals and webhooks.

One read model serves both sides of a referral: the center that made it sees everything,
including ``person_id`` and the full ``match_snapshot``; the corporation holding the vacancy
sees those as null and reads only ``shared_profile`` and ``explanation``, which hold nothing
the person did not agree to share with support corporations.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints

from housing_match.matching.rules import Factor, HardConstraint
from housing_match.matching.schemas import (
    Candidate,
    FactorExplanation,
    RentCeiling,
    RiskExplanation,
)
from housing_match.matching.vocabulary import AnchorKind, CovererKind, Facility, SharedField
from housing_match.referrals.vocabulary import (
    DeclineReason,
    DeliveryStatus,
    EventKind,
    ReasonSide,
    ReferralState,
    WebhookEventType,
    WithdrawReason,
)
from housing_match.vacancies.schemas import VacancyStatus
from housing_match.vocabulary import PersonCategory, RiskKind

Note = Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)]


# --- requests ------------------------------------------------------------------------------


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID = Field(description="A person of your center.")
    vacancy_id: uuid.UUID = Field(
        description="An open vacancy that is one of the person's matches."
    )


class ReferralDecline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: DeclineReason
    note: Note = Field(default="", description="Free text both sides read; no personal names.")


class ReferralWithdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: WithdrawReason
    note: Note = Field(default="", description="Free text both sides read; no personal names.")


class ReferralContract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = ""


# --- what a corporation may see --------------------------------------------------------------


class SharedNeeds(BaseModel):
    """The person's housing needs (shared with ``needs``)."""

    rent_ceiling_yen: int = Field(description="Rent plus common fee at most.")
    min_area_m2: Decimal | None
    wheelchair: bool
    no_stairs: bool
    max_floor: int | None
    required_facilities: list[Facility]
    has_pets: bool
    smokes: bool
    high_support_needs: bool


class SharedAnchor(BaseModel):
    """A kind of place the person must stay near: never its location or the staff's label."""

    kind: AnchorKind
    kind_label_ja: str
    max_distance_m: int
    required: bool


class SharedSupportPlanItem(BaseModel):
    risk_kind: RiskKind
    risk_kind_label_ja: str
    coverer_kind: CovererKind
    coverer_kind_label_ja: str
    coverer_name: str
    coverer_organisation_id: uuid.UUID | None
    until: date | None
    open_ended: bool


class SharedProfile(BaseModel):
    """The person's profile as the corporation may see it: a field is null unless its group
    is in ``fields``. The reference, exclusion zones and anchor locations are never here."""

    fields: list[SharedField] = Field(description="The groups the person agreed to share.")
    field_labels_ja: list[str]
    household_size: int | None = None
    categories: list[PersonCategory] | None = None
    category_labels_ja: list[str] | None = None
    needs: SharedNeeds | None = None
    move_in_date: date | None = None
    home_municipality_code: str | None = None
    anchors: list[SharedAnchor] | None = None
    support_plan: list[SharedSupportPlanItem] | None = None


class SharedAnchorFit(BaseModel):
    kind: AnchorKind
    kind_label_ja: str
    max_distance_m: int
    required: bool
    within: bool


class SharedExplanation(BaseModel):
    """Why the home was proposed, as far as the consent allows, frozen at the referral.

    Factors derived from what the person did not share are left out (with ``needs``: rent
    headroom and floor area; with ``categories`` and ``needs``: class fit; with
    ``support_plan``: coverage strength and the risks). Anchor distances and preferred areas
    are never shown: with the home's address they would locate the anchors.
    """

    taken_at: datetime
    monthly_cost_yen: int
    passes_hard_constraints: bool = Field(
        description="Always true: a referral is only made to a home the matcher admits."
    )
    factors: list[FactorExplanation]
    risks: list[RiskExplanation] | None = None
    anchors: list[SharedAnchorFit] | None = None
    note_ja: str


# --- what the center sees ------------------------------------------------------------------


class MatchSnapshot(BaseModel):
    """The match explanation for this person and home when the referral was made (frozen)."""

    taken_at: datetime
    weights: dict[Factor, float]
    rank: int = Field(description="Where the home ranked among the person's candidates then.")
    candidate_count: int
    in_search_area: bool = Field(
        description="False: the home lies outside the home/preferred areas and anchors' reach."
    )
    rent_ceiling: RentCeiling
    candidate: Candidate


class ClosingReason(BaseModel):
    code: str
    label_ja: str
    side: ReasonSide
    side_label_ja: str
    note: str


class ReferralEventRead(BaseModel):
    id: int
    kind: EventKind
    label_ja: str
    from_state: ReferralState | None
    to_state: ReferralState
    reason: str | None
    note: str
    automatic: bool
    actor_organisation_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None = Field(
        description="The person who acted, when they signed in; null for a system's key."
    )
    channel: str
    occurred_at: datetime


class ReferralRead(BaseModel):
    id: uuid.UUID
    state: ReferralState
    state_label_ja: str
    center_id: uuid.UUID
    corporation_id: uuid.UUID
    vacancy_id: uuid.UUID
    vacancy_status: VacancyStatus = Field(
        description="The vacancy's status now (held while a hold lasts)."
    )
    dwelling_id: uuid.UUID
    requested_at: datetime
    state_changed_at: datetime
    hold_active: bool = Field(description="The referral holds the vacancy right now.")
    hold_expires_at: datetime | None = Field(
        description="When the hold ends (or ended); null once the referral has closed."
    )
    stalled: bool = Field(description="Active and unchanged for the configured number of days.")
    stalled_since: datetime | None
    closing: ClosingReason | None = Field(description="Why it was declined or withdrawn.")
    shared_profile: SharedProfile
    explanation: SharedExplanation
    person_id: uuid.UUID | None = Field(
        default=None, description="The center's only; null once the profile is deleted."
    )
    match_snapshot: MatchSnapshot | None = Field(
        default=None, description="The center's only: the full explanation as it was then."
    )
    events: list[ReferralEventRead] | None = Field(
        default=None, description="The timeline, on single-referral responses."
    )


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    next_cursor: str | None


class ReasonRead(BaseModel):
    code: str
    label_ja: str
    side: ReasonSide
    side_label_ja: str


class ReasonsRead(BaseModel):
    decline: list[ReasonRead]
    withdraw: list[ReasonRead]


class NotACandidate(BaseModel):
    constraint: HardConstraint
    label_ja: str


class StateCount(BaseModel):
    state: ReferralState
    label_ja: str
    count: int


class ReasonCount(BaseModel):
    code: str
    label_ja: str
    side: ReasonSide
    count: int


class ReferralSummary(BaseModel):
    """Counts only, for a municipality's jurisdiction (by the home's municipality)."""

    jurisdiction_codes: list[str] = Field(description="Empty for admins: the whole country.")
    total: int
    by_state: list[StateCount]
    active_holds: int
    stalled: int
    declined_by_reason: list[ReasonCount]
    withdrawn_by_reason: list[ReasonCount]


# --- webhooks ------------------------------------------------------------------------------


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyUrl = Field(description="HTTPS only. Events are POSTed here as signed JSON.")
    secret: (
        Annotated[str, StringConstraints(min_length=32, max_length=256, pattern=r"^[\x21-\x7e]+$")]
        | None
    ) = Field(
        default=None,
        description="Your own signing secret (32+ printable ASCII characters); omit to get one.",
    )
    description: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    created_at: datetime
    events: list[WebhookEventType] = Field(description="What is sent: every referral event.")


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown in this response only: keep it to verify signatures.")


class DeliveryRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: WebhookEventType
    referral_id: uuid.UUID | None
    status: DeliveryStatus
    status_label_ja: str
    attempts: int
    next_attempt_at: datetime | None = Field(description="Null once delivered or dead.")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
