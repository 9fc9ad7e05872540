"""Request and response models of person profiles, matches and allocations.

A profile holds what matching needs and nothing more: a pseudonymous reference, never a
name or offence details (seed 001/002). Japanese labels where staff read them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from shapely.errors import ShapelyError
from shapely.geometry import shape

from housing_match.matching.allowance import CeilingBasis, current_municipality_error
from housing_match.matching.rules import Factor, HardConstraint
from housing_match.matching.vocabulary import (
    AnchorKind,
    ConsentRecipient,
    CovererKind,
    Facility,
    ReadKind,
    SharedField,
    today_jst,
)
from housing_match.registry.schemas import AreaM2, DwellingRead, Yen
from housing_match.schemas_common import GeoPoint, MunicipalityCode
from housing_match.vacancies.schemas import VacancyStatus
from housing_match.vocabulary import PersonCategory, RiskKind

Reference = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
    Field(
        description=(
            "The center's case code (ASCII letters, digits, '.', '_', '-'), e.g. "
            "'OSK-2026-014'. Never a name."
        )
    ),
]
Label = Annotated[str, StringConstraints(max_length=100, strip_whitespace=True)]


def _current_municipality(code: str) -> str:
    error = current_municipality_error(code)
    if error is not None:
        raise ValueError(error)
    return code


# Where a person's municipality is given: a code that is not a current municipality has no
# 住宅扶助 ceiling and matches no home, so it is refused rather than defaulted.
CurrentMunicipalityCode = Annotated[MunicipalityCode, AfterValidator(_current_municipality)]
MAX_POLYGON_VERTICES = 2_000
JAPAN_BOUNDS = (122.0, 20.0, 154.0, 46.0)  # min lon, min lat, max lon, max lat


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon in WGS 84: coordinates are [longitude, latitude]."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> PolygonGeometry:
        try:
            geometry = shape(self.model_dump())
        # Shapely indexes whatever it is given: an object where a ring or a position belongs
        # is a KeyError, and GEOS may refuse what slipped through (ShapelyError).
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, ShapelyError) as exc:
            raise ValueError(f"not a valid GeoJSON {self.type}") from exc
        if geometry.is_empty or not geometry.is_valid:
            raise ValueError(f"the {self.type} is empty or self-intersecting")
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        if (
            min_lon < JAPAN_BOUNDS[0]
            or min_lat < JAPAN_BOUNDS[1]
            or max_lon > JAPAN_BOUNDS[2]
            or max_lat > JAPAN_BOUNDS[3]
        ):
            raise ValueError("the polygon must lie in Japan (coordinates are [lon, lat])")
        vertices = sum(
            len(ring.coords)
            for polygon in getattr(geometry, "geoms", [geometry])
            for ring in (polygon.exterior, *polygon.interiors)
        )
        if vertices > MAX_POLYGON_VERTICES:
            raise ValueError(f"at most {MAX_POLYGON_VERTICES} vertices")
        return self


# --- profile -----------------------------------------------------------------------------


class Anchor(BaseModel):
    """A place the person must stay near: the home must be within ``max_distance_m``."""

    model_config = ConfigDict(extra="forbid")

    kind: AnchorKind
    label: Label = Field(default="", description="Staff's own words, e.g. '通院先'. No names.")
    location: GeoPoint
    max_distance_m: int = Field(ge=50, le=50_000)
    required: bool = Field(
        default=True, description="A hard constraint when true; otherwise it only ranks."
    )


class ExclusionZone(BaseModel):
    """Where the person must not live: a point and a radius, or a polygon."""

    model_config = ConfigDict(extra="forbid")

    label: Label = Field(default="", description="E.g. '被害者宅周辺'. Never an address.")
    center: GeoPoint | None = None
    radius_m: int | None = Field(default=None, ge=10, le=50_000)
    polygon: PolygonGeometry | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> ExclusionZone:
        point_form = self.center is not None and self.radius_m is not None
        if self.polygon is not None and (self.center is not None or self.radius_m is not None):
            raise ValueError("give either center and radius_m, or a polygon, not both")
        if self.polygon is None and not point_form:
            raise ValueError("give center and radius_m, or a polygon")
        return self


class PreferredAreas(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality_codes: list[MunicipalityCode] = Field(default_factory=list, max_length=50)
    polygons: list[PolygonGeometry] = Field(default_factory=list, max_length=20)


class PreferredAreasInput(PreferredAreas):
    """As given by staff: every municipality a current one (a stored profile is read back
    as ``PreferredAreas`` even after a merger retires one of its codes)."""

    municipality_codes: list[CurrentMunicipalityCode] = Field(default_factory=list, max_length=50)


class Places(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anchors: list[Anchor] = Field(default_factory=list, max_length=10)
    preferred_areas: PreferredAreasInput = Field(default_factory=PreferredAreasInput)
    exclusion_zones: list[ExclusionZone] = Field(default_factory=list, max_length=20)


class Needs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rent_ceiling_yen: Yen | None = Field(
        default=None,
        description=(
            "Rent plus common fee at most. Null: the 住宅扶助 ceiling for the home municipality "
            "and household size."
        ),
    )
    min_area_m2: AreaM2 | None = Field(
        default=None, description="Private area; for a shared house, its smallest room."
    )
    wheelchair: bool = Field(
        default=False,
        description=(
            "A step-free route (as no_stairs) to a dwelling that claims wheelchair access "
            "(車いす対応)."
        ),
    )
    no_stairs: bool = Field(
        default=False,
        description=(
            "A step-free route: step-free entrance, and the ground floor (1階) or a lift; a "
            "basement needs the lift too."
        ),
    )
    max_floor: int | None = Field(default=None, ge=1, le=100)
    required_facilities: list[Facility] = Field(
        default_factory=list, description="Facilities needed in the unit itself, not shared."
    )
    has_pets: bool = False
    smokes: bool = False
    move_in_date: date | None = Field(
        default=None, description="The vacancy must be available by then (e.g. release date)."
    )
    high_support_needs: bool = Field(
        default=False,
        description="Ranks 居住サポート住宅 and 専用住宅 for the person's categories higher.",
    )

    @model_validator(mode="after")
    def _normalise(self) -> Needs:
        self.required_facilities = sorted(set(self.required_facilities))
        return self


class Consent(BaseModel):
    """The person's consent (seed 001/002): collected after explaining it may be shared.

    ``sharing`` says which field groups a referral (issue 5) may carry to which kind of
    recipient; a recipient or group not listed receives nothing. The reference, exclusion
    zones and anchor locations are never shared.
    """

    model_config = ConfigDict(extra="forbid")

    given_on: date
    sharing: dict[ConsentRecipient, list[SharedField]] = Field(
        default_factory=dict,
        description='E.g. {"support_corporation": ["household_size", "categories", "needs"]}.',
    )

    @model_validator(mode="after")
    def _check(self) -> Consent:
        if self.given_on > today_jst():
            raise ValueError("consent cannot be given in the future")
        self.sharing = {
            recipient: sorted(set(fields)) for recipient, fields in sorted(self.sharing.items())
        }
        return self


class SupportPlanItem(BaseModel):
    """Who covers one landlord risk for the person, and until when."""

    model_config = ConfigDict(extra="forbid")

    risk_kind: RiskKind
    coverer_kind: CovererKind
    coverer_name: Annotated[
        str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)
    ] = Field(description="An organisation's name or a role ('姉'), never a private name.")
    coverer_organisation_id: uuid.UUID | None = Field(
        default=None, description="When the coverer is an organisation on this service."
    )
    until: date | None = Field(
        default=None,
        description="Last day of coverage; null = open-ended, i.e. for the whole tenancy.",
    )


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Reference
    home_municipality_code: CurrentMunicipalityCode = Field(
        description=(
            "帰住予定地: the municipality where the person will settle; a current municipality "
            "code (a designated city, one of its wards, or a Tokyo special ward included)."
        )
    )
    consent: Consent
    household_size: int = Field(default=1, ge=1, le=10)
    categories: list[PersonCategory] = Field(
        default_factory=list, description="住宅確保要配慮者 categories; all must be accepted."
    )
    needs: Needs = Field(default_factory=Needs)
    places: Places = Field(default_factory=Places)
    support_plan: list[SupportPlanItem] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _normalise(self) -> PersonCreate:
        self.categories = sorted(set(self.categories))
        return self


class PersonUpdate(BaseModel):
    """Only the fields given change; a list or an object given replaces the old one whole."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference | None = None
    home_municipality_code: CurrentMunicipalityCode | None = None
    consent: Consent | None = None
    household_size: int | None = Field(default=None, ge=1, le=10)
    categories: list[PersonCategory] | None = None
    needs: Needs | None = None
    places: Places | None = None
    support_plan: list[SupportPlanItem] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _no_nulls(self) -> PersonUpdate:
        nulled = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"cannot be null: {', '.join(nulled)}")
        if self.categories is not None:
            self.categories = sorted(set(self.categories))
        return self


