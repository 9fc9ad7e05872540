"""The browser-test toolkit: Debian's Chromium driven by Playwright, a guard against requests
to any host but the application, axe-core checks and screenshots.

Playwright's own browser download is not reachable from the machines this runs on, so it
launches the system's Chromium (``scripts/setup.sh`` installs it with apt).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, Route

from housing_match.web.templating import STATIC_DIR
from housing_match.web.vendor import BY_NAME

CHROMIUM = os.environ.get("HOUSING_MATCH_CHROMIUM", "/usr/bin/chromium")
AXE_SCRIPT = STATIC_DIR / "vendor" / BY_NAME["axe-core"].folder / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FAILING_IMPACTS = frozenset({"serious", "critical"})

# 100 % zoom on a laptop, and the same page at 200 % zoom (half the CSS pixels wide).
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 640, "height": 900}


@dataclass
class RequestGuard:
    """Aborts and remembers every request to a host other than the allowed ones (the
    application, and a tile server only when one is configured)."""

    allowed_hosts: frozenset[str]
    refused: list[str] = field(default_factory=list)

    def install(self, context: BrowserContext) -> None:
        context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"} or parts.netloc in self.allowed_hosts:
            route.continue_()
            return
        self.refused.append(url)
        route.abort("blockedbyclient")


@dataclass
class BrowserSession:
    """One context and page, with what went wrong in it."""

    context: BrowserContext
    page: Page
    guard: RequestGuard
    base_url: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None, path

    def problems(self) -> list[str]:
        return [f"request to a foreign host: {url}" for url in self.guard.refused] + [
            f"script error: {error}" for error in self.errors
        ]


def open_session(
    browser: Browser, base_url: str, viewport: dict[str, int], allowed_hosts: Iterable[str] = ()
) -> BrowserSession:
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    # Generous: two cores shared with the database, the server and the other test worker.
    context.set_default_timeout(30_000)
    guard = RequestGuard(frozenset({urlsplit(base_url).netloc, *allowed_hosts}))
    guard.install(context)
    page = context.new_page()
    session = BrowserSession(context=context, page=page, guard=guard, base_url=base_url)
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    page.on("console", lambda message: _console(session, message))
    page.on("response", lambda response: _failed_asset(session, response))
    return session


def _console(session: BrowserSession, message: ConsoleMessage) -> None:
    # A page answered 4xx (a form with errors is 422) is logged too; responses are checked
    # by _failed_asset, which knows a page from an asset.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        session.errors.append(message.text)


def _failed_asset(session: BrowserSession, response: Response) -> None:
    if response.status < 400 or response.request.resource_type == "document":
        return
    # A part of a page asked for by htmx answers 422 with its form's errors, as a page does.
    if response.status == 422 and response.request.headers.get("hx-request") == "true":
        return
    session.errors.append(f"{response.status} for {response.url}")


def axe_violations(page: Page, impacts: frozenset[str] = FAILING_IMPACTS) -> list[dict[str, Any]]:
    """Runs the vendored axe-core on the page as it is now; the violations of those impacts."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [item for item in result["violations"] if item.get("impact") in impacts]


def assert_accessible(page: Page, where: str) -> None:
    violations = axe_violations(page)
    report = "\n".join(
        f"- {item['id']} ({item['impact']}): {item['help']}\n"
        + "\n".join(f"    {node['target']}: {node['failureSummary']}" for node in item["nodes"])
        for item in violations
    )
    assert not violations, f"axe-core found serious or critical problems on {where}:\n{report}"


def assert_reflows(page: Page, where: str) -> None:
    """No horizontal scrolling of the page (WCAG 1.4.10): content fits the viewport's width."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{where} scrolls sideways by {overflow} px at this width"


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """docs/screenshots/<name>.png, linked from the README (rewritten by every run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path
