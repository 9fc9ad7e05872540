"""Dwellings in two jurisdictions (Osaka city and Otsu city) for the audit's tests."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session

from housing_match.models import Dwelling
from tests.conftest import OrgFixture
from tests.registry.factories import OSAKA_STATION, OTSU_CITY, offset
from tests.registry.test_vacancies import registered_dwelling

OTSU_STATION = (35.0036, 135.8651)  # lat, lon


def osaka_dwelling(
    client: TestClient,
    corporation: OrgFixture,
    osaka: OrgFixture,
    number: str,
    *,
    east_m: float = 0,
    **overrides: Any,
) -> str:
    lat, lon = OSAKA_STATION
    return registered_dwelling(
        client,
        corporation,
        osaka,
        registration_number=number,
        location=offset(lat, lon, east_m=east_m),
        **overrides,
    )


def otsu_dwelling(
    client: TestClient,
    corporation: OrgFixture,
    otsu: OrgFixture,
    number: str,
    *,
    east_m: float = 0,
    **overrides: Any,
) -> str:
    lat, lon = OTSU_STATION
    return registered_dwelling(
        client,
        corporation,
        otsu,
        registration_number=number,
        municipality_code=OTSU_CITY,
        address="滋賀県大津市春日町1-3",
        location=offset(lat, lon, east_m=east_m),
        **overrides,
    )


def degrade(session: Session, dwelling_id: str, **values: Any) -> None:
    """Change a registered row behind the API's back, as data registered long ago may be."""
    session.execute(update(Dwelling).where(Dwelling.id == dwelling_id).values(**values))
    session.commit()


def get_json(client: TestClient, path: str, caller: OrgFixture, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def csv_rows(response: Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
