"""The match SQL is rendered once per shape: every person of that shape gets the same text,
and their own values only through parameters."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from housing_match.matching.repository import (
    MATCH_DIALECT,
    AnchorCriterion,
    MatchCriteria,
    MatchRepository,
    ZoneCriterion,
    match_shape,
)
from housing_match.matching.rules import Factor, HardConstraint

BASE = MatchCriteria(
    home_municipality_code="271004",
    household_size=1,
    categories=("elderly",),
    rent_ceiling_yen=45_000,
    anchors=(
        AnchorCriterion("SRID=4326;POINT(135.50 34.70)", 1_500, True),
        AnchorCriterion("SRID=4326;POINT(135.52 34.68)", 8_000, False),
    ),
    exclusion_zones=(
        ZoneCriterion("SRID=4326;POINT(135.49 34.69)", 300),
        ZoneCriterion("SRID=4326;POLYGON((135.4 34.6,135.41 34.6,135.41 34.61,135.4 34.6))", None),
    ),
    preferred_polygons=("SRID=4326;POLYGON((135.5 34.6,135.6 34.6,135.6 34.7,135.5 34.6))",),
    weights=dict.fromkeys(Factor, 1.0),
)

# Each differs from BASE in values only, several in needs that switch a check on.
VARIANTS = [
    BASE,
    dataclasses.replace(
        BASE,
        home_municipality_code="271403",
        preferred_municipality_codes=("271004", "271276"),
        household_size=3,
        categories=("disability", "low_income"),
        rent_ceiling_yen=61_000,
        move_in_date=date(2026, 12, 1),
        min_area_m2=Decimal("25.5"),
        wheelchair=True,
        no_stairs=True,
        max_floor=2,
        required_facilities=("kitchen", "bath"),
        has_pets=True,
        smokes=True,
        high_support_needs=True,
        plan_covered=("rent_arrears", "rent_arrears"),
        plan_open_ended=("rent_arrears",),
        vacancy_ttl_days=14,
    ),
    dataclasses.replace(
        BASE,
        anchors=(
            AnchorCriterion("SRID=4326;POINT(135.1 34.2)", 900, True),
            AnchorCriterion("SRID=4326;POINT(135.2 34.3)", 15_000, False),
        ),
        exclusion_zones=(
            ZoneCriterion("SRID=4326;POINT(135.3 34.4)", 1_000),
            ZoneCriterion("SRID=4326;POLYGON((135 34,135.1 34,135.1 34.1,135 34))", None),
        ),
        weights=dict.fromkeys(Factor, 0.5) | {Factor.FRESHNESS: 2.0},
    ),
]


def test_persons_of_one_shape_share_one_text_and_differ_only_in_parameters(
    session: Session,
) -> None:
    repository = MatchRepository(session)
    assert len({match_shape(criteria) for criteria in VARIANTS}) == 1
    texts = set()
    for criteria in VARIANTS:
        for limit in (3, 20):
            rendered, params = repository.rendered(criteria, limit=limit)
            fresh = repository.match_statement(criteria, limit=limit)[0].compile(
                dialect=MATCH_DIALECT
            )
            assert rendered.sql == fresh.string
            assert rendered.names == tuple(fresh.positiontup or ())
            assert {name: params[name] for name in fresh.params} == fresh.params
            texts.add(rendered.sql)
    assert len(texts) == 1


def test_persons_of_one_shape_share_one_prepared_statement(session: Session) -> None:
    # psycopg keys prepared statements by the types it sends: typed as psycopg types them (a
    # small int as int2, a None as no type), these persons would be three statements, each parsed on its own.
    repository = MatchRepository(session)
    prepared = text("SELECT count(*) FROM pg_prepared_statements")
    before = session.scalar(prepared)
    smaller_ceiling = dataclasses.replace(BASE, rent_ceiling_yen=30_000, max_floor=40_000)
    for criteria in [*VARIANTS, smaller_ceiling]:
        repository.match(criteria, limit=20)
    assert session.scalar(prepared) == (before or 0) + 1


def test_a_relaxed_radius_is_a_parameter_of_its_own_shape(session: Session) -> None:
    repository = MatchRepository(session)
    relaxed = [
        dataclasses.replace(BASE, relax=HardConstraint.ANCHOR_DISTANCE, radius_factor=factor)
        for factor in (1.5, 3.0)
    ]
    assert match_shape(relaxed[0]) != match_shape(BASE)
    for criteria in relaxed:
        rendered, params = repository.rendered(criteria, limit=20)
        fresh = repository.match_statement(criteria, limit=20)[0].compile(dialect=MATCH_DIALECT)
        assert rendered.sql == fresh.string
        assert {name: params[name] for name in fresh.params} == fresh.params
    assert repository.rendered(relaxed[1], limit=20)[1]["anchor_0_relaxed_m"] == 4_500
