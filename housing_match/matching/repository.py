"""All of the matcher's SQL: persons, the read log, the query log, and the match itself.

The match reads ``match_listings`` only: one row per open vacancy on a registered dwelling,
with every column a check or a factor needs, kept by triggers (migration 0003). The person's
criteria become named parameters (anchors and zones as geography literals), so the considered
homes come from a BitmapOr of the municipality index and the GiST index on the location, and
the SQL is rendered once per shape of criteria (``MatchRepository.rendered``). One statement
(``match_statement``):

- ``evaluated`` (MATERIALIZED): a boolean per applicable hard constraint, once per home;
- ``counts``: ``count(*) FILTER (WHERE NOT ok)`` per constraint, and per constraint the homes
  it alone excluded;
- ``ranked``: the admitted homes (a relaxed constraint dropped or loosened), each factor's
  value in [0, 1] a column, ordered by the weighted sum, then vacancy id, with a limit.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    extract,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload, selectinload

from housing_match.matching.rules import (
    CLASS_FIT_EXCLUSIVE,
    CLASS_FIT_EXCLUSIVE_HIGH_NEEDS,
    CLASS_FIT_SUPPORT_HIGH_NEEDS,
    COVERAGE_OPEN_ENDED,
    COVERAGE_PER_COVERER,
    FLOOR_AREA_MIN_FACTOR,
    FLOOR_AREA_TARGET_M2,
    Factor,
    HardConstraint,
)
from housing_match.matching.vocabulary import Facility
from housing_match.models import (
    Dwelling,
    MatchListing,
    MatchQuery,
    Organisation,
    Person,
    PersonReadLogEntry,
    Vacancy,
)
from housing_match.repository import RepositoryBase

RISK_ARRAY = ARRAY(String(32))
Listing = MatchListing


class PersonRepository(RepositoryBase[Person]):
    model = Person

    def get_with_details(self, person_id: uuid.UUID) -> Person | None:
        # One round trip: a person has a handful of places and plan entries, so the joined
        # rows are few, where selectin loading would cost a query per collection.
        return (
            self.session.scalars(
                select(Person)
                .where(Person.id == person_id)
                .options(joinedload(Person.places), joinedload(Person.support_plan))
            )
            .unique()
            .first()
        )

    def get_many_with_details(self, person_ids: Sequence[uuid.UUID]) -> Sequence[Person]:
        return self.session.scalars(
            select(Person)
            .where(Person.id.in_(person_ids))
            .options(selectinload(Person.places), selectinload(Person.support_plan))
        ).all()

    def get_by_reference(self, center_id: uuid.UUID, reference: str) -> Person | None:
        return self.session.scalars(
            select(Person).where(Person.center_id == center_id, Person.reference == reference)
        ).first()

    def list_for_center(
        self, center_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[Person]:
        statement = (
            select(Person)
            .where(Person.center_id == center_id)
            .options(selectinload(Person.places), selectinload(Person.support_plan))
            .order_by(Person.id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(Person.id > after)
        return self.session.scalars(statement).all()

    def delete(self, person: Person) -> None:
        self.session.delete(person)
        self.session.flush()


class PersonReadLogRepository(RepositoryBase[PersonReadLogEntry]):
    model = PersonReadLogEntry

    def record(
        self,
        person_ids: Iterable[uuid.UUID],
        *,
        organisation_id: uuid.UUID,
        api_key_id: uuid.UUID | None,
        purpose: str,
    ) -> None:
        rows = [
            {
                "person_id": person_id,
                "organisation_id": organisation_id,
                "api_key_id": api_key_id,
                "purpose": purpose,
            }
            for person_id in person_ids
        ]
        if rows:
            self.session.execute(insert(PersonReadLogEntry), rows)

    def for_person(self, person_id: uuid.UUID) -> Sequence[PersonReadLogEntry]:
        return self.session.scalars(
            select(PersonReadLogEntry)
            .where(PersonReadLogEntry.person_id == person_id)
            .order_by(PersonReadLogEntry.id)
        ).all()


class MatchQueryRepository(RepositoryBase[MatchQuery]):
    model = MatchQuery

    def record(self, rows: Sequence[dict[str, Any]]) -> None:
        # A bulk INSERT, not ORM objects: the log is never read back in the request, and a
        # flush per match cost more than the insert itself; an allocation's rows go in one.
        if rows:
            self.session.execute(insert(MatchQuery), list(rows))


# --- the match -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorCriterion:
    ewkt: str  # SRID=4326;POINT(lon lat)
    max_distance_m: float
    required: bool


@dataclass(frozen=True)
class ZoneCriterion:
    ewkt: str
    radius_m: float | None  # a point's radius; None for a polygon


@dataclass(frozen=True)
class MatchCriteria:
    """One person's needs as SQL parameters; built by the service from the profile."""

    home_municipality_code: str
    household_size: int
    categories: tuple[str, ...]
    rent_ceiling_yen: int
    move_in_date: date | None = None
    min_area_m2: Decimal | None = None
    wheelchair: bool = False
    no_stairs: bool = False
    max_floor: int | None = None
    required_facilities: tuple[str, ...] = ()
    has_pets: bool = False
    smokes: bool = False
    high_support_needs: bool = False
    preferred_municipality_codes: tuple[str, ...] = ()
    preferred_polygons: tuple[str, ...] = ()  # EWKT
    anchors: tuple[AnchorCriterion, ...] = ()
    exclusion_zones: tuple[ZoneCriterion, ...] = ()
    # Risk kinds the support plan covers at move-in: once per coverer, and the open-ended ones.
    plan_covered: tuple[str, ...] = ()
    plan_open_ended: tuple[str, ...] = ()
    weights: dict[Factor, float] = field(default_factory=dict)
    relax: HardConstraint | None = None
    # With relax=anchor_distance: scale every anchor's maximum distance rather than drop it.
    radius_factor: float | None = None
    vacancy_ttl_days: int = 30


