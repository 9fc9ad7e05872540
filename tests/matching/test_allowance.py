"""住宅扶助 ceilings for every current municipality, read through the person API, and refusal
of codes that are not current municipalities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.bench.synthetic import CITIES
from housing_match.demo_registry import DEMO_CITIES
from housing_match.jurisdiction import is_valid_municipality_code
from housing_match.matching.allowance import DATA_FILE, load_table
from housing_match.models import Person
from tests.conftest import OrgFixture
from tests.matching.factories import create_person, person_payload

# 浜松市中区: one of the seven wards merged into three on 2024-01-01 (valid check digit).
RETIRED_WARD = "221317"
# A valid check digit, but no municipality has ever had the code.
NO_SUCH_MUNICIPALITY = "131997"


def ceiling(client: TestClient, center: OrgFixture, code: str, household: int) -> dict[str, Any]:
    person = create_person(
        client, center, home_municipality_code=code, household_size=household, needs={}
    )
    read = client.get(f"/v1/persons/{person}", headers=center.headers)
    assert read.status_code == 200, read.text
    body: dict[str, Any] = read.json()["rent_ceiling"]
    return body


@pytest.mark.parametrize(
    ("code", "household", "yen", "grade", "basis", "row"),
    [
        # Tokyo's special wards: the prefecture's 1級地 row.
        pytest.param(
            "131016", 1, 53_700, "1級地-1", "prefecture_grade", "東京都 1級地", id="千代田区"
        ),
        pytest.param("271004", 2, 48_000, "1級地-1", "city", "大阪市", id="大阪市-2人"),
        pytest.param("011002", 1, 36_000, "1級地-2", "city", "札幌市", id="札幌市"),
        # A 北海道 town above 3級地-2 and one not listed (so 3級地-2): one 3級地 row.
        pytest.param(
            "013374", 1, 25_000, "3級地-1", "prefecture_grade", "北海道 3級地", id="七飯町"
        ),
        pytest.param(
            "013030", 1, 25_000, "3級地-2", "prefecture_grade", "北海道 3級地", id="当別町"
        ),
        # Designated-city wards take their city's grade and ceiling.
        pytest.param("271276", 1, 40_000, "1級地-1", "city", "大阪市", id="大阪市北区"),
        pytest.param("141097", 4, 68_000, "1級地-1", "city", "横浜市", id="横浜市港北区-3〜5人"),
        pytest.param("221384", 1, 37_700, "2級地-1", "city", "浜松市", id="浜松市中央区-2024"),
        pytest.param("141305", 5, 69_800, "1級地-1", "city", "川崎市", id="川崎市-5人"),
        pytest.param("132012", 1, 53_700, "1級地-1", "city", "八王子市", id="八王子市"),
        pytest.param(
            "134015", 1, 40_900, "3級地-1", "prefecture_grade", "東京都 3級地", id="八丈町"
        ),
        pytest.param(
            "163210", 6, 31_000, "3級地-1", "prefecture_grade", "富山県 3級地", id="舟橋村-6人"
        ),
        pytest.param("472018", 9, 50_000, "2級地-1", "city", "那覇市", id="那覇市-7人以上"),
        pytest.param(
            "463035", 1, 24_200, "3級地-2", "prefecture_grade", "鹿児島県 3級地", id="三島村"
        ),
    ],
)
def test_known_ceilings(
    client: TestClient,
    center: OrgFixture,
    code: str,
    household: int,
    yen: int,
    grade: str,
    basis: str,
    row: str,
) -> None:
    read = ceiling(client, center, code, household)

    assert (read["yen"], read["grade"], read["ceiling_basis"], read["ceiling_row"]) == (
        yen,
        grade,
        basis,
        row,
    )
    assert read["source"] == "housing_allowance"
    assert read["municipal_value"] is (basis == "city")
    assert read["data_as_of"] == "2026-04"
    assert grade in read["label_ja"]
    assert row in read["label_ja"]


def test_the_household_column_follows_the_published_table(
    client: TestClient, center: OrgFixture
) -> None:
    columns = {size: ceiling(client, center, "271004", size) for size in (1, 2, 3, 5, 6, 7, 10)}

    assert {size: read["yen"] for size, read in columns.items()} == {
        1: 40_000,
        2: 48_000,
        3: 52_000,
        5: 52_000,
        6: 56_000,
        7: 62_000,
        10: 62_000,
    }
    assert columns[5]["household_column"] == "3〜5人"
    assert columns[10]["household_column"] == "7人以上"


@pytest.mark.parametrize("code", [RETIRED_WARD, NO_SUCH_MUNICIPALITY])
def test_a_code_that_is_not_a_current_municipality_is_refused(
    client: TestClient, center: OrgFixture, code: str
) -> None:
    assert is_valid_municipality_code(code)  # the check digit alone would let it through

    created = client.post(
        "/v1/persons", json=person_payload(home_municipality_code=code), headers=center.headers
    )

    assert created.status_code == 422
    (error,) = created.json()["errors"]
    assert error["location"] == "body.home_municipality_code"
    assert f"'{code}' is not a current municipality code" in error["message"]


def test_an_update_or_a_preferred_municipality_is_checked_too(
    client: TestClient, center: OrgFixture
) -> None:
    person = create_person(client, center)

    moved = client.patch(
        f"/v1/persons/{person}",
        json={"home_municipality_code": RETIRED_WARD},
        headers=center.headers,
    )
    preferred = client.patch(
        f"/v1/persons/{person}",
        json={"places": {"preferred_areas": {"municipality_codes": ["271403", RETIRED_WARD]}}},
        headers=center.headers,
    )

    assert moved.status_code == 422
    assert moved.json()["errors"][0]["location"] == "body.home_municipality_code"
    assert preferred.status_code == 422
    assert preferred.json()["errors"][0]["location"] == (
        "body.places.preferred_areas.municipality_codes.1"
    )
    assert "not a current municipality code" in preferred.json()["errors"][0]["message"]


def test_a_stored_code_retired_since_reads_without_a_ceiling_and_is_not_matched(
    client: TestClient, session: Session, center: OrgFixture
) -> None:
    person = create_person(client, center, needs={})
    # As a municipal merger after the profile was written would leave it.
    session.execute(
        update(Person).where(Person.id == person).values(home_municipality_code=RETIRED_WARD)
    )

    read = client.get(f"/v1/persons/{person}", headers=center.headers)
    matched = client.get(f"/v1/persons/{person}/matches", headers=center.headers)

    assert read.status_code == 200
    assert read.json()["rent_ceiling"]["yen"] is None
    assert RETIRED_WARD in read.json()["rent_ceiling"]["label_ja"]
    assert matched.status_code == 422
    assert "not a current municipality code" in matched.json()["detail"]


def test_the_data_file_names_its_source_and_covers_every_city_the_project_uses() -> None:
    table = load_table()

    assert table.source_date == "2026-04"
    assert "厚生労働省" in table.source
    assert len(table.municipalities) > 1_900
    assert all(is_valid_municipality_code(code) for code in table.municipalities)
    used = {city.code for city in DEMO_CITIES} | {city.code for city in CITIES}
    assert used <= table.municipalities.keys()


def test_an_edit_that_leaves_one_row_with_two_ceilings_is_refused(tmp_path: Path) -> None:
    lines = DATA_FILE.read_text(encoding="utf-8").splitlines()
    edited = [
        line.replace(",53700,64000,", ",53000,64000,") if line.startswith("131016,") else line
        for line in lines
    ]
    path = tmp_path / "housing_allowance.csv"
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")

    with pytest.raises(ValueError, match="cites 東京都 1級地"):
        load_table(path)
