"""The committed ``openapi/openapi.json`` is exactly this rendering of the app's spec."""

from __future__ import annotations

import json


def render_openapi() -> str:
    from housing_match.app import create_app

    return json.dumps(create_app().openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
