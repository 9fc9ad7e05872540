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
