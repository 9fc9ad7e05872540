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

import contextlib
import threading
import typing
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

import psycopg
from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    ColumnClause,
    ColumnElement,
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    SQLColumnExpression,
    String,
    Text,
    Uuid,
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
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.sql import visitors

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
from housing_match.matching.schemas import CandidateVacancy
from housing_match.matching.vocabulary import Facility
from housing_match.models import (
    Dwelling,
    MatchListing,
    MatchQuery,
    Organisation,
    OrganisationKind,
    Person,
    PersonReadLogEntry,
    User,
    Vacancy,
)
from housing_match.registry.accessibility import ground_floor_or_lift_sql, step_free_route_sql
from housing_match.registry.mapping import dwelling_read_from_columns
from housing_match.registry.schemas import DwellingRead
from housing_match.repository import RepositoryBase
from housing_match.schemas_common import GeoPoint
from housing_match.vacancies.repository import effective_status
from housing_match.vocabulary import category_bits, risk_bits

RISK_ARRAY = ARRAY(String(32))
Listing = MatchListing


# One round trip: a person has a handful of places and plan entries, so the joined rows are
# few, where selectin loading would cost a query per collection. Built once: SQLAlchemy keeps
# a statement's cache key with it, and working out the key of a fresh one with its loader
# options cost a third of reading the person (0.6 of 1.8 ms, every match).
_PERSON_WITH_DETAILS = (
    select(Person)
    .where(Person.id == bindparam("person_id", type_=Uuid()))
    .options(joinedload(Person.places), joinedload(Person.support_plan))
)


