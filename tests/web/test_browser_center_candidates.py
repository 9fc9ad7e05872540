"""A support center's staff member in Chromium looks at a person's candidate homes: the
ranked list with its factors and the exclusion summary, relaxes the rent ceiling with one
click, opens the A4 print view (no case number on it), previews what the corporation will
see, sends the referral (the vacancy is held), and withdraws it from the referral's page.
axe-core finds nothing serious on any of them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from housing_match.accounts import totp
from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.auth import CLI_ACTOR
from housing_match.models import OrganisationKind, UserRole
from tests.accounts.pages import next_code
from tests.conftest import OrgFixture
from tests.matching.factories import at, create_person, home
from tests.web.browser import NARROW, WIDE, assert_accessible, assert_reflows, screenshot
from tests.web.conftest import BROWSER, OpenPage, committed_organisation

pytestmark = BROWSER

PASSWORD = "seven herons over the yodo river"


@dataclass(frozen=True)
class World:
    email: str
    totp_secret: str
    person_id: str
    reference: str
    corporation: OrgFixture


@pytest.fixture
def world(committed_session: Session, api: TestClient) -> World:
    """A center (staff member with password and TOTP), a person near Osaka station, and four
    homes: two within the rent ceiling, two above it."""
    center, center_key = committed_organisation(
        committed_session, OrganisationKind.CENTER, "大阪府地域生活定着支援センター"
    )
    _, corporation = committed_organisation(
        committed_session, OrganisationKind.SUPPORT_CORPORATION, "NPO法人すまいサポート"
    )
    _, municipality = committed_organisation(
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


def _shots(page: Page, name: str) -> None:
    """At 1280 px, and at 640 px (200 % zoom): the page reflows, nothing scrolls sideways,
    and axe-core still finds nothing serious."""
    screenshot(page, name)
    page.set_viewport_size(NARROW)  # type: ignore[arg-type]
    assert_reflows(page, f"{name} at 640 px")
    page.wait_for_timeout(200)  # app.js marks tables that now scroll (debounced on resize)
    assert_accessible(page, f"{name} at 640 px")
    screenshot(page, f"{name}-640")
    page.set_viewport_size(WIDE)  # type: ignore[arg-type]


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
    _shots(page, "candidates")

    # Why not this home: the two dearer homes the rent ceiling keeps out, then one of them.
    page.get_by_role("link", name="「家賃上限（家賃＋共益費）」で除外された空室を見る").click()
    excluded = page.locator("#excluded-homes")
    expect(excluded.get_by_role("row")).to_have_count(3)  # the header and two homes
    expect(excluded.get_by_role("heading", level=3)).to_be_focused()
    excluded.get_by_role("link", name=re.compile("梅田9丁目3-1が候補でない理由")).click()
    answer = page.locator("#why-not .why-not__answer")
    expect(answer).to_contain_text("満たしていない条件が1件あります：家賃上限（家賃＋共益費）")
    expect(answer).to_contain_text("家賃＋共益費61,000円が上限50,000円を11,000円超えています")
    expect(answer.get_by_role("heading", level=3)).to_be_focused()
    # Or by the registration number typed in: an unknown one is an error beside the field.
    page.get_by_label("住宅の登録番号").fill("NO-SUCH-HOME")
    page.get_by_role("button", name="理由を見る").click()
    expect(page.locator("#f-number-error")).to_contain_text(
        "登録番号「NO-SUCH-HOME」の住宅は見つかりません"
    )
    page.get_by_role("link", name=re.compile("梅田9丁目3-1が候補でない理由")).click()
    expect(answer).to_contain_text("11,000円超えています")
    assert page.url.endswith("/candidates")
    assert_accessible(page, "the candidates with why one home is not among them")
    _shots(page, "candidates-why-not")

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
    _shots(page, "candidates-print")
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
    _shots(page, "referral-preview")
    page.get_by_role("button", name="この内容で入居相談を送る").click()

    expect(page).to_have_url(re.compile(r"/referrals/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("入居相談（入居相談中）")
    expect(page.locator("main")).to_contain_text("まで確保中")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    assert_accessible(page, "the referral")
    _shots(page, "referral")

    page.get_by_label("取り下げる理由").select_option(label="本人が辞退した")
    page.get_by_role("button", name="入居相談を取り下げる").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("取下げ")
    expect(page.locator("ol.timeline li")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("確保していません")
