"""Where the test suite's database lives (the app database's name with a ``_test`` suffix)."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from housing_match.dbadmin import ensure_database
from housing_match.settings import get_settings


def database_url_for_tests(worker: str | None = None) -> str:
    explicit = os.environ.get("HOUSING_MATCH_TEST_DATABASE_URL")
    url = make_url(explicit or get_settings().database_url)
    name = url.database if explicit else f"{url.database}_test"
    if worker:
        name = f"{name}_{worker}"
    return url.set(database=name).render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    """Drops the database (closing its connections) and creates it again, with PostGIS."""
    parsed = make_url(url)
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as connection:
        quoted = connection.dialect.identifier_preparer.quote(str(parsed.database))
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    maintenance.dispose()
    ensure_database(url)