class RentCeilingSource(StrEnum):
    EXPLICIT = "explicit"
    HOUSING_ALLOWANCE = "housing_allowance"


class RentCeiling(BaseModel):
    yen: int | None = Field(
        description=(
            "Rent plus common fee at most. Null only for a profile whose home municipality "
            "code is no longer a current one (e.g. after a merger): it cannot be matched until "
            "the code is corrected."
        )
    )
    source: RentCeilingSource
    grade: str | None = Field(description="級地 of the home municipality (住宅扶助 only).")
    municipal_value: bool = Field(
        description="The city's own 住宅扶助 ceiling, rather than its prefecture's for the grade."
    )
    ceiling_basis: CeilingBasis | None = Field(
        default=None,
        description=(
            "Which row of the published tables gave the ceiling (住宅扶助 only): the city's own "
            "(city) or the prefecture's for the grade (prefecture_grade)."
        ),
    )
    ceiling_row: str | None = Field(
        default=None, description="That row, e.g. '大阪市' or '東京都 1級地' (住宅扶助 only)."
    )
    household_column: str | None = Field(
        default=None, description="The table's column for the household: 1人 … 7人以上."
    )
    data_as_of: str | None = Field(
        default=None, description="Date of the published figures the ceiling comes from."
    )
    label_ja: str


