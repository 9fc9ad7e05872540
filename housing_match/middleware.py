"""ASGI middleware: oversized request bodies refused with 413 before they are read, text the
database cannot store refused with 422 before any endpoint runs, and the server's own time on
every response (``Server-Timing``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from housing_match import text_input
from housing_match.errors import FieldError, problem_response


class BodySizeLimitMiddleware:
    """Checks ``Content-Length`` up front and counts streamed (chunked) bodies as they arrive.

    ``limit_for_path`` lets bulk-import endpoints accept larger bodies than the rest.
    """

    def __init__(self, app: ASGIApp, limit_for_path: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for_path = limit_for_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for_path(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False
            if too_large:
                await self._refuse(scope, receive, send, limit)
                return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Rendered as problem+json by the HTTPException handler.
                    raise HTTPException(413, detail=_too_large_detail(limit))
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413,
            detail=_too_large_detail(limit),
            instance=scope["path"],
        )
        await response(scope, receive, send)


def _too_large_detail(limit: int) -> str:
    return f"The request body exceeds the limit of {limit} bytes."


class TextInputGuardMiddleware:
    """Refuses, with 422 naming each field, a request whose path, query string, JSON body or
    form body holds text PostgreSQL cannot store (``text_input.py``): one check for every
    endpoint, present and future, instead of a rule on each field.

    A JSON or form body is read whole before the application sees it (the body-size limit,
    outside this middleware, has bounded it) and handed on unchanged. ``skip_body`` names the
    paths whose bodies are files the endpoint checks itself (bulk imports).
    """

    def __init__(self, app: ASGIApp, skip_body: Callable[[str], bool]) -> None:
        self.app = app
        self.skip_body = skip_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = text_input.path_problems(scope["path"]) + text_input.form_problems(
            scope.get("query_string", b""), "query"
        )
        if found:
            await _refuse_text(scope, receive, send, found)
            return
        kind = _body_kind(scope)
        if kind is None or self.skip_body(scope["path"]):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        try:
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except HTTPException as exc:  # the body-size limit, outside the app's handlers here
            response = problem_response(
                exc.status_code, detail=str(exc.detail), instance=scope["path"]
            )
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        if kind == "json":
            found = text_input.json_body_problems(body)
        else:
            found = text_input.form_problems(body, "body")
        if found:
            await _refuse_text(scope, receive, send, found)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _body_kind(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            if media_type == b"application/json" or media_type.endswith(b"+json"):
                return "json"
            if media_type == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


async def _refuse_text(
    scope: Scope, receive: Receive, send: Send, found: list[text_input.TextProblem]
) -> None:
    response = problem_response(
        422,
        slug="validation-error",
        title="Validation error",
        detail=f"{len(found)} invalid field(s): text the service cannot store.",
        instance=text_input.printable(scope["path"]),
        errors=[
            FieldError(location=problem.location, message=problem.message, type=problem.type)
            for problem in found
        ],
    )
    await response(scope, receive, send)


SERVER_TIMING_METRIC = "app"


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>`` to every response: the time from the request's
    arrival at the application to its response being ready (authentication, the work, the
    commit and the serialised body; not the network). Browsers' developer tools show it, and
    ``housing-match bench`` reads it as the server time of a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                milliseconds = (time.perf_counter() - started) * 1000
                timing = f"{SERVER_TIMING_METRIC};dur={milliseconds:.3f}".encode()
                message["headers"] = [*message.get("headers", ()), (b"server-timing", timing)]
            await send(message)

        await self.app(scope, receive, timed_send)


def server_time_ms(header: str | None) -> float | None:
    """The ``app`` duration of a ``Server-Timing`` header, in milliseconds."""
    for metric in (header or "").split(","):
        name, *parameters = (part.strip() for part in metric.split(";"))
        if name != SERVER_TIMING_METRIC:
            continue
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key == "dur":
                try:
                    return float(value)
                except ValueError:
                    return None
    return None
