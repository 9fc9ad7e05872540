"""RFC 9457 problem details: every error leaves the service as ``application/problem+json``.

Domain errors carry their own status; one set of handlers renders them, the framework's
own errors, a database that is unreachable (503 with ``Retry-After``: a fault to wait out,
not a bug) and anything unexpected. No stack trace, SQL or internal name reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger("housing_match.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://housing-match.jp/problems/"


class FieldError(BaseModel):
    location: str = Field(description="Where the problem is, e.g. `body.kind` or `query.limit`.")
    message: str
    type: str = Field(description="Machine-readable error type, e.g. `missing`, `enum`.")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(description="URI identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: one entry per invalid field."
    )


class ProblemError(Exception):
    """A domain error with its own HTTP status and problem type."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions
        # Writes that outlive the error: the request's own changes are rolled back, then the
        # session dependency runs these and commits them (db.keep_after_rollback). For what
        # must be recorded because the request was refused, e.g. a refused read of a person.
        self.kept_writes: list[Callable[[Session], None]] = []


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthenticated(ProblemError):
    status, slug, title = 401, "unauthenticated", "Authentication required"


class NotPermitted(ProblemError):
    status, slug, title = 403, "not-permitted", "Not permitted"


class ResourceNotFound(ProblemError):
    status, slug, title = 404, "not-found", "Resource not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnprocessableEntity(ProblemError):
    status, slug, title = 422, "unprocessable-entity", "Unprocessable entity"


class TooManyRequests(ProblemError):
    """A rate limit was reached: the client waits ``retry_after`` seconds (the header says so)."""

    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class DatabaseUnavailable(ProblemError):
    status, slug, title = 503, "database-unavailable", "Database unavailable"


# How long a client should wait before trying again when the database is away: a restart or
# a failover takes seconds, and the pool reconnects on the next request.
DATABASE_RETRY_AFTER_SECONDS = 5
# SQLSTATEs of a database going away or not (yet) taking work: connection exceptions (class
# 08), terminated by an administrator, crashed, starting up, too many connections, and a
# read-only transaction (a primary that became a standby in a failover).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "25006"})


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error from the database layer means the database is unreachable or going
    away, rather than a bug in a statement."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection came free in time; the database did not answer
    original: BaseException | None = exc
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        original = exc.orig
    if not isinstance(original, psycopg.Error):
        return False
    sqlstate = original.sqlstate
    if sqlstate is None:
        # No answer from the server at all: the connection failed or was lost.
        return isinstance(original, psycopg.OperationalError)
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


_SLUG_BY_STATUS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "not-permitted",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


def problem_response(
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug or _SLUG_BY_STATUS.get(status, "error")),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [error.model_dump() for error in errors]
    if extensions:
        body.update({k: v for k, v in extensions.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _handle_problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)  # noqa: S101  # registered for ProblemError only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, DatabaseUnavailable):
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        extensions=exc.extensions,
        headers=headers,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    raw_errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in raw_errors):
        return problem_response(
            400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
            instance=request.url.path,
        )
    # The input values are left out on purpose: they may hold keys or personal data.
    errors = [
        FieldError(
            location=_location(tuple(error.get("loc", ()))),
            message=str(error.get("msg", "invalid")),
            type=str(error.get("type", "invalid")),
        )
        for error in raw_errors
    ]
    return problem_response(
        422,
        slug="validation-error",
        title="Validation error",
        detail=f"{len(errors)} invalid field(s).",
        instance=request.url.path,
        errors=errors,
    )


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    headers = dict(exc.headers) if exc.headers else None
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = None
    if exc.status_code == 404 and detail is None:
        detail = f"No resource at {request.url.path}."
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(
        exc.status_code, detail=detail, instance=request.url.path, headers=headers
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        slug="internal-error",
        title="Internal server error",
        detail="An unexpected error occurred. It has been logged.",
        instance=request.url.path,
    )


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        return await _handle_unexpected(request, exc)
    original = getattr(exc, "orig", None) or exc
    logger.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(original).__name__,
        str(original).splitlines()[0] if str(original) else "",
    )
    return await _handle_problem_error(
        request,
        DatabaseUnavailable("The database cannot be reached right now. Try again shortly."),
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem_error)
    # The ORM's errors and psycopg's own (the matcher sends statements on the raw cursor).
    app.add_exception_handler(sa_exc.SQLAlchemyError, _handle_database_error)
    app.add_exception_handler(psycopg.Error, _handle_database_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry that documents an endpoint's problems in the OpenAPI spec."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }
