"""A support center's staff member in Chromium looks at a person's candidate homes: the
ranked list with its factors and the exclusion summary, relaxes the rent ceiling with one
click, opens the A4 print view (no case number on it), previews what the corporation will
see, sends the referral (the vacancy is held), and withdraws it from the referral's page.
axe-core finds nothing serious on any of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from housing_match.accounts import totp
from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.auth import CLI_ACTOR
from housing_match.models import Organisation, OrganisationKind, UserRole
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation
from housing_match.served import Server
from tests.accounts.pages import next_code
from tests.conftest import OrgFixture
from tests.matching.factories import at, create_person, home
from tests.web.browser import WIDE, assert_accessible, screenshot
from tests.web.conftest import BROWSER, OpenPage

pytestmark = BROWSER

PASSWORD = "seven herons over the yodo river"


@dataclass(frozen=True)
class World:
    email: str
    totp_secret: str
    person_id: str
    reference: str
    corporation: OrgFixture


def _organisation(
    session: Session, kind: OrganisationKind, name: str, jurisdiction: tuple[str, ...] = ()
) -> tuple[Organisation, OrgFixture]:
    slug = f"{kind.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    organisation: Organisation = create_organisation(
        session,
        CLI_ACTOR,
        OrganisationCreate(kind=kind, slug=slug, name=name, jurisdiction_codes=list(jurisdiction)),
    )
    api_key, secret = create_api_key(session, CLI_ACTOR, organisation)
    session.commit()
    return organisation, OrgFixture(
        id=organisation.id, slug=slug, kind=kind, key=secret, api_key_id=api_key.id
    )


@pytest.fixture
def api(web_server: Server) -> Iterator[TestClient]:
    # The matcher's factories take a TestClient; the running server answers the same calls.
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield cast(TestClient, client)


@pytest.fixture
def world(committed_session: Session, api: TestClient) -> World:
    """A center (staff member with password and TOTP), a person near Osaka station, and four
    homes: two within the rent ceiling, two above it."""
    center, center_key = _organisation(
        committed_session, OrganisationKind.CENTER, "大阪府地域生活定着支援センター"
    )
    _, corporation = _organisation(
        committed_session, OrganisationKind.SUPPORT_CORPORATION, "NPO法人すまいサポート"
    )
    _, municipality = _organisation(
        committed_session, OrganisationKind.MUNICIPALITY, "大阪市", ("271004",)
    )
    email = f"staff-{uuid.uuid4().hex[:8]}@example.jp"
    user = invite_user(
        committed_session, CLI_ACTOR, center, email=email, name="相談員 二", role=UserRole.STAFF,
        client=CLI_CLIENT,
    ).user  # fmt: skip
    secret = pyotp.random_base32()
    user.password_hash = hash_password(PASSWORD)
    user.totp_secret = totp.seal(secret)
    user.activated_at = datetime.now(UTC)
    committed_session.commit()

    reference = f"OSK-{uuid.uuid4().hex[:6]}"
    anchor: dict[str, Any] = {
        "kind": "psychiatric_hospital",
        "label": "こころクリニック",
        "location": at(north_m=300),
        "max_distance_m": 3000,
    }
    person_id = create_person(api, center_key, reference=reference, places={"anchors": [anchor]})
    for north, east, rent in ((200, 100, 42_000), (-500, 600, 47_000), (900, -300, 58_000),
                              (-800, -900, 61_000)):  # fmt: skip
        home(
            api,
            corporation,
            municipality,
            location=at(north_m=north, east_m=east),
            rent_yen=rent,
            address=f"大阪市北区梅田{abs(north) // 100}丁目{abs(east) // 100}-1",
        )
    return World(email, secret, person_id, reference, corporation)


def _sign_in(page: Page, base_url: str, world: World) -> None:
    page.goto(base_url + "/login?next=/")
    page.get_by_label("メールアドレス").fill(world.email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログインする").click()
    page.get_by_label("確認コード").fill(next_code(world.totp_secret))
    page.get_by_role("button", name="確認してログインする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def test_staff_see_candidates_relax_print_and_refer(open_page: OpenPage, world: World) -> None:
    session = open_page(WIDE)
    page = session.page
    _sign_in(page, session.base_url, world)

    page.goto(f"{session.base_url}/persons/{world.person_id}/candidates")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"候補住宅：{world.reference}")
    main = page.locator("main")
    expect(main).to_contain_text("条件をすべて満たすのは 2件")
    expect(main).to_contain_text("家賃上限（家賃＋共益費）で2件除外")
    expect(page.locator("li.candidate")).to_have_count(2)
    first = page.locator("li.candidate").first
    expect(first).to_contain_text("45,000円")
    expect(first).to_contain_text("上限 50,000円")
    expect(first.get_by_role("table", name=re.compile("点数の内訳"))).to_be_visible()
    expect(first).to_contain_text("こころクリニックまで")
    expect(page.locator("#candidates-map .leaflet-marker-icon")).to_have_count(2)
    assert_accessible(page, "the candidates")
    screenshot(page, "candidates")

    # One click relaxes the rent ceiling: the two dearer homes join, marked as such.
    page.get_by_role("link", name=re.compile("「家賃上限（家賃＋共益費）」を外す")).click()
    expect(page).to_have_url(re.compile(r"relax=rent_ceiling"))
    expect(page.locator("li.candidate")).to_have_count(4)
    expect(main).to_contain_text("増えた候補は2件")
    expect(page.locator("li.candidate .tag", has_text="条件を緩めて表示")).to_have_count(2)
    assert_accessible(page, "the relaxed candidates")
    screenshot(page, "candidates-relaxed")

    # The print view: A4, and nothing identifying the person.
    page.get_by_role("link", name="すべての条件で表示し直す").click()
    page.get_by_role("link", name="ケース会議用に印刷する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("候補住宅（ケース会議用）")
    expect(page.locator("main")).not_to_contain_text(world.reference)
    expect(page.locator("main")).not_to_contain_text("こころクリニック")
    expect(page.locator("section.print-candidate")).to_have_count(2)
    page.wait_for_load_state("load")  # every stylesheet in
    page_sizes = page.evaluate(
        "() => [...document.styleSheets].flatMap(s => [...s.cssRules])"
        ".filter(r => r instanceof CSSPageRule).map(r => r.style.getPropertyValue('size'))"
    )
    assert [size.lower() for size in page_sizes] == ["a4"]
    assert_accessible(page, "the print view")
    screenshot(page, "candidates-print")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # Preview what the corporation will see, then send.
    page.go_back()
    page.locator("li.candidate").first.get_by_role("link", name="この住宅に入居相談する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("入居相談の確認")
    shared = page.get_by_role("region", name="居住支援法人に伝わる内容")
    expect(shared).to_contain_text("要配慮者の区分、世帯人数、住まいの条件")
    expect(shared).not_to_contain_text(world.reference)
    expect(shared).not_to_contain_text(
        "こころクリニック"
    )  # the staff's label for the place is not sent
    assert_accessible(page, "the referral preview")
    screenshot(page, "referral-preview")
    page.get_by_role("button", name="この内容で入居相談を送る").click()

    expect(page).to_have_url(re.compile(r"/referrals/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("入居相談（入居相談中）")
    expect(page.locator("main")).to_contain_text("まで確保中")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    assert_accessible(page, "the referral")
    screenshot(page, "referral")

    page.get_by_label("取り下げる理由").select_option(label="本人が辞退した")
    page.get_by_role("button", name="入居相談を取り下げる").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("取下げ")
    expect(page.locator("ol.timeline li")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("確保していません")
