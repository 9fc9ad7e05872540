"""The Jinja environment every page renders with: templates beside this module, and the CSRF
globals every form needs (``csrf_input()``, ``csrf_token()``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from housing_match.accounts.csrf import install_csrf_globals

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
install_csrf_globals(templates.env)
