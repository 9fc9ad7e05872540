"""GeoJSON responses for clients that ask for ``application/geo+json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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


def feature_collection_chunks(
    features: Iterable[dict[str, Any]], *, features_per_chunk: int = 500
) -> Iterator[bytes]:
    """A FeatureCollection written as its features arrive (a streamed export), in the same
    compact JSON as ``feature_collection``."""
    yield b'{"type":"FeatureCollection","features":['
    parts: list[str] = []
    first = True
    for one in features:
        parts.append(("" if first else ",") + _compact(one))
        first = False
        if len(parts) == features_per_chunk:
            yield "".join(parts).encode("utf-8")
            parts = []
    yield ("".join(parts) + "]}").encode("utf-8")


def _compact(value: Any) -> str:
    # As Starlette's JSONResponse renders: UTF-8 text, no NaN, no spaces.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


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
