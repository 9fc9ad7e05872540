"""Every error is RFC 9457 problem+json, with no internals leaked."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from housing_match.errors import PROBLEM_MEDIA_TYPE
from tests.conftest import OrgFixture


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://housing-match.jp/problems/")
    assert isinstance(body["title"], str)
    assert body["title"]
    for leak in ("Traceback", "sqlalchemy", "psycopg", 'File "', "SELECT "):
        assert leak not in response.text
    return body


def test_missing_key_is_401(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/organisations/me"), 401)
    assert "Bearer" in body["detail"]


def test_unknown_key_is_401_with_challenge(client: TestClient) -> None:
    response = client.get("/v1/organisations/me", headers={"Authorization": "Bearer hm_nope"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_non_bearer_scheme_is_401(client: TestClient, center: OrgFixture) -> None:
    response = client.get("/v1/organisations/me", headers={"Authorization": f"Basic {center.key}"})
    assert_problem(response, 401)


def test_wrong_kind_is_403(client: TestClient, center: OrgFixture) -> None:
    response = client.get("/v1/organisations", headers=center.headers)
    body = assert_problem(response, 403)
    assert "admin" in body["detail"]


def test_unknown_path_is_404(client: TestClient) -> None:
    assert_problem(client.get("/v1/no-such-thing"), 404)


def test_unknown_object_is_404(client: TestClient, admin: OrgFixture) -> None:
    response = client.get(
        "/v1/organisations/00000000-0000-0000-0000-000000000000", headers=admin.headers
    )
    assert_problem(response, 404)


def test_wrong_method_is_405(client: TestClient) -> None:
    body = assert_problem(client.delete("/health"), 405)
    assert "DELETE" in body["detail"]


def test_declared_oversized_body_is_413(client: TestClient, admin: OrgFixture) -> None:
    response = client.post(
        "/v1/organisations",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_streamed_oversized_body_is_413(client: TestClient, admin: OrgFixture) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 65_536

    response = client.post(
        "/v1/organisations",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_invalid_fields_are_422_listing_each(client: TestClient, admin: OrgFixture) -> None:
    response = client.post(
        "/v1/organisations",
        json={"kind": "landlord", "slug": "Bad Slug!", "name": "x"},
        headers=admin.headers,
    )
    body = assert_problem(response, 422)
    locations = {error["location"] for error in body["errors"]}
    assert {"body.kind", "body.slug"} <= locations
    assert all(error["message"] and error["type"] for error in body["errors"])


def test_invalid_query_is_422(client: TestClient, admin: OrgFixture) -> None:
    response = client.get("/v1/history?limit=0", headers=admin.headers)
    body = assert_problem(response, 422)
    assert body["errors"][0]["location"] == "query.limit"


def test_malformed_json_is_400(client: TestClient, admin: OrgFixture) -> None:
    response = client.post(
        "/v1/organisations",
        content=b'{"kind": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_bad_cursor_is_400(client: TestClient, admin: OrgFixture) -> None:
    response = client.get("/v1/history?cursor=%%%not-base64", headers=admin.headers)
    assert_problem(response, 400)


def test_duplicate_is_409(client: TestClient, admin: OrgFixture) -> None:
    payload = {"kind": "center", "slug": "dup-center", "name": "重複センター"}
    assert client.post("/v1/organisations", json=payload, headers=admin.headers).status_code == 201
    response = client.post("/v1/organisations", json=payload, headers=admin.headers)
    assert_problem(response, 409)


def test_unexpected_error_is_500_without_internals(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail: SELECT * FROM api_keys")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["detail"]
