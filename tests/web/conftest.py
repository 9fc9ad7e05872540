"""Browser tests: the application served by uvicorn, driven by Chromium.

The server is another process, so it sees only committed data: it runs against a database of
its own (``<worker's test database>_browser``, rebuilt by the migrations once per run), where
tests commit what they need under unique names and never clean up. The rolled-back
transaction of the other tests cannot be shared with it.

Browser test modules are named ``test_browser_*.py`` and marked ``browser``; tests/conftest.py
schedules them all on one xdist worker, so one server and one Chromium serve them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Playwright, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from housing_match.db import make_engine
from housing_match.dbadmin import migrate
from housing_match.models import Organisation, OrganisationKind
from housing_match.served import Server, serve
from housing_match.testing import database_url_for_tests, recreate_database
from tests.conftest import OrgFixture, organisation_with_key
from tests.web.browser import CHROMIUM, WIDE, BrowserSession, open_session

# Tests configure no tile server: a page must then make no request off the application.
SERVER_SETTINGS = {"HOUSING_MATCH_MAP_TILE_URL": "", "HOUSING_MATCH_ENVIRONMENT": "test"}

OpenPage = Callable[..., BrowserSession]
BROWSER = pytest.mark.browser

# Generous: two cores shared with the database, the server and the other test worker.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_database_url(request: pytest.FixtureRequest) -> str:
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")
    url = make_url(database_url_for_tests(worker_id))
    browser_url = url.set(database=f"{url.database}_browser").render_as_string(hide_password=False)
    recreate_database(browser_url)
    migrate(browser_url)
    return browser_url


@pytest.fixture(scope="session")
def browser_engine(browser_database_url: str) -> Iterator[Engine]:
    engine = make_engine(browser_database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def committed_session(browser_engine: Engine) -> Iterator[Session]:
    """A session on the server's database whose commits the server sees."""
    with Session(browser_engine, expire_on_commit=False) as session:
        yield session


# Package scope for the server and the browser: they end with the browser tests, before the
# worker moves on. Playwright's sync API keeps an asyncio loop running in this thread while
# it is open, and tests elsewhere call asyncio.run().
@pytest.fixture(scope="package")
def web_server(browser_database_url: str) -> Iterator[Server]:
    with serve(browser_database_url, settings=SERVER_SETTINGS) as server:
        yield server


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run scripts/setup.sh as root, or "
            "apt-get install chromium fonts-noto-cjk (HOUSING_MATCH_CHROMIUM names another)"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Japanese UI language, as staff's browsers have (date inputs show 年/月/日).
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--lang=ja-JP"])
    yield browser
    browser.close()


@pytest.fixture
def open_page(browser: Browser, web_server: Server) -> Iterator[OpenPage]:
    """``open_page(viewport=WIDE)`` → a fresh context and page on the application. At the
    test's end, any request to a foreign host or any script error fails the test."""
    sessions: list[BrowserSession] = []

    def open_one(viewport: dict[str, int] = WIDE) -> BrowserSession:
        session = open_session(browser, web_server.base_url, viewport)
        sessions.append(session)
        return session

    yield open_one
    problems = [problem for session in sessions for problem in session.problems()]
    for session in sessions:
        session.context.close()
    assert not problems, "\n".join(problems)


def committed_organisation(
    session: Session, kind: OrganisationKind, name: str, jurisdiction: tuple[str, ...] = ()
) -> tuple[Organisation, OrgFixture]:
    """An organisation with an API key, committed so that the served application sees it."""
    slug = f"{kind.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = organisation_with_key(session, kind, slug=slug, name=name, jurisdiction=jurisdiction)
    session.commit()
    return created


@pytest.fixture
def api(web_server: Server) -> Iterator[TestClient]:
    # The matcher's factories take a TestClient; the running server answers the same calls.
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield cast(TestClient, client)
