"""The maintained rent balance equals the from-scratch definition, whatever happened before.

Random inserts, updates (rent, fee, area, location, kind, status), deregistrations and
deletions, some in one statement, with refreshes in between; after a last refresh every
registered dwelling's maintained count and median equal, to the bit, the audit's own
from-scratch computation (``AuditRepository``'s live LATERAL query: ST_DWithin and
percentile_cont).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from housing_match.audit.rent_refresh import FULL_REFRESH_CELLS, refresh_rent_comparables
from housing_match.audit.repository import AuditRepository, RentThresholds
from housing_match.models import Dwelling, RentComparable
from tests.conftest import OrgFixture
from tests.registry.factories import OSAKA_STATION, shared_house_payload
from tests.registry.test_vacancies import registered_dwelling

RADIUS_M = 1_500
LIVE = RentThresholds(radius_m=RADIUS_M, factor=1.5, min_comparables=5)
# Columns a clone does not copy from its template.
NOT_COPIED = {"id", "created_at", "updated_at", "prefecture_code", "registration_number"}


@pytest.fixture
def templates(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, session: Session
) -> dict[str, dict[str, Any]]:
    """A registered ordinary dwelling and a shared house, whose rows the test clones."""
    ordinary = registered_dwelling(client, corporation, municipality, registration_number="T-O")
    shared = registered_dwelling(
        client,
        corporation,
        municipality,
        **shared_house_payload(registration_number="T-S"),
    )
    rows = {}
    for kind, dwelling_id in (("ordinary", ordinary), ("shared_house", shared)):
        dwelling = session.get(Dwelling, uuid.UUID(dwelling_id))
        assert dwelling is not None
        rows[kind] = {
            column.key: getattr(dwelling, column.key)
            for column in Dwelling.__table__.columns
            if column.key not in NOT_COPIED
        }
    # The templates themselves are not part of the neighbourhoods under test.
    session.execute(delete(Dwelling).where(Dwelling.id.in_([ordinary, shared])))
    session.commit()
    return rows


def point(east_m: float, north_m: float) -> str:
    latitude, longitude = OSAKA_STATION
    return f"SRID=4326;POINT({longitude + east_m / 91_290!r} {latitude + north_m / 111_320!r})"


def maintained(session: Session) -> dict[uuid.UUID, tuple[int, float | None]]:
    rows = session.execute(
        select(
            RentComparable.dwelling_id,
            RentComparable.comparable_count,
            RentComparable.median_rent_per_m2,
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def from_scratch(session: Session) -> dict[uuid.UUID, tuple[int, float | None]]:
    assessed = AuditRepository(session)._rent_assessment(None, LIVE, maintained=False)
    rows = session.execute(
        select(assessed.c.dwelling_id, assessed.c.comparable_count, assessed.c.median)
    )
    return {row[0]: (int(row[1]), row[2]) for row in rows}


# --- the random histories -------------------------------------------------------------------

# Within 3 km of each other, so most pairs are within the radius and many just beyond.
coordinates = st.tuples(st.floats(-1_600, 1_600), st.floats(-1_600, 1_600))
facts = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["ordinary", "ordinary", "shared_house"]),
        "rent_yen": st.integers(20_000, 120_000),
        "common_fee_yen": st.sampled_from([0, 2_000, 5_000]),
        "floor_area_m2": st.integers(1_800, 6_000).map(lambda n: Decimal(n) / 100),
        "status": st.sampled_from(["registered"] * 4 + ["applied"]),
        "at": coordinates,
    }
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["ordinary", "shared_house"]),
        "rent_yen": st.integers(20_000, 120_000),
        "common_fee_yen": st.sampled_from([0, 3_000]),
        "floor_area_m2": st.integers(1_800, 6_000).map(lambda n: Decimal(n) / 100),
        "status": st.sampled_from(["registered", "deregistered"]),
        "at": coordinates,
        "notes": st.just("irrelevant to rents"),
    },
)
steps = st.one_of(
    st.tuples(st.just("insert"), st.lists(facts, min_size=1, max_size=12)),
    st.tuples(st.just("update"), st.tuples(st.integers(0, 10_000), changes)),
    st.tuples(st.just("update_many"), st.tuples(st.integers(0, 10_000), changes)),
    st.tuples(st.just("delete"), st.integers(0, 10_000)),
    st.tuples(st.just("refresh"), st.booleans()),
)


class History:
    def __init__(self, session: Session, templates: dict[str, dict[str, Any]]) -> None:
        self.session = session
        self.templates = templates
        self.ids: list[uuid.UUID] = []
        self.numbers = 0

    def values(self, change: dict[str, Any]) -> dict[str, Any]:
        values = dict(change)
        if "at" in values:
            values["location"] = point(*values.pop("at"))
        if "kind" in values:
            # A shared house carries its shared parts; an ordinary dwelling none.
            values["shared_house"] = self.templates[values["kind"]]["shared_house"]
        return values

    def insert(self, rows: list[dict[str, Any]]) -> None:
        values = []
        for row in rows:
            self.numbers += 1
            dwelling_id = uuid.uuid4()
            self.ids.append(dwelling_id)
            values.append(
                self.templates[row["kind"]]
                | self.values(row)
                | {"id": dwelling_id, "registration_number": f"P-{self.numbers}"}
            )
        self.session.execute(insert(Dwelling), values)

    def pick(self, index: int) -> uuid.UUID | None:
        return self.ids[index % len(self.ids)] if self.ids else None

    def update(self, ids: list[uuid.UUID], change: dict[str, Any]) -> None:
        if ids and change:
            self.session.execute(
                update(Dwelling).where(Dwelling.id.in_(ids)).values(**self.values(change))
            )

    def run(self, step: tuple[str, Any]) -> None:
        action, argument = step
        if action == "insert":
            self.insert(argument)
        elif action == "update":
            index, change = argument
            picked = self.pick(index)
            self.update([] if picked is None else [picked], change)
        elif action == "update_many":
            index, change = argument
            self.update(self.ids[index % 3 :: 3] if self.ids else [], change)
        elif action == "delete":
            picked = self.pick(argument)
            if picked is not None:
                self.session.execute(delete(Dwelling).where(Dwelling.id == picked))
                self.ids.remove(picked)
        else:
            refresh_rent_comparables(self.session, full=argument)
        self.session.flush()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(steps, min_size=1, max_size=14))
def test_maintained_values_equal_the_from_scratch_computation(
    session: Session, templates: dict[str, dict[str, Any]], history: list[tuple[str, Any]]
) -> None:
    savepoint = session.begin_nested()
    try:
        recorder = History(session, templates)
        for step in history:
            recorder.run(step)
        refresh_rent_comparables(session)
        assert maintained(session) == from_scratch(session)
        pending = session.execute(text("SELECT count(*) FROM rent_comparables_dirty"))
        assert pending.scalar_one() == 0
    finally:
        savepoint.rollback()


def test_pairs_within_a_centimetre_of_the_radius_are_decided_by_postgis(
    session: Session, templates: dict[str, dict[str, Any]]
) -> None:
    """Neighbours 1,500 m ± 4 mm from a dwelling: too close to the radius for the compiled
    pass's own distance, so PostGIS decides them, and the values still equal the SQL's."""
    origin = point(0, 0)
    placed = session.execute(
        text(
            "SELECT ST_AsEWKT(ST_Project(CAST(:origin AS geography), v.distance, "
            "radians(v.azimuth))::geometry, 15) "
            "FROM (VALUES (1499.996, 10), (1500.004, 80), (1499.999, 200), (1500.001, 300)) "
            "AS v(distance, azimuth)"
        ),
        {"origin": origin},
    ).scalars()
    history = History(session, templates)
    history.insert(
        [{"kind": "ordinary", "status": "registered", "at": (0.0, 0.0), "rent_yen": 50_000}]
    )
    history.session.execute(
        insert(Dwelling),
        [
            templates["ordinary"]
            | {
                "id": uuid.uuid4(),
                "registration_number": f"EDGE-{n}",
                "location": location,
                "rent_yen": 40_000 + 10_000 * n,
            }
            for n, location in enumerate(placed)
        ],
    )
    report = refresh_rent_comparables(session)
    assert report.ambiguous_pairs >= 4
    values = maintained(session)
    assert values == from_scratch(session)
    # Those at 1,499.996 m and 1,499.999 m count; those at 1,500.001 m and 1,500.004 m don't.
    assert values[history.ids[0]][0] == 2


def test_a_refresh_computes_only_near_what_changed(
    session: Session, templates: dict[str, dict[str, Any]]
) -> None:
    history = History(session, templates)
    near = [{"kind": "ordinary", "status": "registered", "at": (e, 0.0)} for e in (0, 50, 90)]
    far_away = [{"kind": "ordinary", "status": "registered", "at": (40_000.0, 0.0)}]
    history.insert(near + far_away)
    first = refresh_rent_comparables(session)
    assert (first.mode, first.computed) == ("full", 4)  # no state yet
    nothing = refresh_rent_comparables(session)
    assert (nothing.mode, nothing.computed, nothing.changed) == ("current", 0, 0)
    history.update([history.ids[0]], {"rent_yen": 90_000})
    again = refresh_rent_comparables(session)
    assert (again.mode, again.computed, again.cells) == ("incremental", 3, 1)
    assert again.changed == 2  # the neighbours' medians moved; its own did not
    assert maintained(session) == from_scratch(session)
    history.update([history.ids[1]], {"status": "deregistered"})
    gone = refresh_rent_comparables(session)
    assert history.ids[1] not in maintained(session)
    assert gone.mode == "incremental"
    assert maintained(session) == from_scratch(session)
    assert FULL_REFRESH_CELLS > 1
    assert session.execute(select(func.count()).select_from(RentComparable)).scalar_one() == 3
