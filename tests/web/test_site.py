"""The web layer without a browser: routes, static files, the offline /docs, settings, the
vendored files, and the macros' label/hint/error wiring."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from pydantic import ValidationError

from housing_match.app import create_app
from housing_match.settings import GSI_STANDARD_TILES, Settings
from housing_match.web.templating import STATIC_DIR, map_tiles
from housing_match.web.vendor import PACKAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def web() -> TestClient:
    return TestClient(create_app())


def test_pages_are_japanese_html_and_assets_are_served_locally(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text
    for reference in re.findall(r'(?:src|href)="([^"#]+)"', page.text):
        assert reference.startswith("/"), f"{reference} is not served by the application"
        if reference.startswith("/static/"):
            assert web.get(reference).status_code == 200, reference


def test_docs_use_the_vendored_swagger_ui_and_redoc_is_off(web: TestClient) -> None:
    docs = web.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", docs.text)
    assert assets
    assert all(asset.startswith("/static/vendor/swagger-ui-dist-") for asset in assets), assets
    assert "cdn" not in docs.text
    assert '"validatorUrl": null' in docs.text
    assert web.get("/redoc").status_code == 404
    assert "/docs" not in web.get("/openapi.json").json()["paths"]


def test_the_vendored_files_match_the_pinned_packages() -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for package in PACKAGES:
        assert (STATIC_DIR / "vendor" / package.folder / "LICENSE").is_file()


def test_tiles_default_to_gsi_with_attribution_and_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("URL", "ATTRIBUTION", "ATTRIBUTION_URL"):
        monkeypatch.delenv(f"HOUSING_MATCH_MAP_TILE_{name}", raising=False)
    defaults = Settings()
    assert defaults.map_tile_url == GSI_STANDARD_TILES
    assert defaults.map_tile_attribution == "地理院タイル"
    assert defaults.map_tile_attribution_url == "https://maps.gsi.go.jp/development/ichiran.html"
    assert Settings(map_tile_url="").map_tile_url == ""
    assert Settings(map_tile_url="/tiles/{z}/{x}/{y}.png").map_tile_url.startswith("/tiles")
    with pytest.raises(ValidationError, match="tile URL"):
        Settings(map_tile_url="https://tiles.example/{z}.png")

    monkeypatch.setattr("housing_match.web.templating.get_settings", lambda: defaults)
    assert map_tiles() == {
        "url": GSI_STANDARD_TILES,
        "attribution": "地理院タイル",
        "attribution_url": "https://maps.gsi.go.jp/development/ichiran.html",
        "max_zoom": 18,
    }
    monkeypatch.setattr(
        "housing_match.web.templating.get_settings", lambda: Settings(map_tile_url="")
    )
    assert map_tiles() is None


def test_fields_are_labelled_and_wired_to_their_hint_and_error(web: TestClient) -> None:
    page = web.get("/styleguide", params={"check": "1", "postal_code": "12"})
    assert page.status_code == 422
    html = page.text
    assert '<label class="field__label" for="f-postal_code">郵便番号' in html
    assert 'aria-describedby="f-postal_code-hint f-postal_code-error" aria-invalid="true"' in html
    assert 'id="f-postal_code-error"><span class="visually-hidden">エラー：</span>' in html
    assert '<a href="#f-postal_code">郵便番号は7桁の半角数字で入力してください</a>' in html
    assert 'value="12"' in html
    # Groups: a legend, the first choice carries the field's id for the summary's link.
    assert '<legend class="field__legend">住宅確保要配慮者の区分' in html
    assert 'id="f-categories" name="categories" value="low_income" aria-invalid="true"' in html
    assert "<title>エラー：画面部品の見本 | セーフティネット住宅マッチング</title>" in html


def test_a_valid_style_guide_form_is_accepted(web: TestClient) -> None:
    params = [
        ("check", "1"), ("reference", "OSK-2026-014"), ("postal_code", "5300001"),
        ("household_size", "1"), ("rent_ceiling_yen", "40000"), ("min_area_m2", "18.5"),
        ("move_in_date", "2027-01-15"), ("prefecture", "27"), ("categories", "elderly"),
        ("floor", "any"), ("notes", "付き添い"), ("anchor.latitude", "34.7"),
        ("anchor.longitude", "135.5"), ("anchor_radius_m", "1500"),
    ]  # fmt: skip
    page = web.get("/styleguide", params=params)
    assert page.status_code == 200, page.text
    assert "入力内容に問題はありません" in page.text


def test_a_browser_gets_japanese_error_pages_and_the_api_keeps_problem_json() -> None:
    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail that must not show")

    @app.get("/members-only")
    def members_only() -> None:
        raise HTTPException(status_code=303, headers={"Location": "/login"})

    client = TestClient(app, raise_server_exceptions=False)
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = client.get("/no-such-page", headers=html)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "<h1>ページが見つかりません</h1>" in missing.text
    failed = client.get("/boom", headers=html)
    assert failed.status_code == 500
    assert "システムでエラーが起きました" in failed.text
    assert "internal detail" not in failed.text
    redirect = client.get("/members-only", headers=html, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login"
    not_allowed = client.post("/", headers=html)
    assert not_allowed.status_code == 405
    assert not_allowed.headers["allow"] == "GET"

    for path, headers in (("/no-such-page", {}), ("/v1/organisations/me", html)):
        problem = client.get(path, headers=headers)
        assert problem.headers["content-type"] == "application/problem+json", path
