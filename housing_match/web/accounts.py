"""Sign-in pages: /login (password, then the TOTP code), the invitation (set a password, enrol
TOTP from a QR code, see the recovery codes once), /logout, and /account (a manager also sees
the organisation's users and sign-in records). Japanese; nothing loaded from other hosts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from housing_match.accounts import service
from housing_match.accounts.csrf import CsrfForm, CsrfRejected, set_csrf_cookie
from housing_match.accounts.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    set_session_cookie,
)
from housing_match.auth import Actor
from housing_match.db import SessionDep
from housing_match.errors import problem_response
from housing_match.models import (
    ORGANISATION_KIND_LABELS_JA,
    USER_ROLE_LABELS_JA,
    OrganisationKind,
    User,
    UserRole,
)
from housing_match.settings import get_settings
from housing_match.throttling.limiter import client_address
from housing_match.web.templating import templates

router = APIRouter(include_in_schema=False)

# Where a sign-in lands without a page to go back to: the organisation's home.
LANDING = "/"
ACCOUNT = "/account"
JST = ZoneInfo("Asia/Tokyo")
STATUS_JA = {"invited": "招待中", "active": "利用中", "locked": "ロック中", "deactivated": "無効"}
EVENT_KIND_JA = {
    service.EventKind.SIGN_IN: "ログイン",
    service.EventKind.SIGN_IN_FAILED: "ログイン失敗",
    service.EventKind.SIGN_IN_REFUSED: "ログイン拒否",
    service.EventKind.LOCKED: "ロック",
    service.EventKind.UNLOCKED: "ロック解除",
    service.EventKind.SIGNED_OUT: "ログアウト",
    service.EventKind.INVITED: "招待",
    service.EventKind.RESET_ISSUED: "再設定の招待",
    service.EventKind.INVITATION_ACCEPTED: "招待の受諾",
    service.EventKind.ROLE_CHANGED: "役割の変更",
    service.EventKind.DEACTIVATED: "無効化",
}
_OUTCOME_STATUS = {
    service.Outcome.FAILED: status.HTTP_401_UNAUTHORIZED,
    service.Outcome.THROTTLED: status.HTTP_429_TOO_MANY_REQUESTS,
    service.Outcome.LOCKED: status.HTTP_423_LOCKED,
    service.Outcome.REFUSED: status.HTTP_403_FORBIDDEN,
    service.Outcome.EXPIRED: status.HTTP_401_UNAUTHORIZED,
}


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, template, {"errors": {}, **context}, status_code=status_code
    )
    # Pages of sign-in and accounts hold codes and personal data: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    set_csrf_cookie(request, response)
    return response


def safe_next(value: object) -> str:
    """Only a path of this site: an open redirect would hand a signed-in user to anyone.
    Browsers read a backslash as a slash and drop tabs and newlines from an address, so
    ``/\\evil`` or ``/<tab>/evil`` would become ``//evil``, another site: any control character,
    space or backslash refuses the value."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and not any(
            character == "\\" or character.isspace() or not character.isprintable()
            for character in value
        )
    ):
        return value
    return LANDING


