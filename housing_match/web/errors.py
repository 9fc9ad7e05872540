"""Error pages for people: a browser asking for a page gets Japanese HTML instead of the
problem+json the API answers with (the API, /openapi.json and static files keep theirs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from housing_match.errors import ProblemError
from housing_match.web.templating import render

NOT_PAGES = ("/v1/", "/openapi.json", "/static/", "/health", "/docs")

# status → (title, what to do), in the words of the person reading it
MESSAGES: dict[int, tuple[str, str]] = {
    401: ("ログインしてください", "このページを見るにはログインが必要です。"),
    403: (
        "このページを見る権限がありません",
        "別の組織の情報か、ご自分の役割では使えない機能です。",
    ),
    404: (
        "ページが見つかりません",
        "アドレスが間違っているか、ページが移動または削除されました。",
    ),
    405: ("この操作はできません", "画面のボタンから操作してください。"),
    409: (
        "ほかの操作と重なりました",
        "ほかの方が同時に変更した可能性があります。もう一度開き直してください。",
    ),
    429: (
        "しばらくお待ちください",
        "短い時間に操作が集中したため、一時的に受け付けを止めています。"
        "少し時間をおいてから、もう一度お試しください。",
    ),
}
FALLBACK = ("エラーが起きました", "時間をおいてもう一度お試しください。")
SERVER_ERROR = (
    "システムでエラーが起きました",
    "記録されました。時間をおいてもう一度お試しください。続く場合は管理者に連絡してください。",
)

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        NOT_PAGES
    )


def install_error_pages(app: FastAPI) -> None:
    """Wraps the problem+json handlers already installed (errors.install_problem_handlers)."""
    for exception in (StarletteHTTPException, ProblemError, Exception):
        problem_handler = app.exception_handlers[exception]
        app.add_exception_handler(exception, _page_or_problem(problem_handler))


def _page_or_problem(problem_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        response = problem_handler(request, exc)
        if not isinstance(response, Response):
            response = await response
        status = response.status_code
        if status < 400 or not wants_page(request):
            return response  # a redirect raised as an HTTPException stays one
        title, advice = SERVER_ERROR if status >= 500 else MESSAGES.get(status, FALLBACK)
        page = render(
            request,
            "errors/problem.html",
            {"status": status, "error_title": title, "advice": advice},
            status_code=status,
        )
        for header, value in response.headers.items():
            if header not in ("content-type", "content-length"):
                page.headers[header] = value
        return page

    return handle
