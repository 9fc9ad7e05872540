"""GeoJSON responses for clients that ask for ``application/geo+json``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from housing_match.schemas_common import GeoPoint

GEOJSON_MEDIA_TYPE = "application/geo+json"


def wants_geojson(request: Request) -> bool:
    return GEOJSON_MEDIA_TYPE in request.headers.get("accept", "")


def feature(point: GeoPoint, properties: dict[str, Any], feature_id: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": feature_id,
        "geometry": {"type": "Point", "coordinates": [point.longitude, point.latitude]},
        "properties": properties,
    }


def feature_collection(
    features: Iterable[dict[str, Any]], *, next_cursor: str | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return JSONResponse(body, media_type=GEOJSON_MEDIA_TYPE)


GEOJSON_RESPONSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            GEOJSON_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "description": "GeoJSON FeatureCollection (Accept: application/geo+json).",
                }
            }
        }
    }
}
