"""Every match query leaves one aggregate row for the audit: no person in it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from housing_match.matching.rules import HardConstraint
from housing_match.models import MatchQuery
from tests.conftest import OrgFixture
from tests.matching.factories import create_person, home, matches


def logged(session: Session, center: OrgFixture) -> list[MatchQuery]:
    return list(
        session.scalars(
            select(MatchQuery).where(MatchQuery.center_id == center.id).order_by(MatchQuery.id)
        )
    )


def test_the_table_has_the_agreed_shape(session: Session) -> None:
    columns = {c["name"]: c for c in inspect(session.get_bind()).get_columns("match_queries")}
    assert list(columns) == [
        "id",
        "center_id",
        "municipality_code",
        "queried_at",
        "candidate_count",
        "excluded_by",
        "top_constraint",
        "relaxed",
    ]
    assert str(columns["id"]["type"]) == "BIGINT"
    assert columns["id"]["identity"]
    assert str(columns["municipality_code"]["type"]) == "CHAR(6)"
    assert str(columns["excluded_by"]["type"]) == "JSONB"
    assert not columns["municipality_code"]["nullable"]
    assert columns["top_constraint"]["nullable"]
    assert "person" not in " ".join(columns)


def test_one_row_per_match_query(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    home(client, corporation, municipality, rent_yen=40_000)
    home(client, corporation, municipality, rent_yen=60_000)
    home(client, corporation, municipality, rent_yen=70_000, pets_allowed=False)
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "has_pets": True})
    matches(client, center, person)
    matches(client, center, person, relax="rent_ceiling")
    first, second = logged(session, center)
    assert first.municipality_code == "271004"
    assert first.candidate_count == 0
    assert first.excluded_by == {name.value: 0 for name in HardConstraint} | {
        "rent_ceiling": 2,
        "pets": 3,
    }
    assert first.top_constraint == "pets"
    assert first.relaxed is False
    assert first.queried_at is not None
    assert second.relaxed is True
    assert second.excluded_by == first.excluded_by  # always the strict counts


def test_no_exclusions_means_no_top_constraint(
    client: TestClient, session: Session, center: OrgFixture
) -> None:
    person = create_person(client, center)
    matches(client, center, person)
    (row,) = logged(session, center)
    assert row.top_constraint is None
    assert set(row.excluded_by.values()) == {0}


def test_allocation_logs_one_query_per_person(
    client: TestClient, session: Session, center: OrgFixture
) -> None:
    people = [create_person(client, center) for _ in range(3)]
    response = client.post("/v1/allocations", json={"person_ids": people}, headers=center.headers)
    assert response.status_code == 200
    assert len(logged(session, center)) == 3


def test_the_log_counts_what_the_response_counts_and_ties_go_to_the_earlier_constraint(
    client: TestClient,
    session: Session,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
) -> None:
    home(client, corporation, municipality, rent_yen=40_000, pets_allowed=True)
    home(client, corporation, municipality, rent_yen=70_000, pets_allowed=True)  # rent only
    home(client, corporation, municipality, rent_yen=40_000, pets_allowed=False)  # pets only
    person = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "has_pets": True})
    body = matches(client, center, person)
    (row,) = logged(session, center)
    assert row.excluded_by == {item["constraint"]: item["excluded"] for item in body["excluded_by"]}
    assert row.candidate_count == body["candidate_count"] == 1
    order = list(HardConstraint)
    assert order.index(HardConstraint.RENT_CEILING) < order.index(HardConstraint.PETS)
    assert row.top_constraint == "rent_ceiling"
