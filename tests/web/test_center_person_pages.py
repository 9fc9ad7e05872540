"""The center's home and the person form through HTTP (no browser): who may open them, how
the form's input is checked by the API's own models, and what is saved."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind, UserRole
from tests.accounts.pages import csrf_of
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture, UserFixture

PAGE = {"Accept": "text/html"}


def _headers(user: UserFixture) -> dict[str, str]:
    """What a browser sends: the session cookie; a form carries its CSRF token as a field."""
    return {**PAGE, "Cookie": user.headers["Cookie"]}


def _form(reference: str = "OSK-2026-014", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reference": reference,
        "categories": ["released_from_correctional_facility", "elderly"],
        "household_size": "1",
        "home_municipality_code": "271276",
        "needs_flags": ["no_stairs"],
        "places.anchors.0.slot": "0",
        "places.anchors.0.kind": "hospital",
        "places.anchors.0.label": "通院先",
        "places.anchors.0.location.latitude": "34.7025",
        "places.anchors.0.location.longitude": "135.4959",
        "places.anchors.0.max_distance_m": "2000",
        "places.anchors.1.slot": "1",
        "places.anchors.1.kind": "workplace",
        "places.anchors.1.max_distance_m": "2000",
        "places.exclusion_zones.0.slot": "0",
        "places.exclusion_zones.0.label": "被害者宅周辺",
        "places.exclusion_zones.0.center.latitude": "34.6700",
        "places.exclusion_zones.0.center.longitude": "135.5200",
        "places.exclusion_zones.0.radius_m": "1500",
        "support_plan.0.slot": "0",
        "support_plan.0.risk_kind": "rent_guarantee",
        "support_plan.0.coverer_kind": "guarantee_company",
        "support_plan.0.coverer_name": "保証会社",
        "support_plan.1.slot": "1",
        "consent.given_on": "2026-01-05",
        "consent.sharing.support_corporation": ["household_size", "categories", "needs"],
    }
    data.update(extra)
    return data


def _create(client: TestClient, user: UserFixture, data: dict[str, Any]) -> Any:
    page = client.get("/persons/new", headers=_headers(user))
    assert page.status_code == 200, page.text
    return client.post(
        "/persons/new",
        data={"csrf_token": csrf_of(page), **data},
        headers=_headers(user),
        follow_redirects=False,
    )


def test_an_anonymous_visitor_is_sent_to_sign_in_and_sees_the_start_page(
    client: TestClient,
) -> None:
    response = client.get("/persons/new", headers=PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/persons/new"
    start = client.get("/", headers=PAGE)
    assert start.status_code == 200
    assert "ログインする" in start.text


def test_only_center_staff_may_open_the_pages(
    client: TestClient, corporation: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(corporation, role=UserRole.STAFF)
    response = client.get("/persons/new", headers=_headers(user))
    assert response.status_code == 403
    assert "このページを見る権限がありません" in response.text
    # A corporation's staff gets the start page at /, not a center's home.
    assert "対象者を登録する" not in client.get("/", headers=_headers(user)).text


def test_a_person_is_created_shown_listed_and_edited(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    saved = _create(client, user, _form())
    assert saved.status_code == 303, saved.text
    location = saved.headers["location"]
    assert re.fullmatch(r"/persons/[0-9a-f-]{36}", location)
    person_id = location.rsplit("/", 1)[1]

    page = client.get(location, headers=_headers(user))
    assert page.status_code == 200
    assert f'href="/persons/{person_id}/candidates"' in page.text
    assert "候補住宅を見る" in page.text
    assert "40,000円" in page.text  # 大阪市's 住宅扶助 ceiling for one person
    assert "被害者宅周辺" in page.text

    # The API reads what the form saved: the same service, the same rows.
    api = client.get(f"/v1/persons/{person_id}", headers=center.headers).json()
    assert api["places"]["anchors"][0]["max_distance_m"] == 2000
    assert api["places"]["anchors"][0]["location"]["latitude"] == 34.7025
    assert len(api["places"]["anchors"]) == 1  # the empty second slot is left out
    assert api["places"]["exclusion_zones"][0]["radius_m"] == 1500
    assert api["needs"]["no_stairs"] is True
    assert api["consent"]["sharing"] == {
        "support_corporation": ["categories", "household_size", "needs"]
    }

    home = client.get("/", headers=_headers(user))
    assert "OSK-2026-014" in home.text
    assert "住まい探し中" in home.text
    assert 'action="/logout"' in home.text

    edit = client.get(f"{location}/edit", headers=_headers(user))
    assert edit.status_code == 200
    assert 'value="34.7025"' in edit.text
    changed = client.post(
        f"{location}/edit",
        data={"csrf_token": csrf_of(edit), **_form(household_size="2")},
        headers=_headers(user),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    api = client.get(f"/v1/persons/{person_id}", headers=center.headers).json()
    assert api["household_size"] == 2
    assert api["rent_ceiling"]["yen"] == 48000


def test_errors_are_japanese_and_next_to_their_fields(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    data = _form(reference="山田 太郎", household_size="十")
    del data["places.anchors.0.location.latitude"]
    del data["places.anchors.0.location.longitude"]
    response = _create(client, user, data)
    assert response.status_code == 422
    text = response.text
    assert "<title>エラー：" in text
    assert 'id="f-reference-error"' in text
    assert "ケース番号は半角英数字" in text
    assert 'id="f-household_size-error"' in text
    assert "世帯の人数は半角数字で入力してください" in text
    assert 'id="f-places-anchors-0-location-error"' in text
    assert "地図をクリックして、近くに住む必要のある場所1を選んでください" in text
    assert "pattern" not in text.split("<main", 1)[1]  # no regular expression shown


def test_a_duplicate_reference_is_a_field_error(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    assert _create(client, user, _form()).status_code == 303
    again = _create(client, user, _form())
    assert again.status_code == 422
    assert "このケース番号はすでに登録されています" in again.text


def test_another_centers_person_is_not_found(
    client: TestClient,
    center: OrgFixture,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    location = _create(client, user, _form()).headers["location"]
    other = make_user(make_organisation(OrganisationKind.CENTER), role=UserRole.STAFF)
    for path in (location, f"{location}/edit"):
        response = client.get(path, headers=_headers(other))
        assert response.status_code == 404
        assert "ページが見つかりません" in response.text
    missing = client.get(f"/persons/{uuid.uuid4()}", headers=_headers(user))
    assert missing.status_code == 404


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    cookie_only = {**PAGE, "Cookie": user.headers["Cookie"]}
    response = client.post("/persons/new", data=_form(), headers=cookie_only)
    assert response.status_code == 403
    api = client.get("/v1/persons", headers=center.headers).json()
    assert api["items"] == []


def test_the_ceiling_fragment_uses_the_allowance_table(
    client: TestClient, center: OrgFixture, make_user: MakeUser
) -> None:
    user = make_user(center, role=UserRole.STAFF)
    one = client.get(
        "/persons/ceiling?home_municipality_code=131016&household_size=1", headers=_headers(user)
    )
    assert "53,700円" in one.text
    assert "東京都 千代田区" in one.text
    three = client.get(
        "/persons/ceiling?home_municipality_code=131016&household_size=3", headers=_headers(user)
    )
    assert "69,800円" in three.text
    none = client.get(
        "/persons/ceiling?home_municipality_code=&household_size=1", headers=_headers(user)
    )
    assert "円" not in none.text
