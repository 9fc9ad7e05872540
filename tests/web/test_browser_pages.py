"""The start page, the style guide and /docs in Chromium, as people use them: no request
leaves the application, axe-core finds nothing serious, the layout reflows at 200 % zoom,
and the keyboard reaches everything. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.browser import NARROW, WIDE, assert_accessible, assert_reflows, screenshot
from tests.web.conftest import BROWSER, OpenPage

pytestmark = BROWSER

PHONE = {"width": 320, "height": 800}  # 1280 px at 400 % zoom (WCAG 1.4.10)


def test_start_page_explains_the_service_and_links_to_sign_in_and_docs(
    open_page: OpenPage,
) -> None:
    session = open_page(WIDE)
    page = session.page
    session.goto("/")
    expect(page).to_have_title("はじめに | セーフティネット住宅マッチング")
    expect(page.locator("header .service-name")).to_have_text("セーフティネット住宅マッチング")
    expect(page.get_by_role("link", name="ログインする")).to_have_attribute("href", "/login")
    expect(page.get_by_role("link", name="API文書").first).to_have_attribute("href", "/docs")
    assert page.evaluate("() => document.documentElement.lang") == "ja"
    # htmx is loaded, and swaps a form answered with 422 (its errors) like a 200.
    assert page.evaluate(
        "() => htmx.config.responseHandling.some(rule => rule.code === '422' && rule.swap)"
    )
    assert_accessible(page, "/")
    assert_reflows(page, "/")
    screenshot(page, "start")

    for viewport, name in ((NARROW, "start-200pc"), (PHONE, None)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_reflows(page, f"/ at {viewport['width']} px")
        if name:
            screenshot(page, name)


def test_a_missing_page_is_explained_in_japanese(open_page: OpenPage) -> None:
    session = open_page(WIDE)
    page = session.page
    response = page.goto(session.base_url + "/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("ページが見つかりません")
    expect(page.get_by_role("link", name="ホームに戻る")).to_be_visible()
    assert_accessible(page, "the 404 page")


def test_keyboard_skip_link_and_visible_focus(open_page: OpenPage) -> None:
    session = open_page(WIDE)
    page = session.page
    session.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0, "the skip link shows when it has the focus"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.keyboard.press("Tab")  # the first link inside <main>
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth),"
        " document.activeElement.outerHTML.slice(0, 80)]; }"
    )
    assert outline[0] == "solid", f"focus ring: {outline}"
    assert outline[1] >= 3, f"focus ring: {outline}"


def test_styleguide_shows_errors_next_to_fields_and_a_summary_that_links_to_them(
    open_page: OpenPage,
) -> None:
    session = open_page(WIDE)
    page = session.page
    session.goto("/styleguide")
    assert_accessible(page, "/styleguide")
    page.get_by_role("button", name="入力内容を確認する").click()
    page.wait_for_url(re.compile(r"check=1"))

    expect(page).to_have_title(re.compile(r"^エラー：画面部品の見本"))
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("入力内容に11件の問題があります")
    expect(summary.get_by_role("link")).to_have_count(11)
    # Next to each field, in Japanese, and wired to it.
    reference = page.get_by_label("ケース番号")
    expect(reference).to_have_attribute("aria-invalid", "true")
    expect(reference).to_have_attribute("aria-describedby", "f-reference-hint f-reference-error")
    expect(page.locator("#f-reference-error")).to_have_text("エラー：ケース番号を入力してください")
    expect(page.locator("#f-prefecture-error")).to_contain_text("都道府県を選んでください")
    # The summary's links move the focus to the field, and to the map for a point.
    summary.get_by_role("link", name="郵便番号を入力してください").click()
    expect(page.get_by_label("郵便番号")).to_be_focused()
    summary.get_by_role("link", name="住宅確保要配慮者の区分を選んでください").click()
    expect(page.locator("#f-categories")).to_be_focused()
    summary.get_by_role("link", name="地図をクリックして通院先を選んでください").click()
    expect(page.locator("#f-anchor")).to_be_focused()

    assert_accessible(page, "/styleguide with errors")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "styleguide-errors")
    page.set_viewport_size(NARROW)  # type: ignore[arg-type]
    assert_reflows(page, "/styleguide at 200 %")
    screenshot(page, "styleguide-errors-200pc")

    # Typed wrong rather than missing: the rule in words, never a pattern.
    page.get_by_label("郵便番号").fill("530-0001")
    page.get_by_label("世帯の人数").fill("二人")
    page.get_by_role("button", name="入力内容を確認する").click()
    expect(page.locator("#f-postal_code-error")).to_have_text(
        "エラー：郵便番号は7桁の半角数字で入力してください"
    )
    expect(page.locator("#f-household_size-error")).to_have_text(
        "エラー：世帯の人数は半角数字で入力してください"
    )
    expect(page.get_by_label("郵便番号")).to_have_value("530-0001")


def test_styleguide_form_is_accepted_with_a_point_placed_on_the_map(open_page: OpenPage) -> None:
    session = open_page(WIDE)
    page = session.page
    session.goto("/styleguide")
    page.get_by_label("ケース番号").fill("OSK-2026-014")
    page.get_by_label("郵便番号").fill("5300001")
    page.get_by_label("世帯の人数").fill("1")
    page.get_by_label("家賃の上限").fill("40000")
    page.get_by_label("専有面積の下限").fill("18.5")
    page.get_by_label("入居希望日").fill("2027-01-15")
    page.get_by_label("都道府県").select_option(label="大阪府")
    page.get_by_label("高齢者").check()
    page.get_by_label("エレベーターがあれば何階でも").check()
    page.get_by_label("支援上の配慮").fill("通院の付き添いが必要")

    picker = page.locator("#f-anchor")
    expect(page.locator("#f-anchor-clear")).to_be_hidden()
    picker.click(position={"x": 200, "y": 150})
    latitude = page.locator("#f-anchor-latitude").input_value()
    longitude = page.locator("#f-anchor-longitude").input_value()
    assert 34.6 < float(latitude) < 34.8
    assert 135.4 < float(longitude) < 135.6
    expect(page.locator("#f-anchor-status")).to_contain_text("地点を選びました（北緯34.")
    # The slider is bound to the circle and says its value in words.
    slider = page.get_by_label(re.compile("^通院先からの距離"))
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#f-anchor_radius_m-output")).to_have_text("1.5 km")
    expect(slider).to_have_attribute("aria-valuetext", "1.5 km")
    radius = page.evaluate(
        "() => { let r = null; document.getElementById('f-anchor').housingMap.layers"
        ".eachLayer(l => { if (l.getRadius) r = l.getRadius(); }); return r; }"
    )
    assert radius == 1500

    page.get_by_role("button", name="入力内容を確認する").click()
    expect(page.locator(".notice[role=status]")).to_contain_text("入力内容に問題はありません")
    # The point survives the round trip and is shown again.
    expect(page.locator("#f-anchor-latitude")).to_have_value(latitude)
    expect(page.locator("#f-anchor-status")).to_contain_text("地点を選びました")
    expect(page.locator("#f-anchor_radius_m-output")).to_have_text("1.5 km")


def test_map_without_tiles_shows_markers_and_circles_and_takes_a_point_from_the_keyboard(
    open_page: OpenPage,
) -> None:
    session = open_page(WIDE)
    page = session.page
    session.goto("/styleguide")
    view = page.locator("#styleguide-map")
    expect(view).to_have_class(re.compile("map--no-tiles"))
    expect(view.locator(".leaflet-tile")).to_have_count(0)
    expect(view.locator(".leaflet-marker-icon")).to_have_count(1)
    expect(view.locator("path.leaflet-interactive")).to_have_count(2)  # anchor and zone
    expect(view.locator(".leaflet-control-attribution")).to_contain_text("地図画像なし")
    expect(view.get_by_role("button", name="拡大")).to_be_visible()

    picker = page.locator("#f-anchor")
    picker.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(page.locator("#f-anchor-status")).to_contain_text("地点を選びました")
    assert page.locator("#f-anchor-latitude").input_value() != ""
    page.get_by_role("button", name="選んだ地点を消す").click()
    expect(page.locator("#f-anchor-latitude")).to_have_value("")
    expect(page.locator("#f-anchor-status")).to_have_text("まだ地点を選んでいません。")

    view.scroll_into_view_if_needed()
    screenshot(page, "styleguide")


def test_a_map_with_a_tile_server_draws_its_tiles_and_credits_them(open_page: OpenPage) -> None:
    """The tile layer as configured by default (地理院タイル), pointed at a file the
    application serves, since tests reach no other host."""
    session = open_page(WIDE)
    page = session.page
    session.goto("/styleguide")
    tile = "/static/vendor/leaflet-1.9.4/images/layers.png?{z}/{x}/{y}"
    page.evaluate(
        """(tile) => {
            const element = document.createElement("div");
            element.id = "tiled";
            element.className = "map";
            document.querySelector("main").append(element);
            HousingMap.create(element, {
                center: [34.7, 135.5], zoom: 12,
                tiles: {url: tile, attribution: "地理院タイル",
                        attribution_url: "https://maps.gsi.go.jp/development/ichiran.html"},
            });
        }""",
        tile,
    )
    tiled = page.locator("#tiled")
    expect(tiled.locator("img.leaflet-tile").first).to_be_attached()
    expect(tiled).not_to_have_class(re.compile("map--no-tiles"))
    credit = tiled.locator(".leaflet-control-attribution a", has_text="地理院タイル")
    expect(credit).to_have_attribute("href", "https://maps.gsi.go.jp/development/ichiran.html")
