from __future__ import annotations

import math
import typing
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.orm.util import AliasedClass
from sqlalchemy.types import NullType

from housing_match.models import (
    Dwelling,
    DwellingManager,
    Organisation,
    StandardsProfile,
    Vacancy,
)
from housing_match.registry.accessibility import step_free_route_sql
from housing_match.repository import RepositoryBase

# The mean radius PostGIS's spherical geography functions use.
EARTH_RADIUS_M = 6_371_008.7714


def point_geography(longitude: float, latitude: float) -> ColumnElement[Any]:
    return cast(func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326), Geography)


def bbox_conditions(
    location: InstrumentedAttribute[Any], bbox: tuple[float, float, float, float]
) -> list[ColumnElement[bool]]:
    """Points in a longitude/latitude rectangle, exactly: compared as plain coordinates.

    A geography envelope would be the wrong shape (its edges are great circles, which bulge
    poleward of the parallels: a box 90° wide at 34.6 N reaches past 40 N in the middle) and
    PostGIS refuses one 180° wide ("antipodal edge"), such as the world. The geography index
    still serves the search through the smallest circle around the box's centre that covers
    it (``covering_cap``), when there is one narrower than a hemisphere.
    """
    min_lon, min_lat, max_lon, max_lat = bbox
    exact = func.ST_Intersects(
        cast(location, Geometry), func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326)
    )
    cap = covering_cap(bbox)
    if cap is None:
        return [exact]
    longitude, latitude, radius = cap
    near = func.ST_DWithin(location, point_geography(longitude, latitude), radius, False)
    return [near, exact]


def covering_cap(bbox: tuple[float, float, float, float]) -> tuple[float, float, float] | None:
    """(longitude, latitude, radius in metres) of a circle on the sphere around the box's
    centre that holds the whole box, or None when the box spans 180° of longitude or more.

    For a box less than 180° wide the farthest points from the centre are its corners: along
    a parallel the distance grows with the difference in longitude, and along a meridian edge
    it is largest at one end. The margin covers PostGIS's own sphere and rounding.
    """
    min_lon, min_lat, max_lon, max_lat = bbox
    if max_lon - min_lon >= 180:
        return None
    centre_lon, centre_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    half_width = math.radians((max_lon - min_lon) / 2)
    centre = math.radians(centre_lat)
    farthest = max(
        math.acos(
            max(
                -1.0,
                min(
                    1.0,
                    math.sin(centre) * math.sin(math.radians(latitude))
                    + math.cos(centre) * math.cos(math.radians(latitude)) * math.cos(half_width),
                ),
            )
        )
        for latitude in (min_lat, max_lat)
    )
    radius = farthest * EARTH_RADIUS_M * 1.01 + 1_000
    if radius >= math.pi * EARTH_RADIUS_M:
        return None
    return centre_lon, centre_lat, radius


def vacancy_is_open(vacancy: type[Vacancy] = Vacancy) -> ColumnElement[bool]:
    """Open and not past its expiry, whether or not the expiry job has run."""
    return and_(vacancy.status == "open", vacancy.expires_at > func.now())


def rent_per_m2(dwelling: type[Dwelling] | AliasedClass[Dwelling] = Dwelling) -> ColumnElement[Any]:
    """Rent plus common fee per ㎡: the measure 近傍同種 compares."""
    return (dwelling.rent_yen + dwelling.common_fee_yen) / dwelling.floor_area_m2


def comparable_conditions(
    comparable: type[Dwelling] | AliasedClass[Dwelling],
    *,
    kind: str | ColumnElement[str] | InstrumentedAttribute[str],
    location: ColumnElement[Any] | InstrumentedAttribute[Any],
    radius_m: float,
) -> list[ColumnElement[bool]]:
    """近傍同種: registered dwellings of the same kind within the radius of a location."""
    return [
        comparable.status == "registered",
        comparable.kind == kind,
        func.ST_DWithin(comparable.location, location, radius_m),
    ]