class PersonRepository(RepositoryBase[Person]):
    model = Person

    def get_with_details(self, person_id: uuid.UUID) -> Person | None:
        found = self.session.scalars(_PERSON_WITH_DETAILS, {"person_id": person_id})
        return found.unique().first()

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
        user_id: uuid.UUID | None = None,
        refused: bool = False,
    ) -> None:
        rows = [
            {
                "person_id": person_id,
                "organisation_id": organisation_id,
                "api_key_id": api_key_id,
                "user_id": user_id,
                "purpose": purpose,
                "refused": refused,
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

    def page_for_person(
        self,
        person_id: uuid.UUID,
        *,
        after: tuple[datetime, int] | None,
        limit: int,
        refused: bool | None = None,
    ) -> Sequence[tuple[PersonReadLogEntry, Organisation, User | None]]:
        """Newest first, each with the reading organisation and the user signed in, if any;
        ``after`` is the (read_at, id) of the previous page's last entry (the person's index
        on read_at serves it)."""
        statement = (
            select(PersonReadLogEntry, Organisation, User)
            .join(Organisation, Organisation.id == PersonReadLogEntry.organisation_id)
            .outerjoin(User, User.id == PersonReadLogEntry.user_id)
            .where(PersonReadLogEntry.person_id == person_id)
        )
        if refused is not None:
            statement = statement.where(PersonReadLogEntry.refused.is_(refused))
        if after is not None:
            statement = statement.where(
                tuple_(PersonReadLogEntry.read_at, PersonReadLogEntry.id)
                < tuple_(after[0], after[1])
            )
        statement = statement.order_by(
            PersonReadLogEntry.read_at.desc(), PersonReadLogEntry.id.desc()
        ).limit(limit)
        return [(row[0], row[1], row[2]) for row in self.session.execute(statement).all()]


@dataclass(frozen=True)
class MatchLog:
    """What a match writes as it runs: the read of the person's data (``person_reads``) and
    the aggregate query log (``match_queries``: counts only, no person) that the municipal
    audit reads for unmet demand. Written by the match statement itself, from its own counts,
    so a match costs no further round trip."""

    person_id: uuid.UUID
    center_id: uuid.UUID
    api_key_id: uuid.UUID | None
    purpose: str
    municipality_code: str  # the person's 帰住予定地
    relaxed: bool
    user_id: uuid.UUID | None = None  # the person signed in, when one is

    def parameters(self) -> dict[str, Any]:
        return {
            "log_person": self.person_id,
            "log_center": self.center_id,
            "log_api_key": self.api_key_id,
            "log_user": self.user_id,
            "log_purpose": self.purpose,
            "log_municipality": self.municipality_code,
            "log_relaxed": self.relaxed,
        }


def _driver(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's, in its transaction."""
    return typing.cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)


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
    label: str = ""  # staff's words, for the explanation of a home (never in the SQL)


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
    # With relax=anchor_distance, loosen every required anchor's maximum distance rather than
    # drop it: multiplied by radius_factor, or raised to radius_m (never lowered).
    radius_factor: float | None = None
    radius_m: float | None = None
    # With relax=rent_ceiling: allow up to this many yen over the ceiling rather than drop it.
    rent_tolerance_yen: int | None = None
    vacancy_ttl_days: int = 30

    @property
    def loosens(self) -> bool:
        """The relaxed constraint is loosened (by the amounts above) rather than dropped."""
        if self.relax is HardConstraint.ANCHOR_DISTANCE:
            return bool(self.radius_factor or self.radius_m)
        if self.relax is HardConstraint.RENT_CEILING:
            return bool(self.rent_tolerance_yen)
        return False

    def relaxed_distance_m(self, max_distance_m: float) -> float:
        """An anchor's maximum distance under the relaxation (its own when not loosened)."""
        if self.relax is not HardConstraint.ANCHOR_DISTANCE:
            return max_distance_m
        if self.radius_m:
            return max(max_distance_m, self.radius_m)
        return max_distance_m * (self.radius_factor or 1.0)

    @property
    def relaxed_rent_ceiling_yen(self) -> int:
        if self.relax is not HardConstraint.RENT_CEILING:
            return self.rent_ceiling_yen
        return self.rent_ceiling_yen + (self.rent_tolerance_yen or 0)


@dataclass(frozen=True)
class ExclusionCounts:
    """The counts of one match, as it ran: with a relaxation, the relaxed constraint counts
    what it still excluded (nothing when dropped), so that every excluded home is one the
    response accounts for: considered = candidates + excluded_homes, and excluded_homes =
    the sum of ``excluded_only`` + ``excluded_by_several``."""

    considered: int
    candidates: int  # passing every constraint, with the relaxation if any
    strict_candidates: int  # passing every constraint, without relaxation
    excluded: dict[HardConstraint, int]  # homes failing this constraint (as run)
    excluded_only: dict[HardConstraint, int]  # homes this constraint alone excluded (as run)
    excluded_by_several: int = 0  # homes failing more than one constraint (as run)
    # The relaxed constraint's count without the relaxation (None: nothing relaxed).
    excluded_before_relaxation: int | None = None

    @property
    def excluded_homes(self) -> int:
        return self.considered - self.candidates


class Depth(Enum):
    """How much of each ranked home a match reads."""

    RANKED = "ranked"  # every column of a RankedRow: enough to rank, assign and explain
    EXPLAINED = "explained"  # and the home's details, for its explanation


@dataclass(frozen=True, slots=True)
class HomeDetails:
    """A listed home as its explanation shows it: the vacancy, the risks its posting
    corporation covers, the dwelling, and who provides its 居住サポート (None when it is not
    certified or names no provider organisation)."""

    vacancy: CandidateVacancy
    covered_risks: list[str]
    covered_whole_tenancy_risks: list[str]
    dwelling: DwellingRead
    provider_name: str | None


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
    home: HomeDetails | None = None  # when the match was asked for details


def _geography(parameter: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.ST_GeogFromText(parameter)


def _within(geography: ColumnElement[Any], radius_m: ColumnElement[float]) -> ColumnElement[bool]:
    # On the sphere: three times faster than the spheroid and at most 0.5 % off, and the same
    # measure as the distances the explanation shows. Still served by the GiST index.
    return func.ST_DWithin(Listing.location, geography, radius_m, False)


def _distance(geography: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(func.ST_Distance(Listing.location, geography, False), Float)


def _bit_and(left: SQLColumnExpression[int], right: SQLColumnExpression[int]) -> ColumnElement[int]:
    return left.op("&", return_type=Integer)(right)


def _bit_or(left: SQLColumnExpression[int], right: SQLColumnExpression[int]) -> ColumnElement[int]:
    return left.op("|", return_type=Integer)(right)


def _listing_columns(expression: ColumnElement[Any]) -> set[str]:
    """The ``match_listings`` columns an expression reads."""
    table = MatchListing.__table__
    return {
        element.key
        for element in visitors.iterate(expression)
        if isinstance(element, ColumnClause) and element.table is table
    }


def _float(value: float) -> ColumnElement[float]:
    return bindparam(None, float(value), type_=Float)


MUNICIPALITY_ARRAY = ARRAY(String(6))


def match_parameters(criteria: MatchCriteria) -> dict[str, Any]:
    """Every value of the person's that the match SQL uses, by bind parameter name.

    Whatever is not here (how many anchors, zones and polygons, which anchors are required,
    which factors are weighted, the relaxation) is the statement's shape (``match_shape``):
    two criteria of one shape differ in these values only, so one rendering serves both.
    """
    c = criteria
    params: dict[str, Any] = {
        "category_bits": category_bits(c.categories),
        "rent_ceiling": c.rent_ceiling_yen,
        "rent_ceiling_relaxed": c.relaxed_rent_ceiling_yen,
        "municipalities": sorted({c.home_municipality_code, *c.preferred_municipality_codes}),
        "plan_covered": list(c.plan_covered),
        "plan_open_ended": list(c.plan_open_ended),
        "plan_covered_bits": risk_bits(c.plan_covered),
        "plan_open_ended_bits": risk_bits(c.plan_open_ended),
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
        params[f"anchor_{index}_relaxed_m"] = float(c.relaxed_distance_m(anchor.max_distance_m))
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
        c.loosens,
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
        """Each hard constraint that applies to the person, as a boolean over a listing: the
        conjunction of its parts (``check_parts``)."""
        return {
            name: parts[0] if len(parts) == 1 else and_(*parts)
            for name, parts in (
                (name, list(parts.values()))
                for name, parts in self.check_parts(relaxed=relaxed).items()
            )
        }

    def check_parts(
        self, *, relaxed: bool = False
    ) -> dict[HardConstraint, dict[str, ColumnElement[bool]]]:
        """Each hard constraint that applies to the person, as named parts that must all hold.

        The match tests their conjunction (``checks``); the explanation of one home
        (``MatchRepository.explain``) tests each part, to say which of them a home fails.

        A spatial constraint the person makes moot (no anchors, no zones) is left out: it
        excludes nothing, and a PostGIS call costs time on every home considered. The cheap ones
        are switched by a parameter instead (true when moot), so persons differing only in
        their needs share one SQL text (``match_shape``) and one rendering. Bare expressions
        (no coalesce), so ST_DWithin stays indexable in a WHERE clause. With ``relaxed``, the
        anchors' distances and the rent ceiling are the relaxation's (``loosened``).
        """
        c = self.c
        parts: dict[HardConstraint, dict[str, ColumnElement[bool]]] = {}
        move_in = self._p("move_in", Date)
        parts[HardConstraint.AVAILABLE_BY_MOVE_IN] = {
            "available_from": or_(cast(move_in, Date).is_(None), Listing.available_from <= move_in)
        }
        categories = self._p("category_bits", Integer)
        # Every category the person has must be accepted; a 専用住宅 must target one of them.
        parts[HardConstraint.CATEGORIES] = {
            "accepted": or_(
                Listing.accepts_all_categories,
                _bit_and(Listing.accepted_category_bits, categories) == categories,
            ),
            "exclusive_target": or_(
                Listing.registration_class != "exclusive", self.targets_person()
            ),
        }
        ceiling = "rent_ceiling_relaxed" if relaxed else "rent_ceiling"
        parts[HardConstraint.RENT_CEILING] = {
            "monthly_cost": Listing.monthly_cost_yen <= self._p(ceiling, Integer)
        }
        min_area = self._p("min_area", Numeric)
        parts[HardConstraint.MIN_AREA] = {
            "private_area": or_(
                cast(min_area, Numeric).is_(None), Listing.private_area_m2 >= min_area
            )
        }
        max_floor = self._p("max_floor", Integer)
        # A wheelchair needs the step-free route as well as the dwelling's claim: the rule is
        # tested here, not trusted to the flag.
        route = step_free_route_sql(Listing.step_free_entrance, Listing.floor, Listing.has_elevator)
        parts[HardConstraint.ACCESSIBILITY] = {
            "wheelchair": self._unless(
                "wheelchair", and_(Listing.wheelchair_accessible.is_(True), route)
            ),
            "no_stairs": self._unless("no_stairs", route),
            "max_floor": or_(cast(max_floor, Integer).is_(None), Listing.floor <= max_floor),
        }
        parts[HardConstraint.FACILITIES] = {
            facility.value: self._unless(
                f"needs_{facility.value}", getattr(Listing, facility.value) == "in_unit"
            )
            for facility in Facility
        }
        parts[HardConstraint.PETS] = {
            "pets": self._unless("has_pets", Listing.pets_allowed.is_(True))
        }
        parts[HardConstraint.SMOKING] = {
            "smoking": self._unless("smokes", Listing.smoking_allowed.is_(True))
        }
        if c.exclusion_zones:
            # One index scan finds the few homes inside any zone; every other home is then a
            # hash probe away from passing, instead of a geodesic test per zone.
            parts[HardConstraint.EXCLUSION_ZONE] = {
                "zones": Listing.vacancy_id.not_in(self.zoned())
            }
        required = [index for index, anchor in enumerate(c.anchors) if anchor.required]
        if required:
            parts[HardConstraint.ANCHOR_DISTANCE] = {
                f"anchor_{index}": _within(
                    self._anchor(index), self.anchor_radius(index, relaxed=relaxed)
                )
                for index in required
            }
        parts[HardConstraint.SHARED_HOUSE] = {
            "household": self._unless("household", Listing.kind != "shared_house")
        }
        # Covered by the support plan, or by the home itself (posting corporation, 居住サポート),
        # and for the whole tenancy where the landlord asks: subsets, tested on bit sets.
        covered = _bit_or(self._p("plan_covered_bits", Integer), Listing.covered_risk_bits)
        open_ended = _bit_or(
            self._p("plan_open_ended_bits", Integer), Listing.covered_whole_tenancy_risk_bits
        )
        parts[HardConstraint.RISK_COVERAGE] = {
            "covered": _bit_and(Listing.required_risk_bits, covered) == Listing.required_risk_bits,
            "whole_tenancy": _bit_and(Listing.required_whole_tenancy_risk_bits, open_ended)
            == Listing.required_whole_tenancy_risk_bits,
        }
        return parts

    def inside_zone(self, index: int, location: Any = Listing.location) -> ColumnElement[bool]:
        """The home at ``location`` lies inside the person's ``index``-th exclusion zone."""
        zone = self.c.exclusion_zones[index]
        area = _geography(self._p(f"zone_{index}", Text))
        if zone.radius_m is None:
            return func.ST_Intersects(location, area)
        return func.ST_DWithin(location, area, self._p(f"zone_{index}_m", Float), False)

    def zone_distance(self, index: int) -> ColumnElement[float]:
        """To the centre of the person's ``index``-th exclusion zone (a point zone)."""
        return _distance(_geography(self._p(f"zone_{index}", Text)))

    def zoned(self) -> Select[uuid.UUID]:
        """The homes inside any of the person's exclusion zones."""
        zoned = aliased(MatchListing, name="zoned")
        inside = [
            self.inside_zone(index, zoned.location) for index in range(len(self.c.exclusion_zones))
        ]
        return select(zoned.vacancy_id).where(or_(*inside))

    def targets_person(self) -> ColumnElement[bool]:
        """A 専用住宅's target categories include one of the person's."""
        return (
            _bit_and(Listing.exclusive_target_category_bits, self._p("category_bits", Integer)) != 0
        )

    def loosened(self) -> ColumnElement[bool] | None:
        """The relaxed version of the relaxed constraint: None when it is simply dropped."""
        if self.c.relax is None or not self.c.loosens:
            return None
        # A person without required anchors has no distance to loosen: nothing is added.
        return self.checks(relaxed=True).get(self.c.relax)

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
                + cast(ground_floor_or_lift_sql(Listing.floor, Listing.has_elevator), Integer)
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
            Listing.registration_class == "exclusive", self.targets_person()
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


class MatchOutcome:
    """The counts of one match, and its ranked homes as read: each becomes a ``RankedRow``
    only when asked for (an allocation reads a person's top n to choose one of them)."""

    __slots__ = ("_anchors", "_at", "_depth", "_found", "counts", "top_constraint")

    def __init__(
        self,
        counts: ExclusionCounts,
        found: list[tuple[Any, ...]],
        at: dict[str, int],
        *,
        anchors: int,
        depth: Depth,
        top_constraint: HardConstraint | None = None,
    ) -> None:
        self.counts = counts
        # The constraint excluding the most homes (ties: HardConstraint's order), as logged.
        self.top_constraint = top_constraint
        # With no candidate, the statement returns one row of NULL candidate columns.
        self._found = [row for row in found if row[at["vacancy_id"]] is not None]
        self._at = at
        self._anchors = anchors
        self._depth = depth

    def __len__(self) -> int:
        return len(self._found)

    @property
    def scores(self) -> list[tuple[uuid.UUID, float]]:
        """(vacancy id, score) of each ranked home, best first."""
        vacancy, score = self._at["vacancy_id"], self._at["score"]
        return [(row[vacancy], float(row[score])) for row in self._found]

    @property
    def rows(self) -> list[RankedRow]:
        return [self.row(position) for position in range(len(self._found))]

    def row(self, position: int) -> RankedRow:
        found, at = self._found[position], self._at
        return RankedRow(
            vacancy_id=found[at["vacancy_id"]],
            dwelling_id=found[at["dwelling_id"]],
            score=float(found[at["score"]]),
            passes_strict=bool(found[at["passes_strict"]]),
            monthly_cost_yen=int(found[at["monthly_cost_yen"]]),
            private_area_m2=Decimal(found[at["private_area_m2"]]),
            values={factor: float(found[at[f"v_{factor.value}"]]) for factor in Factor},
            anchor_distances_m=tuple(
                float(found[at[f"d_{index}"]]) for index in range(self._anchors)
            ),
            home=_home(_Positional(found, at)) if self._depth is Depth.EXPLAINED else None,
        )


# Iterating an enum costs a generator per call; the counts of every match iterate these.
ALL_CONSTRAINTS = tuple(HardConstraint)


@dataclass(frozen=True)
class FailureBits:
    """Which bit of a home's ``failed`` set stands for which hard constraint of one match.

    A match computes, per home considered, one integer with a bit set for each constraint the
    home fails (and one for failing a loosened constraint); the database returns how many
    homes share each such set, and every count of the result follows from those few pairs.
    """

    constraints: dict[HardConstraint, int]
    loosened: int | None
    relaxed: HardConstraint | None

    @classmethod
    def of(
        cls, checks: Iterable[HardConstraint], *, loosened: bool, relaxed: HardConstraint | None
    ) -> FailureBits:
        constraints = {name: 1 << index for index, name in enumerate(checks)}
        return cls(constraints, 1 << len(constraints) if loosened else None, relaxed)

    # The bit sets below are kept with the instance: a shape's bits serve every match of it
    # (``RenderedMatch``), and ``counts`` runs on each.

    @cached_property
    def strict(self) -> int:
        """Failing any of these, a home is not a candidate without relaxation."""
        return sum(self.constraints.values())

    @cached_property
    def admitting(self) -> int:
        """Failing any of these, a home is not a candidate even with the relaxation."""
        bits = sum(bit for name, bit in self.constraints.items() if name is not self.relaxed)
        return bits | (self.loosened or 0)

    @cached_property
    def as_run(self) -> dict[HardConstraint, int]:
        """The bit each constraint excludes by in the query as run: the relaxed constraint's
        is its loosened test, or none when it is dropped; a constraint left out of the SQL
        (moot for this person) has none either."""
        bits = {
            name: 0 if name is self.relaxed else self.constraints.get(name, 0)
            for name in ALL_CONSTRAINTS
        }
        if self.relaxed is not None and self.loosened is not None:
            bits[self.relaxed] = self.loosened
        return bits

    @cached_property
    def _positions(self) -> dict[int, int]:
        # Every bit of ``admitting`` is one constraint's as run, and only those are; counted
        # by position in ALL_CONSTRAINTS (an enum member's hash is a Python call).
        return {bit: ALL_CONSTRAINTS.index(name) for name, bit in self.as_run.items() if bit}

    def counts(self, histogram: Iterable[tuple[int, int]]) -> ExclusionCounts:
        """Every count of the result from (failure set, homes) pairs, in one pass over them:
        this runs on every match (a few dozen pairs)."""
        strict, admitting, positions = self.strict, self.admitting, self._positions
        relaxed_bit = 0 if self.relaxed is None else self.constraints.get(self.relaxed, 0)
        excluded = [0] * len(ALL_CONSTRAINTS)
        only = [0] * len(ALL_CONSTRAINTS)
        considered = candidates = strict_candidates = several = before = 0
        for failed, homes in histogram:
            considered += homes
            if not failed & strict:
                strict_candidates += homes
            if failed & relaxed_bit:
                before += homes
            masked = failed & admitting
            if not masked:
                candidates += homes
                continue
            single = positions.get(masked)
            if single is not None:
                only[single] += homes
            else:
                several += homes
            while masked:
                lowest = masked & -masked
                excluded[positions[lowest]] += homes
                masked ^= lowest
        return ExclusionCounts(
            considered=considered,
            candidates=candidates,
            strict_candidates=strict_candidates,
            excluded=dict(zip(ALL_CONSTRAINTS, excluded, strict=True)),
            excluded_only=dict(zip(ALL_CONSTRAINTS, only, strict=True)),
            excluded_by_several=several,
            excluded_before_relaxation=None if self.relaxed is None else before,
        )


@dataclass(frozen=True)
class RenderedMatch:
    """The match SQL of one shape, as the server receives it: with PostgreSQL's own ``$n``
    placeholders, so the driver sends it as it is (psycopg would otherwise rewrite the named
    placeholders of a statement this long on every call; it caches only short ones)."""

    sql: str
    names: tuple[str, ...]  # the parameter of each placeholder, $1 first
    # Parameters that are not the person's (literals of the statement itself): the same for
    # every person of the shape.
    constants: dict[str, Any]
    columns: dict[str, int]  # result column positions by name
    bits: FailureBits | None  # for a match statement


def failure_set(
    sql: MatchSql, checks: dict[HardConstraint, ColumnElement[bool]]
) -> tuple[ColumnElement[int], FailureBits]:
    """A listing's failures as one integer, a bit per constraint it fails (and one for
    failing the loosened test), and what each bit stands for."""
    loosened = sql.loosened()
    bits = FailureBits.of(checks, loosened=loosened is not None, relaxed=sql.c.relax)
    tests = [(checks[name], bit) for name, bit in bits.constraints.items()]
    if loosened is not None and bits.loosened is not None:
        tests.append((loosened, bits.loosened))
    # A NULL test is a failure, as a false one.
    failed: ColumnElement[int] = literal_column("0", Integer)
    for check, bit in tests:
        failed = failed + case((check, 0), else_=bit)
    return failed, bits


# Compiles for PostgreSQL with $n placeholders (and the psycopg dialect's casts).
MATCH_DIALECT = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


# Building and compiling the statement costs several times what the database spends on most
# matches; the text depends only on the shape, of which a deployment sees a few hundred.
RENDERED_SHAPES_MAX = 1_024
_rendered: dict[tuple[Any, ...], RenderedMatch] = {}
# Requests run in a thread pool: eviction iterates the dict while another thread may insert.
_rendered_lock = threading.Lock()

# What an explanation shows of a home, read in the same statement as the ranking: the
# candidate's vacancy fields (its corporation's name aside), and what the corporation covers.
_SHOWN_VACANCY_FIELDS = tuple(
    name for name in CandidateVacancy.model_fields if name != "corporation_name"
)
VACANCY_FIELDS = (*_SHOWN_VACANCY_FIELDS, "covered_risks", "covered_whole_tenancy_risks")
DWELLING_FIELDS = tuple(
    column.key for column in Dwelling.__table__.columns if column.key != "location"
)
# The two aliases of organisations a home's details join, and every expression made of them,
# built here at import. An alias resolves its attributes lazily, and two request threads doing
# that at once could leave some resolved to the bare table (a race in SQLAlchemy: 16 threads
# building these at once broke 5 processes in 30): from then on the process rendered
# "JOIN organisations AS corporation ON organisations.id = …" and every match with details
# failed. Threads only ever reuse these.
_corporation = aliased(Organisation, name="corporation")
_provider = aliased(Organisation, name="provider")
_CORPORATION_OF_VACANCY = _corporation.id == Vacancy.corporation_id
_PROVIDER_OF_DWELLING = _provider.id == Dwelling.support_provider_id


def _build_detail_columns() -> tuple[ColumnElement[Any], ...]:
    point = cast(Dwelling.location, Geometry)
    return (
        *(getattr(Vacancy, name).label(f"vacancy__{name}") for name in VACANCY_FIELDS),
        _corporation.name.label("corporation_name"),
        *(Dwelling.__table__.c[name].label(f"dwelling__{name}") for name in DWELLING_FIELDS),
        func.ST_Y(point, type_=Float).label("latitude"),
        func.ST_X(point, type_=Float).label("longitude"),
        _provider.name.label("provider_name"),
    )


_DETAIL_COLUMNS = _build_detail_columns()


def _detail_joins(
    vacancy_id: SQLColumnExpression[uuid.UUID],
) -> list[tuple[Any, ColumnElement[bool]]]:
    """(target, on) of the inner joins from a vacancy id to its details, in order."""
    return [
        (Vacancy, Vacancy.id == vacancy_id),
        (Dwelling, Dwelling.id == Vacancy.dwelling_id),
        (_corporation, _CORPORATION_OF_VACANCY),
    ]


def homes_statement(vacancy_ids: Sequence[uuid.UUID]) -> Select[*tuple[Any, ...]]:
    """The details a match at ``Depth.EXPLAINED`` reads, for the given vacancies."""
    statement: Select[*tuple[Any, ...]] = select(*_DETAIL_COLUMNS).select_from(Vacancy)
    for target, on in _detail_joins(Vacancy.id)[1:]:
        statement = statement.join(target, on)
    statement = statement.outerjoin(_provider, _PROVIDER_OF_DWELLING)
    return statement.where(Vacancy.id.in_(vacancy_ids))


class _Positional:
    """A result row read by column name through a shape's column positions."""

    __slots__ = ("at", "row")

    def __init__(self, row: Sequence[Any], at: dict[str, int]) -> None:
        self.row = row
        self.at = at

    def __getitem__(self, name: str) -> Any:
        return self.row[self.at[name]]


def _home(mapping: Any) -> HomeDetails:
    vacancy = CandidateVacancy.model_validate(
        {name: mapping[f"vacancy__{name}"] for name in _SHOWN_VACANCY_FIELDS}
        | {"corporation_name": mapping["corporation_name"]}
    )
    dwelling = dwelling_read_from_columns(
        {name: mapping[f"dwelling__{name}"] for name in DWELLING_FIELDS},
        location=GeoPoint(latitude=mapping["latitude"], longitude=mapping["longitude"]),
    )
    return HomeDetails(
        vacancy,
        mapping["vacancy__covered_risks"],
        mapping["vacancy__covered_whole_tenancy_risks"],
        dwelling,
        mapping["provider_name"],
    )


def _ranked(
    sql: MatchSql,
    checks: dict[HardConstraint, ColumnElement[bool]],
    where: ColumnElement[bool],
    *,
    limit: int,
) -> Any:
    """The top ``limit`` homes ``where`` selects, with every column of a RankedRow, scored,
    best first (then by vacancy id), as the CTE "ranked".

    Each factor is computed once, in a subquery the planner keeps whole (OFFSET 0), and the
    score is their weighted sum: written out in one expression, every factor would appear
    twice, as a column and inside the score, and the planner would work through both.
    """
    values = sql.factor_values()
    # Admitted by the relaxation alone, a home fails the relaxed constraint.
    relax = sql.c.relax
    relaxed_check = checks.get(relax) if relax is not None else None
    passes_strict = true() if relaxed_check is None else func.coalesce(relaxed_check, false())
    valued = (
        select(
            Listing.vacancy_id,
            Listing.dwelling_id,
            passes_strict.label("passes_strict"),
            Listing.monthly_cost_yen,
            Listing.private_area_m2,
            *(value.label(f"v_{factor.value}") for factor, value in values.items()),
            *(
                distance.label(f"d_{index}")
                for index, distance in enumerate(sql.anchor_distances())
            ),
        )
        .where(where)
        .offset(0)
        .subquery("valued")
    )
    score = sql.score({factor: valued.c[f"v_{factor.value}"] for factor in values}).label("score")
    return (
        select(*valued.c, score)
        .order_by(score.desc(), valued.c.vacancy_id)
        .limit(bindparam("limit", limit, type_=Integer))
        .cte("ranked")
    )


def _with_details(
    first: list[ColumnElement[Any]], ranked: Any, depth: Depth, *, outer: Any
) -> Select[*tuple[Any, ...]]:
    """``first`` and the ranked homes' columns, with their details at ``Depth.EXPLAINED``;
    LEFT JOINed to ``outer`` (one row) when given, so that no ranked home still makes a row."""
    homes: Any = ranked
    columns = [*first, *ranked.c]
    if depth is Depth.EXPLAINED:
        for target, on in _detail_joins(ranked.c.vacancy_id):
            homes = homes.join(target, on)
        homes = homes.outerjoin(_provider, _PROVIDER_OF_DWELLING)
        columns.extend(_DETAIL_COLUMNS)
    source = homes if outer is None else outer.outerjoin(homes, true())
    return select(*columns).select_from(source)


def _logs(by_set: Any, bits: FailureBits) -> tuple[Any, list[Any]]:
    """The query log's counts from the homes per failure set, and the two logging CTEs.

    ``tally`` is one row: the homes each constraint excluded without any relaxation (0 for
    one left out of the SQL), the candidates (with it), and the constraint excluding the most
    (ties: HardConstraint's order; none when nothing was excluded), which the caller reads
    back. The audit reads this shape (models/match_query.py) and leaves relaxed queries out;
    tests check it against ``FailureBits.counts`` of unrelaxed matches.
    """
    excluded: dict[HardConstraint, ColumnElement[int]] = {}
    for name in HardConstraint:
        bit = bits.constraints.get(name)
        if bit is None:
            excluded[name] = literal_column("0", Integer)
            continue
        homes = func.sum(by_set.c.homes).filter(
            _bit_and(by_set.c.failed, literal_column(str(bit), Integer)) != 0
        )
        excluded[name] = cast(func.coalesce(homes, 0), Integer)
    admitted = func.sum(by_set.c.homes).filter(
        _bit_and(by_set.c.failed, literal_column(str(bits.admitting), Integer)) == 0
    )
    counted = select(
        *(count.label(f"x_{name.value}") for name, count in excluded.items()),
        cast(func.coalesce(admitted, 0), Integer).label("candidates"),
    ).cte("counted")
    counts = {name: counted.c[f"x_{name.value}"] for name in HardConstraint}
    most = func.greatest(*counts.values())
    top = case(
        (most == 0, None),
        *((count == most, literal(name.value, Text)) for name, count in counts.items()),
        else_=None,
    )
    tally = select(
        counted.c.candidates,
        func.jsonb_build_object(
            *(part for name, count in counts.items() for part in (name.value, count))
        ).label("excluded_by"),
        top.label("top_constraint"),
    ).cte("tally")
    query_log = (
        insert(MatchQuery)
        .from_select(
            [
                "center_id",
                "municipality_code",
                "candidate_count",
                "excluded_by",
                "top_constraint",
                "relaxed",
            ],
            select(
                bindparam("log_center", type_=Uuid()),
                bindparam("log_municipality", type_=String()),
                tally.c.candidates,
                tally.c.excluded_by,
                tally.c.top_constraint,
                bindparam("log_relaxed", type_=Boolean()),
            ),
        )
        .cte("logged_query")
    )
    read_log = (
        insert(PersonReadLogEntry)
        .values(
            person_id=bindparam("log_person", type_=Uuid()),
            organisation_id=bindparam("log_center", type_=Uuid()),
            api_key_id=bindparam("log_api_key", type_=Uuid()),
            user_id=bindparam("log_user", type_=Uuid()),
            purpose=bindparam("log_purpose", type_=String()),
        )
        .cte("logged_read")
    )
    return tally, [query_log, read_log]


def floor_statement(criteria: MatchCriteria) -> Select[*tuple[Any, ...]]:
    """The least SQL any match of these criteria must run (``housing-match bench``'s floor):
    the same search area (municipality and GiST index scans), the same hard-constraint
    predicates and the anchor distances, built from the same ``MatchSql`` pieces as
    ``match_statement``, over the same ``match_listings``.

    Left out, because they are what the matcher adds on top: the per-constraint exclusion
    counts (every check evaluated on every considered home, not only until one fails), the
    factor values and weighted score, the ordering and limit, the top homes' vacancies and
    dwellings, and the read and query logs. Aggregated to one row, so that sending rows back
    is left out too.
    """
    sql = MatchSql(criteria)
    distances = sql.anchor_distances()
    return (
        select(func.count(), *(func.min(distance) for distance in distances))
        .select_from(MatchListing)
        .where(*sql.universe(relaxed=False), sql.admitted())
    )


def _untyped(value: Any) -> Any:
    """A match parameter as psycopg should send it: with the same type for every person of a
    shape, so that the shape is one prepared statement.

    psycopg sends an int as the smallest integer type that holds it and a None with no type,
    and keys its prepared statements by the types sent: the bench's 200 persons of 27 shapes
    made 98 prepared statements, and with the rest more than a connection keeps (100), so the
    server parsed and analysed kilobytes of SQL again for most matches. Sent as text of no
    declared type, such a value takes the type of the SQL's own cast (every integer, date and
    uuid parameter has one) or, for the minimum area, of the column it is compared with.
    Booleans, floats, text and lists of text are sent as one type whatever their value."""
    if value is None or isinstance(value, bool | float | str | list):
        return value
    return str(value)


class MatchRepository(RepositoryBase[MatchListing]):
    """The match over ``match_listings``: the registry itself is never scanned."""

    model = MatchListing

    def match(
        self,
        criteria: MatchCriteria,
        *,
        limit: int,
        depth: Depth = Depth.EXPLAINED,
        log: MatchLog | None = None,
    ) -> MatchOutcome:
        """The counts and the top ``limit`` candidates, read to ``depth``; with ``log``, the
        statement also writes the read and query logs."""
        logs = None if log is None else [log]
        return self.match_many([criteria], limit=limit, depth=depth, logs=logs)[0]

    def match_many(
        self,
        criteria: Sequence[MatchCriteria],
        *,
        limit: int,
        depth: Depth = Depth.EXPLAINED,
        logs: Sequence[MatchLog] | None = None,
    ) -> list[MatchOutcome]:
        """``match`` for several persons, their statements pipelined."""
        calls = [
            self.rendered(one, limit=limit, depth=depth, log=logs[index] if logs else None)
            for index, one in enumerate(criteria)
        ]
        found = self._run(calls)
        return [
            self._outcome(rendered, rows, one, depth=depth)
            for (rendered, _), rows, one in zip(calls, found, criteria, strict=True)
        ]

    def _run(self, calls: Sequence[tuple[RenderedMatch, dict[str, Any]]]) -> list[Any]:
        """Each rendered statement's rows. Several are pipelined: sent together and executed
        back to back while the rows already returned are read here, instead of one round trip
        and one idle database per statement. On the session's own connection and transaction,
        past SQLAlchemy's result layer: the columns are known per shape."""
        driver = _driver(self.session)
        with contextlib.ExitStack() as stack:
            if len(calls) > 1:
                stack.enter_context(driver.pipeline())
            cursors = []
            for rendered, params in calls:
                cursor = stack.enter_context(psycopg.RawCursor(driver))
                # Prepared at its first run on each connection: the server parses these
                # kilobytes of SQL once, where psycopg would wait for the fifth run.
                cursor.execute(
                    rendered.sql,
                    [_untyped(params[name]) for name in rendered.names],
                    prepare=True,
                )
                cursors.append(cursor)
            return [cursor.fetchall() for cursor in cursors]

    def floor(self, criteria: MatchCriteria) -> tuple[Any, ...]:
        """Runs ``floor_statement`` as a match runs its own statement (rendered once per shape,
        prepared on the connection, the same parameters): the homes admitted and the least
        distance to each anchor."""
        rendered, params = self._render(
            ("floor", match_shape(criteria)),
            lambda: (floor_statement(criteria), None),
            match_parameters(criteria),
        )
        found: tuple[Any, ...] = self._run([(rendered, params)])[0][0]
        return found

    @staticmethod
    def _outcome(
        rendered: RenderedMatch,
        found: list[tuple[Any, ...]],
        criteria: MatchCriteria,
        *,
        depth: Depth,
    ) -> MatchOutcome:
        at = rendered.columns
        bits = rendered.bits
        if bits is None:
            raise ValueError("not a match statement")
        # The histogram comes on every row (one row at least).
        first = found[0]
        histogram = zip(
            first[at["failed_sets"]] or (), first[at["failed_homes"]] or (), strict=True
        )
        top = first[at["top_constraint"]] if "top_constraint" in at else None
        return MatchOutcome(
            bits.counts(histogram),
            found,
            at,
            anchors=len(criteria.anchors),
            depth=depth,
            top_constraint=None if top is None else HardConstraint(top),
        )

    def rendered(
        self,
        criteria: MatchCriteria,
        *,
        limit: int,
        depth: Depth = Depth.EXPLAINED,
        log: MatchLog | None = None,
    ) -> tuple[RenderedMatch, dict[str, Any]]:
        """The match SQL for the criteria's shape, rendered once, and this call's parameters
        by name."""
        params = match_parameters(criteria) | {"limit": limit}
        if log is not None:
            params |= log.parameters()
        logged = log is not None
        return self._render(
            ("match", match_shape(criteria), depth, logged),
            lambda: self.match_statement(criteria, limit=limit, depth=depth, logged=logged),
            params,
        )

    @staticmethod
    def _render(
        key: tuple[Any, ...],
        build: Callable[[], tuple[Select[*tuple[Any, ...]], FailureBits | None]],
        params: dict[str, Any],
    ) -> tuple[RenderedMatch, dict[str, Any]]:
        rendered = _rendered.get(key)
        if rendered is None:
            statement, bits = build()
            compiled = statement.compile(dialect=MATCH_DIALECT)
            rendered = RenderedMatch(
                sql=compiled.string,
                names=tuple(compiled.positiontup or ()),
                constants={
                    name: value for name, value in compiled.params.items() if name not in params
                },
                columns={
                    name: index for index, name in enumerate(statement.selected_columns.keys())
                },
                bits=bits,
            )
            with _rendered_lock:
                if len(_rendered) >= RENDERED_SHAPES_MAX:
                    del _rendered[next(iter(_rendered))]
                _rendered[key] = rendered
        return rendered, rendered.constants | params

    def match_statement(
        self,
        criteria: MatchCriteria,
        *,
        limit: int,
        depth: Depth = Depth.EXPLAINED,
        logged: bool = False,
    ) -> tuple[Select[*tuple[Any, ...]], FailureBits]:
        """One statement, one pass over the considered homes.

        ``considered`` gives, per home of the search area, its address and the set of
        constraints it fails as bits; ``by_set`` groups them in one pass: homes per set, and
        the addresses of the admitted; ``ranked`` reads the admitted homes again by address
        (a TID scan) and scores them, best first, then by vacancy id; the result is the
        histogram LEFT JOIN the ranked homes (with their details), and with ``logged`` the
        statement also appends its read and query logs.
        """
        sql = MatchSql(criteria)
        checks = sql.checks()
        failed, bits = failure_set(sql, checks)
        # Narrow rows: a row's address (ctid) and its failures. Carrying the columns the
        # ranking reads would copy every considered home's arrays and location; the admitted
        # few are read again by address instead.
        row_id: ColumnElement[Any] = literal_column(f"{MatchListing.__tablename__}.ctid")
        # OFFSET 0 keeps the failures a column of their own (a flattened subquery would
        # compute them twice: to group by and to filter); the rows stream into the grouping.
        considered = (
            select(row_id.label("row_id"), failed.label("failed"))
            .where(*sql.universe(relaxed=criteria.relax is not None))
            .offset(0)
            .subquery("considered")
        )
        admitting = literal_column(str(bits.admitting), Integer)
        # One pass over the considered homes: homes per failure set, and the addresses of the
        # admitted ones, read again below for scoring.
        by_set = (
            select(
                considered.c.failed,
                func.count().label("homes"),
                func.array_agg(considered.c.row_id)
                .filter(_bit_and(considered.c.failed, admitting) == 0)
                .label("admitted"),
            )
            .group_by(considered.c.failed)
            .cte("by_set")
        )
        histogram = select(
            func.array_agg(by_set.c.failed).label("failed_sets"),
            func.array_agg(by_set.c.homes).label("failed_homes"),
        ).cte("histogram")
        admitted = func.array(
            select(func.unnest(by_set.c.admitted))
            .where(by_set.c.admitted.is_not(None))
            .scalar_subquery()
        )
        ranked = _ranked(sql, checks, row_id == any_(admitted), limit=limit)
        first: list[ColumnElement[Any]] = [histogram.c.failed_sets, histogram.c.failed_homes]
        outer: Any = histogram
        logs: list[Any] = []
        if logged:
            tally, logs = _logs(by_set, bits)
            first.append(tally.c.top_constraint)
            outer = histogram.join(tally, true())
        statement = _with_details(first, ranked, depth, outer=outer).order_by(
            ranked.c.score.desc(), ranked.c.vacancy_id
        )
        if logs:
            statement = statement.add_cte(*logs)
        return statement, bits

    def homes(self, vacancy_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, HomeDetails]:
        """The details a match at ``Depth.EXPLAINED`` reads, for vacancies chosen otherwise."""
        if not vacancy_ids:
            return {}
        statement = homes_statement(vacancy_ids)
        found = self.session.execute(statement).all()
        return {row._mapping["vacancy__id"]: _home(row._mapping) for row in found}

    def explain(self, criteria: MatchCriteria, vacancy_id: uuid.UUID) -> ListingExplanation | None:
        """One vacancy judged with the match's own checks (``MatchSql.check_parts``), part by
        part, with the values they read: a statement of its own, off the match's path. None
        when there is no such vacancy."""
        found = self.session.execute(explain_statement(criteria, vacancy_id)).first()
        if found is None:
            return None
        row = found._mapping
        sql = MatchSql(criteria)
        failed: dict[HardConstraint, tuple[str, ...]] = {}
        for name, parts in sql.check_parts().items():
            if not row[f"ok__{name.value}"]:
                failed[name] = tuple(part for part in parts if not row[f"ok__{name.value}__{part}"])
        zones = tuple(
            (bool(row[f"zone_{index}_inside"]), row[f"zone_{index}_distance_m"])
            for index in range(len(criteria.exclusion_zones))
        )
        return ListingExplanation(
            vacancy_id=row["vacancy_id"],
            dwelling_id=row["dwelling_id"],
            status=str(row["status"]),
            listed=bool(row["listed"]),
            in_search_area=bool(row["in_search_area"]),
            failed=failed,
            passes_loosened=row.get("ok__loosened"),
            measures={name: row[f"m__{name}"] for name in EXPLAINED_LISTING_COLUMNS},
            anchor_distances_m=tuple(row[f"d_{index}"] for index in range(len(criteria.anchors))),
            zones=zones,
        )

    def excluded(
        self, criteria: MatchCriteria, constraint: HardConstraint, *, limit: int
    ) -> list[ExcludedListing]:
        """Homes of the search area that ``constraint`` keeps out of the match as it runs,
        by the match's own failure sets: first those it alone keeps out (what relaxing it
        would open up), then the cheapest. Empty when the constraint excludes nothing here
        (moot for the person, or dropped by the relaxation)."""
        sql = MatchSql(criteria)
        failed, bits = failure_set(sql, sql.checks())
        bit = bits.as_run[constraint]
        if not bit:
            return []
        considered = (
            select(
                MatchListing.vacancy_id,
                MatchListing.dwelling_id,
                MatchListing.monthly_cost_yen,
                failed.label("failed"),
            )
            .where(*sql.universe(relaxed=criteria.relax is not None))
            .offset(0)  # the failures computed once per row, not again in the filter
            .subquery("considered")
        )
        keeping_out = _bit_and(considered.c.failed, literal_column(str(bits.admitting), Integer))
        statement = (
            select(
                considered.c.vacancy_id,
                considered.c.dwelling_id,
                considered.c.monthly_cost_yen,
                considered.c.failed,
                Dwelling.address,
                Dwelling.registration_number,
            )
            .join(Dwelling, Dwelling.id == considered.c.dwelling_id)
            .where(_bit_and(considered.c.failed, literal_column(str(bit), Integer)) != 0)
            .order_by(keeping_out != bit, considered.c.monthly_cost_yen, considered.c.vacancy_id)
            .limit(limit)
        )
        as_run = [(name, flag) for name, flag in bits.as_run.items() if flag]
        return [
            ExcludedListing(
                vacancy_id=row.vacancy_id,
                dwelling_id=row.dwelling_id,
                address=row.address,
                registration_number=row.registration_number,
                monthly_cost_yen=row.monthly_cost_yen,
                failed=tuple(name for name, flag in as_run if row.failed & flag),
            )
            for row in self.session.execute(statement)
        ]

    def vacancy_summaries(
        self,
        *,
        registration_number: str | None = None,
        vacancy_id: uuid.UUID | None = None,
        limit: int,
    ) -> list[Any]:
        """Vacancies by their dwelling's registration number (of any authority), or by id, the
        live ones first, then the newest: (id, address, registration number, status as
        readers see it)."""
        live = Vacancy.status.in_(("open", "held"))
        statement = (
            select(
                Vacancy.id,
                Dwelling.address,
                Dwelling.registration_number,
                effective_status().label("status"),
            )
            .join(Dwelling, Dwelling.id == Vacancy.dwelling_id)
            .order_by(live.desc(), Vacancy.created_at.desc(), Vacancy.id)
            .limit(limit)
        )
        if registration_number is not None:
            # Numbers are unique per registering authority, which are municipalities: one
            # probe of the (authority, number) unique index per municipality, where the
            # number alone has no index of its own (each index costs the bulk import).
            authorities = select(Organisation.id).where(
                Organisation.kind == OrganisationKind.MUNICIPALITY.value
            )
            statement = statement.where(
                Dwelling.authority_id.in_(authorities),
                Dwelling.registration_number == registration_number,
            )
        if vacancy_id is not None:
            statement = statement.where(Vacancy.id == vacancy_id)
        return list(self.session.execute(statement).all())


@dataclass(frozen=True)
class ExcludedListing:
    """A home of the search area that the match as run keeps out, and every constraint that
    does (as run: a relaxed constraint only beyond its loosened limit)."""

    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    address: str
    registration_number: str
    monthly_cost_yen: int
    failed: tuple[HardConstraint, ...]


@dataclass(frozen=True)
class ListingExplanation:
    """One vacancy judged against one person's criteria by the matcher's own checks."""

    vacancy_id: uuid.UUID
    dwelling_id: uuid.UUID
    status: str  # as readers see it: an open vacancy past its expiry is expired
    listed: bool  # among what the matcher searches: open, on a registered dwelling
    in_search_area: bool  # in the match's search area (as relaxed), and unexpired
    # Each hard constraint the home fails without relaxation, with the parts it fails.
    failed: dict[HardConstraint, tuple[str, ...]]
    passes_loosened: bool | None  # the relaxed constraint's loosened test (None: none)
    measures: dict[str, Any]  # the listing's values the checks read (None when not listed)
    anchor_distances_m: tuple[float | None, ...]  # to each anchor, in the criteria's order
    zones: tuple[tuple[bool, float | None], ...]  # per zone: inside, distance to a point zone

    def fails_as_run(self, relaxed: HardConstraint | None) -> list[HardConstraint]:
        """The constraints that keep the home out of the match as it runs with the
        relaxation: all it fails, but the relaxed one only beyond its loosened limit."""
        return [
            name for name in self.failed if name is not relaxed or self.passes_loosened is False
        ]


# What the explanation of a home reads of its listing, to say by how much it fails.
EXPLAINED_LISTING_COLUMNS = (
    "available_from",
    "monthly_cost_yen",
    "private_area_m2",
    "floor",
    "has_elevator",
    "step_free_entrance",
    "wheelchair_accessible",
    "pets_allowed",
    "smoking_allowed",
    "kind",
    "registration_class",
    "accepts_all_categories",
    "accepted_categories",
    "exclusive_target_categories",
    *(facility.value for facility in Facility),
)


def explain_statement(criteria: MatchCriteria, vacancy_id: uuid.UUID) -> Select[Any]:
    """The vacancy, its status, and its listing (if any) judged by each check and each part
    of it, the loosened check, the anchors' and point zones' distances, and the values read."""
    sql = MatchSql(criteria)

    def ok(check: ColumnElement[bool]) -> ColumnElement[bool]:
        return func.coalesce(check, false())

    columns: list[ColumnElement[Any]] = [
        Vacancy.id.label("vacancy_id"),
        Vacancy.dwelling_id.label("dwelling_id"),
        effective_status().label("status"),
        Listing.vacancy_id.is_not(None).label("listed"),
        ok(and_(*sql.universe(relaxed=criteria.relax is not None))).label("in_search_area"),
    ]
    for name, check in sql.checks().items():
        columns.append(ok(check).label(f"ok__{name.value}"))
    for name, parts in sql.check_parts().items():
        columns.extend(ok(part).label(f"ok__{name.value}__{key}") for key, part in parts.items())
    loosened = sql.loosened()
    if loosened is not None:
        columns.append(ok(loosened).label("ok__loosened"))
    columns.extend(getattr(Listing, name).label(f"m__{name}") for name in EXPLAINED_LISTING_COLUMNS)
    columns.extend(
        distance.label(f"d_{index}") for index, distance in enumerate(sql.anchor_distances())
    )
    for index, zone in enumerate(criteria.exclusion_zones):
        columns.append(ok(sql.inside_zone(index)).label(f"zone_{index}_inside"))
        distance: ColumnElement[Any] = (
            literal(None, Float) if zone.radius_m is None else sql.zone_distance(index)
        )
        columns.append(distance.label(f"zone_{index}_distance_m"))
    return (
        select(*columns)
        .select_from(Vacancy)
        .outerjoin(Listing, Listing.vacancy_id == Vacancy.id)
        .where(Vacancy.id == vacancy_id)
    )
