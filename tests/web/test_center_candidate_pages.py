"""The candidates, print and referral pages through HTTP (no browser): who may open them, that
they show what the API's matcher says, and that the print view leaves the person out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from housing_match.models import OrganisationKind, UserRole
from tests.accounts.pages import csrf_of
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture, UserFixture
from tests.matching.factories import create_person, home, matches

PAGE = {"Accept": "text/html"}


def _headers(user: UserFixture) -> dict[str, str]:
    return {**PAGE, "Cookie": user.headers["Cookie"]}


def test_only_the_persons_center_sees_the_pages(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center)
    outsider = make_user(corporation, role=UserRole.STAFF)
    refused = client.get(f"/persons/{person_id}/candidates", headers=_headers(outsider))
    assert refused.status_code == 403
    assert "権限がありません" in refused.text
    other_center = make_user(make_organisation(OrganisationKind.CENTER), role=UserRole.STAFF)
    for path in ("candidates", "candidates/print"):
        hidden = client.get(f"/persons/{person_id}/{path}", headers=_headers(other_center))
        assert hidden.status_code == 404
        assert "ページが見つかりません" in hidden.text


def test_candidates_show_the_matchers_answer_and_print_leaves_the_person_out(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    reference = "OSK-PRINT-01"
    person_id = create_person(client, center, reference=reference)
    home(client, corporation, municipality, rent_yen=40_000)
    home(client, corporation, municipality, rent_yen=70_000)
    api = matches(client, center, person_id)
    staff = make_user(center, role=UserRole.STAFF)

    page = client.get(f"/persons/{person_id}/candidates", headers=_headers(staff))
    assert page.status_code == 200, page.text
    assert f"条件をすべて満たすのは <strong>{api['candidate_count']}件</strong>" in page.text
    assert "家賃上限（家賃＋共益費）で1件除外" in page.text
    assert "?relax=rent_ceiling" in page.text

    relaxed = client.get(
        f"/persons/{person_id}/candidates?relax=rent_ceiling", headers=_headers(staff)
    )
    assert relaxed.status_code == 200
    assert "増えた候補は1件" in relaxed.text
    assert "23,000円超過" in relaxed.text  # 70,000 rent and 3,000 common fee against 50,000

    printed = client.get(f"/persons/{person_id}/candidates/print", headers=_headers(staff))
    assert printed.status_code == 200
    assert reference not in printed.text
    assert "/static/print.css" in printed.text
    assert "size: A4" in client.get("/static/print.css").text


def test_a_referral_is_previewed_sent_and_withdrawn(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center)
    _, vacancy_id = home(client, corporation, municipality, rent_yen=40_000)
    staff = make_user(center, role=UserRole.STAFF)
    preview = client.get(
        f"/persons/{person_id}/candidates/{vacancy_id}/referral", headers=_headers(staff)
    )
    assert preview.status_code == 200, preview.text
    assert "居住支援法人に伝わる内容" in preview.text

    without_token = client.post(
        "/referrals",
        data={"person_id": person_id, "vacancy_id": vacancy_id},
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert without_token.status_code == 403
    sent = client.post(
        "/referrals",
        data={"csrf_token": csrf_of(preview), "person_id": person_id, "vacancy_id": vacancy_id},
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    referral_path = sent.headers["location"]
    shown = client.get(referral_path, headers=_headers(staff))
    assert "入居相談中" in shown.text
    vacancy = client.get(f"/v1/vacancies/{vacancy_id}", headers=corporation.headers).json()
    assert vacancy["status"] == "held"

    withdrawn = client.post(
        f"{referral_path}/withdraw",
        data={"csrf_token": csrf_of(shown), "reason": "person_declined"},
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303, withdrawn.text
    assert "取下げ" in client.get(referral_path, headers=_headers(staff)).text


def test_no_consent_no_send_button(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center, consent={"given_on": "2026-01-05", "sharing": {}})
    _, vacancy_id = home(client, corporation, municipality, rent_yen=40_000)
    staff = make_user(center, role=UserRole.STAFF)
    preview = client.get(
        f"/persons/{person_id}/candidates/{vacancy_id}/referral", headers=_headers(staff)
    )
    assert preview.status_code == 200
    assert "同意していないため" in preview.text
    assert "入居相談を送る" not in preview.text


def test_why_not_an_excluded_home_by_list_or_registration_number(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center)
    home(client, corporation, municipality, rent_yen=40_000)
    dear_dwelling, dear_vacancy = home(client, corporation, municipality, rent_yen=70_000)
    number = client.get(f"/v1/dwellings/{dear_dwelling}", headers=corporation.headers).json()[
        "registration_number"
    ]
    staff = make_user(center, role=UserRole.STAFF)
    path = f"/persons/{person_id}/candidates"
    page = client.get(path, headers=_headers(staff))
    assert f"{path}/excluded?constraint=rent_ceiling" in page.text
    assert 'id="why-not"' in page.text

    # The homes the rent ceiling keeps out: as an htmx part, and as a page of its own.
    part = client.get(
        f"{path}/excluded?constraint=rent_ceiling", headers=_headers(staff) | {"HX-Request": "true"}
    )
    assert part.status_code == 200, part.text
    assert part.text.lstrip().startswith("<section")
    assert number in part.text
    assert "73,000円" in part.text
    assert f"why-not?vacancy_id={dear_vacancy}" in part.text
    whole = client.get(f"{path}/excluded?constraint=rent_ceiling", headers=_headers(staff))
    assert "<h1>除外された空室" in whole.text
    none = client.get(f"{path}/excluded?constraint=pets", headers=_headers(staff))
    assert "この条件で除外された空室はありません" in none.text

    # Why not: chosen from the list, or by its registration number; the API's own words.
    api = client.get(
        f"/v1/persons/{person_id}/matches/explain",
        params={"vacancy_id": dear_vacancy},
        headers=center.headers,
    ).json()
    chosen = client.get(
        f"{path}/why-not?vacancy_id={dear_vacancy}",
        headers=_headers(staff) | {"HX-Request": "true"},
    )
    assert chosen.status_code == 200, chosen.text
    message = api["failures"][0]["shortfalls"][0]["message_ja"]
    assert "23,000円超えています" in message
    assert message in chosen.text
    assert api["summary_ja"] in chosen.text
    typed = client.get(f"{path}/why-not", params={"number": number}, headers=_headers(staff))
    assert typed.status_code == 200
    assert "<h1>候補でない理由" in typed.text
    assert message in typed.text

    # Under a relaxation, the home is admitted, and says so.
    relaxed = client.get(
        f"{path}/why-not",
        params={"vacancy_id": dear_vacancy, "relax": "rent_ceiling"},
        headers=_headers(staff),
    )
    assert "条件を緩めたため今は満たすものとしています" in relaxed.text

    # A number that names nothing, or nothing at all: a Japanese error beside the field.
    unknown = client.get(f"{path}/why-not", params={"number": "NO-SUCH-1"}, headers=_headers(staff))
    assert unknown.status_code == 422
    assert "登録番号「NO-SUCH-1」の住宅は見つかりません" in unknown.text
    assert 'aria-invalid="true"' in unknown.text
    empty = client.get(f"{path}/why-not", headers=_headers(staff) | {"HX-Request": "true"})
    assert empty.status_code == 422
    assert "住宅の登録番号を入力してください" in empty.text


def test_another_centers_staff_cannot_ask_why_not(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center)
    _, vacancy_id = home(client, corporation, municipality, rent_yen=70_000)
    other = make_user(make_organisation(OrganisationKind.CENTER), role=UserRole.STAFF)
    for path in (
        f"why-not?vacancy_id={vacancy_id}",
        "excluded?constraint=rent_ceiling",
    ):
        hidden = client.get(f"/persons/{person_id}/candidates/{path}", headers=_headers(other))
        assert hidden.status_code == 404, path
        assert "ページが見つかりません" in hidden.text
