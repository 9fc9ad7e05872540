"""Response helpers shared by the domains' endpoints."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel, *, status_code: int = 200) -> Response:
    """The model as JSON, serialised by pydantic in one pass. Returned by an endpoint that
    declares the model as its ``response_model``: FastAPI would otherwise validate the model it
    was just handed once more (on a worker thread, every nested validator again) before
    writing the same bytes. For the large responses of the busiest endpoints."""
    return Response(
        content=model.model_dump_json(), status_code=status_code, media_type="application/json"
    )
