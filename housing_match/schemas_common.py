"""Field types shared by several domains' schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from housing_match.jurisdiction import jurisdiction_code_error


def _valid_municipality_code(code: str) -> str:
    error = jurisdiction_code_error(code)
    if error is not None:
        raise ValueError(error)
    return code


MunicipalityCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{6}$"),
    AfterValidator(_valid_municipality_code),
]
PrefectureCode = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|[1-3]\d|4[0-7])$")]


class GeoPoint(BaseModel):
    """WGS 84 (SRID 4326). Japan spans roughly 20-46 N, 122-154 E."""

    latitude: float = Field(ge=20.0, le=46.0)
    longitude: float = Field(ge=122.0, le=154.0)