class AnchorRead(Anchor):
    kind_label_ja: str


class PlacesRead(BaseModel):
    anchors: list[AnchorRead]
    preferred_areas: PreferredAreas
    exclusion_zones: list[ExclusionZone]


class SupportPlanItemRead(SupportPlanItem):
    risk_kind_label_ja: str
    coverer_kind_label_ja: str
    open_ended: bool


class PersonRead(BaseModel):
    id: uuid.UUID
    center_id: uuid.UUID
    reference: str
    home_municipality_code: str
    consent: Consent
    household_size: int
    categories: list[PersonCategory]
    category_labels_ja: list[str]
    needs: Needs
    rent_ceiling: RentCeiling
    places: PlacesRead
    support_plan: list[SupportPlanItemRead]
    created_at: datetime
    updated_at: datetime


class PersonPage(BaseModel):
    items: list[PersonRead]
    next_cursor: str | None


# --- matches -----------------------------------------------------------------------------


class ExclusionCount(BaseModel):
    """What one hard constraint excluded in the query as run: with a relaxation, the relaxed
    constraint counts what it still excluded (0 when dropped, the homes beyond the loosened
    limit otherwise); ``excluded_before_relaxation`` is its count without the relaxation."""

    constraint: HardConstraint
    label_ja: str
    excluded: int = Field(description="Homes this constraint excluded (alone or with others).")
    excluded_only_by_this: int = Field(
        description="Homes nothing else excluded: what relaxing this one alone would open up."
    )
    relaxed: bool = False
    excluded_before_relaxation: int | None = Field(
        default=None,
        description="The relaxed constraint only: the homes it excluded before the relaxation.",
    )


class FactorExplanation(BaseModel):
    factor: Factor
    label_ja: str
    value: float = Field(description="In [0, 1].")
    weight: float
    contribution: float = Field(description="value × weight; the score is their sum.")
    detail_ja: str


class CovererSource(StrEnum):
    SUPPORT_PLAN = "support_plan"
    POSTING_CORPORATION = "posting_corporation"
    RESIDENTIAL_SUPPORT = "residential_support"