class StandardsProfileRepository(RepositoryBase[StandardsProfile]):
    model = StandardsProfile

    def applicable_to(self, municipality_code: str) -> Sequence[StandardsProfile]:
        """National, prefecture and municipality profiles that could apply to the code."""
        return self.session.scalars(
            select(StandardsProfile)
            .where(StandardsProfile.scope_code.in_(["", municipality_code[:2], municipality_code]))
            .order_by(StandardsProfile.scope_code, StandardsProfile.effective_from)
        ).all()

    def all(self) -> Sequence[StandardsProfile]:
        return self.session.scalars(
            select(StandardsProfile).order_by(
                StandardsProfile.scope_code, StandardsProfile.effective_from
            )
        ).all()

    def for_scopes(self, scope_codes: Sequence[str]) -> Sequence[StandardsProfile]:
        """Profiles whose scope lies in a jurisdiction: listed codes and their municipalities."""
        prefectures = [code for code in scope_codes if len(code) == 2]
        condition: ColumnElement[bool] = StandardsProfile.scope_code.in_(list(scope_codes))
        if prefectures:
            condition = or_(
                condition,
                and_(
                    func.length(StandardsProfile.scope_code) == 6,
                    func.substr(StandardsProfile.scope_code, 1, 2).in_(prefectures),
                ),
            )
        return self.session.scalars(
            select(StandardsProfile)
            .where(condition)
            .order_by(StandardsProfile.scope_code, StandardsProfile.effective_from)
        ).all()

    def get_by_scope_and_start(
        self, scope_code: str, effective_from: date
    ) -> StandardsProfile | None:
        return self.session.scalars(
            select(StandardsProfile).where(
                StandardsProfile.scope_code == scope_code,
                StandardsProfile.effective_from == effective_from,
            )
        ).first()


@dataclass(frozen=True)
class RentStats:
    comparable_count: int
    median_rent_per_m2: float | None


@dataclass(frozen=True)
class SearchAfter:
    """The keyset position of a search's last row: its distance when ordered by distance,
    else its municipality code."""

    id: str
    distance: float = 0.0
    municipality_code: str = ""
    dwelling_id: str = ""  # a vacancy's dwelling


# The stored columns an export reads (``bulk_format.flat_row_from_columns``), besides the
# location: exactly the file's columns, not every column of the table.
EXPORT_SOURCE_COLUMNS = (
    "id", "authority_id", "status", "registered_on", "registration_number",
    "registration_class", "exclusive_target_categories", "kind", "address",
    "municipality_code", "floor_area_m2", "floor", "floors_total", "has_elevator",
    "step_free_entrance", "wheelchair_accessible", "kitchen", "toilet", "storage", "bath",
    "washbasin", "construction_started_on", "is_existing_building", "seismic_evidence",
    "rent_yen", "common_fee_yen", "deposit_yen", "key_money_yen", "accepts_all_categories",
    "accepted_categories", "required_risks", "required_whole_tenancy_risks", "pets_allowed",
    "smoking_allowed", "shared_house", "support_certifying_code",
    "support_daily_safety_check", "support_monthly_visit", "support_connections", "notes",
)  # fmt: skip


@dataclass
class DwellingFilters:
    statuses: tuple[str, ...] = ("registered",)
    municipality_codes: tuple[str, ...] = ()
    prefecture_code: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    near: tuple[float, float, float] | None = None  # lon, lat, radius in metres
    max_rent_yen: int | None = None  # rent plus common fee
    min_area_m2: float | None = None
    registration_class: str | None = None
    residential_support: bool | None = None
    kind: str | None = None
    accepted_category: str | None = None
    wheelchair_accessible: bool | None = None
    step_free: bool | None = None  # step-free entrance and (ground floor or elevator)
    open_vacancy: bool = False
    authority_ids: tuple[uuid.UUID, ...] = ()
    jurisdiction_codes: tuple[str, ...] = field(default=())


