"""Migration 0010 on rows written before it: wheelchair claims without a step-free route are
withdrawn (with history), and every dwelling gets a washbasin without any stored standards
result changing. Run in a database of its own, migrated to 0009, filled, then to head."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from housing_match.dbadmin import alembic_config, ensure_database, migrate

ORDINARY = {"kind": "ordinary", "shared_house": None, "toilet": "in_unit"}
SHARED_HOUSE = {
    "kind": "shared_house",
    "toilet": "shared",
    "shared_house": '{"capacity": 3, "washbasins": 1}',
}
# registration number → (columns before 0010, washbasin expected, wheelchair claim expected)
ROWS: dict[str, tuple[dict[str, Any], str, bool]] = {
    "in-unit-toilet": (ORDINARY, "in_unit", False),
    "shared-toilet": (ORDINARY | {"toilet": "shared"}, "shared", False),
    "no-toilet": (ORDINARY | {"toilet": "none"}, "none", False),
    "shared-house": (SHARED_HOUSE, "shared", False),
    "shared-house-no-basin": (
        SHARED_HOUSE | {"shared_house": '{"capacity": 3, "washbasins": 0}'},
        "none",
        False,
    ),
    "claim-ground": (ORDINARY | {"wheelchair_accessible": True}, "in_unit", True),
    "claim-lift": (
        ORDINARY | {"wheelchair_accessible": True, "floor": 3, "has_elevator": True},
        "in_unit",
        True,
    ),
    "claim-step": (
        ORDINARY | {"wheelchair_accessible": True, "step_free_entrance": False},
        "in_unit",
        False,
    ),
    "claim-upstairs": (ORDINARY | {"wheelchair_accessible": True, "floor": 2}, "in_unit", False),
    "claim-basement": (ORDINARY | {"wheelchair_accessible": True, "floor": -1}, "in_unit", False),
}
WITHDRAWN = {"claim-step", "claim-upstairs", "claim-basement"}


@pytest.fixture
def before_0010(database_url: str) -> Iterator[str]:
    url = make_url(database_url)
    scratch = url.set(database=f"{url.database}_m0010").render_as_string(hide_password=False)
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{url.database}_m0010" WITH (FORCE)')
    with maintenance.connect() as connection:
        connection.execute(drop)
    ensure_database(scratch)
    migrate(scratch, "0009")
    try:
        yield scratch
    finally:
        with maintenance.connect() as connection:
            connection.execute(drop)
        maintenance.dispose()


def _fill(connection: Connection) -> None:
    organisation = connection.execute(
        text(
            "INSERT INTO organisations (slug, name, kind, jurisdiction_codes) "
            "VALUES ('osaka-city', '大阪市', 'municipality', '{271004}') RETURNING id"
        )
    ).scalar_one()
    for number, (columns, _, _) in ROWS.items():
        values = {
            "floor": 1,
            "has_elevator": False,
            "step_free_entrance": True,
            "wheelchair_accessible": False,
            **columns,
        }
        dwelling = connection.execute(
            text(
                """
                INSERT INTO dwellings (authority_id, applicant_id, registration_number, status,
                    registration_class, kind, shared_house, address, municipality_code,
                    location, floor_area_m2, floor, floors_total, has_elevator,
                    step_free_entrance, wheelchair_accessible, kitchen, toilet, storage, bath,
                    is_existing_building, seismic_evidence, rent_yen, common_fee_yen,
                    deposit_yen, key_money_yen, accepts_all_categories, pets_allowed,
                    smoking_allowed, standards_compliant)
                VALUES (:org, :org, :number, 'registered', 'registered', :kind,
                    CAST(:shared_house AS jsonb), '大阪市', '271004',
                    'SRID=4326;POINT(135.4959 34.7025)', 30, :floor, 5, :has_elevator,
                    :step_free_entrance, :wheelchair_accessible, 'in_unit', :toilet, 'in_unit',
                    'in_unit', true, 'none', 40000, 0, 0, 0, true, false, false, true)
                RETURNING id
                """
            ),
            {"org": organisation, "number": number, **values},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO vacancies (dwelling_id, corporation_id, status, available_from, "
                "rent_offered_yen, common_fee_offered_yen, expires_at) VALUES (:dwelling, :org, "
                "'open', current_date, 40000, 0, now() + interval '20 days')"
            ),
            {"dwelling": dwelling, "org": organisation},
        )


def test_existing_rows_are_migrated_as_the_docstring_says(before_0010: str) -> None:
    engine = create_engine(before_0010)
    with engine.begin() as connection:
        _fill(connection)

    migrate(before_0010, "head")

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT d.registration_number, d.washbasin, d.wheelchair_accessible, "
                "d.standards_compliant, l.wheelchair_accessible "
                "FROM dwellings d JOIN match_listings l ON l.dwelling_id = d.id"
            )
        ).all()
        history = connection.execute(
            text(
                "SELECT d.registration_number, h.channel, h.action, h.before, h.after "
                "FROM history h JOIN dwellings d ON d.id::text = h.entity_id"
            )
        ).all()
    engine.dispose()

    found = {number: (basin, claim, listed) for number, basin, claim, _, listed in rows}
    assert found == {number: (basin, claim, claim) for number, (_, basin, claim) in ROWS.items()}
    assert all(compliant for *_, compliant, _ in rows)  # stored results untouched
    assert {row[0] for row in history} == WITHDRAWN
    _, channel, action, before, after = next(row for row in history if row[0] == "claim-upstairs")
    assert (channel, action) == ("migration", "dwelling.wheelchair_claim_withdrawn")
    assert before == {
        "wheelchair_accessible": True,
        "step_free_entrance": True,
        "floor": 2,
        "has_elevator": False,
    }
    assert after["wheelchair_accessible"] is False

    command.downgrade(alembic_config(before_0010), "0009")
    migrate(before_0010, "head")