class CovererExplanation(BaseModel):
    source: CovererSource
    coverer_kind: CovererKind | None
    label_ja: str = Field(description="What kind of coverer, in Japanese.")
    name: str
    organisation_id: uuid.UUID | None
    until: date | None
    open_ended: bool
    period_label_ja: str


class RiskExplanation(BaseModel):
    risk_kind: RiskKind
    label_ja: str
    whole_tenancy_required: bool
    covered: bool = Field(description="For as long as the landlord requires.")
    coverers: list[CovererExplanation]
    explanation_ja: str


class AnchorDistance(BaseModel):
    kind: AnchorKind
    kind_label_ja: str
    label: str
    distance_m: float
    max_distance_m: int
    required: bool
    within: bool


class CandidateVacancy(BaseModel):
    id: uuid.UUID
    corporation_id: uuid.UUID
    corporation_name: str
    available_from: date
    rent_offered_yen: int
    common_fee_offered_yen: int
    conditions: str
    refreshed_at: datetime
    expires_at: datetime


class Candidate(BaseModel):
    rank: int
    score: float
    admitted_by_relaxation: bool = Field(
        description="True when only the relaxed constraint would have excluded this home."
    )
    monthly_cost_yen: int = Field(description="Offered rent plus common fee.")
    rent_ceiling_yen: int
    private_area_m2: Decimal
    vacancy: CandidateVacancy
    dwelling: DwellingRead
    anchors: list[AnchorDistance]
    factors: list[FactorExplanation]
    risks: list[RiskExplanation] = Field(description="Each landlord risk: who covers it, until.")


class Relaxation(BaseModel):
    """The relaxation a match or an explanation ran with."""

    constraint: HardConstraint
    label_ja: str
    radius_factor: float | None = Field(
        default=None, description="Each required anchor's maximum distance multiplied by this."
    )
    radius_m: int | None = Field(
        default=None,
        description="Each required anchor's maximum distance raised to this (never lowered).",
    )
    rent_tolerance_yen: int | None = Field(
        default=None, description="Rent plus common fee allowed this much over the ceiling."
    )
    detail_ja: str = Field(description="What was relaxed and by how much, in Japanese.")


class MatchRelaxation(Relaxation):
    candidates_before_relaxation: int = Field(
        description="Homes passing every hard constraint without the relaxation."
    )
    opened_up: int = Field(description="Candidates that only the relaxation admits.")


class MatchResult(BaseModel):
    person_id: uuid.UUID
    rent_ceiling: RentCeiling
    considered: int = Field(
        description=(
            "Open, unexpired vacancies on registered dwellings in the search area: the home and "
            "preferred municipalities, the preferred polygons, and within reach of an anchor."
        )
    )
    candidate_count: int = Field(
        description="Homes passing every hard constraint (as relaxed, with a relaxation)."
    )
    excluded_count: int = Field(
        description=(
            "Homes excluded, each once however many constraints excluded it: "
            "considered = candidate_count + excluded_count."
        )
    )
    excluded_by_several: int = Field(
        description=(
            "Excluded homes failing more than one constraint: excluded_count = the sum of "
            "excluded_only_by_this + excluded_by_several."
        )
    )
    excluded_by: list[ExclusionCount] = Field(description="Most excluding first.")
    relaxation: MatchRelaxation | None
    weights: dict[Factor, float]
    candidates: list[Candidate]


# --- why not this home ---------------------------------------------------------------------


class ShortfallUnit(StrEnum):
    YEN = "yen"
    METRE = "m"
    SQUARE_METRE = "m2"
    FLOOR = "floor"
    DAY = "day"


class Shortfall(BaseModel):
    """One way a home fails one hard constraint, and by how much where that is a number."""

    code: str = Field(description="E.g. rent_over_ceiling, anchor_too_far, area_too_small.")
    message_ja: str
    actual: float | str | None = Field(
        default=None, description="The home's value (a date as YYYY-MM-DD)."
    )
    limit: float | str | None = Field(default=None, description="The person's limit.")
    difference: float | None = Field(
        default=None, description="How far the home is past the limit, in ``unit``."
    )
    unit: ShortfallUnit | None = None


