"""/docs shows an example for every JSON request body, and each one is valid: "Try it out"
must succeed as shown rather than fail with 422s."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from housing_match.app import create_app
from housing_match.openapi_examples import REQUEST_EXAMPLES, request_model_names
from tests.conftest import OrgFixture

OPERATIONS: dict[str, dict[str, Any]] = {
    operation["operationId"]: operation
    for path_item in create_app().openapi()["paths"].values()
    for operation in path_item.values()
}
JSON_BODIES = {
    operation_id: operation["requestBody"]["content"]["application/json"]
    for operation_id, operation in OPERATIONS.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
}


def _example(operation_id: str) -> Any:
    return copy.deepcopy(JSON_BODIES[operation_id]["examples"]["example"]["value"])


def test_every_json_request_body_has_an_example() -> None:
    missing = sorted(
        f"{operation_id} ({', '.join(request_model_names(media)) or 'no model'})"
        for operation_id, media in JSON_BODIES.items()
        if "examples" not in media
    )
    assert len(JSON_BODIES) >= 18
    assert not missing, f"add examples to housing_match/openapi_examples.py: {missing}"


@pytest.mark.parametrize("model", list(REQUEST_EXAMPLES), ids=lambda model: model.__name__)
def test_each_example_is_valid_against_its_request_model(model: Any) -> None:
    _, value = REQUEST_EXAMPLES[model]
    model.model_validate(copy.deepcopy(value))


def test_creating_and_updating_a_person_as_shown_in_the_docs_succeeds(
    client: TestClient, center: OrgFixture
) -> None:
    created = client.post(
        "/v1/persons", json=_example("persons-create_person"), headers=center.headers
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["reference"] == "OSK-2026-014"
    assert [anchor["kind"] for anchor in person["places"]["anchors"]] == ["psychiatric_hospital"]

    updated = client.patch(
        f"/v1/persons/{person['id']}",
        json=_example("persons-update_person"),
        headers=center.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["household_size"] == 2


def test_checking_and_registering_a_dwelling_as_shown_in_the_docs_succeeds(
    client: TestClient, municipality: OrgFixture
) -> None:
    check = client.post(
        "/v1/standards/check",
        json=_example("standards-check_standards"),
        headers=municipality.headers,
    )
    assert check.status_code == 200, check.text
    assert check.json()["compliant"] is True
    applied = client.post(
        "/v1/dwellings", json=_example("registry-apply"), headers=municipality.headers
    )
    assert applied.status_code == 201, applied.text


def test_creating_an_organisation_as_shown_in_the_docs_succeeds(
    client: TestClient, admin: OrgFixture
) -> None:
    response = client.post(
        "/v1/organisations",
        json=_example("organisations-create_organisation"),
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
