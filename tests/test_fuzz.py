"""Fuzzing the committed OpenAPI spec with schemathesis, as every kind of organisation and as a
signed-in manager, against real objects.

Each operation gets a bounded number of generated requests per caller, against the real app
and database (each test rolled back). Ids in the path, the query or the body are replaced by
ids of objects that exist (a person, dwellings, a vacancy, a referral, a webhook, a user, an
API key, the caller's own organisation), so per-id operations do their work instead of
answering 404; a generated value that is not a UUID at all is left, to test the 422. Nothing
may answer 5xx, and every response must conform to the spec: documented status, media type,
headers and body schema. Rate limits are off (the ``app`` fixture): a 429 would end the
exploration of an operation early.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.meta import TestPhase

from housing_match.models import OrganisationKind, UserRole
from tests.conftest import MakeOrganisation, MakeUser, OrgFixture
from tests.matching.factories import create_person, home
from tests.registry.factories import dwelling_payload

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
# Generated requests per operation in the fuzzing phase, each made by every caller. The
# coverage phase adds its own (boundary and invalid values of every parameter), by the first
# caller that gets past authorisation: it probes the input rules, not the tenancy.
EXAMPLES_PER_OPERATION = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


schema = schemathesis.openapi.from_path(SPEC)


@dataclass(frozen=True)
class Caller:
    organisation_id: uuid.UUID
    headers: dict[str, str]


class World:
    """The objects the fuzzed requests name, each made the first time a request needs it
    (most operations need none, and making them all for each operation would cost more
    than the requests)."""

    def __init__(
        self,
        client: TestClient,
        make_organisation: MakeOrganisation,
        make_user: MakeUser,
        center: OrgFixture,
        corporation: OrgFixture,
    ) -> None:
        self.client = client
        self.center = center
        self.corporation = corporation
        self._make_user = make_user
        # Governs Osaka prefecture, where the homes are.
        self.municipality = make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))
        self.manager = make_user(corporation, role=UserRole.MANAGER)

    @cached_property
    def _home(self) -> tuple[str, str]:
        return home(self.client, self.corporation, self.municipality)

    @cached_property
    def dwelling_id(self) -> str:
        return self._home[0]

    @cached_property
    def vacancy_id(self) -> str:
        return self._home[1]

    @cached_property
    def pending_dwelling_id(self) -> str:
        """An application the municipality has not decided on: for approve and reject."""
        body = dwelling_payload(registration_number=f"F-{uuid.uuid4().hex[:10]}")
        created = self.client.post("/v1/dwellings", json=body, headers=self.corporation.headers)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    @cached_property
    def person_id(self) -> str:
        return create_person(self.client, self.center)

    @cached_property
    def referral_id(self) -> str:
        body = {"person_id": self.person_id, "vacancy_id": self.vacancy_id}
        response = self.client.post("/v1/referrals", json=body, headers=self.center.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @cached_property
    def webhook_id(self) -> str:
        body = {"url": "https://hooks.example.com/housing-match", "description": "fuzz"}
        response = self.client.post("/v1/webhooks", json=body, headers=self.corporation.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @cached_property
    def user_id(self) -> str:
        """A staff member of the manager's organisation."""
        return str(self._make_user(self.corporation, role=UserRole.STAFF).id)

    @cached_property
    def key_id(self) -> str:
        """A key of the manager's organisation that no caller authenticates with."""
        response = self.client.post(
            f"/v1/organisations/{self.corporation.id}/api-keys",
            json={"label": "fuzz"},
            headers=self.manager.headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def callers(self, admin: OrgFixture) -> list[Caller]:
        organisations = [admin, self.center, self.corporation, self.municipality]
        return [Caller(org.id, org.headers) for org in organisations] + [
            Caller(self.corporation.id, self.manager.headers)
        ]

    def id_for(self, name: str, case: schemathesis.Case[Any], caller: Caller) -> str | None:
        if name == "organisation_id":
            return str(caller.organisation_id)
        if name == "dwelling_id" and case.path.endswith(("/approve", "/reject")):
            return self.pending_dwelling_id
        if name in {
            "dwelling_id",
            "vacancy_id",
            "person_id",
            "referral_id",
            "webhook_id",
            "user_id",
            "key_id",
        }:
            value: str = getattr(self, name)
            return value
        return None


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def seed(case: schemathesis.Case[Any], world: World, caller: Caller) -> None:
    """Real ids where the case has well-formed ones (path, query, top level of the body)."""
    for container in (case.path_parameters, case.query, case.body):
        if not isinstance(container, dict):
            continue
        for name, value in list(container.items()):
            if name == "person_ids" and isinstance(value, list) and value:
                container[name] = [world.person_id] + [
                    item for item in value[1:] if item != world.person_id
                ]
                continue
            if not _is_uuid(value):
                continue
            seeded = world.id_for(name, case, caller)
            if seeded is not None:
                container[name] = seeded


@pytest.fixture
def world(
    client: TestClient,
    make_organisation: MakeOrganisation,
    make_user: MakeUser,
    center: OrgFixture,
    corporation: OrgFixture,
) -> World:
    return World(client, make_organisation, make_user, center, corporation)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_every_response_conforms(
    case: schemathesis.Case[Any], app: FastAPI, world: World, admin: OrgFixture
) -> None:
    probes_input = case.meta is not None and case.meta.phase.name is TestPhase.COVERAGE
    for caller in world.callers(admin):
        seed(case, world, caller)
        response = case.call_and_validate(app=app, headers=caller.headers, checks=CHECKS)
        if probes_input and response.status_code not in (401, 403):
            break