def _client(request: Request) -> service.Client:
    return service.Client(
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        channel="web",
    )


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _jst(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _signed_in_user(request: Request, session: SessionDep) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    return None if not token else service.current_user(session, token)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


# --- sign-in ---------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = LANDING, signed_out: bool = False) -> Response:
    return render(
        request,
        "accounts/login.html",
        {
            "next": safe_next(next),
            "email": "",
            "notice": "ログアウトしました。" if signed_out else "",
            "message": "",
        },
    )


def _outcome_page(
    request: Request, result: service.SignIn, template: str, context: dict[str, Any]
) -> Response:
    """The page again with the refusal, its status, and Retry-After when waiting helps."""
    field = "code" if template.endswith("totp.html") else "password"
    errors = {field: result.message_ja} if result.outcome is service.Outcome.FAILED else {}
    message = "" if errors else result.message_ja
    response = render(
        request,
        template,
        {**context, "errors": errors, "message": message},
        status_code=_OUTCOME_STATUS[result.outcome],
    )
    if result.retry_after:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


@router.post("/login")
def login(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    email, password = _form_text(form, "email"), _form_text(form, "password")
    next_url = safe_next(form.get("next"))
    errors = {}
    if not email.strip():
        errors["email"] = "メールアドレスを入力してください。"
    if not password:
        errors["password"] = "パスワードを入力してください。"  # noqa: S105
    context = {"next": next_url, "email": email, "notice": "", "message": ""}
    if errors:
        return render(
            request, "accounts/login.html", {**context, "errors": errors}, status_code=422
        )
    result = service.sign_in_with_password(session, email, password, client=_client(request))
    if result.started is None:
        return _outcome_page(request, result, "accounts/login.html", context)
    target = next_url if result.outcome is service.Outcome.SIGNED_IN else "/login/totp"
    if result.outcome is service.Outcome.TOTP_NEEDED and next_url != LANDING:
        target += "?" + urlencode({"next": next_url})
    response = _redirect(target)
    set_session_cookie(response, result.started.token)
    return response


@router.get("/login/totp")
def totp_page(request: Request, next: str = LANDING) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return _redirect("/login")
    return render(request, "accounts/totp.html", {"next": safe_next(next), "message": ""})


@router.post("/login/totp")
def login_totp(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    next_url = safe_next(form.get("next"))
    token = request.cookies.get(SESSION_COOKIE, "")
    code = _form_text(form, "code")
    if not code.strip():
        return render(
            request,
            "accounts/totp.html",
            {"next": next_url, "message": "", "errors": {"code": "確認コードを入力してください。"}},
            status_code=422,
        )
    result = service.sign_in_with_code(session, token, code, client=_client(request))
    if result.outcome is service.Outcome.EXPIRED:
        context = {"next": next_url, "email": "", "notice": ""}
        return _outcome_page(request, result, "accounts/login.html", context)
    if result.started is None:
        return _outcome_page(request, result, "accounts/totp.html", {"next": next_url})
    response = _redirect(next_url)
    set_session_cookie(response, result.started.token)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.sign_out(session, token, client=_client(request))
    response = _redirect("/login?signed_out=true")
    clear_session_cookie(response)
    return response


# --- invitations -----------------------------------------------------------------------------


def _invitation_problem(request: Request, problem: service.InvitationProblem) -> Response:
    return render(
        request,
        "accounts/message.html",
        {
            "heading": "招待リンクを使えません",
            "message": problem.message_ja,
            "link": "/login",
            "link_text": "ログイン画面へ",
        },
        status_code=problem.status,
    )


def _password_page(
    request: Request, token: str, opened: service.OpenInvitation, errors: dict[str, str]
) -> Response:
    return render(
        request,
        "accounts/invitation_password.html",
        {
            "token": token,
            "organisation_name": opened.organisation.name,
            "user_name": opened.user.name,
            "email": opened.user.email,
            "reset": opened.invitation.purpose == "reset",
            "min_length": get_settings().password_min_length,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


def _totp_page(
    request: Request, token: str, enrolment: service.TotpEnrolment, errors: dict[str, str]
) -> Response:
    return render(
        request,
        "accounts/invitation_totp.html",
        {
            "token": token,
            # segno's own SVG: numbers and paths only, nothing from the user.
            "qr_svg": Markup(enrolment.svg),  # noqa: S704
            "secret": enrolment.secret,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


def _done_page(request: Request, completed: service.Completed) -> Response:
    return render(
        request, "accounts/invitation_done.html", {"recovery_codes": completed.recovery_codes}
    )


@router.get("/invitations/{token}")
def invitation_page(request: Request, session: SessionDep, token: str) -> Response:
    try:
        opened = service.open_invitation(session, token)
    except service.InvitationProblem as problem:
        return _invitation_problem(request, problem)
    enrolment = service.enrolment_of(opened)
    if enrolment is not None:
        return _totp_page(request, token, enrolment, {})
    return _password_page(request, token, opened, {})


@router.post("/invitations/{token}")
def invitation_password(
    request: Request, session: SessionDep, token: str, form: CsrfForm
) -> Response:
    try:
        opened = service.open_invitation(session, token)
        result = service.choose_password(
            session,
            opened,
            _form_text(form, "password"),
            _form_text(form, "password_confirmation"),
            client=_client(request),
        )
    except service.InvitationProblem as problem:
        return _invitation_problem(request, problem)
    except service.FieldProblem as problem:
        return _password_page(request, token, opened, {problem.field_name: problem.message_ja})
    if isinstance(result, service.TotpEnrolment):
        return _totp_page(request, token, result, {})
    return _done_page(request, result)


@router.post("/invitations/{token}/totp")
def invitation_totp(request: Request, session: SessionDep, token: str, form: CsrfForm) -> Response:
    try:
        opened = service.open_invitation(session, token)
        completed = service.confirm_totp(
            session, opened, _form_text(form, "code"), client=_client(request)
        )
    except service.InvitationProblem as problem:
        return _invitation_problem(request, problem)
    except service.FieldProblem as problem:
        enrolment = service.enrolment_of(opened)
        if enrolment is None:
            return _redirect(f"/invitations/{token}")
        return _totp_page(request, token, enrolment, {problem.field_name: problem.message_ja})
    return _done_page(request, completed)


# --- the account page ------------------------------------------------------------------------


@router.get("/account")
def account_page(request: Request, session: SessionDep) -> Response:
    user = _signed_in_user(request, session)
    if user is None:
        return _redirect("/login?next=/account")
    organisation = service.organisation_of(session, user)
    context: dict[str, Any] = {
        "user": user,
        "signed_in": True,
        "organisation": organisation,
        "organisation_kind_ja": ORGANISATION_KIND_LABELS_JA[OrganisationKind(organisation.kind)],
        "role_ja": USER_ROLE_LABELS_JA[UserRole(user.role)],
        "users": None,
        "events": [],
    }
    if user.role == UserRole.MANAGER:
        members = service.list_users(session, organisation.id)
        names = {member.id: member.name for member in members}
        context["users"] = [
            {
                "id": member.id,
                "name": member.name,
                "email": member.email,
                "role_ja": USER_ROLE_LABELS_JA[UserRole(member.role)],
                "status_ja": STATUS_JA[service.user_status(member)],
                "locked": service.user_status(member) == "locked",
                "last_sign_in": _jst(member.last_sign_in_at),
            }
            for member in members
        ]
        events, _ = service.list_events(
            session, organisation_id=organisation.id, user_id=None, kinds=[], cursor=None, limit=50
        )
        context["events"] = [
            {
                "when": _jst(event.occurred_at),
                "kind_ja": EVENT_KIND_JA.get(service.EventKind(event.kind), event.kind),
                "user": names.get(event.user_id, "—") if event.user_id else "—",
                "address": event.client_address or "—",
            }
            for event in events
        ]
    return render(request, "accounts/account.html", context)


@router.post("/account/users/{user_id}/unlock")
def account_unlock(
    request: Request, session: SessionDep, user_id: uuid.UUID, form: CsrfForm
) -> Response:
    user = _signed_in_user(request, session)
    if user is None:
        return _redirect("/login?next=/account")
    found = service.get_user(session, user_id) if user.role == UserRole.MANAGER else None
    if found is None or found.organisation_id != user.organisation_id:
        return render(
            request,
            "accounts/message.html",
            {"heading": "操作できません", "message": "この操作は組織の管理者だけが行えます。",
             "link": ACCOUNT, "link_text": "アカウントへ戻る"},
            status_code=403,
        )  # fmt: skip
    actor = Actor(
        organisation_id=user.organisation_id, api_key_id=None, channel="web", user_id=user.id
    )
    service.unlock_user(session, actor, found, client=_client(request))
    return _redirect(ACCOUNT)


# --- wiring ----------------------------------------------------------------------------------


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/v1/")


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    """A refused form is a Japanese page; a refused API call stays problem+json."""
    assert isinstance(exc, CsrfRejected)  # noqa: S101
    if not _is_page(request):
        return problem_response(
            exc.status, slug=exc.slug, title=exc.title, detail=exc.detail,
            instance=request.url.path,
        )  # fmt: skip
    return render(
        request,
        "accounts/message.html",
        {
            "heading": "送信を受け付けられませんでした",
            "message": "フォームの有効期限が切れたか、正しくない送信です。"
            "ページを開き直して、もう一度送信してください。",
            "link": "/login",
            "link_text": "ログイン画面へ",
        },
        status_code=exc.status,
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
