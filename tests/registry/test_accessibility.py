"""A wheelchair claim needs a step-free route: the registry refuses it otherwise, through the
API and the bulk import alike, and the database holds the same rule."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.models import Dwelling
from housing_match.registry.accessibility import (
    WHEELCHAIR_CLAIM_CHECK,
    has_step_free_route,
    step_free_route_sql,
    wheelchair_claim_error,
)
from tests.conftest import OrgFixture
from tests.registry.factories import dwelling_payload
from tests.registry.test_bulk import by_row, csv_bytes, flat, post_import
from tests.registry.test_vacancies import registered_dwelling

NO_ROUTE = [
    pytest.param(
        {"floor": 1, "step_free_entrance": False}, ["step_free_entrance"], id="step-at-entrance"
    ),
    pytest.param(
        {"floor": 3, "floors_total": 5, "has_elevator": False},
        ["floor", "has_elevator"],
        id="upper-floor-without-lift",
    ),
    pytest.param(
        {"floor": -1, "floors_total": 3, "has_elevator": False},
        ["floor", "has_elevator"],
        id="basement-without-lift",
    ),
    pytest.param(
        {"floor": 2, "step_free_entrance": False, "has_elevator": False},
        ["step_free_entrance", "floor", "has_elevator"],
        id="both",
    ),
]


def problems(response: Any) -> str:
    assert response.status_code == 422, response.text
    return " ".join(error["message"] for error in response.json()["errors"])


@pytest.mark.parametrize(("overrides", "fields"), NO_ROUTE)
def test_a_wheelchair_claim_without_a_step_free_route_is_refused(
    client: TestClient, corporation: OrgFixture, overrides: dict[str, Any], fields: list[str]
) -> None:
    payload = dwelling_payload(wheelchair_accessible=True, **overrides)

    message = problems(client.post("/v1/dwellings", json=payload, headers=corporation.headers))

    assert "wheelchair_accessible needs a step-free route" in message
    for field in fields:
        assert field in message


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"floor": 1, "step_free_entrance": True}, id="ground-floor"),
        pytest.param(
            {"floor": 4, "floors_total": 5, "has_elevator": True, "step_free_entrance": True},
            id="lift",
        ),
        pytest.param(
            {"floor": 2, "step_free_entrance": False, "has_elevator": False}, id="no-claim"
        ),
    ],
)
def test_a_claim_with_a_route_or_no_claim_is_accepted(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    overrides: dict[str, Any],
) -> None:
    claim = overrides.get("step_free_entrance", False)
    payload = dwelling_payload(wheelchair_accessible=claim, **overrides)

    created = client.post("/v1/dwellings", json=payload, headers=corporation.headers)

    assert created.status_code == 201, created.text
    assert created.json()["wheelchair_accessible"] is claim


def test_an_amendment_cannot_move_a_wheelchair_home_upstairs_without_a_lift(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture
) -> None:
    dwelling_id = registered_dwelling(
        client, corporation, municipality, wheelchair_accessible=True, step_free_entrance=True
    )
    amended = dwelling_payload(
        wheelchair_accessible=True, step_free_entrance=True, floor=2, has_elevator=False
    )

    message = problems(
        client.put(f"/v1/dwellings/{dwelling_id}", json=amended, headers=corporation.headers)
    )

    assert "floor is 2 and has_elevator is false" in message


def test_import_rows_claiming_wheelchair_access_without_a_route_are_rejected(
    client: TestClient, municipality: OrgFixture, session: Session
) -> None:
    rows = [
        flat("W-1", floor=1, step_free_entrance="はい", wheelchair_accessible="はい"),
        flat("W-2", floor=1, step_free_entrance="いいえ", wheelchair_accessible="はい"),  # row 3
        flat("W-3", floor=2, step_free_entrance="はい", wheelchair_accessible="はい"),  # row 4
        flat(
            "W-4",
            floor=2,
            has_elevator="あり",
            step_free_entrance="はい",
            wheelchair_accessible="はい",
        ),
    ]

    report = post_import(client, municipality, csv_bytes(rows)).json()

    assert (report["accepted"], report["rejected"]) == (2, 2), report
    outcome = by_row(report)
    assert "step_free_entrance is false" in " ".join(outcome[3]["reasons"])
    assert "floor is 2 and has_elevator is false" in " ".join(outcome[4]["reasons"])
    claimed = session.scalars(
        select(Dwelling.registration_number).where(
            Dwelling.authority_id == municipality.id, Dwelling.wheelchair_accessible
        )
    ).all()
    assert sorted(claimed) == ["W-1", "W-4"]


def test_the_database_refuses_a_claim_without_a_route(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, session: Session
) -> None:
    dwelling_id = registered_dwelling(
        client, corporation, municipality, wheelchair_accessible=True, step_free_entrance=True
    )

    with (
        pytest.raises(IntegrityError, match="ck_dwellings_wheelchair_step_free_route"),
        session.begin_nested(),
    ):
        session.execute(
            update(Dwelling).where(Dwelling.id == dwelling_id).values(step_free_entrance=False)
        )


def test_the_rule_reads_the_same_in_python_sql_and_the_constraint(session: Session) -> None:
    cases = itertools.product([True, False], [-2, 0, 1, 2, 7], [True, False])
    for entrance, level, elevator in cases:
        dwelling = select(
            literal(entrance).label("step_free_entrance"),
            literal(level).label("floor"),
            literal(elevator).label("has_elevator"),
            literal(True).label("wheelchair_accessible"),
        ).subquery("dwelling")
        sql_route, constraint = session.execute(
            select(
                step_free_route_sql(
                    dwelling.c.step_free_entrance, dwelling.c.floor, dwelling.c.has_elevator
                ),
                text(WHEELCHAIR_CLAIM_CHECK),
            ).select_from(dwelling)
        ).one()
        route = has_step_free_route(step_free_entrance=entrance, floor=level, has_elevator=elevator)
        error = wheelchair_claim_error(
            wheelchair_accessible=True,
            step_free_entrance=entrance,
            floor=level,
            has_elevator=elevator,
        )
        assert (sql_route, constraint, error is None) == (route, route, route), (
            entrance,
            level,
            elevator,
        )
