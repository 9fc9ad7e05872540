"""The allocation page through HTTP (no browser): who may open it, that its totals are the
API's, that chosen pairs become referrals all together or not at all, and consent."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from housing_match.matching.allocation import greedy_assignment, total_score
from housing_match.models import OrganisationKind, UserRole
from housing_match.web.allocation import comparison_ja
from tests.accounts.pages import csrf_of
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture, UserFixture
from tests.matching.factories import at, create_person, home, matches

PAGE = {"Accept": "text/html"}


def _headers(user: UserFixture) -> dict[str, str]:
    return {**PAGE, "Cookie": user.headers["Cookie"]}


def _query(person_ids: list[str], objective: str = "total_score") -> dict[str, Any]:
    return {"person": person_ids, "objective": objective}


def _total(page: str, name: str) -> str:
    found = re.search(rf'data-total="{name}">([^<]+)<', page)
    assert found, page
    return found.group(1)


def _vacancy_status(client: TestClient, corporation: OrgFixture, vacancy_id: str) -> str:
    response = client.get(f"/v1/vacancies/{vacancy_id}", headers=corporation.headers)
    status: str = response.json()["status"]
    return status


def _referrals_of(client: TestClient, center: OrgFixture, person_id: str) -> list[dict[str, Any]]:
    response = client.get("/v1/referrals", params={"person_id": person_id}, headers=center.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def contest(
    client: TestClient, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> dict[str, str]:
    """Greedy gives x to A and leaves B (who has a dog, and only x allows pets) without a
    home; the optimum gives A y and B x. C's ceiling excludes every home."""
    _, x = home(client, corporation, municipality, pets_allowed=True, location=at(north_m=300))
    _, y = home(client, corporation, municipality, location=at(north_m=-1500))
    anchor = {"kind": "psychiatric_hospital", "location": at(north_m=300), "max_distance_m": 3000}
    a = create_person(client, center, reference="ALLOC-A", places={"anchors": [anchor]})
    b = create_person(
        client, center, reference="ALLOC-B", needs={"rent_ceiling_yen": 50_000, "has_pets": True}
    )
    c = create_person(client, center, reference="ALLOC-C", needs={"rent_ceiling_yen": 10_000})
    return {"a": a, "b": b, "c": c, "x": x, "y": y}


