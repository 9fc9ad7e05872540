"""Fuzzing the committed OpenAPI spec with schemathesis, as every kind of organisation.

Each operation gets a bounded number of generated requests per organisation kind, against the
real app and database (each test rolled back). Nothing may answer 5xx, and every response must
conform to the spec: documented status, media type, headers and body schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import OrgFixture

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
EXAMPLES_PER_OPERATION = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture
def every_kind(
    admin: OrgFixture, center: OrgFixture, corporation: OrgFixture, municipality: OrgFixture
) -> list[OrgFixture]:
    return [admin, center, corporation, municipality]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_every_response_conforms(
    case: schemathesis.Case[Any], app: FastAPI, every_kind: list[OrgFixture]
) -> None:
    for organisation in every_kind:
        case.call_and_validate(app=app, headers=organisation.headers, checks=CHECKS)
