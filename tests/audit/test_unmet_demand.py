"""Unmet demand: aggregates of match queries only, every cell under five queries suppressed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from housing_match.models import MatchQuery, OrganisationKind
from tests.audit.factories import csv_rows, get_json
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, OTSU_CITY

PATH = "/v1/audit/unmet-demand"
PERIOD = {"from_month": "2026-03", "to_month": "2026-05"}


def add_queries(
    session: Session,
    center: OrgFixture,
    municipality_code: str,
    at: datetime,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    relaxed: bool = False,
) -> None:
    for candidate_count, excluded_by in rows:
        top = max(excluded_by, key=lambda name: excluded_by[name]) if excluded_by else None
        session.add(
            MatchQuery(
                center_id=center.id,
                municipality_code=municipality_code,
                queried_at=at,
                candidate_count=candidate_count,
                excluded_by=excluded_by,
                top_constraint=top,
                relaxed=relaxed,
            )
        )
    session.commit()


@pytest.fixture
def demand(session: Session, center: OrgFixture) -> None:
    march = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    add_queries(
        session,
        center,
        OSAKA_CITY,
        march,
        [
            (0, {"rent_ceiling": 10}),
            (0, {"rent_ceiling": 10}),
            (1, {"accessibility": 25}),
            (2, {"rent_ceiling": 1}),
            (3, {"pets": 2}),
            # Plenty of candidates: its exclusions do not explain unmet demand.
            (7, {"rent_ceiling": 100}),
        ],
    )
    # Relaxed re-runs are not separate searches.
    add_queries(session, center, OSAKA_CITY, march, [(0, {"pets": 50})] * 3, relaxed=True)
    # April (Japan time): four queries, one at 00:30 on 1 April JST, i.e. still 31 March UTC.
    add_queries(
        session,
        center,
        OSAKA_CITY,
        datetime(2026, 3, 31, 15, 30, tzinfo=UTC),
        [(0, {"accessibility": 4})],
    )
    add_queries(
        session,
        center,
        OSAKA_CITY,
        datetime(2026, 4, 20, tzinfo=UTC),
        [(0, {"accessibility": 4})] * 3,
    )
    add_queries(
        session, center, OSAKA_CITY, datetime(2026, 4, 21, tzinfo=UTC), [(0, {})] * 2, relaxed=True
    )
    # May: five queries, a single one empty.
    add_queries(
        session,
        center,
        OSAKA_CITY,
        datetime(2026, 5, 2, tzinfo=UTC),
        [(0, {"pets": 9})] + [(12, {"rent_ceiling": 3})] * 4,
    )
    add_queries(session, center, OTSU_CITY, march, [(0, {"min_area": 8})] * 7)


def cells_by_month(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(cell["municipality_code"], cell["month"]): cell for cell in report["cells"]}


def test_cells_count_zero_and_few_and_name_the_top_constraint(
    client: TestClient, municipality: OrgFixture, demand: None
) -> None:
    report = get_json(client, PATH, municipality, **PERIOD)
    assert (report["few_threshold"], report["min_cell_queries"]) == (3, 5)
    assert (report["from_month"], report["to_month"]) == ("2026-03", "2026-05")
    march = cells_by_month(report)[(OSAKA_CITY, "2026-03")]
    assert march == {
        "municipality_code": OSAKA_CITY,
        "month": "2026-03",
        "suppressed": False,
        "queries": 6,
        "zero_candidates": 2,
        "few_candidates": 3,
        # 25 homes against rent_ceiling's 21 among the short searches (the 100 does not count).
        "top_constraint": "accessibility",
        "top_constraint_label_ja": "バリアフリー（車いす・段差・階数）",
    }


def test_small_cells_are_suppressed_and_never_leak_through_totals(
    client: TestClient, municipality: OrgFixture, demand: None
) -> None:
    report = get_json(client, PATH, municipality, **PERIOD)
    cells = cells_by_month(report)
    assert list(cells) == [
        (OSAKA_CITY, "2026-03"),
        (OSAKA_CITY, "2026-04"),
        (OSAKA_CITY, "2026-05"),
    ]
    # Four non-relaxed queries (the two relaxed ones would have made six).
    april = cells[(OSAKA_CITY, "2026-04")]
    assert april == {
        "municipality_code": OSAKA_CITY,
        "month": "2026-04",
        "suppressed": True,
        "queries": None,
        "zero_candidates": None,
        "few_candidates": None,
        "top_constraint": None,
        "top_constraint_label_ja": None,
    }
    may = cells[(OSAKA_CITY, "2026-05")]
    assert (may["suppressed"], may["queries"], may["zero_candidates"]) == (False, 5, 1)
    # One empty search's reason would describe one person: not shown.
    assert may["top_constraint"] is None
    assert report["totals"] == {
        "queries": 6 + 5,
        "zero_candidates": 2 + 1,
        "few_candidates": 3 + 0,
        "suppressed_cells": 1,
    }

    header, *rows = csv_rows(
        client.get(PATH, params=PERIOD | {"format": "csv"}, headers=municipality.headers)
    )
    assert header == [
        "市区町村コード",
        "年月",
        "照会件数",
        "候補0件の照会",
        "候補1〜3件の照会",
        "最も多く除外した条件",
        "条件ID",
        "秘匿",
    ]
    april_row = next(row for row in rows if row[1] == "2026-04")
    assert april_row == [OSAKA_CITY, "2026-04", "", "", "", "", "", "秘匿（5件未満）"]
    assert not any(value == "4" for row in rows for value in row[2:5])


def test_threshold_and_period_are_parameters(
    client: TestClient, municipality: OrgFixture, demand: None
) -> None:
    strict = get_json(client, PATH, municipality, few_threshold=1, **PERIOD)
    march = cells_by_month(strict)[(OSAKA_CITY, "2026-03")]
    assert (march["zero_candidates"], march["few_candidates"]) == (2, 1)
    assert march["top_constraint"] is None  # three short searches only
    only_may = get_json(client, PATH, municipality, from_month="2026-05", to_month="2026-05")
    assert list(cells_by_month(only_may)) == [(OSAKA_CITY, "2026-05")]
    for params in (
        {"from_month": "2026-13"},
        {"to_month": "26-05"},
        {"from_month": "2026-05", "to_month": "2026-03"},
        {"few_threshold": 0},
        {"format": "geojson"},
    ):
        response = client.get(PATH, params=params, headers=municipality.headers)
        assert response.status_code == 422, params


def test_default_period_is_the_last_twelve_months(
    client: TestClient, session: Session, center: OrgFixture, municipality: OrgFixture
) -> None:
    add_queries(session, center, OSAKA_CITY, datetime.now(UTC), [(0, {"pets": 1})] * 5)
    report = get_json(client, PATH, municipality)
    (cell,) = report["cells"]
    assert cell["queries"] == 5
    assert cell["month"] == report["to_month"]
    # GeoJSON is not offered for a report without places: JSON comes back.
    response = client.get(PATH, headers=municipality.headers | {"Accept": "application/geo+json"})
    assert response.headers["content-type"] == "application/json"


def test_a_municipality_sees_only_its_own_municipalities(
    client: TestClient,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    admin: OrgFixture,
    demand: None,
) -> None:
    osaka = get_json(client, PATH, municipality, **PERIOD)
    assert {cell["municipality_code"] for cell in osaka["cells"]} == {OSAKA_CITY}
    otsu_org = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    otsu = get_json(client, PATH, otsu_org, **PERIOD)
    assert [(c["municipality_code"], c["queries"]) for c in otsu["cells"]] == [(OTSU_CITY, 7)]
    assert otsu["totals"]["queries"] == 7
    shiga = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("25",))
    assert get_json(client, PATH, shiga, **PERIOD)["totals"]["queries"] == 7
    everywhere = get_json(client, PATH, admin, **PERIOD)
    assert {(OSAKA_CITY, "2026-03"), (OTSU_CITY, "2026-03")} <= set(cells_by_month(everywhere))
    only_otsu = get_json(client, PATH, admin, prefecture="25", **PERIOD)
    assert {cell["municipality_code"] for cell in only_otsu["cells"]} == {OTSU_CITY}
