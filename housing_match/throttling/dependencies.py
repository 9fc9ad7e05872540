"""The per-organisation limit of an expensive operation, as an endpoint's dependency; the
OpenAPI description of each limited operation states its limit (``document_rate_limits``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from housing_match.auth import AuthenticatedPrincipal
from housing_match.throttling.limiter import (
    OPERATION_NAMES,
    Operation,
    RateLimits,
    limiter_of,
    per_window,
)

SETTING_OF_OPERATION = {
    operation: f"HOUSING_MATCH_RATE_LIMIT_{operation.name}" for operation in Operation
}


@dataclass(frozen=True)
class RateLimited:
    """Charges the caller's organisation one request to ``operation``; 429 beyond its limit.
    Declare it after the endpoint's own principal, so a refused kind is never charged.
    ``only_when``: charge only the requests it accepts (``applies_to`` says which)."""

    operation: Operation
    only_when: Callable[[Request], bool] | None = None
    applies_to: str = ""

    def __call__(self, request: Request, principal: AuthenticatedPrincipal) -> None:
        if self.only_when is None or self.only_when(request):
            limiter_of(request).charge(principal.organisation_id, self.operation)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, also those of included routers (which newer FastAPI keeps apart,
    under ``original_router``, rather than copying them into the app)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _rate_limits_of(dependant: Dependant) -> Iterator[RateLimited]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, RateLimited):
            yield dependency.call
        yield from _rate_limits_of(dependency)


def limit_description(limit: RateLimited, limits: RateLimits) -> str:
    operation = limit.operation
    allowed = limits.per_organisation.get(operation, 0)
    scope = f" It applies to {limit.applies_to}." if limit.applies_to else ""
    if not allowed:
        return f"**Rate limit:** none configured (`{SETTING_OF_OPERATION[operation]}=0`).{scope}"
    return (
        f"**Rate limit:** at most {allowed} {OPERATION_NAMES[operation]} "
        f"{per_window(limits.window)} per organisation, counted together "
        f"(`{SETTING_OF_OPERATION[operation]}`, window "
        f"`HOUSING_MATCH_RATE_LIMIT_WINDOW_SECONDS`); beyond, 429 with `Retry-After`.{scope}"
    )


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
AUTH_THROTTLED = (
    "Too many failed authentications from this client address or with this key prefix "
    "(`HOUSING_MATCH_AUTH_FAILURES_PER_ADDRESS`, `HOUSING_MATCH_AUTH_FAILURES_PER_KEY_PREFIX` "
    "within `HOUSING_MATCH_AUTH_FAILURE_WINDOW_SECONDS`)"
)


def document_rate_limits(app: FastAPI, schema: dict[str, Any], limits: RateLimits) -> None:
    """Every authenticated operation may meet the throttle of failed authentication (429);
    each rate-limited one states its limit in its description."""
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        path_item = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            rate_limits = list(_rate_limits_of(route.dependant))
            if not rate_limits and "security" not in operation:
                continue
            reasons = [AUTH_THROTTLED]
            for limit in rate_limits:
                text = limit_description(limit, limits)
                description = operation.get("description", "")
                operation["description"] = f"{description}\n\n{text}" if description else text
                name = OPERATION_NAMES[limit.operation]
                reasons.append(f"the organisation's limit of {name} was reached")
            operation.setdefault("responses", {})["429"] = {
                "description": "; or ".join(reasons) + ". Wait `Retry-After` seconds.",
                "headers": RETRY_AFTER_HEADER,
            }
