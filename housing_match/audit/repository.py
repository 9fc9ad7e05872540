"""The audit's SQL: every report is scoped by jurisdiction in the database, never after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVarTuple

from geoalchemy2 import Geometry
from sqlalchemy import (
    ColumnElement,
    Float,
    Numeric,
    RowMapping,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import InstrumentedAttribute, aliased

from housing_match.models import Dwelling, MatchQuery, Organisation, RentComparable, Vacancy
from housing_match.registry.mapping import FACT_COLUMN_KEYS
from housing_match.registry.repository import (
    comparable_conditions,
    jurisdiction_condition,
    rent_per_m2,
    vacancy_is_open,
)
from housing_match.repository import RepositoryBase
from housing_match.vacancies.repository import effective_status

# None is the whole country (admins only); otherwise prefecture or municipality codes.
ScopeCodes = tuple[str, ...] | None
_Ts = TypeVarTuple("_Ts")
# Keyset position: the ordering columns as strings, the row's UUID last.
After = tuple[str, ...] | None


def in_scope(
    codes: ScopeCodes,
    *,
    municipality_code: ColumnElement[str] | InstrumentedAttribute[str] = Dwelling.municipality_code,
) -> list[ColumnElement[bool]]:
    if codes is None:
        return []
    return [jurisdiction_condition(codes, municipality_code=municipality_code)]


def _after(columns: Sequence[Any], after: After) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    *text_values, identifier = after
    return [tuple_(*columns) > tuple_(*text_values, uuid.UUID(identifier))]


@dataclass(frozen=True)
class RentThresholds:
    radius_m: int
    factor: float
    min_comparables: int


@dataclass(frozen=True)
class RentRow:
    dwelling_id: uuid.UUID
    registration_number: str
    address: str
    municipality_code: str
    kind: str
    longitude: float
    latitude: float
    rent_yen: int
    common_fee_yen: int
    floor_area_m2: Decimal
    comparable_count: int
    median_rent_per_m2: float | None
    finding: str


@dataclass(frozen=True)
class VacancyRow:
    vacancy: Vacancy
    dwelling: Dwelling
    corporation_name: str
    status: str
    finding: str


@dataclass(frozen=True)
class DemandRow:
    """Raw counts of one municipality and month: the service suppresses small ones."""

    municipality_code: str
    month: str
    queries: int
    zero_candidates: int
    few_candidates: int
    top_constraint: str | None


@dataclass(frozen=True)
class FreshnessRow:
    corporation_id: uuid.UUID
    corporation_name: str
    current_postings: int
    live: int
    expired: int
    not_refreshed: int


class AuditRepository(RepositoryBase[Dwelling]):
    model = Dwelling

    # --- registrations -----------------------------------------------------------------

    def registered_for_check(self, codes: ScopeCodes) -> Iterator[RowMapping]:
        """Each registered dwelling in scope, in report order, as the columns the standards
        judge and the report shows: plain rows, not ORM objects, streamed from a server-side
        cursor, since a prefecture holds hundreds of thousands of registrations."""
        point = cast(Dwelling.location, Geometry(geometry_type="POINT", srid=4326))
        statement = (
            select(
                Dwelling.id,
                Dwelling.registration_number,
                Dwelling.address,
                Dwelling.municipality_code,
                Dwelling.authority_id,
                Dwelling.registered_on,
                func.ST_X(point).label("longitude"),
                func.ST_Y(point).label("latitude"),
                Dwelling.standards_compliant,
                Dwelling.standards_checked_at,
                *(getattr(Dwelling, key) for key in FACT_COLUMN_KEYS),
            )
            .where(Dwelling.status == "registered", *in_scope(codes))
            # In code-point order, as Python compares the cursor's key with each row's.
            .order_by(
                Dwelling.municipality_code.collate("C"),
                Dwelling.registration_number.collate("C"),
                Dwelling.id,
            )
            .execution_options(yield_per=5_000)
        )
        yield from self.session.execute(statement).mappings()

    # --- rent balance ------------------------------------------------------------------

    @staticmethod
    def _rent_stats_live(thresholds: RentThresholds) -> Any:
        """The comparables' count and median computed now: a LATERAL subquery takes, for each
        dwelling, the registered dwellings of the same kind within the radius (ST_DWithin on
        geography, so the spatial index serves it), itself left out, wherever they are
        registered. Quadratic in local density: for a radius other than the maintained one,
        and the definition the maintained values are tested against."""
        comparable = aliased(Dwelling, name="comparable")
        return (
            select(
                func.count().label("comparable_count"),
                # percentile_cont yields double precision; left to infer, SQLAlchemy would
                # type it as the ㎡ column and cast it to NUMERIC(8, 2).
                type_coerce(
                    func.percentile_cont(0.5).within_group(rent_per_m2(comparable)), Float
                ).label("median"),
            )
            .where(
                *comparable_conditions(
                    comparable,
                    kind=Dwelling.kind,
                    location=Dwelling.location,
                    radius_m=thresholds.radius_m,
                ),
                comparable.id != Dwelling.id,
            )
            .lateral("comparables")
        )

    @staticmethod
    def _rent_stats_maintained() -> Any:
        """The same count and median as of the last refresh (``audit/rent_refresh.py``)."""
        return select(
            RentComparable.dwelling_id,
            RentComparable.comparable_count,
            RentComparable.median_rent_per_m2.label("median"),
        ).subquery("comparables")

    def _rent_assessment(
        self, codes: ScopeCodes, thresholds: RentThresholds, *, maintained: bool
    ) -> Any:
        """One row per registered dwelling in scope, judged against its 近傍同種; with
        ``maintained``, of those that have maintained values, else computed now."""
        stats: Any
        if maintained:
            stats = self._rent_stats_maintained()
            join_on: ColumnElement[bool] = stats.c.dwelling_id == Dwelling.id
        else:
            stats = self._rent_stats_live(thresholds)
            join_on = true()
        # Double precision like the Python judgement, so both agree to the last bit.
        per_m2 = cast(Dwelling.rent_yen + Dwelling.common_fee_yen, Float) / cast(
            Dwelling.floor_area_m2, Float
        )
        ratio = per_m2 / stats.c.median
        finding = case(
            (
                or_(
                    stats.c.comparable_count < thresholds.min_comparables,
                    stats.c.median.is_(None),
                    stats.c.median == 0,
                ),
                literal("too_few_comparables"),
            ),
            (ratio > thresholds.factor, literal("above")),
            (ratio < 1 / thresholds.factor, literal("below")),
            else_=literal("within"),
        )
        point = cast(Dwelling.location, Geometry(geometry_type="POINT", srid=4326))
        return (
            select(
                Dwelling.id.label("dwelling_id"),
                Dwelling.registration_number,
                Dwelling.address,
                Dwelling.municipality_code,
                Dwelling.kind,
                func.ST_X(point).label("longitude"),
                func.ST_Y(point).label("latitude"),
                Dwelling.rent_yen,
                Dwelling.common_fee_yen,
                Dwelling.floor_area_m2,
                stats.c.comparable_count,
                stats.c.median,
                finding.label("finding"),
            )
            .join(stats, join_on)
            .where(Dwelling.status == "registered", *in_scope(codes))
            .subquery("assessed")
        )

    def rent_findings(
        self, codes: ScopeCodes, thresholds: RentThresholds, *, maintained: bool
    ) -> dict[str, int]:
        assessed = self._rent_assessment(codes, thresholds, maintained=maintained)
        rows = self.session.execute(
            select(assessed.c.finding, func.count()).group_by(assessed.c.finding)
        ).all()
        return {str(finding): int(count) for finding, count in rows}

    def rent_outliers(
        self,
        codes: ScopeCodes,
        thresholds: RentThresholds,
        *,
        maintained: bool,
        after: After,
        limit: int | None,
    ) -> Iterator[RentRow]:
        """A page of outliers; with no limit, every one, streamed (an export)."""
        assessed = self._rent_assessment(codes, thresholds, maintained=maintained)
        order = (
            assessed.c.municipality_code,
            assessed.c.registration_number,
            assessed.c.dwelling_id,
        )
        statement = (
            select(assessed)
            .where(assessed.c.finding != "within", *_after(order, after))
            .order_by(*order)
            .limit(limit)
            .execution_options(yield_per=1_000)
        )
        return (
            RentRow(
                dwelling_id=row.dwelling_id,
                registration_number=row.registration_number,
                address=row.address,
                municipality_code=row.municipality_code,
                kind=row.kind,
                longitude=float(row.longitude),
                latitude=float(row.latitude),
                rent_yen=row.rent_yen,
                common_fee_yen=row.common_fee_yen,
                floor_area_m2=row.floor_area_m2,
                comparable_count=int(row.comparable_count),
                median_rent_per_m2=None if row.median is None else float(row.median),
                finding=row.finding,
            )
            for row in self.session.execute(statement)
        )

    def not_yet_assessed(self, codes: ScopeCodes) -> int:
        """Registered dwellings in scope without maintained values: registered since the
        last refresh."""
        return int(
            self.session.execute(
                select(func.count()).where(
                    Dwelling.status == "registered",
                    *in_scope(codes),
                    ~exists().where(RentComparable.dwelling_id == Dwelling.id),
                )
            ).scalar_one()
        )

    # --- vacancies ---------------------------------------------------------------------

    def open_vacancy_share(self, codes: ScopeCodes) -> tuple[int, int]:
        """Registered dwellings in scope, and how many of them have an open vacancy now."""
        has_open = exists().where(Vacancy.dwelling_id == Dwelling.id, vacancy_is_open())
        total, with_open = self.session.execute(
            select(func.count(), func.count().filter(has_open)).where(
                Dwelling.status == "registered", *in_scope(codes)
            )
        ).one()
        return int(total), int(with_open)

    @staticmethod
    def _current_postings(statement: Select[*_Ts], codes: ScopeCodes) -> Select[*_Ts]:
        """Each registered dwelling's latest posting (by expiry): what its listing says now.

        Older postings of a dwelling are history, not a stale listing, so only the latest
        counts; a live posting always expires after any closed or expired one.
        """
        later = aliased(Vacancy, name="later")
        return (
            statement.join(Dwelling, Dwelling.id == Vacancy.dwelling_id)
            .join(Organisation, Organisation.id == Vacancy.corporation_id)
            .where(
                Dwelling.status == "registered",
                *in_scope(codes),
                ~exists().where(
                    later.dwelling_id == Vacancy.dwelling_id,
                    tuple_(later.expires_at, later.id) > tuple_(Vacancy.expires_at, Vacancy.id),
                ),
            )
        )

    @staticmethod
    def _freshness(stale_before: ColumnElement[datetime]) -> tuple[ColumnElement[Any], ...]:
        status = effective_status()
        live = or_(vacancy_is_open(), Vacancy.status == "held")
        expired = status == "expired"
        not_refreshed = and_(live, Vacancy.refreshed_at <= stale_before)
        return status, live, expired, not_refreshed

    def stale_vacancies(
        self, codes: ScopeCodes, *, stale_after: timedelta, after: After, limit: int | None
    ) -> Iterator[VacancyRow]:
        """A page of stale postings; with no limit, every one, streamed (an export)."""
        status, _, expired, not_refreshed = self._freshness(func.now() - stale_after)
        finding = case(
            (expired, literal("expired")),
            (not_refreshed, literal("not_refreshed")),
            else_=literal(None),
        )
        order = (
            Organisation.name,
            Dwelling.municipality_code,
            Dwelling.registration_number,
            Vacancy.id,
        )
        statement = self._current_postings(
            select(Vacancy, Dwelling, Organisation.name, status, finding), codes
        )
        statement = (
            statement.where(or_(expired, not_refreshed), *_after(order, after))
            .order_by(*order)
            .limit(limit)
            .execution_options(yield_per=1_000)
        )
        return (
            VacancyRow(
                vacancy=row[0],
                dwelling=row[1],
                corporation_name=row[2],
                status=str(row[3]),
                finding=str(row[4]),
            )
            for row in self.session.execute(statement)
        )

    def freshness_by_corporation(
        self, codes: ScopeCodes, *, stale_after: timedelta
    ) -> list[FreshnessRow]:
        _, live, expired, not_refreshed = self._freshness(func.now() - stale_after)
        statement = self._current_postings(
            select(
                Vacancy.corporation_id,
                Organisation.name,
                func.count(),
                func.count().filter(live),
                func.count().filter(expired),
                func.count().filter(not_refreshed),
            ),
            codes,
        ).group_by(Vacancy.corporation_id, Organisation.name)
        return [
            FreshnessRow(
                corporation_id=row[0],
                corporation_name=row[1],
                current_postings=int(row[2]),
                live=int(row[3]),
                expired=int(row[4]),
                not_refreshed=int(row[5]),
            )
            for row in self.session.execute(statement)
        ]

    # --- unmet demand ------------------------------------------------------------------

    def unmet_demand(
        self,
        codes: ScopeCodes,
        *,
        few_threshold: int,
        since: datetime,
        until: datetime,
    ) -> list[DemandRow]:
        """Match queries per municipality and month (Japan time), relaxed re-runs left out.

        The top constraint of a cell is the one that excluded the most homes, summed over
        the cell's queries with zero or few candidates: what kept those searches short.
        """
        month = func.to_char(
            func.date_trunc("month", func.timezone("Asia/Tokyo", MatchQuery.queried_at)),
            "YYYY-MM",
        )
        queries = (
            select(
                MatchQuery.municipality_code.label("municipality_code"),
                month.label("month"),
                MatchQuery.candidate_count,
                MatchQuery.excluded_by,
            )
            .where(
                MatchQuery.relaxed.is_(False),
                MatchQuery.queried_at >= since,
                MatchQuery.queried_at < until,
                *in_scope(codes, municipality_code=MatchQuery.municipality_code),
            )
            .cte("queries")
        )
        cell_key = (queries.c.municipality_code, queries.c.month)
        cells = (
            select(
                *cell_key,
                func.count().label("queries"),
                func.count().filter(queries.c.candidate_count == 0).label("zero_candidates"),
                func.count()
                .filter(queries.c.candidate_count.between(1, few_threshold))
                .label("few_candidates"),
            )
            .group_by(*cell_key)
            .cte("cells")
        )
        # A malformed row must not fail the whole report: a non-object counts as empty.
        exclusions = case(
            (func.jsonb_typeof(queries.c.excluded_by) == "object", queries.c.excluded_by),
            else_=cast(literal("{}"), queries.c.excluded_by.type),
        )
        entry = func.jsonb_each(exclusions).table_valued("key", "value").lateral("entry")
        homes = case(
            (func.jsonb_typeof(entry.c.value) == "number", cast(entry.c.value, Numeric)),
            else_=0,
        )
        excluded = (
            select(*cell_key, entry.c.key.label("constraint"), func.sum(homes).label("homes"))
            .select_from(queries)
            .join(entry, true())
            .where(queries.c.candidate_count <= few_threshold)
            .group_by(*cell_key, entry.c.key)
            .cte("excluded")
        )
        top = (
            select(excluded.c.municipality_code, excluded.c.month, excluded.c.constraint)
            .where(excluded.c.homes > 0)
            .ext(distinct_on(excluded.c.municipality_code, excluded.c.month))
            .order_by(
                excluded.c.municipality_code,
                excluded.c.month,
                excluded.c.homes.desc(),
                excluded.c.constraint,
            )
            .cte("top")
        )
        statement = (
            select(
                cells.c.municipality_code,
                cells.c.month,
                cells.c.queries,
                cells.c.zero_candidates,
                cells.c.few_candidates,
                top.c.constraint,
            )
            .outerjoin(
                top,
                and_(
                    top.c.municipality_code == cells.c.municipality_code,
                    top.c.month == cells.c.month,
                ),
            )
            .order_by(cells.c.month, cells.c.municipality_code)
        )
        return [
            DemandRow(
                municipality_code=row.municipality_code,
                month=row.month,
                queries=int(row.queries),
                zero_candidates=int(row.zero_candidates),
                few_candidates=int(row.few_candidates),
                top_constraint=row.constraint,
            )
            for row in self.session.execute(statement)
        ]