class ConstraintFailure(BaseModel):
    constraint: HardConstraint
    label_ja: str
    relaxed: bool = Field(description="The constraint the request relaxes.")
    admitted_by_relaxation: bool = Field(
        description="The relaxation lets the home past this constraint."
    )
    shortfalls: list[Shortfall]


class MatchExplanation(BaseModel):
    """Why one home is, or is not, among a person's candidates, by the matcher's own checks."""

    person_id: uuid.UUID
    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    vacancy_status: VacancyStatus = Field(description="As readers see it (past expiry: expired).")
    listed: bool = Field(
        description=(
            "An open, unexpired vacancy on a registered dwelling: what the matcher searches. "
            "When false, no constraint is checked."
        )
    )
    in_search_area: bool = Field(
        description="In the home or preferred municipalities, the polygons or an anchor's reach."
    )
    candidate: bool = Field(
        description="The match (with the relaxation, if any) counts the home as a candidate."
    )
    rent_ceiling: RentCeiling
    relaxation: Relaxation | None
    failures: list[ConstraintFailure] = Field(
        description="Every hard constraint the home fails without relaxation, in order."
    )
    summary_ja: str


class ExcludedHome(BaseModel):
    """A home of the search area the match keeps out, with every constraint that does."""

    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    address: str
    registration_number: str
    monthly_cost_yen: int
    failed: list[HardConstraint]
    failed_labels_ja: list[str]


class VacancySummary(BaseModel):
    """A vacancy as staff name it: its dwelling's address and registration number (登録番号)."""

    vacancy_id: uuid.UUID
    address: str
    registration_number: str
    vacancy_status: VacancyStatus
    status_label_ja: str


# --- the read log ----------------------------------------------------------------------------


class ReadLogEntry(BaseModel):
    id: int
    read_at: datetime
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: str
    organisation_kind_label_ja: str
    api_key_id: uuid.UUID | None = Field(description="The key used; null for service jobs.")
    user_id: uuid.UUID | None = Field(
        default=None,
        description="The signed-in staff member; null for a call made with an API key.",
    )
    user_name: str | None = Field(
        default=None, description="The staff member's name, as their organisation recorded it."
    )
    purpose: str = Field(description="E.g. person.read, person.matches, referral.webhook.")
    purpose_label_ja: str
    kind: ReadKind
    kind_label_ja: str
    refused: bool = Field(description="Another organisation's attempt, answered 404.")


class ReadLogPage(BaseModel):
    items: list[ReadLogEntry] = Field(description="Newest first.")
    next_cursor: str | None


# --- allocation --------------------------------------------------------------------------


class AllocationObjective(StrEnum):
    TOTAL_SCORE = "total_score"  # the largest sum of scores over feasible pairs
    MOST_HOUSED = "most_housed"  # as many people housed as possible, then the largest sum


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: list[uuid.UUID] = Field(min_length=1)
    objective: AllocationObjective = AllocationObjective.TOTAL_SCORE

    @model_validator(mode="after")
    def _distinct(self) -> AllocationRequest:
        if len(set(self.person_ids)) != len(self.person_ids):
            raise ValueError("each person may be listed once")
        return self


class UnassignedReason(StrEnum):
    NO_FEASIBLE_HOME = "no_feasible_home"
    HOMES_TAKEN = "homes_taken_by_others"


class Assignment(BaseModel):
    person_id: uuid.UUID
    reference: str
    candidate: Candidate


class UnassignedPerson(BaseModel):
    person_id: uuid.UUID
    reference: str
    reason: UnassignedReason
    reason_ja: str
    candidate_count: int
    top_constraint: HardConstraint | None
    top_constraint_label_ja: str | None


class AllocationResult(BaseModel):
    objective: AllocationObjective
    total_score: float
    assigned_count: int
    assignments: list[Assignment]
    unassigned: list[UnassignedPerson]
    held: bool = Field(default=False, description="Always false: a proposal, nothing is held.")
    note_ja: str = "提案です。空室は確保されていません。各法人へ入居相談してください。"
