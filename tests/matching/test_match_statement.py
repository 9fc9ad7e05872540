"""The match statement's machinery: bit sets stored by the database as the vocabulary numbers
them, counts derived from the failure histogram, the depths of a ranked row, pipelined matches
equal to one-by-one ones, and a chosen home's details read again exactly as its match read them."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from housing_match.matching import service
from housing_match.matching.repository import (
    Depth,
    FailureBits,
    MatchCriteria,
    MatchRepository,
    PersonRepository,
)
from housing_match.matching.rules import HardConstraint
from housing_match.models import MatchListing
from housing_match.vocabulary import (
    PERSON_CATEGORY_BIT_ORDER,
    RISK_KIND_BIT_ORDER,
    UNKNOWN_RISK_BIT,
    PersonCategory,
    RiskKind,
    category_bits,
    risk_bits,
)
from tests.conftest import OrgFixture
from tests.matching.factories import at, create_person, home

A, B, C = HardConstraint.RENT_CEILING, HardConstraint.PETS, HardConstraint.ANCHOR_DISTANCE


def test_the_database_numbers_risks_and_categories_as_the_vocabulary_does(
    session: Session,
) -> None:
    assert set(RISK_KIND_BIT_ORDER) == set(RiskKind)
    assert set(PERSON_CATEGORY_BIT_ORDER) == set(PersonCategory)
    for kind in RiskKind:
        stored = session.scalar(text("SELECT risk_bits(ARRAY[:k]::varchar[])"), {"k": kind.value})
        assert stored == risk_bits([kind.value]) == 1 << RISK_KIND_BIT_ORDER.index(kind)
    for category in PersonCategory:
        stored = session.scalar(
            text("SELECT category_bits(ARRAY[:c]::varchar[])"), {"c": category.value}
        )
        assert stored == category_bits([category.value])
    everything = [kind.value for kind in RiskKind]
    assert session.scalar(
        text("SELECT risk_bits(CAST(:k AS varchar[]))"), {"k": everything}
    ) == risk_bits(everything)
    # A requirement the vocabulary does not know is one nobody covers; an unknown category
    # is nobody's.
    assert risk_bits(["no_such_risk"]) == UNKNOWN_RISK_BIT
    assert session.scalar(text("SELECT risk_bits('{no_such_risk}')")) == UNKNOWN_RISK_BIT
    assert category_bits(["no_such_category"]) == 0
    assert session.scalar(text("SELECT category_bits('{no_such_category}')")) == 0
    assert session.scalar(text("SELECT risk_bits('{}')")) == 0


def test_listings_store_the_bit_sets_of_their_arrays(
    session: Session,
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    home(
        client,
        corporation,
        municipality,
        accepted_categories=["elderly", "disabled"],
        required_risks=[
            {"risk_kind": "watch_over", "whole_tenancy": True},
            {"risk_kind": "rent_guarantee", "whole_tenancy": False},
        ],
        vacancy={"covered_risks": [{"risk_kind": "rent_guarantee", "whole_tenancy": False}]},
    )
    listing = session.scalars(select(MatchListing)).one()
    assert listing.accepted_category_bits == category_bits(listing.accepted_categories)
    assert listing.required_risk_bits == risk_bits(["watch_over", "rent_guarantee"])
    assert listing.required_whole_tenancy_risk_bits == risk_bits(["watch_over"])
    assert listing.covered_risk_bits == risk_bits(listing.covered_risks)


def test_counts_follow_from_the_failure_histogram() -> None:
    bits = FailureBits.of([A, B, C], loosened=False, relaxed=None)
    a, b, c = (bits.constraints[name] for name in (A, B, C))
    # 5 homes pass, 3 fail A only, 2 fail A and B, 4 fail C only.
    counts = bits.counts([(0, 5), (a, 3), (a | b, 2), (c, 4)])
    assert (counts.considered, counts.candidates, counts.strict_candidates) == (14, 5, 5)
    assert counts.excluded[A] == 5
    assert counts.excluded[B] == 2
    assert counts.excluded[C] == 4
    assert counts.excluded_only[A] == 3
    assert counts.excluded_only[B] == 0
    assert counts.excluded_only[C] == 4
    # Constraints the statement left out (moot for the person) excluded nothing.
    assert counts.excluded[HardConstraint.SMOKING] == 0
    assert counts.excluded_only[HardConstraint.SMOKING] == 0


def test_a_relaxed_constraint_admits_its_failures_and_a_loosened_one_only_within_reach() -> None:
    dropped = FailureBits.of([A, C], loosened=False, relaxed=C)
    c = dropped.constraints[C]
    counts = dropped.counts([(0, 2), (c, 3), (dropped.constraints[A] | c, 1)])
    assert (counts.candidates, counts.strict_candidates) == (5, 2)
    # As run, the dropped constraint excludes nothing: the one excluded home is A's alone.
    assert (counts.excluded[C], counts.excluded_only[C], counts.excluded_before_relaxation) == (
        0,
        0,
        4,
    )
    assert (counts.excluded[A], counts.excluded_only[A], counts.excluded_by_several) == (1, 1, 0)
    assert counts.considered == counts.candidates + counts.excluded_homes

    loosened = FailureBits.of([A, C], loosened=True, relaxed=C)
    c, wider = loosened.constraints[C], loosened.loosened
    assert wider is not None
    # 3 homes fail the strict radius but lie within the loosened one; 4 fail both.
    counts = loosened.counts([(0, 2), (c, 3), (c | wider, 4)])
    assert (counts.candidates, counts.strict_candidates) == (5, 2)
    # As run, the loosened constraint excludes the 4 beyond the wider radius; 7 before.
    assert counts.excluded[C] == 4
    assert counts.excluded_only[C] == 4
    assert counts.excluded_before_relaxation == 7
    assert counts.considered == counts.candidates + counts.excluded_homes


def test_homes_failing_several_constraints_are_counted_once() -> None:
    bits = FailureBits.of([A, B, C], loosened=True, relaxed=C)
    a, b, c = (bits.constraints[name] for name in (A, B, C))
    wider = bits.loosened
    assert wider is not None
    # 1 passes; 2 fail A alone; 3 fail A and B; 4 fail C within reach and B; 5 fail A and C
    # beyond reach; 6 fail C within reach only (admitted by the relaxation).
    counts = bits.counts([(0, 1), (a, 2), (a | b, 3), (c | b, 4), (a | c | wider, 5), (c, 6)])
    assert (counts.considered, counts.candidates, counts.excluded_homes) == (21, 7, 14)
    assert (counts.excluded[A], counts.excluded[B], counts.excluded[C]) == (10, 7, 5)
    assert (counts.excluded_only[A], counts.excluded_only[B], counts.excluded_only[C]) == (2, 4, 0)
    assert counts.excluded_by_several == 8
    assert sum(counts.excluded_only.values()) + counts.excluded_by_several == counts.excluded_homes
    assert counts.excluded_before_relaxation == 15


def _criteria(session: Session, person_id: str) -> MatchCriteria:
    person = PersonRepository(session).get_with_details(uuid.UUID(person_id))
    assert person is not None
    return service.criteria_for(
        person, service.person_context(person), weights=service.resolve_weights(None)
    )


def _four_homes_and_a_person_near_the_clinic(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> str:
    """Homes 0, 400, 900 and 1,600 m north of a clinic; a person who must live within
    1,200 m of it (three of them). The person's id."""
    for north in (0, 400, 900, 1_600):
        home(client, corporation, municipality, location=at(north_m=north), rent_yen=40_000)
    clinic = {"kind": "hospital", "location": at(), "max_distance_m": 1_200, "required": True}
    return create_person(client, center, places={"anchors": [clinic]})