class DwellingRepository(RepositoryBase[Dwelling]):
    model = Dwelling

    def get_by_registration(self, authority_id: uuid.UUID, number: str) -> Dwelling | None:
        return self.session.scalars(
            select(Dwelling).where(
                Dwelling.authority_id == authority_id, Dwelling.registration_number == number
            )
        ).first()

    def rent_stats(
        self,
        *,
        longitude: float,
        latitude: float,
        kind: str,
        radius_m: int,
        exclude_id: uuid.UUID | None,
    ) -> RentStats:
        """Median rent plus common fee per ㎡ of registered dwellings of the kind nearby."""
        statement = select(
            func.count(),
            func.percentile_cont(0.5).within_group(rent_per_m2()),
        ).where(
            *comparable_conditions(
                Dwelling,
                kind=kind,
                location=point_geography(longitude, latitude),
                radius_m=radius_m,
            )
        )
        if exclude_id is not None:
            statement = statement.where(Dwelling.id != exclude_id)
        count, median = self.session.execute(statement).one()
        return RentStats(
            comparable_count=int(count),
            median_rent_per_m2=None if median is None else float(median),
        )

    def search(
        self, filters: DwellingFilters, *, after: SearchAfter | None, limit: int
    ) -> list[tuple[Dwelling, float | None]]:
        """Keyset-paginated: by distance then id when ``near`` is given, else by municipality
        then id, the order of the municipality index, so a page of a municipality or of a
        prefecture (a range of codes) is read in order and stops when it is full."""
        distance: ColumnElement[Any] | None = None
        if filters.near is not None:
            longitude, latitude, _ = filters.near
            distance = func.ST_Distance(Dwelling.location, point_geography(longitude, latitude))
        distance_or_null: ColumnElement[Any] = distance if distance is not None else literal(None)
        statement = select(Dwelling, distance_or_null).where(*self.conditions(filters))
        if distance is not None:
            if after is not None:
                statement = statement.where(
                    tuple_(distance, Dwelling.id) > tuple_(after.distance, uuid.UUID(after.id))
                )
            statement = statement.order_by(distance, Dwelling.id)
        else:
            if after is not None:
                statement = statement.where(
                    tuple_(Dwelling.municipality_code, Dwelling.id)
                    > tuple_(after.municipality_code, uuid.UUID(after.id))
                )
            statement = statement.order_by(Dwelling.municipality_code, Dwelling.id)
        rows = self.session.execute(statement.limit(limit)).all()
        return [(row[0], None if row[1] is None else float(row[1])) for row in rows]

    def for_export(self, filters: DwellingFilters) -> Iterator[Mapping[str, Any]]:
        """Every matching dwelling in registration-number order, streamed from a server-side
        cursor as plain rows of ``EXPORT_SOURCE_COLUMNS`` (the location as ``longitude`` and
        ``latitude``): an export of a prefecture reads hundreds of thousands."""
        point = cast(Dwelling.location, Geometry(geometry_type="POINT", srid=4326))
        table = Dwelling.__table__.columns
        statement = (
            select(
                *(
                    # psycopg already gives arrays as lists; SQLAlchemy's ARRAY would copy
                    # each one again, a third of an export's time.
                    type_coerce(column, NullType()).label(column.key)
                    if isinstance(column.type, ARRAY)
                    else column
                    for column in (table[key] for key in EXPORT_SOURCE_COLUMNS)
                ),
                func.ST_X(point).label("longitude"),
                func.ST_Y(point).label("latitude"),
            )
            .where(*self.conditions(filters))
            .order_by(Dwelling.municipality_code, Dwelling.registration_number, Dwelling.id)
            .execution_options(stream_results=True, yield_per=5_000)
        )
        # On the session's connection rather than through the ORM: the statement selects
        # columns, not entities, and the ORM's per-row wrapping would only add cost.
        for row in self.session.connection().execute(statement).mappings():
            # A row by its columns' names: the labels of a select are strings.
            yield typing.cast("Mapping[str, Any]", row)

    def conditions(self, filters: DwellingFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.statuses:
            conditions.append(Dwelling.status.in_(filters.statuses))
        if filters.municipality_codes:
            conditions.append(Dwelling.municipality_code.in_(filters.municipality_codes))
        if filters.prefecture_code:
            conditions.append(in_prefectures(Dwelling.municipality_code, [filters.prefecture_code]))
        if filters.jurisdiction_codes:
            conditions.append(jurisdiction_condition(filters.jurisdiction_codes))
        if filters.authority_ids:
            conditions.append(Dwelling.authority_id.in_(filters.authority_ids))
        if filters.bbox is not None:
            conditions.extend(bbox_conditions(Dwelling.location, filters.bbox))
        if filters.near is not None:
            longitude, latitude, radius = filters.near
            conditions.append(
                func.ST_DWithin(Dwelling.location, point_geography(longitude, latitude), radius)
            )
        if filters.max_rent_yen is not None:
            conditions.append(Dwelling.rent_yen + Dwelling.common_fee_yen <= filters.max_rent_yen)
        if filters.min_area_m2 is not None:
            conditions.append(Dwelling.floor_area_m2 >= filters.min_area_m2)
        if filters.registration_class is not None:
            conditions.append(Dwelling.registration_class == filters.registration_class)
        if filters.residential_support is not None:
            certified = Dwelling.support_certifying_code.is_not(None)
            conditions.append(certified if filters.residential_support else ~certified)
        if filters.kind is not None:
            conditions.append(Dwelling.kind == filters.kind)
        if filters.accepted_category is not None:
            conditions.append(
                or_(
                    Dwelling.accepts_all_categories,
                    Dwelling.accepted_categories.contains(
                        cast([filters.accepted_category], ARRAY(String(48)))
                    ),
                )
            )
        if filters.wheelchair_accessible:
            conditions.append(Dwelling.wheelchair_accessible.is_(True))
        if filters.step_free:
            conditions.append(
                step_free_route_sql(
                    Dwelling.step_free_entrance, Dwelling.floor, Dwelling.has_elevator
                )
            )
        if filters.open_vacancy:
            # An alias, so a vacancy search using these filters does not correlate to itself.
            posted = aliased(Vacancy)
            conditions.append(
                exists().where(posted.dwelling_id == Dwelling.id, vacancy_is_open(posted))
            )
        return conditions


def in_prefectures(
    municipality_code: ColumnElement[str] | InstrumentedAttribute[str], prefectures: Sequence[str]
) -> ColumnElement[bool]:
    """The six-digit municipality code lies in one of the prefectures (its first two digits):
    as ranges of the code, so the municipality index serves them and no second index on the
    prefecture has to be kept up on every insert (migration 0008)."""
    return or_(
        *(
            municipality_code.between(f"{prefecture}0000", f"{prefecture}9999")
            for prefecture in prefectures
        )
    )


def jurisdiction_condition(
    codes: Sequence[str],
    *,
    municipality_code: ColumnElement[str] | InstrumentedAttribute[str] = Dwelling.municipality_code,
) -> ColumnElement[bool]:
    """The row's municipality lies in the jurisdiction (listed itself or by its prefecture).

    Dwellings by default; another table holding a municipality code passes its column.
    """
    municipalities = [code for code in codes if len(code) == 6]
    prefectures = [code for code in codes if len(code) == 2]
    parts: list[ColumnElement[bool]] = []
    if municipalities:
        parts.append(municipality_code.in_(municipalities))
    if prefectures:
        parts.append(in_prefectures(municipality_code, prefectures))
    return or_(*parts) if parts else literal(False)


class DwellingManagerRepository:
    """Which support corporations manage which dwellings (``dwelling_managers``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_dwelling(self, dwelling_id: uuid.UUID) -> list[tuple[DwellingManager, Organisation]]:
        rows = self.session.execute(
            select(DwellingManager, Organisation)
            .join(Organisation, Organisation.id == DwellingManager.corporation_id)
            .where(DwellingManager.dwelling_id == dwelling_id)
            .order_by(DwellingManager.since, Organisation.slug)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def manages(
        self, dwelling_id: uuid.UUID, corporation_id: uuid.UUID, *, hold: bool = False
    ) -> bool:
        """With ``hold``, the tie cannot be removed before the caller's transaction ends (a
        vacancy being posted: a concurrent change of the managers waits for it, then
        withdraws it if its corporation was left out)."""
        statement = select(DwellingManager.dwelling_id).where(
            DwellingManager.dwelling_id == dwelling_id,
            DwellingManager.corporation_id == corporation_id,
        )
        if hold:
            statement = statement.with_for_update(read=True, key_share=True)
        return self.session.scalar(statement) is not None

    def lock_dwelling(self, dwelling_id: uuid.UUID) -> None:
        """Serialises changes of one dwelling's managers (two replacements at once would
        otherwise each keep one, or leave none). NO KEY UPDATE: a vacancy being inserted
        (its foreign key takes KEY SHARE on the dwelling) neither waits nor deadlocks."""
        self.session.execute(
            select(Dwelling.id).where(Dwelling.id == dwelling_id).with_for_update(key_share=True)
        )

    def replace(self, dwelling_id: uuid.UUID, corporation_ids: Sequence[uuid.UUID]) -> None:
        """The dwelling's managers become exactly these; a kept manager keeps its ``since``."""
        self.session.execute(
            delete(DwellingManager).where(
                DwellingManager.dwelling_id == dwelling_id,
                DwellingManager.corporation_id.not_in(corporation_ids),
            )
        )
        self.add(dwelling_id, corporation_ids)

    def add(self, dwelling_id: uuid.UUID, corporation_ids: Sequence[uuid.UUID]) -> None:
        if corporation_ids:
            self.session.execute(
                insert(DwellingManager)
                .values(
                    [{"dwelling_id": dwelling_id, "corporation_id": c} for c in corporation_ids]
                )
                .on_conflict_do_nothing()
            )

    def add_to_many(self, dwelling_ids: Sequence[uuid.UUID], corporation_id: uuid.UUID) -> None:
        """One corporation manages each of these dwellings: one statement, however many (a
        bulk import's new dwellings)."""
        if dwelling_ids:
            self.session.execute(
                text(
                    "INSERT INTO dwelling_managers (dwelling_id, corporation_id) "
                    "SELECT unnest(CAST(:dwellings AS uuid[])), :corporation "
                    "ON CONFLICT DO NOTHING"
                ),
                {"dwellings": list(dwelling_ids), "corporation": corporation_id},
            )
