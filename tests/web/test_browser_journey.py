"""The support center's whole job in Chromium, on the demo data, using only the pages.

A staff member of the demo center (``demo load``: 大阪府地域生活定着支援センター（デモ） and
the demo registry of 3,000 dwellings) signs in with a password and a TOTP code, registers a
person with a place to live near and an area to avoid, both placed by clicking the form's
maps, looks at the candidates, asks why one excluded home is not among them, relaxes one
constraint with one click, opens the A4 print sheet, previews and sends a referral, and finds
it on the home page. No page asks any host but the application (tiles are off), no script
fails, and axe-core finds nothing serious or critical on any page.

The demo registry would change what the other browser tests count, so this journey has a
database and a server of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from housing_match.accounts import totp
from housing_match.accounts.passwords import hash_password
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.auth import CLI_ACTOR
from housing_match.db import make_engine
from housing_match.dbadmin import migrate
from housing_match.demo import load_demo
from housing_match.demo_registry import load_demo_registry
from housing_match.models import UserRole
from housing_match.organisations.repository import OrganisationRepository
from housing_match.served import Server, serve
from housing_match.testing import database_url_for_tests, recreate_database
from tests.accounts.pages import next_code
from tests.web.browser import WIDE, BrowserSession, assert_accessible, open_session
from tests.web.conftest import BROWSER, SERVER_SETTINGS

pytestmark = BROWSER

PASSWORD = "a heron waits by the dotonbori bridge"
DEMO_CENTER = "demo-osaka-center"


@dataclass(frozen=True)
class DemoStaff:
    email: str
    totp_secret: str


@pytest.fixture(scope="module")
def demo_database_url(request: pytest.FixtureRequest) -> str:
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")
    url = make_url(database_url_for_tests(worker_id))
    demo_url = url.set(database=f"{url.database}_journey").render_as_string(hide_password=False)
    recreate_database(demo_url)
    migrate(demo_url)
    engine = make_engine(demo_url, pool_size=1)
    with Session(engine) as session:
        load_demo(session)
        load_demo_registry(session)
        session.commit()
    engine.dispose()
    return demo_url


@pytest.fixture(scope="module")
def demo_server(demo_database_url: str) -> Iterator[Server]:
    with serve(demo_database_url, settings=SERVER_SETTINGS) as server:
        yield server


@pytest.fixture
def demo_staff(demo_database_url: str) -> DemoStaff:
    """A staff member of the demo center with a password and an authenticator enrolled."""
    engine = make_engine(demo_database_url, pool_size=1)
    with Session(engine) as session:
        center = OrganisationRepository(session).get_by_slug(DEMO_CENTER)
        assert center is not None
        email = f"staff-{uuid.uuid4().hex[:8]}@demo-osaka-center.example"
        user = invite_user(
            session, CLI_ACTOR, center, email=email, name="相談員 三", role=UserRole.STAFF,
            client=CLI_CLIENT,
        ).user  # fmt: skip
        secret = pyotp.random_base32()
        user.password_hash = hash_password(PASSWORD)
        user.totp_secret = totp.seal(secret)
        user.activated_at = datetime.now(UTC)
        session.commit()
    engine.dispose()
    return DemoStaff(email=email, totp_secret=secret)


@pytest.fixture
def journey(browser: Browser, demo_server: Server) -> Iterator[BrowserSession]:
    session = open_session(browser, demo_server.base_url, WIDE)
    yield session
    problems = session.problems()
    session.context.close()
    assert not problems, "\n".join(problems)


def _checked(page: Page, where: str) -> None:
    """Every page of the journey: loaded in full, and accessible."""
    page.wait_for_load_state("load")
    assert_accessible(page, where)


def _place_on_map(page: Page, map_id: str, x: int, y: int) -> None:
    picker = page.locator(f"#{map_id}")
    picker.scroll_into_view_if_needed()
    picker.click(position={"x": x, "y": y})
    expect(page.locator(f"#{map_id}-latitude")).not_to_have_value("")


def _slide(page: Page, slider_id: str, key: str, presses: int) -> None:
    slider = page.locator(f"#{slider_id}")
    slider.focus()
    for _ in range(presses):
        page.keyboard.press(key)


def test_a_demo_centers_staff_member_houses_a_person_using_only_the_pages(
    journey: BrowserSession, demo_staff: DemoStaff
) -> None:
    page, base_url = journey.page, journey.base_url
    reference = f"OSK-J-{uuid.uuid4().hex[:6].upper()}"

    # Sign in: password, then the authenticator's code.
    page.goto(base_url + "/login?next=/")
    _checked(page, "the sign-in page")
    page.get_by_label("メールアドレス").fill(demo_staff.email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログインする").click()
    page.get_by_label("確認コード").fill(next_code(demo_staff.totp_secret))
    _checked(page, "the TOTP step")
    page.get_by_role("button", name="確認してログインする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    _checked(page, "the center's home")

    # The person, in the order of the interview.
    nav = page.get_by_role("navigation", name="メインメニュー")
    nav.get_by_role("link", name="対象者の登録").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("対象者の登録")
    _checked(page, "the person form")
    page.get_by_label("ケース番号").fill(reference)
    page.get_by_label("矯正施設退所者").check()
    page.get_by_label("高齢者").check()
    page.get_by_label("帰住予定地（市区町村）").select_option("271004")  # 大阪市
    expect(page.locator("#ceiling [data-ceiling-yen]")).to_have_text("40,000円")
    # The center has arranged more than 住宅扶助 pays: a ceiling of its own.
    page.get_by_label("家賃の上限（個別に決める場合）").fill("90000")

    # The clinic: clicked in the middle of the map (central 大阪市), within 5 km.
    page.get_by_label("場所1のメモ").fill("通院先の内科")
    _place_on_map(page, "f-places-anchors-0-location", 320, 160)
    _slide(page, "f-places-anchors-0-max_distance_m", "End", 1)
    _slide(page, "f-places-anchors-0-max_distance_m", "Home", 1)
    _slide(page, "f-places-anchors-0-max_distance_m", "ArrowRight", 28)  # 200 m + 28 × 100 m
    expect(page.locator("#f-places-anchors-0-max_distance_m-output")).to_have_text("3.0 km")

    # An area to avoid, clicked a little off the centre, 800 m around.
    page.get_by_label("範囲1のメモ").fill("被害者宅周辺")
    _place_on_map(page, "f-places-exclusion_zones-0-center", 200, 100)
    _slide(page, "f-places-exclusion_zones-0-radius_m", "Home", 1)
    _slide(page, "f-places-exclusion_zones-0-radius_m", "ArrowRight", 7)  # 100 m + 7 × 100 m
    expect(page.locator("#f-places-exclusion_zones-0-radius_m-output")).to_have_text("800 m")

    # Who covers what the landlords ask for, and what the person agreed to share.
    plan = (
        ("緊急連絡先", "地域生活定着支援センター", "センター"),
        ("家賃債務保証・保証人", "家賃債務保証業者", "保証会社"),
        ("見守り・安否確認", "福祉サービス事業所・訪問看護等", "訪問看護"),
        ("死後事務・残置物処理", "居住支援法人", "居住支援法人"),
    )
    for slot, (risk, coverer_kind, coverer) in enumerate(plan, start=1):
        page.get_by_label(f"支援計画{slot}の心配ごと").select_option(label=risk)
        page.get_by_label(f"支援計画{slot}の担い手の種類").select_option(label=coverer_kind)
        page.get_by_label(f"支援計画{slot}の担い手", exact=True).fill(coverer)
    consent = page.get_by_role("group", name="居住支援法人に伝えてよい情報")
    consent.get_by_label("世帯人数").check()
    consent.get_by_label("要配慮者の区分").check()
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"対象者 {reference}")
    expect(page.locator("main")).to_contain_text("3.0 km以内")
    expect(page.locator("main")).to_contain_text("半径800 m")
    _checked(page, "the person's page")

    # The candidates: ranked homes, each with its score, and what was excluded.
    page.get_by_role("link", name="候補住宅を見る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"候補住宅：{reference}")
    candidates = page.locator("li.candidate")
    expect(candidates.first).to_be_visible()
    expect(candidates.first.get_by_role("table", name=re.compile("点数の内訳"))).to_be_visible()
    expect(candidates.first).to_contain_text("通院先の内科まで")
    before = candidates.count()
    _checked(page, "the candidates")

    # Why not this home: the homes one constraint keeps out, then one of them explained.
    exclusions = page.locator("ul.exclusions > li")
    expect(exclusions.first).to_be_visible()
    exclusions.first.get_by_role("link", name=re.compile("除外された空室を見る")).click()
    listed = page.locator("#excluded-homes")
    expect(listed.get_by_role("heading", level=3)).to_contain_text("で除外された空室")
    listed.get_by_role("link", name=re.compile("候補でない理由を見る")).first.click()
    answer = page.locator("#why-not .why-not__answer")
    expect(answer).to_contain_text("満たしていない条件が")
    expect(answer.locator(".why-not__failures > li").first).to_be_visible()
    assert page.url.endswith("/candidates")  # asked in place, without leaving the page
    _checked(page, "the candidates with an excluded home explained")

    # One click relaxes one constraint: more homes, those it admitted marked.
    page.locator("ul.relaxations a").first.click()
    expect(page).to_have_url(re.compile(r"relax="))
    notice = page.locator(".notice--warning")
    expect(notice).to_contain_text("表示しています")
    assert candidates.count() >= before
    _checked(page, "the relaxed candidates")

    # The print sheet for the case meeting: A4, nothing that identifies the person.
    page.get_by_role("link", name="ケース会議用に印刷する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("候補住宅（ケース会議用）")
    expect(page.locator("main")).not_to_contain_text(reference)
    expect(page.locator("main")).not_to_contain_text("通院先の内科")
    expect(page.locator("section.print-candidate").first).to_be_visible()
    _checked(page, "the print sheet")
    page.emulate_media(media="print")
    assert page.pdf(format="A4").startswith(b"%PDF")
    page.emulate_media(media="screen")

    # Back to the list; preview what the corporation will see, then send.
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"候補住宅：{reference}")
    candidates.first.get_by_role("link", name="この住宅に入居相談する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("入居相談の確認")
    shared = page.get_by_role("region", name="居住支援法人に伝わる内容")
    expect(shared).not_to_contain_text(reference)
    expect(shared).not_to_contain_text("通院先の内科")
    _checked(page, "the referral preview")
    page.get_by_role("button", name="この内容で入居相談を送る").click()
    expect(page).to_have_url(re.compile(r"/referrals/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("入居相談（入居相談中）")
    expect(page.locator("main")).to_contain_text("まで確保中")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    _checked(page, "the referral's timeline")

    # Home: the referral waits for the corporation's answer, and the person is referred.
    nav.get_by_role("link", name="ホーム").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    waiting = page.get_by_role("table", name="返事待ち・止まっている入居相談")
    expect(waiting.get_by_role("row").filter(has_text=reference)).to_contain_text("入居相談中")
    persons = page.get_by_role("table", name="対象者")
    expect(persons.get_by_role("row").filter(has_text=reference)).to_contain_text("入居相談中")
    _checked(page, "the center's home with the referral")
    assert not journey.guard.refused
