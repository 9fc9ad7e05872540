"""Query parameters shared by the dwelling and vacancy searches."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from housing_match.errors import BadRequest
from housing_match.jurisdiction import jurisdiction_code_error
from housing_match.registry.repository import DwellingFilters
from housing_match.registry.schemas import RegistrationClass
from housing_match.registry.standards import DwellingKind
from housing_match.vocabulary import PersonCategory

MAX_RADIUS_M = 200_000


def _parse_floats(raw: str, count: int, name: str) -> list[float]:
    try:
        values = [float(part) for part in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise BadRequest(f"{name} must be {count} comma-separated numbers.")
    return values


def dwelling_filters(
    municipality_code: Annotated[
        list[str] | None, Query(description="6-digit municipality codes; repeat for more.")
    ] = None,
    prefecture: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="2-digit prefecture code.")
    ] = None,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS 84).")
    ] = None,
    near: Annotated[
        str | None, Query(description="lat,lon: search around this point, ordered by distance.")
    ] = None,
    radius_m: Annotated[int, Query(ge=1, le=MAX_RADIUS_M)] = 2_000,
    max_rent_yen: Annotated[
        int | None, Query(ge=0, description="Maximum rent plus common fee.")
    ] = None,
    min_area_m2: Annotated[float | None, Query(gt=0)] = None,
    registration_class: RegistrationClass | None = None,
    residential_support: Annotated[
        bool | None, Query(description="Only (or never) 居住サポート住宅.")
    ] = None,
    kind: DwellingKind | None = None,
    accepted_category: PersonCategory | None = None,
    wheelchair_accessible: bool | None = None,
    step_free: Annotated[
        bool | None,
        Query(description="Step-free entrance and on the ground floor or with an elevator."),
    ] = None,
    open_vacancy: Annotated[
        bool, Query(description="Only dwellings with an open, unexpired vacancy.")
    ] = False,
) -> DwellingFilters:
    codes = tuple(municipality_code or ())
    for code in codes:
        error = jurisdiction_code_error(code)
        if error is not None or len(code) != 6:
            raise BadRequest(f"municipality_code: {error or 'must be 6 digits'}")
    box: tuple[float, float, float, float] | None = None
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = _parse_floats(bbox, 4, "bbox")
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise BadRequest("bbox must be min_lon,min_lat,max_lon,max_lat with min < max.")
        box = (min_lon, min_lat, max_lon, max_lat)
    point: tuple[float, float, float] | None = None
    if near is not None:
        latitude, longitude = _parse_floats(near, 2, "near")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise BadRequest("near must be lat,lon in degrees.")
        point = (longitude, latitude, float(radius_m))
    return DwellingFilters(
        municipality_codes=codes,
        prefecture_code=prefecture,
        bbox=box,
        near=point,
        max_rent_yen=max_rent_yen,
        min_area_m2=min_area_m2,
        registration_class=None if registration_class is None else registration_class.value,
        residential_support=residential_support,
        kind=None if kind is None else kind.value,
        accepted_category=None if accepted_category is None else accepted_category.value,
        wheelchair_accessible=wheelchair_accessible,
        step_free=step_free,
        open_vacancy=open_vacancy,
    )
