"""Response models of the municipal audit. Labels in Japanese where staff read them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from housing_match.registry.schemas import AppliedProfile, RentBalance, ViolationRead
from housing_match.schemas_common import GeoPoint


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    GEOJSON = "geojson"


class TabularFormat(StrEnum):
    """Formats of a report without places (no GeoJSON)."""

    JSON = "json"
    CSV = "csv"


# A rule's name, independent of the measured values its violations quote.
RULE_LABELS: dict[str, tuple[str, str]] = {
    "area.ordinary": ("床面積", "Floor area"),
    "facility.kitchen": ("台所", "Kitchen"),
    "facility.toilet": ("便所", "Toilet"),
    "facility.storage": ("収納設備", "Storage"),
    "facility.bath": ("浴室又はシャワー室", "Bath or shower"),
    "facility.washbasin": ("洗面設備", "Washbasin"),
    "facility.toilet_in_unit": ("便所を住戸内に（共用不可）", "Toilet in the unit, not shared"),
    "facility.washbasin_in_unit": (
        "洗面設備を住戸内に（共用不可）",
        "Washbasin in the unit, not shared",
    ),
    "shared_house.capacity": (
        "共同居住型：居住人数と専用居室",
        "Shared house: residents and private rooms",
    ),
    "shared_house.total_area": ("共同居住型：住宅全体の面積", "Shared house: total floor area"),
    "shared_house.room_area": ("共同居住型：専用居室の面積", "Shared house: private room area"),
    "shared_house.common_spaces": (
        "共同居住型：共用部分（居間・食堂・台所・洗濯室）",
        "Shared house: shared spaces (living, dining, kitchen, laundry)",
    ),
    "shared_house.toilets": ("共同居住型：便所の数", "Shared house: number of toilets"),
    "shared_house.washbasins": ("共同居住型：洗面の数", "Shared house: number of washbasins"),
    "shared_house.baths": (
        "共同居住型：浴室又はシャワー室の数",
        "Shared house: number of baths or showers",
    ),
    "seismic": ("耐震性（新耐震基準）", "Seismic safety (1981 code)"),
}


class AuditScope(BaseModel):
    jurisdiction_codes: list[str] | None = Field(
        description="Prefecture or municipality codes covered; null = the whole country (admins)."
    )


# --- registrations -------------------------------------------------------------------------


class RuleCount(BaseModel):
    rule_id: str
    label_ja: str
    label_en: str
    dwelling_count: int = Field(description="Registered dwellings breaking the rule.")
    violation_count: int = Field(description="Violations (a shared house may break one per room).")


class NonCompliantDwelling(BaseModel):
    dwelling_id: uuid.UUID
    registration_number: str
    address: str
    municipality_code: str
    authority_id: uuid.UUID
    registered_on: date | None
    location: GeoPoint
    violations: list[ViolationRead]
    profile: AppliedProfile
    compliant_when_checked: bool | None = Field(
        description="The result stored at registration or the last amendment."
    )
    standards_checked_at: datetime | None


class RegistrationsAudit(BaseModel):
    """Every registered dwelling in scope re-checked under the standards in force today."""

    as_of: date
    scope: AuditScope
    checked: int
    compliant: int
    non_compliant: int
    newly_non_compliant: int = Field(
        description="Compliant when last checked, not today: typically a new local profile."
    )
    rules: list[RuleCount] = Field(description="Most-broken first.")
    items: list[NonCompliantDwelling]
    next_cursor: str | None


# --- rent balance --------------------------------------------------------------------------


class RentFinding(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    TOO_FEW_COMPARABLES = "too_few_comparables"


RENT_FINDING_LABELS_JA = {
    RentFinding.ABOVE: "割高",
    RentFinding.BELOW: "割安",
    RentFinding.TOO_FEW_COMPARABLES: "比較対象不足",
}


class RentOutlier(BaseModel):
    dwelling_id: uuid.UUID
    registration_number: str
    address: str
    municipality_code: str
    kind: str
    location: GeoPoint
    rent_yen: int
    common_fee_yen: int
    floor_area_m2: float
    finding: RentFinding
    finding_label_ja: str
    rent_balance: RentBalance


class RentBalanceParameters(BaseModel):
    radius_m: int
    factor: float
    min_comparables: int


class RentBalanceFreshness(BaseModel):
    """How current the comparables' medians are.

    They are kept per dwelling and brought up to date by ``housing-match rent-balance
    refresh`` (run it periodically, and after bulk imports); a radius other than the kept one
    is computed for the request."""

    computed: Literal["maintained", "live"] = Field(
        description="maintained: as of the last refresh; live: computed for this request."
    )
    as_of: datetime | None = Field(
        description="When the medians were computed; null: never yet (run the refresh)."
    )
    dwellings_changed_since: int = Field(
        description="Registered dwellings added, changed or withdrawn anywhere since as_of: "
        "medians near them may have moved. 0: the medians are current."
    )
    changed_since_earliest: datetime | None = Field(
        description="When the oldest change not yet in the medians was made."
    )
    not_yet_assessed: int = Field(
        description="Registered dwellings in scope with no median yet (registered since "
        "as_of): not counted in checked."
    )


class RentBalanceAudit(BaseModel):
    """近傍同種: registered dwellings whose rent per ㎡ is far from their neighbours' median.

    Comparables are registered dwellings of the same kind within the radius, across
    jurisdiction borders, exactly as at registration.
    """

    scope: AuditScope
    parameters: RentBalanceParameters
    freshness: RentBalanceFreshness
    checked: int
    within_balance: int
    above: int
    below: int
    too_few_comparables: int
    items: list[RentOutlier] = Field(description="Outliers and those that cannot be judged.")
    next_cursor: str | None


# --- vacancies -----------------------------------------------------------------------------


class VacancyFinding(StrEnum):
    EXPIRED = "expired"
    NOT_REFRESHED = "not_refreshed"


VACANCY_FINDING_LABELS_JA = {
    VacancyFinding.EXPIRED: "掲載期限切れ",
    VacancyFinding.NOT_REFRESHED: "長期間未更新",
}


class StaleVacancy(BaseModel):
    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    registration_number: str
    address: str
    municipality_code: str
    location: GeoPoint
    corporation_id: uuid.UUID
    corporation_name: str
    status: str = Field(description="As readers see it: open past its expiry is expired.")
    status_label_ja: str
    finding: VacancyFinding
    finding_label_ja: str
    refreshed_at: datetime
    expires_at: datetime
    days_since_refresh: int


class CorporationFreshness(BaseModel):
    corporation_id: uuid.UUID
    corporation_name: str
    current_postings: int = Field(description="Dwellings in scope whose latest posting is theirs.")
    live: int = Field(description="Open (unexpired) or held.")
    expired: int
    not_refreshed: int


class OpenVacancyShare(BaseModel):
    registered_dwellings: int
    with_open_vacancy: int
    share: float | None = Field(description="with_open_vacancy / registered_dwellings; 0-1.")


class VacanciesAudit(BaseModel):
    """Vacancy freshness: each registered dwelling's latest posting, if stale."""

    scope: AuditScope
    stale_after_days: int
    open_vacancy_share: OpenVacancyShare
    by_corporation: list[CorporationFreshness] = Field(description="Most stale first.")
    items: list[StaleVacancy]
    next_cursor: str | None


# --- unmet demand --------------------------------------------------------------------------


class DemandCell(BaseModel):
    """One municipality and month. Fewer than 5 queries: every count is null."""

    municipality_code: str
    month: str = Field(description="YYYY-MM, Japan time.")
    suppressed: bool
    queries: int | None
    zero_candidates: int | None
    few_candidates: int | None = Field(description="Queries with 1 to few_threshold candidates.")
    top_constraint: str | None = Field(
        description=(
            "The hard constraint that excluded most homes in the queries with zero or few "
            "candidates; null when fewer than 5 such queries, so no one search shows through."
        )
    )
    top_constraint_label_ja: str | None


class DemandTotals(BaseModel):
    """Sums over the cells shown only: a suppressed cell never shows through a total."""

    queries: int
    zero_candidates: int
    few_candidates: int
    suppressed_cells: int


class UnmetDemandAudit(BaseModel):
    """Match queries that found no or few candidates (relaxed re-runs left out); never a person."""

    scope: AuditScope
    from_month: str
    to_month: str
    few_threshold: int
    min_cell_queries: int = Field(description="Cells with fewer queries are suppressed.")
    totals: DemandTotals
    cells: list[DemandCell]