def test_only_the_centers_staff_open_it_and_see_only_their_persons(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
) -> None:
    person_id = create_person(client, center, reference="ALLOC-OWN")
    anonymous = client.get("/allocation", headers=PAGE, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/allocation"

    outsider = make_user(corporation, role=UserRole.STAFF)
    refused = client.get("/allocation", headers=_headers(outsider))
    assert refused.status_code == 403
    assert "権限がありません" in refused.text

    other = make_user(make_organisation(OrganisationKind.CENTER), role=UserRole.STAFF)
    theirs = client.get("/allocation", headers=_headers(other))
    assert theirs.status_code == 200
    assert "ALLOC-OWN" not in theirs.text
    forged = client.get(
        "/allocation",
        params=_query([person_id, create_person(client, center)]),
        headers=_headers(other),
    )
    assert forged.status_code == 404
    assert "ページが見つかりません" in forged.text
    assert "ALLOC-OWN" not in forged.text

    staff = make_user(center, role=UserRole.STAFF)
    own = client.get("/allocation", headers=_headers(staff))
    assert own.status_code == 200
    assert "ALLOC-OWN" in own.text
    assert 'href="/allocation"' in client.get("/", headers=_headers(staff)).text


def test_the_page_shows_the_apis_proposal_beside_the_greedy_one(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_user: MakeUser,
    contest: dict[str, str],
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    persons = [contest["a"], contest["b"], contest["c"]]
    for objective in ("total_score", "most_housed"):
        api = client.post(
            "/v1/allocations",
            json={"person_ids": persons, "objective": objective},
            headers=center.headers,
        ).json()
        page = client.get("/allocation", params=_query(persons, objective), headers=_headers(staff))
        assert page.status_code == 200, page.text
        assert _total(page.text, "proposed-count") == f"{api['assigned_count']}人（3人中）"
        assert _total(page.text, "proposed-score") == f"{api['total_score']:.1f}点"
        for item in api["assignments"]:
            value = f"{item['person_id']}:{item['candidate']['vacancy']['id']}"
            assert f'name="pair" value="{value}"' in page.text

    # Greedy gives x to A, so B goes without: one placed against the proposal's two. Its
    # total is greedy's over every feasible pair (the page reads each person's top n only).
    scores = {
        (index, candidate["vacancy"]["id"]): candidate["score"]
        for index, person in enumerate(persons)
        for candidate in matches(client, center, person)["candidates"]
    }
    greedy_total = total_score(scores, greedy_assignment(scores))
    assert _total(page.text, "greedy-score") == f"{greedy_total:.1f}点"
    assert _total(page.text, "proposed-count") == "2人（3人中）"
    assert _total(page.text, "greedy-count") == "1人（3人中）"
    assert "提案のほうが住まいが決まる人が1人多く" in page.text
    assert "提案と異なる" in page.text
    assert "点数の高い組から順に決める方法で他の方に割り当てられました" in page.text  # B
    assert "家賃上限" in page.text  # why C has no home
    assert "上限 50,000円" in page.text  # rent against the ceiling, per pair
    # A proposal only: nothing is held.
    assert _vacancy_status(client, corporation, contest["x"]) == "open"


def test_picking_is_checked_and_only_persons_still_searching_are_offered(
    client: TestClient,
    center: OrgFixture,
    make_user: MakeUser,
    contest: dict[str, str],
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    one = client.get("/allocation", params=_query([contest["a"]]), headers=_headers(staff))
    assert one.status_code == 200
    assert "対象者を2人以上選んでください。" in one.text
    assert "<title>エラー：" in one.text
    assert 'data-total="proposed-count"' not in one.text

    referred = client.post(
        "/v1/referrals",
        json={"person_id": contest["a"], "vacancy_id": contest["x"]},
        headers=center.headers,
    )
    assert referred.status_code == 201, referred.text
    picker = client.get("/allocation", headers=_headers(staff))
    assert f'value="{contest["b"]}"' in picker.text
    assert f'value="{contest["a"]}"' not in picker.text  # referred: no longer searching


def test_chosen_pairs_become_referrals_and_show_on_the_home_page(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_user: MakeUser,
    contest: dict[str, str],
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    persons = [contest["a"], contest["b"], contest["c"]]
    page = client.get("/allocation", params=_query(persons), headers=_headers(staff))
    pairs = [f"{contest['a']}:{contest['y']}", f"{contest['b']}:{contest['x']}"]
    form = {"person": persons, "objective": "total_score", "pair": pairs}

    without_token = client.post(
        "/allocation/referrals", data=form, headers=_headers(staff), follow_redirects=False
    )
    assert without_token.status_code == 403
    nothing = client.post(
        "/allocation/referrals",
        data={**form, "pair": [], "csrf_token": csrf_of(page)},
        headers=_headers(staff),
    )
    assert nothing.status_code == 422
    assert "入居相談を送る組を1つ以上選んでください。" in nothing.text

    sent = client.post(
        "/allocation/referrals",
        data={**form, "csrf_token": csrf_of(page)},
        headers=_headers(staff),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == "/?referred=2"
    for person, vacancy in ((contest["a"], contest["y"]), (contest["b"], contest["x"])):
        (referral,) = _referrals_of(client, center, person)
        assert referral["vacancy_id"] == vacancy
        assert referral["state"] == "requested"
        assert _vacancy_status(client, corporation, vacancy) == "held"

    landing = client.get("/?referred=2", headers=_headers(staff))
    assert "入居相談を2件送りました。" in landing.text
    waiting = landing.text.split('id="waiting-title"', 1)[1].split('id="persons-title"', 1)[0]
    assert "ALLOC-A" in waiting
    assert "ALLOC-B" in waiting
    assert "入居相談を" not in client.get("/?referred=abc", headers=_headers(staff)).text


def test_a_vacancy_taken_meanwhile_sends_none_and_says_why(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_user: MakeUser,
    contest: dict[str, str],
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    persons = [contest["a"], contest["b"], contest["c"]]
    page = client.get("/allocation", params=_query(persons), headers=_headers(staff))
    # Between the proposal and the send, someone else's referral takes x.
    rival = create_person(client, center, needs={"rent_ceiling_yen": 50_000, "has_pets": True})
    taken = client.post(
        "/v1/referrals", json={"person_id": rival, "vacancy_id": contest["x"]},
        headers=center.headers,
    )  # fmt: skip
    assert taken.status_code == 201, taken.text

    pairs = [f"{contest['a']}:{contest['y']}", f"{contest['b']}:{contest['x']}"]
    refused = client.post(
        "/allocation/referrals",
        data={"person": persons, "objective": "total_score", "pair": pairs,
              "csrf_token": csrf_of(page)},
        headers=_headers(staff),
    )  # fmt: skip
    assert refused.status_code == 409
    assert "入居相談は1件も送っていません" in refused.text
    assert "ALLOC-B：この空室は、ほかの入居相談のために確保されています。" in refused.text
    # Nothing half-done: A's pair, which alone would have gone through, was not sent either.
    assert _referrals_of(client, center, contest["a"]) == []
    assert _referrals_of(client, center, contest["b"]) == []
    assert _vacancy_status(client, corporation, contest["y"]) == "open"
    # The allocation is computed again without x: B can no longer be placed.
    assert _total(refused.text, "proposed-count") == "1人（3人中）"


def test_a_vacancy_withdrawn_meanwhile_is_named(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    make_user: MakeUser,
    contest: dict[str, str],
) -> None:
    staff = make_user(center, role=UserRole.STAFF)
    persons = [contest["a"], contest["b"], contest["c"]]
    page = client.get("/allocation", params=_query(persons), headers=_headers(staff))
    withdrawn = client.patch(
        f"/v1/vacancies/{contest['y']}", json={"status": "withdrawn"},
        headers=corporation.headers,
    )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    refused = client.post(
        "/allocation/referrals",
        data={"person": persons, "objective": "total_score",
              "pair": [f"{contest['a']}:{contest['y']}"], "csrf_token": csrf_of(page)},
        headers=_headers(staff),
    )  # fmt: skip
    assert refused.status_code == 409
    assert "ALLOC-A：この空室はもう募集していません（取下げ）。" in refused.text
    assert _referrals_of(client, center, contest["a"]) == []


def test_without_consent_a_pair_cannot_be_sent(
    client: TestClient,
    center: OrgFixture,
    corporation: OrgFixture,
    municipality: OrgFixture,
    make_user: MakeUser,
) -> None:
    _, first = home(client, corporation, municipality, location=at(north_m=200))
    home(client, corporation, municipality, location=at(north_m=-200))
    silent = create_person(
        client, center, reference="ALLOC-SILENT", consent={"given_on": "2026-01-05", "sharing": {}}
    )
    other = create_person(client, center)
    staff = make_user(center, role=UserRole.STAFF)
    page = client.get("/allocation", params=_query([silent, other]), headers=_headers(staff))
    assert page.status_code == 200
    box = re.search(rf'<input type="checkbox" id="f-pair-{silent}"[^>]*>', page.text)
    assert box is not None
    assert " disabled" in box.group(0)
    assert "同意していないため、入居相談を送れません" in page.text

    forged = client.post(
        "/allocation/referrals",
        data={"person": [silent, other], "objective": "total_score",
              "pair": [f"{silent}:{first}"], "csrf_token": csrf_of(page)},
        headers=_headers(staff),
    )  # fmt: skip
    assert forged.status_code == 409
    assert "ALLOC-SILENT：本人が居住支援法人への情報提供に同意していないため" in forged.text
    assert _referrals_of(client, center, silent) == []


def test_the_comparison_is_one_plain_sentence() -> None:
    assert (
        comparison_ja(2, 1, 4.31)
        == "提案のほうが住まいが決まる人が1人多く、点数の合計が4.3点高くなります。"
    )
    assert comparison_ja(3, 1, 0.0) == "提案のほうが住まいが決まる人が2人多くなります。"
    assert (
        comparison_ja(2, 1, -2.0)
        == "提案のほうが住まいが決まる人が1人多く、点数の合計が2.0点低くなります。"
    )
    assert (
        comparison_ja(1, 2, 3.0)
        == "提案のほうが住まいが決まる人が1人少なく、点数の合計が3.0点高くなります。"
    )
    assert comparison_ja(2, 2, 1.23) == "提案のほうが点数の合計が1.2点高くなります。"
    assert (
        comparison_ja(2, 2, 0.01)
        == "住まいが決まる人数も点数の合計も、点数の高い順に決めた場合と同じです。"
    )
