"""Where the test suite's database lives (the app database's name with a ``_test`` suffix)."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from housing_match.settings import get_settings


def database_url_for_tests(worker: str | None = None) -> str:
    explicit = os.environ.get("HOUSING_MATCH_TEST_DATABASE_URL")
    url = make_url(explicit or get_settings().database_url)
    name = url.database if explicit else f"{url.database}_test"
    if worker:
        name = f"{name}_{worker}"
    return url.set(database=name).render_as_string(hide_password=False)
