"""近傍同種: rents per ㎡ far from the median of comparable registered dwellings nearby."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from housing_match.audit.rent_refresh import refresh_rent_comparables
from housing_match.models import OrganisationKind
from tests.audit.factories import csv_rows, get_json, osaka_dwelling, otsu_dwelling
from tests.conftest import MakeOrganisation, OrgFixture
from tests.registry.factories import OSAKA_CITY, OTSU_CITY, dwelling_payload

PATH = "/v1/audit/rent-balance"


def refreshed(session: Session) -> None:
    """The periodic job: the report reads the medians as of its last run."""
    refresh_rent_comparables(session)
    session.commit()


@pytest.fixture
def neighbourhood(
    client: TestClient, corporation: OrgFixture, municipality: OrgFixture, session: Session
) -> dict[str, str]:
    """Five ordinary units at ¥2,000/㎡ within 500 m, one dear, one cheap, one far off."""
    ids = {
        f"N-{n}": osaka_dwelling(
            client,
            corporation,
            municipality,
            f"N-{n}",
            east_m=100 * n,
            rent_yen=50_000,
            common_fee_yen=0,
        )
        for n in range(5)
    }
    # ¥3,600/㎡ against a median of ¥2,000: 1.8×.
    ids["DEAR"] = osaka_dwelling(
        client, corporation, municipality, "DEAR", east_m=250, rent_yen=85_000, common_fee_yen=5_000
    )
    # ¥800/㎡: 0.4×.
    ids["CHEAP"] = osaka_dwelling(
        client, corporation, municipality, "CHEAP", east_m=150, rent_yen=20_000, common_fee_yen=0
    )
    # 8 km away: nothing comparable within 1,500 m.
    ids["FAR"] = osaka_dwelling(
        client, corporation, municipality, "FAR", east_m=8_000, rent_yen=50_000, common_fee_yen=0
    )
    refreshed(session)
    return ids


def by_number(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["registration_number"]: item for item in report["items"]}


def test_outliers_and_dwellings_that_cannot_be_judged(
    client: TestClient, municipality: OrgFixture, neighbourhood: dict[str, str]
) -> None:
    report = get_json(client, PATH, municipality)
    assert report["parameters"] == {"radius_m": 1500, "factor": 1.5, "min_comparables": 5}
    assert (report["checked"], report["within_balance"]) == (8, 5)
    assert (report["above"], report["below"], report["too_few_comparables"]) == (1, 1, 1)
    items = by_number(report)
    assert set(items) == {"DEAR", "CHEAP", "FAR"}
    dear = items["DEAR"]
    assert dear["finding"] == "above"
    assert dear["finding_label_ja"] == "割高"
    assert dear["dwelling_id"] == neighbourhood["DEAR"]
    balance = dear["rent_balance"]
    assert balance["comparable_count"] == 6
    assert balance["median_rent_per_m2_yen"] == 2000.0
    assert balance["ratio_to_median"] == 1.8
    assert balance["out_of_balance"] is True
    assert "均衡を欠くおそれ" in balance["message_ja"]
    assert items["CHEAP"]["finding"] == "below"
    assert items["CHEAP"]["rent_balance"]["ratio_to_median"] == 0.4
    far = items["FAR"]
    assert far["finding"] == "too_few_comparables"
    assert far["finding_label_ja"] == "比較対象不足"
    assert far["rent_balance"]["comparable_count"] == 0
    assert far["rent_balance"]["median_rent_per_m2_yen"] is None


def test_audit_agrees_with_the_registration_check(
    client: TestClient, center: OrgFixture, municipality: OrgFixture, neighbourhood: dict[str, str]
) -> None:
    """The audit's one-query judgement is the dry-run check's, dwelling by dwelling."""
    report = by_number(get_json(client, PATH, municipality))
    dear = client.post(
        "/v1/standards/check",
        json=dwelling_payload(
            rent_yen=85_000, common_fee_yen=5_000, location=report["DEAR"]["location"]
        ),
        headers=center.headers,
    ).json()["rent_balance"]
    # The dry run counts DEAR itself as a comparable of a new application; the audit leaves a
    # dwelling out of its own comparables, as approval does.
    assert dear["out_of_balance"] is True
    assert dear["comparable_count"] == report["DEAR"]["rent_balance"]["comparable_count"] + 1


def test_thresholds_can_be_overridden_and_are_validated(
    client: TestClient, municipality: OrgFixture, neighbourhood: dict[str, str]
) -> None:
    lenient = get_json(client, PATH, municipality, factor=2.0)
    assert lenient["parameters"]["factor"] == 2.0
    assert set(by_number(lenient)) == {"CHEAP", "FAR"}  # 1.8× is within 2×; 0.4× is not
    wide = get_json(client, PATH, municipality, radius_m=10_000)
    assert wide["too_few_comparables"] == 0
    assert by_number(wide)["DEAR"]["rent_balance"]["comparable_count"] == 7
    strict = get_json(client, PATH, municipality, min_comparables=7)
    assert strict["too_few_comparables"] == 8
    for params in (
        {"factor": 1.0},
        {"factor": "abc"},
        {"radius_m": 50},
        {"radius_m": 100_000},
        {"min_comparables": 0},
    ):
        response = client.get(PATH, params=params, headers=municipality.headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


def test_only_registered_dwellings_in_the_jurisdiction(
    client: TestClient,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    admin: OrgFixture,
    neighbourhood: dict[str, str],
    session: Session,
) -> None:
    otsu = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=(OTSU_CITY,))
    otsu_far = otsu_dwelling(client, corporation, otsu, "OTSU-1")
    # An application is neither audited nor a comparable.
    applied = client.post(
        "/v1/dwellings",
        json=dwelling_payload(registration_number="APPLIED", rent_yen=200_000),
        headers=corporation.headers,
    )
    assert applied.status_code == 201
    refreshed(session)
    osaka_report = get_json(client, PATH, municipality)
    assert osaka_report["checked"] == 8
    assert otsu_far not in {item["dwelling_id"] for item in osaka_report["items"]}
    otsu_report = get_json(client, PATH, otsu)
    assert (otsu_report["checked"], otsu_report["too_few_comparables"]) == (1, 1)
    assert [item["dwelling_id"] for item in otsu_report["items"]] == [otsu_far]
    everywhere = get_json(client, PATH, admin, limit=500)
    assert {otsu_far, neighbourhood["DEAR"]} <= {
        item["dwelling_id"] for item in everywhere["items"]
    }
    only_osaka = get_json(client, PATH, admin, municipality_code=OSAKA_CITY)
    assert only_osaka["checked"] == 8


def test_pages_csv_and_geojson(
    client: TestClient, municipality: OrgFixture, neighbourhood: dict[str, str]
) -> None:
    first = get_json(client, PATH, municipality, limit=2)
    assert [item["registration_number"] for item in first["items"]] == ["CHEAP", "DEAR"]
    second = get_json(client, PATH, municipality, limit=2, cursor=first["next_cursor"])
    assert [item["registration_number"] for item in second["items"]] == ["FAR"]
    assert second["next_cursor"] is None

    header, *rows = csv_rows(
        client.get(PATH, headers=municipality.headers | {"Accept": "text/csv"})
    )
    assert header[:2] == ["住宅ID", "登録番号"]
    assert {"判定", "㎡あたり家賃(円)", "近傍同種の中央値(円/㎡)", "比較対象数"} <= set(header)
    assert {row[header.index("判定")] for row in rows} == {"割高", "割安", "比較対象不足"}
    dear = next(row for row in rows if row[1] == "DEAR")
    assert dear[header.index("比較対象数")] == "6"
    assert dear[header.index("住宅種別")] == "一般"

    geojson = client.get(PATH, params={"format": "geojson"}, headers=municipality.headers)
    assert geojson.headers["content-type"] == "application/geo+json"
    features = geojson.json()["features"]
    assert {f["properties"]["finding"] for f in features} == {
        "above",
        "below",
        "too_few_comparables",
    }


def test_geojson_is_typed_for_gis_tools(
    client: TestClient, municipality: OrgFixture, neighbourhood: dict[str, str]
) -> None:
    """GDAL (through pyogrio) reads the numbers as numbers, the nested rent balance included:
    it is flattened into rent_balance_* properties, as GDAL's own option would."""
    import io

    import pyogrio.raw

    body = client.get(PATH, params={"format": "geojson"}, headers=municipality.headers).content
    meta, _, _, values = pyogrio.raw.read(io.BytesIO(body))
    kinds = zip(meta["ogr_types"], meta["ogr_subtypes"], strict=True)
    types = dict(zip(meta["fields"], kinds, strict=True))
    assert types["rent_yen"] == ("OFTInteger", "OFSTNone")
    assert types["floor_area_m2"][0] == "OFTReal"
    assert types["rent_balance_rent_per_m2_yen"][0] == "OFTReal"
    assert types["rent_balance_ratio_to_median"][0] == "OFTReal"
    assert types["rent_balance_comparable_count"] == ("OFTInteger", "OFSTNone")
    assert types["rent_balance_out_of_balance"] == ("OFTInteger", "OFSTBoolean")
    assert "rent_balance" not in types
    by_field = dict(zip(meta["fields"], values, strict=True))
    dear = list(by_field["registration_number"]).index("DEAR")
    assert by_field["rent_balance_ratio_to_median"][dear] == pytest.approx(1.8)
