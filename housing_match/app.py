"""The FastAPI application: routers of every domain, problem+json errors, body limits."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from housing_match import __version__
from housing_match.accounts.endpoints import router as accounts_router
from housing_match.audit.endpoints import router as audit_router
from housing_match.errors import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers
from housing_match.history.endpoints import router as history_router
from housing_match.matching.endpoints import allocations_router
from housing_match.matching.endpoints import router as persons_router
from housing_match.middleware import (
    BodySizeLimitMiddleware,
    ServerTimingMiddleware,
    TextInputGuardMiddleware,
)
from housing_match.openapi_examples import add_request_examples
from housing_match.organisations.endpoints import router as organisations_router
from housing_match.referrals.endpoints import router as referrals_router
from housing_match.referrals.endpoints import webhooks_router
from housing_match.registry.bulk_endpoints import router as registry_bulk_router
from housing_match.registry.endpoints import router as registry_router
from housing_match.registry.endpoints import standards_router
from housing_match.settings import get_settings
from housing_match.system.endpoints import router as system_router
from housing_match.throttling.dependencies import document_rate_limits
from housing_match.throttling.limiter import RateLimiter, RateLimits
from housing_match.vacancies.endpoints import router as vacancies_router
from housing_match.web import accounts as account_pages
from housing_match.web.site import install_web

DESCRIPTION = """
Matches people leaving prison who are elderly or disabled, supported by the regional
life-settlement support centers (地域生活定着支援センター), with safety-net rental homes
(セーフティネット住宅) posted by housing-support corporations (居住支援法人) and registered by
municipal housing sections.

Authenticate with an organisation's API key: `Authorization: Bearer <key>` (systems), or
with the session cookie of a person's sign-in at `/login` (the web UI; state-changing
requests then also send the session's CSRF token in the `X-CSRF-Token` header).
Every error is an RFC 9457 problem (`application/problem+json`).
"""

# Paths that accept bulk uploads get the larger body limit.
BULK_PATH_SUFFIXES = ("/import",)


def _operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="housing-match",
        version=__version__,
        description=DESCRIPTION,
        generate_unique_id_function=_operation_id,
        # Served from vendored assets by install_web: the CDN defaults fail on a closed network.
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    limits = RateLimits.from_settings(settings)
    # Failed authentication and expensive operations, counted in the database (throttling/).
    app.state.rate_limiter = RateLimiter(limits)

    def limit_for_path(path: str) -> int:
        if path.endswith(BULK_PATH_SUFFIXES):
            return settings.max_import_body_bytes
        return settings.max_body_bytes

    # Inside the body-size limit, so it never reads more than the limit allows.
    app.add_middleware(
        TextInputGuardMiddleware, skip_body=lambda path: path.endswith(BULK_PATH_SUFFIXES)
    )
    app.add_middleware(BodySizeLimitMiddleware, limit_for_path=limit_for_path)
    # Added last, so it is the outermost: its time includes the other middleware's.
    app.add_middleware(ServerTimingMiddleware)
    app.include_router(system_router)
    app.include_router(organisations_router)
    app.include_router(accounts_router)
    # Before the registry router, so /v1/dwellings/export is not taken for a dwelling id.
    app.include_router(registry_bulk_router)
    app.include_router(registry_router)
    app.include_router(standards_router)
    app.include_router(vacancies_router)
    app.include_router(persons_router)
    app.include_router(allocations_router)
    app.include_router(referrals_router)
    app.include_router(webhooks_router)
    app.include_router(history_router)
    app.include_router(audit_router)
    account_pages.install(app)
    install_web(app)
    _document_problems(app, limits)
    return app


def _document_problems(app: FastAPI, limits: RateLimits) -> None:
    """Error responses are documented as problem+json, including FastAPI's default 422."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = FastAPI.openapi(app)
        add_request_examples(schema)
        document_rate_limits(app, schema, limits)
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    # Any body can be malformed (400) or too large (413), whatever the endpoint.
                    for status in (400, 413):
                        responses.setdefault(
                            str(status), {"description": HTTPStatus(status).phrase}
                        )
                # Any operation may meet a database that is restarting or failing over.
                responses.setdefault(
                    "503", {"description": "Database unavailable: try again after Retry-After"}
                )
                for status_code, response in responses.items():
                    if not status_code.isdigit() or int(status_code) < 400:
                        continue
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
                    if status_code == "422":
                        response["description"] = "Validation error"
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


app = create_app()
