"""Request and response models of the registry. Labels in Japanese where staff read them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from housing_match.registry.accessibility import wheelchair_claim_error
from housing_match.registry.standards import DwellingKind, FacilityProvision, SeismicEvidence
from housing_match.schemas_common import GeoPoint, MunicipalityCode
from housing_match.vocabulary import PersonCategory, RiskKind

Yen = Annotated[int, Field(ge=0, le=10_000_000)]
AreaM2 = Annotated[Decimal, Field(gt=0, le=10_000, max_digits=8, decimal_places=2)]


class RegistrationClass(StrEnum):
    REGISTERED = "registered"  # 登録住宅
    EXCLUSIVE = "exclusive"  # 専用住宅


REGISTRATION_CLASS_LABELS_JA = {
    RegistrationClass.REGISTERED: "登録住宅",
    RegistrationClass.EXCLUSIVE: "専用住宅",
}


class DwellingStatus(StrEnum):
    APPLIED = "applied"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DEREGISTERED = "deregistered"


DWELLING_STATUS_LABELS_JA = {
    DwellingStatus.APPLIED: "登録申請中",
    DwellingStatus.REGISTERED: "登録済",
    DwellingStatus.REJECTED: "登録拒否",
    DwellingStatus.DEREGISTERED: "登録抹消",
}


class ResidentialSupport(BaseModel):
    """居住サポート住宅 (居住安定援助賃貸住宅) certification and its support terms."""

    certifying_municipality_code: MunicipalityCode
    provider_organisation_id: uuid.UUID | None = Field(
        default=None, description="The support provider, often a 居住支援法人."
    )
    daily_safety_check: bool = Field(description="安否確認 at least daily (ICT or visit).")
    monthly_visit: bool = Field(description="見守り by visit at least monthly.")
    connections: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="つなぎ先: public agencies and welfare services."
    )


class SharedHouse(BaseModel):
    """共同居住型: capacity N, one resident per private room."""

    capacity: int = Field(ge=1, le=100)
    room_areas_m2: list[AreaM2] = Field(min_length=1, max_length=100)
    toilets: int = Field(ge=0, le=100)
    washbasins: int = Field(ge=0, le=100)
    baths: int = Field(ge=0, le=100, description="Baths or showers.")
    has_living_room: bool
    has_dining_room: bool
    has_kitchen: bool
    has_laundry: bool


class Facilities(BaseModel):
    kitchen: FacilityProvision
    toilet: FacilityProvision
    storage: FacilityProvision
    bath: FacilityProvision = Field(description="Bath or shower.")
    washbasin: FacilityProvision = Field(
        description=(
            "洗面設備. An ordinary dwelling needs it, and its toilet, in the unit; only a "
            "shared house shares them."
        )
    )


class RequiredRisk(BaseModel):
    risk_kind: RiskKind
    whole_tenancy: bool = Field(
        default=False, description="Must be covered for the whole tenancy, not just a period."
    )


class DwellingInput(BaseModel):
    """What a registration application (or an amendment) states about one unit."""

    model_config = ConfigDict(extra="forbid")

    registration_number: Annotated[
        str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)
    ]
    authority_id: uuid.UUID | None = Field(
        default=None,
        description="The registering municipality; defaults to the caller when it is one.",
    )
    registration_class: RegistrationClass
    exclusive_target_categories: list[PersonCategory] = Field(default_factory=list)
    residential_support: ResidentialSupport | None = None
    kind: DwellingKind
    shared_house: SharedHouse | None = None
    address: Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
    municipality_code: MunicipalityCode
    location: GeoPoint
    floor_area_m2: AreaM2
    floor: int = Field(
        default=1, ge=-5, le=100, description="1 is the ground floor (1階); below it, basements."
    )
    floors_total: int = Field(default=1, ge=1, le=100)
    has_elevator: bool = False
    step_free_entrance: bool = False
    wheelchair_accessible: bool = Field(
        default=False,
        description=(
            "車いす対応. Only with a step-free route: step_free_entrance, and floor 1 or "
            "has_elevator (else 422)."
        ),
    )
    facilities: Facilities
    construction_started_on: date | None = None
    is_existing_building: bool
    seismic_evidence: SeismicEvidence = SeismicEvidence.NONE
    rent_yen: Yen
    common_fee_yen: Yen = 0
    deposit_yen: Yen = 0
    key_money_yen: Yen = 0
    accepted_categories: list[PersonCategory] | None = Field(
        default=None, description="Categories of 要配慮者 the landlord accepts; null = all."
    )
    required_risks: list[RequiredRisk] = Field(default_factory=list)
    pets_allowed: bool = False
    smoking_allowed: bool = False
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> DwellingInput:
        if self.kind is DwellingKind.SHARED_HOUSE and self.shared_house is None:
            raise ValueError("a shared house needs its shared_house details")
        if self.kind is DwellingKind.ORDINARY and self.shared_house is not None:
            raise ValueError("shared_house details are only for kind 'shared_house'")
        if self.registration_class is RegistrationClass.EXCLUSIVE:
            if not self.exclusive_target_categories:
                raise ValueError("an exclusive dwelling (専用住宅) needs its target categories")
        elif self.exclusive_target_categories:
            raise ValueError("exclusive_target_categories are only for exclusive dwellings")
        if self.floor > self.floors_total:
            raise ValueError("floor cannot be above floors_total")
        wheelchair = wheelchair_claim_error(
            wheelchair_accessible=self.wheelchair_accessible,
            step_free_entrance=self.step_free_entrance,
            floor=self.floor,
            has_elevator=self.has_elevator,
        )
        if wheelchair is not None:
            raise ValueError(wheelchair)
        kinds = [risk.risk_kind for risk in self.required_risks]
        if len(kinds) != len(set(kinds)):
            raise ValueError("each risk kind may be required once")
        if self.accepted_categories is not None:
            self.accepted_categories = sorted(set(self.accepted_categories))
        self.exclusive_target_categories = sorted(set(self.exclusive_target_categories))
        return self


class StandardsCheckRequest(DwellingInput):
    as_of: date | None = Field(default=None, description="Check date; today when omitted.")


class ViolationRead(BaseModel):
    rule_id: str
    message_ja: str
    message_en: str
    measured: str | None
    limit: str | None


class RentBalance(BaseModel):
    """近傍同種: rent per ㎡ against comparable registered dwellings nearby."""

    rent_per_m2_yen: float
    comparable_count: int
    radius_m: int
    median_rent_per_m2_yen: float | None
    ratio_to_median: float | None
    factor: float
    out_of_balance: bool
    message_ja: str
    message_en: str


class AppliedProfile(BaseModel):
    national_name: str
    local_name: str | None
    local_scope_code: str | None


class StandardsReport(BaseModel):
    compliant: bool
    as_of: date
    violations: list[ViolationRead]
    warnings: list[str] = Field(description="Advisory only, e.g. rent out of balance.")
    rent_balance: RentBalance | None
    profile: AppliedProfile


class DwellingRead(DwellingInput):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="after")
    def _consistent(self) -> DwellingRead:
        # A stored dwelling met DwellingInput's rules when it was written; a read model is
        # built from it (and passed on inside responses) without checking them again.
        return self

    id: uuid.UUID
    authority_id: uuid.UUID | None
    applicant_id: uuid.UUID
    status: DwellingStatus
    status_label_ja: str
    status_reason: str | None
    registered_on: date | None
    registration_class_label_ja: str
    standards_compliant: bool | None
    standards_checked_at: datetime | None
    standards_violations: list[ViolationRead]
    distance_m: float | None = None
    created_at: datetime
    updated_at: datetime


class DwellingPage(BaseModel):
    items: list[DwellingRead]
    next_cursor: str | None


class ReasonBody(BaseModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


MANAGERS_MAX = 20


class DwellingManagersUpdate(BaseModel):
    """The whole new set of the dwelling's managing corporations (管理する居住支援法人)."""

    model_config = ConfigDict(extra="forbid")

    corporation_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MANAGERS_MAX,
        description=(
            "Support corporations that manage the dwelling from now on; at least one. Live "
            "vacancies on the dwelling posted by any other corporation are withdrawn."
        ),
    )
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)
    ] = Field(description="Why the managers change; kept in the history.")

    @field_validator("corporation_ids")
    @classmethod
    def _distinct(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("each corporation may appear once")
        return value


class DwellingManagerRead(BaseModel):
    corporation_id: uuid.UUID
    slug: str
    name: str
    since: datetime


class DwellingManagersRead(BaseModel):
    dwelling_id: uuid.UUID
    managers: list[DwellingManagerRead] = Field(
        description="The corporations that may post, refresh, change and withdraw its vacancies."
    )


class StandardsProfileCreate(BaseModel):
    """A local profile (供給促進計画): only the numbers it changes; seismic cannot be changed."""

    model_config = ConfigDict(extra="forbid")

    scope_code: Annotated[str, StringConstraints(pattern=r"^(\d{2}|\d{6})$")] = Field(
        description="A prefecture (2 digits) or municipality (6 digits) in your jurisdiction."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    effective_from: date
    effective_until: date | None = None
    parameters: dict[str, Decimal | int] = Field(
        description=(
            'Overrides, e.g. {"min_area_m2": "22", "min_area_with_shared_facilities_m2": '
            '"17", "shared_house_area_base_m2": "7"}.'
        ),
        min_length=1,
    )

    @model_validator(mode="after")
    def _period(self) -> StandardsProfileCreate:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        return self


class StandardsProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    scope_code: str = Field(description="'' national, 2-digit prefecture or 6-digit municipality.")
    name: str
    effective_from: date
    effective_until: date | None
    parameters: dict[str, str | int]
    owner_id: uuid.UUID | None


class ImportOutcome(StrEnum):
    ACCEPTED = "accepted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


IMPORT_OUTCOME_LABELS_JA = {
    ImportOutcome.ACCEPTED: "新規",
    ImportOutcome.UPDATED: "更新",
    ImportOutcome.UNCHANGED: "変更なし",
    ImportOutcome.REJECTED: "不受理",
}


class ImportRowRead(BaseModel):
    row: int = Field(description="Row number in the file (CSV: the header is row 1).")
    registration_number: str | None
    outcome: ImportOutcome
    outcome_label_ja: str
    dwelling_id: uuid.UUID | None
    reasons: list[str] = Field(
        description="Why a row was rejected, or the standards an application does not meet."
    )


class ImportReportRead(BaseModel):
    """What an import did. Every rejected row is listed; the others up to 10,000 rows, and
    ``unlisted_rows`` says how many of them were left out."""

    dry_run: bool
    total_rows: int
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowRead]
    unlisted_rows: int = Field(
        description="Accepted, updated or unchanged rows not listed in `rows` (beyond the "
        "first 10,000 listed); 0 when every row is listed."
    )


class ImportColumnRead(BaseModel):
    key: str
    label_ja: str
    required: bool
    description: str