@dataclass(frozen=True)
class ExclusionCounts:
    considered: int
    candidates: int  # passing every constraint, with the relaxation if any
    strict_candidates: int  # passing every constraint, without relaxation
    excluded: dict[HardConstraint, int]
    excluded_only: dict[HardConstraint, int]  # homes this constraint alone excluded


@dataclass(frozen=True)
class RankedRow:
    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    score: float
    values: dict[Factor, float]
    anchor_distances_m: tuple[float, ...]
    passes_strict: bool  # false: admitted only by the relaxation
    monthly_cost_yen: int
    private_area_m2: Decimal


def _geography(parameter: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.ST_GeogFromText(parameter)


def _within(geography: ColumnElement[Any], radius_m: ColumnElement[float]) -> ColumnElement[bool]:
    # On the sphere: three times faster than the spheroid and at most 0.5 % off, and the same
    # measure as the distances the explanation shows. Still served by the GiST index.
    return func.ST_DWithin(Listing.location, geography, radius_m, False)


def _distance(geography: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(func.ST_Distance(Listing.location, geography, False), Float)


def _float(value: float) -> ColumnElement[float]:
    return bindparam(None, float(value), type_=Float)


CATEGORY_ARRAY = ARRAY(String(48))
MUNICIPALITY_ARRAY = ARRAY(String(6))


def match_parameters(criteria: MatchCriteria) -> dict[str, Any]:
    """Every value of the person's that the match SQL uses, by bind parameter name.

    Whatever is not here (how many anchors, zones and polygons, which anchors are required,
    which factors are weighted, the relaxation) is the statement's shape (``match_shape``):
    two criteria of one shape differ in these values only, so one rendering serves both.
    """
    c = criteria
    factor = c.radius_factor or 1.0
    params: dict[str, Any] = {
        "categories": list(c.categories),
        "rent_ceiling": c.rent_ceiling_yen,
        "municipalities": sorted({c.home_municipality_code, *c.preferred_municipality_codes}),
        "plan_covered": list(c.plan_covered),
        "plan_open_ended": list(c.plan_open_ended),
        "rent_scale": float(max(c.rent_ceiling_yen, 1)),
        "area_target": float(
            max(FLOOR_AREA_TARGET_M2, FLOOR_AREA_MIN_FACTOR * float(c.min_area_m2 or 0))
        ),
        "ttl_seconds": float(c.vacancy_ttl_days * 86_400),
    }
    params |= {
        "move_in": c.move_in_date,
        "min_area": c.min_area_m2,
        "max_floor": c.max_floor,
        "wheelchair": c.wheelchair,
        "no_stairs": c.no_stairs,
        "has_pets": c.has_pets,
        "smokes": c.smokes,
        "household": c.household_size > 1,
        "high_support_needs": c.high_support_needs,
    }
    for facility in Facility:
        params[f"needs_{facility.value}"] = facility.value in c.required_facilities
    for index, anchor in enumerate(c.anchors):
        params[f"anchor_{index}"] = anchor.ewkt
        params[f"anchor_{index}_m"] = float(anchor.max_distance_m)
        params[f"anchor_{index}_relaxed_m"] = float(anchor.max_distance_m * factor)
    for index, zone in enumerate(c.exclusion_zones):
        params[f"zone_{index}"] = zone.ewkt
        if zone.radius_m is not None:
            params[f"zone_{index}_m"] = float(zone.radius_m)
    for index, polygon in enumerate(c.preferred_polygons):
        params[f"polygon_{index}"] = polygon
    for factor_name, weight in c.weights.items():
        if weight:
            params[f"w_{factor_name.value}"] = float(weight)
    return params


def match_shape(criteria: MatchCriteria) -> tuple[Any, ...]:
    """What decides the text of the match SQL; everything else is in ``match_parameters``."""
    c = criteria
    return (
        tuple(anchor.required for anchor in c.anchors),
        tuple(zone.radius_m is None for zone in c.exclusion_zones),
        len(c.preferred_polygons),
        tuple(factor for factor in Factor if c.weights.get(factor, 0.0)),
        c.relax,
        bool(c.radius_factor),
    )


def _clamp01(expression: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(func.greatest(0.0, func.least(1.0, expression)), Float)


class MatchSql:
    """The SQL expressions of one person's match, over ``match_listings``."""

    def __init__(self, criteria: MatchCriteria) -> None:
        self.c = criteria
        self.params = match_parameters(criteria)

    def _p(self, name: str, type_: Any) -> ColumnElement[Any]:
        """The person's value as a named parameter: the SQL text stays the same per shape."""
        return bindparam(name, self.params[name], type_=type_)

    def _array(self, name: str, type_: ARRAY[Any]) -> ColumnElement[Any]:
        """Cast like the listing's columns, so no row needs a cast."""
        return cast(self._p(name, type_), type_)

    def _unless(self, flag: str, check: ColumnElement[bool]) -> ColumnElement[bool]:
        """The check where the person's flag asks for it, true where it does not."""
        return or_(not_(self._p(flag, Boolean)), check)

    def _anchor(self, index: int) -> ColumnElement[Any]:
        return _geography(self._p(f"anchor_{index}", Text))

    # --- where ---------------------------------------------------------------------------

    def anchor_radius(self, index: int, *, relaxed: bool) -> ColumnElement[float]:
        suffix = "relaxed_m" if relaxed else "m"
        return self._p(f"anchor_{index}_{suffix}", Float)

    def in_municipalities(self) -> ColumnElement[bool]:
        return Listing.municipality_code == any_(self._array("municipalities", MUNICIPALITY_ARRAY))

    def search_area(self, *, relaxed: bool) -> ColumnElement[bool]:
        """The homes considered at all: the home and preferred municipalities, the preferred
        polygons, and anything within reach of an anchor. Each part is indexed, so the planner
        combines them with a BitmapOr."""
        parts: list[ColumnElement[bool]] = [self.in_municipalities()]
        parts.extend(
            _within(self._anchor(index), self.anchor_radius(index, relaxed=relaxed))
            for index in range(len(self.c.anchors))
        )
        parts.extend(self.in_polygons())
        return or_(*parts)

    def universe(self, *, relaxed: bool) -> list[ColumnElement[bool]]:
        # Listings are open vacancies on registered dwellings; only the expiry is left to check.
        return [Listing.expires_at > func.now(), self.search_area(relaxed=relaxed)]

    def checks(self, *, relaxed: bool = False) -> dict[HardConstraint, ColumnElement[bool]]:
        """Each hard constraint that applies to the person, as a boolean over a listing.

        A spatial constraint the person makes moot (no anchors, no zones) is left out: it
        excludes nothing, and a PostGIS call costs time on every home considered. The cheap ones
        are switched by a parameter instead (true when moot), so persons differing only in
        their needs share one SQL text (``match_shape``) and one rendering. Bare expressions
        (no coalesce), so ST_DWithin stays indexable in a WHERE clause.
        """
        c = self.c
        checks: dict[HardConstraint, ColumnElement[bool]] = {}
        move_in = self._p("move_in", Date)
        checks[HardConstraint.AVAILABLE_BY_MOVE_IN] = or_(
            cast(move_in, Date).is_(None), Listing.available_from <= move_in
        )
        categories = self._array("categories", CATEGORY_ARRAY)
        # Every category the person has must be accepted; a 専用住宅 must target one of them.
        checks[HardConstraint.CATEGORIES] = and_(
            or_(Listing.accepts_all_categories, Listing.accepted_categories.contains(categories)),
            or_(
                Listing.registration_class != "exclusive",
                Listing.exclusive_target_categories.overlap(categories),
            ),
        )
        checks[HardConstraint.RENT_CEILING] = Listing.monthly_cost_yen <= self._p(
            "rent_ceiling", Integer
        )
        min_area = self._p("min_area", Numeric)
        checks[HardConstraint.MIN_AREA] = or_(
            cast(min_area, Numeric).is_(None), Listing.private_area_m2 >= min_area
        )
        max_floor = self._p("max_floor", Integer)
        checks[HardConstraint.ACCESSIBILITY] = and_(
            self._unless("wheelchair", Listing.wheelchair_accessible.is_(True)),
            self._unless(
                "no_stairs",
                and_(Listing.step_free_entrance, or_(Listing.floor <= 1, Listing.has_elevator)),
            ),
            or_(cast(max_floor, Integer).is_(None), Listing.floor <= max_floor),
        )
        checks[HardConstraint.FACILITIES] = and_(
            *(
                self._unless(
                    f"needs_{facility.value}", getattr(Listing, facility.value) == "in_unit"
                )
                for facility in Facility
            )
        )
        checks[HardConstraint.PETS] = self._unless("has_pets", Listing.pets_allowed.is_(True))
        checks[HardConstraint.SMOKING] = self._unless("smokes", Listing.smoking_allowed.is_(True))
        if c.exclusion_zones:
            checks[HardConstraint.EXCLUSION_ZONE] = and_(
                *(
                    not_(
                        func.ST_Intersects(
                            Listing.location, _geography(self._p(f"zone_{index}", Text))
                        )
                    )
                    if zone.radius_m is None
                    else not_(
                        _within(
                            _geography(self._p(f"zone_{index}", Text)),
                            self._p(f"zone_{index}_m", Float),
                        )
                    )
                    for index, zone in enumerate(c.exclusion_zones)
                )
            )
        required = [index for index, anchor in enumerate(c.anchors) if anchor.required]
        if required:
            checks[HardConstraint.ANCHOR_DISTANCE] = and_(
                *(
                    _within(self._anchor(index), self.anchor_radius(index, relaxed=relaxed))
                    for index in required
                )
            )
        checks[HardConstraint.SHARED_HOUSE] = self._unless(
            "household", Listing.kind != "shared_house"
        )
        # Covered by the support plan, or by the home itself (posting corporation, 居住サポート).
        checks[HardConstraint.RISK_COVERAGE] = and_(
            Listing.required_risks.contained_by(
                self._array("plan_covered", RISK_ARRAY).op("||", return_type=RISK_ARRAY)(
                    Listing.covered_risks
                )
            ),
            # Most homes require no whole-tenancy cover: OR evaluates left to right, so they
            # skip the array concatenation, the costliest part of this check on every home.
            or_(
                func.cardinality(Listing.required_whole_tenancy_risks) == 0,
                Listing.required_whole_tenancy_risks.contained_by(
                    self._array("plan_open_ended", RISK_ARRAY).op("||", return_type=RISK_ARRAY)(
                        Listing.covered_whole_tenancy_risks
                    )
                ),
            ),
        )
        return checks

    def loosened(self) -> ColumnElement[bool] | None:
        """The relaxed version of the relaxed constraint: None when it is simply dropped."""
        if self.c.relax is HardConstraint.ANCHOR_DISTANCE and self.c.radius_factor:
            # A person without required anchors has no distance to loosen: nothing is added.
            return self.checks(relaxed=True).get(HardConstraint.ANCHOR_DISTANCE)
        return None

    def admitted(self) -> ColumnElement[bool]:
        """Passing every check, except that the relaxed one is dropped or loosened."""
        parts = [check for name, check in self.checks().items() if name is not self.c.relax]
        loosened = self.loosened()
        if loosened is not None:
            parts.append(loosened)
        return and_(*parts)

    # --- factors -------------------------------------------------------------------------

    def anchor_distances(self) -> list[ColumnElement[float]]:
        return [_distance(self._anchor(index)) for index in range(len(self.c.anchors))]

    def in_polygons(self) -> list[ColumnElement[bool]]:
        return [
            func.ST_Intersects(Listing.location, _geography(self._p(f"polygon_{index}", Text)))
            for index in range(len(self.c.preferred_polygons))
        ]

    def factor_values(self) -> dict[Factor, ColumnElement[float]]:
        c = self.c
        values: dict[Factor, ColumnElement[float]] = {}
        if c.anchors:
            closeness = [
                _clamp01(1.0 - distance / self.anchor_radius(index, relaxed=False))
                for index, distance in enumerate(self.anchor_distances())
            ]
            total: ColumnElement[Any] = closeness[0]
            for part in closeness[1:]:
                total = total + part
            values[Factor.ANCHOR_DISTANCE] = cast(total / float(len(closeness)), Float)
        else:
            values[Factor.ANCHOR_DISTANCE] = _float(0.0)
        ceiling = self._p("rent_scale", Float)
        values[Factor.RENT_HEADROOM] = _clamp01(
            (ceiling - cast(Listing.monthly_cost_yen, Float)) / ceiling
        )
        values[Factor.FLOOR_AREA] = _clamp01(
            cast(Listing.private_area_m2, Float) / self._p("area_target", Float)
        )
        values[Factor.ACCESSIBILITY] = cast(
            (
                cast(Listing.step_free_entrance, Integer)
                + cast(or_(Listing.floor <= 1, Listing.has_elevator), Integer)
                + cast(Listing.wheelchair_accessible, Integer)
            )
            / 3.0,
            Float,
        )
        values[Factor.COVERAGE_STRENGTH] = self.coverage_strength()
        age_seconds = extract("epoch", func.now() - Listing.refreshed_at)
        values[Factor.FRESHNESS] = _clamp01(
            1.0 - cast(age_seconds, Float) / self._p("ttl_seconds", Float)
        )
        exclusive_for_person = and_(
            Listing.registration_class == "exclusive",
            Listing.exclusive_target_categories.overlap(self._array("categories", CATEGORY_ARRAY)),
        )
        high_support = self._p("high_support_needs", Boolean)
        class_fit = case(
            (and_(high_support, Listing.residential_support), CLASS_FIT_SUPPORT_HIGH_NEEDS),
            (and_(high_support, exclusive_for_person), CLASS_FIT_EXCLUSIVE_HIGH_NEEDS),
            (exclusive_for_person, CLASS_FIT_EXCLUSIVE),
            else_=0.0,
        )
        values[Factor.CLASS_FIT] = cast(class_fit, Float)
        preferred = [self.in_municipalities(), *self.in_polygons()]
        values[Factor.PREFERRED_AREA] = cast(case((or_(*preferred), 1.0), else_=0.0), Float)
        return values

    def coverage_strength(self) -> ColumnElement[float]:
        required = (
            func.unnest(Listing.required_risks).table_valued("risk").render_derived(name="required")
        )
        risk = required.c.risk
        coverers = func.cardinality(
            func.array_positions(self._array("plan_covered", RISK_ARRAY), risk)
        ) + func.cardinality(func.array_positions(Listing.covered_risks, risk))
        open_ended = or_(
            risk == any_(self._array("plan_open_ended", RISK_ARRAY)),
            risk == any_(Listing.covered_whole_tenancy_risks),
        )
        per_risk = func.least(
            1.0,
            COVERAGE_PER_COVERER * coverers + COVERAGE_OPEN_ENDED * cast(open_ended, Integer),
        )
        return cast(
            select(func.coalesce(func.avg(per_risk), 1.0)).select_from(required).scalar_subquery(),
            Float,
        )

    def score(self, values: dict[Factor, ColumnElement[float]]) -> ColumnElement[float]:
        total: ColumnElement[Any] = literal(0.0, Float)
        for factor, value in values.items():
            if self.c.weights.get(factor, 0.0):
                total = total + self._p(f"w_{factor.value}", Float) * value
        return cast(total, Float)


@dataclass(frozen=True)
class MatchOutcome:
    counts: ExclusionCounts
    rows: list[RankedRow]


@dataclass(frozen=True)
class RenderedMatch:
    """The match SQL of one shape, as the driver receives it."""

    sql: str
    # Parameters that are not the person's (literals of the statement itself): the same for
    # every person of the shape.
    constants: dict[str, Any]


# Building and compiling the statement costs several times what the database spends on most
# matches; the text depends only on the shape, of which a deployment sees a few hundred.
RENDERED_SHAPES_MAX = 1_024
_rendered: dict[tuple[Any, ...], RenderedMatch] = {}
# Requests run in a thread pool: eviction iterates the dict while another thread may insert.
_rendered_lock = threading.Lock()


class MatchRepository(RepositoryBase[MatchListing]):
    """The match over ``match_listings``: the registry itself is never scanned."""

    model = MatchListing

    def _planner_settings(self) -> None:
        """For this transaction only, in one round trip.

        PostGIS functions are costed so high that the planner would JIT-compile these short
        queries (seconds) and start parallel workers for a few hundred rows; and once the
        driver prepares the statement, a generic plan would stop folding the person's
        geography parameters into constants.
        """
        self.session.execute(
            text(
                "SELECT set_config('jit', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true), "
                "set_config('plan_cache_mode', 'force_custom_plan', true)"
            )
        )

    def match(self, criteria: MatchCriteria, *, limit: int) -> MatchOutcome:
        self._planner_settings()
        found = (
            self.session.connection().exec_driver_sql(*self.rendered(criteria, limit=limit)).all()
        )
        # The counts come on every row; with no candidate, on one row of NULL candidate columns.
        counts = found[0]._mapping
        rows: list[RankedRow] = []
        for row in found:
            mapping = row._mapping
            if mapping["vacancy_id"] is None:
                continue
            rows.append(
                RankedRow(
                    vacancy_id=mapping["vacancy_id"],
                    dwelling_id=mapping["dwelling_id"],
                    score=float(mapping["score"]),
                    passes_strict=bool(mapping["passes_strict"]),
                    monthly_cost_yen=int(mapping["monthly_cost_yen"]),
                    private_area_m2=Decimal(mapping["private_area_m2"]),
                    values={factor: float(mapping[f"v_{factor.value}"]) for factor in Factor},
                    anchor_distances_m=tuple(
                        float(mapping[f"d_{index}"]) for index in range(len(criteria.anchors))
                    ),
                )
            )
        return MatchOutcome(
            counts=ExclusionCounts(
                considered=int(counts["considered"]),
                candidates=int(counts["candidates"]),
                strict_candidates=int(counts["strict_candidates"]),
                # A constraint left out of the SQL (moot for this person) excluded nothing.
                excluded={name: int(counts.get(f"x_{name.value}", 0)) for name in HardConstraint},
                excluded_only={
                    name: int(counts.get(f"o_{name.value}", 0)) for name in HardConstraint
                },
            ),
            rows=rows,
        )

    def rendered(self, criteria: MatchCriteria, *, limit: int) -> tuple[str, dict[str, Any]]:
        """The match SQL for the criteria's shape, rendered once, and this call's parameters."""
        params = match_parameters(criteria) | {"limit": limit}
        dialect = self.session.get_bind().dialect
        key = (dialect.name, dialect.paramstyle, match_shape(criteria))
        rendered = _rendered.get(key)
        if rendered is None:
            compiled = self.match_statement(criteria, limit=limit).compile(dialect=dialect)
            rendered = RenderedMatch(
                sql=compiled.string,
                constants={
                    name: value for name, value in compiled.params.items() if name not in params
                },
            )
            with _rendered_lock:
                if len(_rendered) >= RENDERED_SHAPES_MAX:
                    del _rendered[next(iter(_rendered))]
                _rendered[key] = rendered
        return rendered.sql, rendered.constants | params

    def match_statement(self, criteria: MatchCriteria, *, limit: int) -> Select[*tuple[Any, ...]]:
        """One statement, one pass over the considered homes.

        ``evaluated`` (MATERIALIZED, so each check runs once per home) holds a boolean per
        hard constraint; ``counts`` aggregates them with FILTER; ``ranked`` scores only the
        admitted homes, best first, then by vacancy id; the result is ranked LEFT JOIN counts.
        """
        sql = MatchSql(criteria)
        checks = {name: func.coalesce(check, false()) for name, check in sql.checks().items()}
        loosened = sql.loosened()
        evaluated = (
            select(
                Listing.vacancy_id,
                *(check.label(f"ok_{name.value}") for name, check in checks.items()),
                func.coalesce(loosened if loosened is not None else true(), false()).label(
                    "ok_loosened"
                ),
            )
            .where(*sql.universe(relaxed=criteria.relax is not None))
            .cte("evaluated")
            .prefix_with("MATERIALIZED")
        )
        oks = {name: evaluated.c[f"ok_{name.value}"] for name in checks}
        # From the materialized booleans, not the checks: summing the checks themselves in the
        # CTE would run every PostGIS call twice.
        failures: ColumnElement[Any] = literal(0)
        for ok in oks.values():
            failures = failures + cast(not_(ok), Integer)
        strict = and_(*oks.values())
        admitted = and_(true(), *(ok for name, ok in oks.items() if name is not criteria.relax))
        if loosened is not None:
            admitted = and_(admitted, evaluated.c.ok_loosened)
        count_columns: list[ColumnElement[Any]] = [
            func.count().label("considered"),
            func.count().filter(admitted).label("candidates"),
            func.count().filter(strict).label("strict_candidates"),
        ]
        for name, ok in oks.items():
            count_columns.append(func.count().filter(not_(ok)).label(f"x_{name.value}"))
            count_columns.append(
                func.count().filter(and_(not_(ok), failures == 1)).label(f"o_{name.value}")
            )
        counts = select(*count_columns).select_from(evaluated).cte("counts")
        values = sql.factor_values()
        score = sql.score(values).label("score")
        ranked = (
            select(
                Listing.vacancy_id,
                Listing.dwelling_id,
                score,
                strict.label("passes_strict"),
                Listing.monthly_cost_yen,
                Listing.private_area_m2,
                *(value.label(f"v_{factor.value}") for factor, value in values.items()),
                *(
                    distance.label(f"d_{index}")
                    for index, distance in enumerate(sql.anchor_distances())
                ),
            )
            .select_from(evaluated.join(Listing, Listing.vacancy_id == evaluated.c.vacancy_id))
            .where(admitted)
            .order_by(score.desc(), Listing.vacancy_id)
            .limit(bindparam("limit", limit, type_=Integer))
            .cte("ranked")
        )
        return (
            select(counts, ranked)
            .select_from(counts.outerjoin(ranked, true()))
            .order_by(ranked.c.score.desc(), ranked.c.vacancy_id)
        )

    def vacancies_with_dwellings(
        self, vacancy_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[Vacancy, Dwelling]]:
        if not vacancy_ids:
            return {}
        found = self.session.execute(
            select(Vacancy, Dwelling)
            .join(Dwelling, Dwelling.id == Vacancy.dwelling_id)
            .where(Vacancy.id.in_(vacancy_ids))
        ).all()
        return {row[0].id: (row[0], row[1]) for row in found}

    def organisation_names(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        found = self.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
        ).all()
        return {row[0]: row[1] for row in found}
