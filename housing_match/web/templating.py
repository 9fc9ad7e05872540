"""The Jinja environment every page renders with: templates beside this module, the Japanese
formatting filters, and the globals the layout, the macros and every form need (``csrf_input()``,
``csrf_token()``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from housing_match.accounts.csrf import install_csrf_globals
from housing_match.settings import get_settings
from housing_match.web.formatting import FILTERS
from housing_match.web.forms import field_id
from housing_match.web.vendor import vendor_url

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
SERVICE_NAME = "セーフティネット住宅マッチング"


def map_tiles() -> dict[str, Any] | None:
    """The map's tile layer for static/map.js, or None when tiles are switched off."""
    settings = get_settings()
    if not settings.map_tile_url:
        return None
    return {
        "url": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "attribution_url": settings.map_tile_attribution_url,
        "max_zoom": settings.map_tile_max_zoom,
    }


templates = Jinja2Templates(directory=TEMPLATES_DIR)
install_csrf_globals(templates.env)
templates.env.filters.update(FILTERS)
templates.env.filters["field_id"] = field_id
templates.env.globals.update(
    service_name=SERVICE_NAME,
    vendor_url=vendor_url,
    map_tiles=map_tiles,
    field_id=field_id,
)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context or {}, status_code=status_code)
