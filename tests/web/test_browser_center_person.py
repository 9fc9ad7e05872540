"""A support center's staff member in Chromium: signs in with a password and a TOTP code,
registers a person using only the pages (places on the map, radius sliders, the 住宅扶助
ceiling computed as the household changes), meets a field error in Japanese, saves, edits,
and finds the person on the home page. axe-core finds nothing serious on any of them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from housing_match.accounts import totp
from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.auth import CLI_ACTOR
from housing_match.models import Organisation, OrganisationKind, UserRole
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_organisation
from tests.accounts.pages import next_code
from tests.web.browser import NARROW, WIDE, assert_accessible, assert_reflows, screenshot
from tests.web.conftest import BROWSER, OpenPage

pytestmark = BROWSER

PASSWORD = "quiet river 7 lanterns at dusk"


@dataclass(frozen=True)
class StaffUser:
    email: str
    totp_secret: str


@pytest.fixture
def center_staff(committed_session: Session) -> StaffUser:
    """A center with one active staff member: known password, TOTP enrolled."""
    suffix = uuid.uuid4().hex[:8]
    center: Organisation = create_organisation(
        committed_session,
        CLI_ACTOR,
        OrganisationCreate(
            kind=OrganisationKind.CENTER,
            slug=f"center-{suffix}",
            name="大阪府地域生活定着支援センター",
        ),
    )
    email = f"staff-{suffix}@example.jp"
    user = invite_user(
        committed_session, CLI_ACTOR, center, email=email, name="相談員 一", role=UserRole.STAFF,
        client=CLI_CLIENT,
    ).user  # fmt: skip
    secret = pyotp.random_base32()
    user.password_hash = hash_password(PASSWORD)
    user.totp_secret = totp.seal(secret)
    user.activated_at = datetime.now(UTC)
    committed_session.commit()
    return StaffUser(email=email, totp_secret=secret)


def _sign_in(page: Page, base_url: str, user: StaffUser) -> None:
    page.goto(base_url + "/login?next=/")
    page.get_by_label("メールアドレス").fill(user.email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログインする").click()
    page.get_by_label("確認コード").fill(next_code(user.totp_secret))
    page.get_by_role("button", name="確認してログインする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def _shots(page: Page, name: str) -> None:
    screenshot(page, name)
    page.set_viewport_size(NARROW)  # type: ignore[arg-type]
    assert_reflows(page, name)
    screenshot(page, f"{name}-640")
    page.set_viewport_size(WIDE)  # type: ignore[arg-type]


def _circle_radius(page: Page, map_id: str) -> float | None:
    radius: float | None = page.evaluate(
        "(id) => { let r = null; document.getElementById(id).housingMap.layers"
        ".eachLayer(l => { if (l.getRadius) r = l.getRadius(); }); return r; }",
        map_id,
    )
    return radius


def test_staff_register_a_person_on_the_pages_and_edit_it(
    open_page: OpenPage, center_staff: StaffUser
) -> None:
    session = open_page(WIDE)
    page = session.page
    _sign_in(page, session.base_url, center_staff)
    nav = page.get_by_role("navigation", name="メインメニュー")
    expect(nav.get_by_role("button", name="ログアウト")).to_be_visible()
    assert_accessible(page, "the center's home (empty)")

    nav.get_by_role("link", name="対象者の登録").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("対象者の登録")

    # A first try with a name as the case code and no municipality: errors in Japanese.
    page.get_by_label("ケース番号").fill("山田 太郎")
    page.get_by_role("button", name="保存する").click()
    expect(page).to_have_title(re.compile("^エラー：対象者の登録"))
    expect(page.locator("#f-reference-error")).to_contain_text("ケース番号は半角英数字")
    expect(page.locator("#f-home_municipality_code-error")).to_contain_text(
        "帰住予定地（市区町村）を選んでください"
    )
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert_accessible(page, "the person form with errors")
    _shots(page, "person-form-errors")

    # Categories, household, municipality: the ceiling follows the household.
    page.get_by_label("ケース番号").fill("OSK-2026-101")
    page.get_by_label("矯正施設退所者").check()
    page.get_by_label("高齢者").check()
    page.get_by_label("帰住予定地（市区町村）").select_option("271276")
    expect(page.locator("#ceiling [data-ceiling-yen]")).to_have_text("40,000円")
    page.get_by_label("世帯の人数").fill("3")
    page.get_by_label("世帯の人数").press("Tab")
    expect(page.locator("#ceiling [data-ceiling-yen]")).to_have_text("52,000円")
    page.get_by_label("段差なく出入りできること（1階、またはエレベーターあり）").check()

    # An anchor placed by clicking the map, its distance set with the slider.
    page.get_by_label("場所1のメモ").fill("通院先の精神科")
    anchor_map = page.locator("#f-places-anchors-0-location")
    anchor_map.scroll_into_view_if_needed()
    anchor_map.click(position={"x": 200, "y": 150})
    latitude = page.locator("#f-places-anchors-0-location-latitude").input_value()
    assert 34.6 < float(latitude) < 34.8
    slider = page.locator("#f-places-anchors-0-max_distance_m")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#f-places-anchors-0-max_distance_m-output")).to_have_text("2.5 km")
    assert _circle_radius(page, "f-places-anchors-0-location") == 2500

    # An exclusion zone, the same way.
    page.get_by_label("範囲1のメモ").fill("被害者宅周辺")
    zone_map = page.locator("#f-places-exclusion_zones-0-center")
    zone_map.scroll_into_view_if_needed()
    zone_map.click(position={"x": 320, "y": 120})
    slider = page.locator("#f-places-exclusion_zones-0-radius_m")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#f-places-exclusion_zones-0-radius_m-output")).to_have_text("700 m")
    assert _circle_radius(page, "f-places-exclusion_zones-0-center") == 700

    # The support plan and the consent, in plain words.
    page.get_by_label("支援計画1の心配ごと").select_option(label="家賃債務保証・保証人")
    page.get_by_label("支援計画1の担い手の種類").select_option(label="家賃債務保証業者")
    page.get_by_label("支援計画1の担い手", exact=True).fill("保証会社")
    consent = page.get_by_role("group", name="居住支援法人に伝えてよい情報")
    consent.get_by_label("世帯人数").check()
    consent.get_by_label("要配慮者の区分").check()

    page.get_by_role("button", name="保存する").click()
    expect(page).to_have_url(re.compile(r"/persons/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("対象者 OSK-2026-101")
    person_path = page.url.split(session.base_url, 1)[1]
    expect(page.get_by_role("link", name="候補住宅を見る")).to_have_attribute(
        "href", f"{person_path}/candidates"
    )
    expect(page.locator("main")).to_contain_text("52,000円")
    expect(page.locator("main")).to_contain_text("2.5 km以内")
    expect(page.locator("main")).to_contain_text("半径700 m")
    expect(page.locator("main")).to_contain_text("世帯人数、要配慮者の区分")
    assert_accessible(page, "the person's page")
    _shots(page, "person")

    # Edit: the places come back on their maps; a smaller household lowers the ceiling.
    page.get_by_role("link", name="編集する").click()
    expect(page.locator("#f-places-anchors-0-location-latitude")).to_have_value(latitude)
    expect(page.locator("#f-places-exclusion_zones-0-radius_m-output")).to_have_text("700 m")
    page.get_by_label("世帯の人数").fill("2")
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("対象者 OSK-2026-101")
    expect(page.locator("main")).to_contain_text("48,000円")

    # Home: the person, still searching.
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="ホーム").click()
    row = page.get_by_role("row").filter(has_text="OSK-2026-101")
    expect(row).to_contain_text("住まい探し中")
    assert_accessible(page, "the center's home")
    _shots(page, "center-home")

    # Sign out with the menu's button (a POST with the CSRF token).
    page.get_by_role("navigation", name="メインメニュー").get_by_role(
        "button", name="ログアウト"
    ).click()
    expect(page.locator("main")).to_contain_text("ログアウトしました")
