"""A support center's staff member in Chromium signs in (and lands on the home page), opens
the allocation page from it, picks three persons, sees the proposed assignment beside the
greedy one with their totals, sends two of the proposed pairs as referrals, and finds them on
the home page. axe-core finds nothing serious; the page reflows at 640 px."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

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
from tests.matching.factories import at, create_person, home
from tests.web.browser import NARROW, WIDE, assert_accessible, assert_reflows, screenshot
from tests.web.conftest import BROWSER, OpenPage, committed_organisation

pytestmark = BROWSER

PASSWORD = "three cranes above lake biwa"
# Far from the homes other browser tests register near Osaka station (they share the
# server's database), so that these persons' candidates are this test's homes only.
AREA_NORTH_M = 25_000


@dataclass(frozen=True)
class World:
    email: str
    totp_secret: str
    references: dict[str, str]  # "a", "b", "c" → case number


@pytest.fixture
def world(committed_session: Session, api: TestClient) -> World:
    """Two homes and three persons. Home x allows pets and sits by A's clinic; y is further
    from it and allows no pets. B has a dog, so only x fits B, and B's clinic is far from x:
    greedy gives x to A (the best pair) and leaves B without a home, the optimum gives A y and
    B x. C's ceiling excludes both homes."""
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
        committed_session, CLI_ACTOR, center, email=email, name="相談員 三", role=UserRole.STAFF,
        client=CLI_CLIENT,
    ).user  # fmt: skip
    secret = pyotp.random_base32()
    user.password_hash = hash_password(PASSWORD)
    user.totp_secret = totp.seal(secret)
    user.activated_at = datetime.now(UTC)
    committed_session.commit()

    home(
        api, corporation, municipality, pets_allowed=True, rent_yen=42_000,
        location=at(north_m=AREA_NORTH_M + 300), address="大阪府池田市旭丘1丁目3-1",
    )  # fmt: skip
    home(
        api, corporation, municipality, rent_yen=45_000,
        location=at(north_m=AREA_NORTH_M - 1_500), address="大阪府池田市石橋2丁目5-8",
    )  # fmt: skip
    suffix = uuid.uuid4().hex[:4].upper()
    references = {name: f"ALC-{name.upper()}-{suffix}" for name in ("a", "b", "c")}

    def clinic(north_m: int, max_distance_m: int) -> dict[str, object]:
        return {
            "kind": "psychiatric_hospital",
            "label": "こころクリニック",
            "location": at(north_m=north_m),
            "max_distance_m": max_distance_m,
        }

    create_person(
        api, center_key, reference=references["a"],
        places={"anchors": [clinic(AREA_NORTH_M + 300, 3_000)]},
    )  # fmt: skip
    create_person(
        api, center_key, reference=references["b"],
        needs={"rent_ceiling_yen": 50_000, "has_pets": True},
        places={"anchors": [clinic(AREA_NORTH_M + 2_800, 3_000)]},
    )  # fmt: skip
    create_person(
        api, center_key, reference=references["c"], needs={"rent_ceiling_yen": 10_000},
        places={"anchors": [clinic(AREA_NORTH_M, 3_000)]},
    )  # fmt: skip
    return World(email, secret, references)


def _sign_in_without_next(page: Page, base_url: str, world: World) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("メールアドレス").fill(world.email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログインする").click()
    page.get_by_label("確認コード").fill(next_code(world.totp_secret))
    page.get_by_role("button", name="確認してログインする").click()
    # Signed in, the staff member lands on the organisation's home.
    expect(page).to_have_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def test_staff_compare_assignments_and_send_two_referrals(
    open_page: OpenPage, world: World
) -> None:
    session = open_page(WIDE)
    page = session.page
    refs = world.references
    _sign_in_without_next(page, session.base_url, world)

    page.get_by_role("link", name="まとめて割り当てる").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("まとめて割り当てる")
    for name in ("a", "b", "c"):
        page.get_by_role("checkbox", name=re.compile(f"^{refs[name]}（")).check()
    page.get_by_role("button", name="割当てを比べる").click()

    result = page.get_by_role("region", name="割当ての比較")
    expect(result).to_be_visible()
    totals = result.get_by_role("table")
    expect(totals.get_by_role("row", name=re.compile("住まいが決まる人"))).to_contain_text(
        "2人（3人中）1人（3人中）"
    )
    expect(result).to_contain_text("提案のほうが住まいが決まる人が1人多く")
    proposal = page.get_by_role("region", name="提案（全体で最もよい割当て）")
    greedy = page.get_by_role("region", name="比較：点数の高い組から順に決めた場合")
    expect(proposal.get_by_role("checkbox")).to_have_count(2)
    expect(proposal).to_contain_text(f"{refs['a']} → 大阪府池田市石橋2丁目5-8")
    expect(proposal).to_contain_text(f"{refs['b']} → 大阪府池田市旭丘1丁目3-1")
    expect(proposal).to_contain_text("上限 50,000円")
    expect(greedy).to_contain_text(f"{refs['a']} → 大阪府池田市旭丘1丁目3-1")
    expect(greedy.locator(".unassigned")).to_contain_text(refs["b"])
    # One pair's whole explanation, unfolded.
    proposal.locator("details").first.locator("summary").click()
    expect(proposal.get_by_role("table", name=re.compile("点数の内訳")).first).to_be_visible()
    assert_accessible(page, "the allocation page")
    screenshot(page, "allocation")
    page.set_viewport_size(NARROW)  # type: ignore[arg-type]
    assert_reflows(page, "the allocation page")
    screenshot(page, "allocation-640")
    page.set_viewport_size(WIDE)  # type: ignore[arg-type]

    for name in ("a", "b"):
        proposal.get_by_role("checkbox", name=re.compile(f"^{refs[name]} → ")).check()
    page.get_by_role("button", name="選んだ組で入居相談を送る").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    expect(page.get_by_role("status")).to_contain_text("入居相談を2件送りました")
    waiting = page.get_by_role("table", name="返事待ち・止まっている入居相談")
    expect(waiting.get_by_role("row")).to_have_count(3)  # the header and the two referrals
    for name in ("a", "b"):
        expect(waiting).to_contain_text(refs[name])
    persons = page.get_by_role("table", name="対象者")
    expect(persons.get_by_role("row", name=re.compile(refs["a"]))).to_contain_text("入居相談中")
    expect(persons.get_by_role("row", name=re.compile(refs["c"]))).to_contain_text("住まい探し中")
    assert_accessible(page, "the home page after the referrals")
