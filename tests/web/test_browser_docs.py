"""/docs works on a closed network (Swagger UI from /static) and "Try it out" on the example
of POST /v1/persons creates the person."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import expect
from sqlalchemy.orm import Session

from housing_match.auth import CLI_ACTOR
from housing_match.matching.schemas import PersonCreate
from housing_match.models import OrganisationKind
from housing_match.openapi_examples import REQUEST_EXAMPLES
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation
from tests.web.browser import WIDE, screenshot
from tests.web.conftest import BROWSER, OpenPage

pytestmark = BROWSER


def _center_key(session: Session) -> str:
    slug = f"center-{uuid.uuid4().hex[:8]}"
    organisation = create_organisation(
        session,
        CLI_ACTOR,
        OrganisationCreate(
            kind=OrganisationKind.CENTER, slug=slug, name="大阪府地域生活定着支援センター"
        ),
    )
    _, secret = create_api_key(session, CLI_ACTOR, organisation)
    session.commit()
    return secret


def test_docs_load_offline_and_try_it_out_creates_a_person(
    open_page: OpenPage, committed_session: Session
) -> None:
    key = _center_key(committed_session)
    session = open_page(WIDE)
    page = session.page
    session.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "housing-match", timeout=20_000
    )
    screenshot(page, "docs", full_page=False)

    page.get_by_role("button", name="Authorize").first.click()
    # The key goes in the bearer scheme's form; the session cookie's form stays empty.
    bearer = page.locator(".auth-container form").filter(has_text="HTTPBearer")
    bearer.locator("input").first.fill(key)
    bearer.locator(".auth-btn-wrapper .authorize").click()
    page.locator(".auth-btn-wrapper .btn-done").first.click()

    operation = page.locator("#operations-persons-persons-create_person")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    body = operation.locator("textarea.body-param__text")
    expect(body).to_be_visible()
    assert json.loads(body.input_value()) == REQUEST_EXAMPLES[PersonCreate][1]
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("201", timeout=15_000)