def test_pipelined_matches_equal_one_by_one_and_a_chosen_home_reads_as_matched(
    session: Session,
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    near = _four_homes_and_a_person_near_the_clinic(client, center, corporation, municipality)
    anywhere = create_person(client, center, needs={"rent_ceiling_yen": 60_000})
    criteria = [_criteria(session, near), _criteria(session, anywhere)]
    repository = MatchRepository(session)

    one_by_one = [repository.match(c, limit=10) for c in criteria]
    together = repository.match_many(criteria, limit=10)
    for alone, pipelined in zip(one_by_one, together, strict=True):
        assert pipelined.counts == alone.counts
        assert pipelined.rows == alone.rows
    assert len(one_by_one[0]) == 3  # within 1,200 m of the clinic
    assert len(one_by_one[1]) == 4

    ranked = repository.match(criteria[0], limit=10, depth=Depth.RANKED)
    assert ranked.scores == [(row.vacancy_id, row.score) for row in one_by_one[0].rows]
    assert [replace(row, home=None) for row in one_by_one[0].rows] == ranked.rows
    # The details read afterwards for chosen homes are those the match reads with them.
    chosen = one_by_one[0].rows[1]
    assert chosen.home is not None
    assert repository.homes([chosen.vacancy_id]) == {chosen.vacancy_id: chosen.home}


def test_the_floor_admits_what_the_match_admits_at_the_same_distances(
    session: Session,
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    near = _criteria(
        session,
        _four_homes_and_a_person_near_the_clinic(client, center, corporation, municipality),
    )
    repository = MatchRepository(session)

    matched = repository.match(near, limit=10)
    admitted, nearest = repository.floor(near)
    assert admitted == matched.counts.candidates == 3
    assert nearest == min(row.anchor_distances_m[0] for row in matched.rows)
    # Run again on the connection, it is the statement prepared the first time, as a match's is.
    prepared = text("SELECT count(*) FROM pg_prepared_statements")
    before = session.scalar(prepared)
    repository.floor(near)
    assert session.scalar(prepared) == before
