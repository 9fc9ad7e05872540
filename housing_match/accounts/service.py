"""The rules of staff accounts: who may manage whom, invitations, sign-in with throttling,
sessions, and the account event records. Services flush; the request commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.orm import Session

from housing_match.accounts import totp
from housing_match.accounts.passwords import hash_password, password_problem, verify_password
from housing_match.accounts.repository import (
    AccountEventRepository,
    InvitationRepository,
    RecoveryCodeRepository,
    SignInThrottleRepository,
    UserRepository,
    WebSessionRepository,
)
from housing_match.accounts.sessions import (
    StartedSession,
    session_token_hash,
    start_session,
)
from housing_match.accounts.tokens import keyed_hash, new_token
from housing_match.auth import Actor, Principal
from housing_match.errors import BadRequest, Conflict, NotPermitted, ResourceNotFound
from housing_match.history.service import record_change
from housing_match.models import AccountEvent, Invitation, Organisation, User, UserRole
from housing_match.organisations.repository import OrganisationRepository
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.settings import Environment, get_settings

# Domain separation of the keyed hashes (tokens.keyed_hash), not secrets.
UserStatus = Literal["invited", "active", "locked", "deactivated"]

INVITATION_TOKEN_PURPOSE = "invitation"  # noqa: S105
RECOVERY_CODE_PURPOSE = "recovery-code"


class EventKind(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_REFUSED = "sign_in_refused"  # right password, but the account may not sign in
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    SIGNED_OUT = "signed_out"
    INVITED = "invited"
    RESET_ISSUED = "reset_issued"
    INVITATION_ACCEPTED = "invitation_accepted"
    ROLE_CHANGED = "role_changed"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded with account events."""

    address: str = ""
    user_agent: str = ""
    channel: str = "web"


CLI_CLIENT = Client(channel="cli")


def record_event(
    session: Session,
    kind: EventKind,
    *,
    client: Client,
    user: User | None = None,
    organisation_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AccountEvent:
    return AccountEventRepository(session).add(
        AccountEvent(
            organisation_id=organisation_id if user is None else user.organisation_id,
            user_id=None if user is None else user.id,
            actor_user_id=actor_user_id,
            kind=kind.value,
            channel=client.channel,
            client_address=client.address[:64],
            detail=detail or {},
        )
    )


def user_snapshot(user: User) -> dict[str, Any]:
    """A user as the history keeps it: never a hash or a secret."""
    return {
        "organisation_id": str(user.organisation_id),
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "activated": user.activated_at is not None,
        "deactivated_at": None if user.deactivated_at is None else user.deactivated_at.isoformat(),
    }


# --- who manages whom ------------------------------------------------------------------------


def require_manager(principal: Principal) -> None:
    if not principal.is_manager:
        raise NotPermitted(
            "This action is for a signed-in manager of the organisation; "
            "an API key or a staff member cannot do it."
        )


def managed_organisation(
    session: Session, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """The organisation, if the caller manages it: a manager their own, an admin's any."""
    require_manager(principal)
    if not principal.is_admin and organisation_id != principal.organisation_id:
        raise ResourceNotFound("No such organisation.")
    organisation = OrganisationRepository(session).get(organisation_id)
    if organisation is None:
        raise ResourceNotFound("No such organisation.")
    return organisation


def managed_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    require_manager(principal)
    user = UserRepository(session).get(user_id)
    if user is None or (
        not principal.is_admin and user.organisation_id != principal.organisation_id
    ):
        raise ResourceNotFound("No such user in your organisation.")
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = UserRepository(session).get(user_id)
    if user is None:
        raise ResourceNotFound("No such user.")
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = UserRepository(session).get_by_email(email)
    if user is None:
        raise ResourceNotFound(f"No user with e-mail {email!r}.")
    return user


def list_users(session: Session, organisation_id: uuid.UUID | None) -> Sequence[User]:
    return UserRepository(session).list(organisation_id=organisation_id)


def organisation_of(session: Session, user: User) -> Organisation:
    return UserRepository(session).organisation_of(user)


# --- invitations -----------------------------------------------------------------------------


def invitation_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/invitations/{token}"


@dataclass(frozen=True)
class IssuedInvitation:
    user: User
    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return invitation_url(self.token)


def _issue(session: Session, user: User, *, purpose: str, actor: Actor) -> IssuedInvitation:
    now = datetime.now(UTC)
    repository = InvitationRepository(session)
    repository.supersede_open(user.id, now)
    token = new_token()
    invitation = repository.add(
        Invitation(
            user_id=user.id,
            purpose=purpose,
            token_hash=keyed_hash(INVITATION_TOKEN_PURPOSE, token),
            expires_at=now + timedelta(hours=get_settings().invitation_hours),
            created_by_user_id=actor.user_id,
        )
    )
    return IssuedInvitation(user=user, invitation=invitation, token=token)


def invite_user(
    session: Session,
    actor: Actor,
    organisation: Organisation,
    *,
    email: str,
    name: str,
    role: UserRole,
    client: Client,
) -> IssuedInvitation:
    """A new user of the organisation, and the one-time link that lets them in."""
    users = UserRepository(session)
    email = email.strip().lower()
    if users.get_by_email(email) is not None:
        raise Conflict(f"A user with e-mail {email!r} already exists.")
    user = users.add(User(organisation_id=organisation.id, email=email, name=name, role=role.value))
    issued = _issue(session, user, purpose="invite", actor=actor)
    record_event(
        session,
        EventKind.INVITED,
        client=client,
        user=user,
        actor_user_id=actor.user_id,
        detail={"role": role.value, "expires_at": issued.invitation.expires_at.isoformat()},
    )
    record_change(
        session,
        actor,
        action="user.invited",
        entity_type="user",
        entity_id=user.id,
        before=None,
        after=user_snapshot(user),
    )
    return issued


def reissue_invitation(
    session: Session, actor: Actor, user: User, *, client: Client
) -> IssuedInvitation:
    """A new link for a user who lost their password or device (a reset), or whose invitation
    lapsed. Older links stop working; the password and TOTP change only when it is used."""
    if user.deactivated_at is not None:
        raise Conflict("This user is deactivated.")
    purpose = "reset" if user.activated_at is not None else "invite"
    issued = _issue(session, user, purpose=purpose, actor=actor)
    record_event(
        session,
        EventKind.RESET_ISSUED if purpose == "reset" else EventKind.INVITED,
        client=client,
        user=user,
        actor_user_id=actor.user_id,
        detail={"expires_at": issued.invitation.expires_at.isoformat(), "reissued": True},
    )
    record_change(
        session,
        actor,
        action=f"user.{purpose}_issued",
        entity_type="user",
        entity_id=user.id,
        before=None,
        after=user_snapshot(user),
    )
    return issued


class InvitationProblem(Exception):
    """Why an invitation link cannot be used, in Japanese, with the page's status."""

    def __init__(self, message_ja: str, status: int) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja
        self.status = status


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    user: User
    organisation: Organisation

    @property
    def totp_required(self) -> bool:
        return self.organisation.totp_required


def open_invitation(session: Session, token: str) -> OpenInvitation:
    invitation = InvitationRepository(session).get_by_token_hash(
        keyed_hash(INVITATION_TOKEN_PURPOSE, token)
    )
    if invitation is None:
        raise InvitationProblem("この招待リンクは無効です。", 404)
    if invitation.used_at is not None:
        raise InvitationProblem("この招待リンクはすでに使われています。", 410)
    if invitation.superseded_at is not None:
        raise InvitationProblem(
            "この招待リンクは新しい招待に置き換えられました。最新のリンクを使ってください。", 410
        )
    if invitation.expires_at <= datetime.now(UTC):
        raise InvitationProblem(
            "この招待リンクは有効期限が切れています。管理者に再発行を依頼してください。", 410
        )
    users = UserRepository(session)
    user = users.get_for_update(invitation.user_id)
    assert user is not None  # noqa: S101  # a foreign key guarantees it
    if user.deactivated_at is not None:
        raise InvitationProblem("このアカウントは無効化されています。", 410)
    return OpenInvitation(
        invitation=invitation, user=user, organisation=users.organisation_of(user)
    )


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    svg: str


def enrolment_of(opened: OpenInvitation) -> TotpEnrolment | None:
    sealed = opened.invitation.pending_totp_secret
    if sealed is None:
        return None
    try:
        secret = totp.unseal(sealed)
    except totp.UnsealableSecret:  # the secret key changed meanwhile: choose again
        return None
    uri = totp.provisioning_uri(secret, opened.user.email)
    return TotpEnrolment(secret=secret, uri=uri, svg=totp.qr_svg(uri))


@dataclass(frozen=True)
class Completed:
    user: User
    recovery_codes: list[str] = field(default_factory=list)


class FieldProblem(Exception):
    """A form field's error, in Japanese, shown next to the field."""

    def __init__(self, field_name: str, message_ja: str) -> None:
        super().__init__(message_ja)
        self.field_name = field_name
        self.message_ja = message_ja


def choose_password(
    session: Session, opened: OpenInvitation, password: str, confirmation: str, *, client: Client
) -> TotpEnrolment | Completed:
    """The invitation's first step. With TOTP to enrol, the password waits in the invitation
    until the code is confirmed; without, the invitation completes now."""
    problem = password_problem(password, email=opened.user.email, name=opened.user.name)
    if problem is not None:
        raise FieldProblem("password", problem)
    if password != confirmation:
        raise FieldProblem("password_confirmation", "確認用のパスワードが一致しません。")
    password_hash = hash_password(password)
    if not opened.totp_required:
        return _complete(session, opened, password_hash, totp_secret=None, step=None, client=client)
    opened.invitation.pending_password_hash = password_hash
    opened.invitation.pending_totp_secret = totp.seal(totp.new_secret())
    session.flush()
    enrolment = enrolment_of(opened)
    assert enrolment is not None  # noqa: S101  # set just above
    return enrolment


def confirm_totp(
    session: Session, opened: OpenInvitation, code: str, *, client: Client
) -> Completed:
    """The invitation's second step: a code from the new authenticator proves it is set up."""
    invitation = opened.invitation
    enrolment = enrolment_of(opened)
    if invitation.pending_password_hash is None or enrolment is None:
        raise FieldProblem("code", "先にパスワードを設定してください。")
    step = totp.matching_step(enrolment.secret, code, now=datetime.now(UTC), after_step=None)
    if step is None:
        raise FieldProblem(
            "code",
            "確認コードが正しくありません。アプリに表示されている6桁の数字を入力してください。",
        )
    return _complete(
        session,
        opened,
        invitation.pending_password_hash,
        totp_secret=invitation.pending_totp_secret,
        step=step,
        client=client,
    )


def _complete(
    session: Session,
    opened: OpenInvitation,
    password_hash: str,
    *,
    totp_secret: str | None,
    step: int | None,
    client: Client,
) -> Completed:
    user, invitation = opened.user, opened.invitation
    now = datetime.now(UTC)
    before = user_snapshot(user)
    user.password_hash = password_hash
    user.totp_secret = totp_secret
    user.totp_last_step = step
    user.activated_at = user.activated_at or now
    user.failed_sign_ins = 0
    user.last_failed_sign_in_at = None
    user.locked_until = None
    invitation.used_at = now
    invitation.pending_password_hash = None
    invitation.pending_totp_secret = None
    # A reset ends every session of the old password or device.
    WebSessionRepository(session).revoke_all_of(user.id)
    codes = totp.new_recovery_codes() if totp_secret is not None else []
    RecoveryCodeRepository(session).replace(
        user.id, [keyed_hash(RECOVERY_CODE_PURPOSE, code) for code in codes]
    )
    session.flush()
    record_event(
        session,
        EventKind.INVITATION_ACCEPTED,
        client=client,
        user=user,
        detail={"purpose": invitation.purpose, "totp": totp_secret is not None},
    )
    record_change(
        session,
        Actor(
            organisation_id=user.organisation_id,
            api_key_id=None,
            channel=client.channel,
            user_id=user.id,
        ),
        action=f"user.{invitation.purpose}_accepted",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=user_snapshot(user),
    )
    return Completed(user=user, recovery_codes=codes)


# --- sign-in ---------------------------------------------------------------------------------


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    TOTP_NEEDED = "totp_needed"
    FAILED = "failed"
    THROTTLED = "throttled"
    LOCKED = "locked"
    REFUSED = "refused"  # deactivated, or TOTP required and not enrolled
    EXPIRED = "expired"  # the TOTP step took too long


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    message_ja: str = ""
    retry_after: int = 0  # seconds, when throttled or locked
    started: StartedSession | None = None


_WRONG = "メールアドレスまたはパスワードが正しくありません。"
_WRONG_CODE = "確認コードが正しくありません。"


def delay_after(failures: int, free: int) -> timedelta:
    """How long after the last failure the next try must wait: nothing for the first ``free``
    failures, then twice as long for each further one, up to the maximum."""
    if failures < free:
        return timedelta(0)
    settings = get_settings()
    exponent = min(failures - free, 30)
    seconds = min(
        settings.sign_in_delay_base_seconds * 2**exponent, settings.sign_in_delay_max_seconds
    )
    return timedelta(seconds=seconds)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _throttled(retry_at: datetime, now: datetime) -> SignIn:
    wait = _seconds_until(retry_at, now)
    return SignIn(
        Outcome.THROTTLED,
        f"失敗が続いたため、{wait}秒待ってからもう一度お試しください。",
        retry_after=wait,
    )


def _locked(user: User, now: datetime) -> SignIn:
    assert user.locked_until is not None  # noqa: S101
    wait = _seconds_until(user.locked_until, now)
    minutes = (wait + 59) // 60
    return SignIn(
        Outcome.LOCKED,
        f"失敗が続いたため、このアカウントは一時的にロックされています（約{minutes}分）。"
        "急ぐ場合は組織の管理者にロックの解除を依頼してください。",
        retry_after=wait,
    )


def _account_gate(user: User, now: datetime) -> SignIn | None:
    """Refuses a try while the account is locked or its delay has not passed."""
    settings = get_settings()
    if user.locked_until is not None:
        if user.locked_until > now:
            return _locked(user, now)
        # The lock has run its course: the count starts again.
        user.locked_until = None
        user.failed_sign_ins = 0
    if user.last_failed_sign_in_at is not None:
        retry_at = user.last_failed_sign_in_at + delay_after(
            user.failed_sign_ins, settings.sign_in_free_failures
        )
        if retry_at > now:
            return _throttled(retry_at, now)
    return None


def _address_gate(session: Session, client: Client, now: datetime) -> SignIn | None:
    settings = get_settings()
    row = SignInThrottleRepository(session).get_by_address(client.address)
    if row is None:
        return None
    if row.last_failed_at < now - timedelta(minutes=settings.sign_in_address_window_minutes):
        return None
    retry_at = row.last_failed_at + delay_after(
        row.failures, settings.sign_in_address_free_failures
    )
    return _throttled(retry_at, now) if retry_at > now else None


def _count_failure(
    session: Session, user: User | None, client: Client, now: datetime, *, reason: str, email: str
) -> SignIn:
    settings = get_settings()
    SignInThrottleRepository(session).record_failure(
        client.address, now=now, window=timedelta(minutes=settings.sign_in_address_window_minutes)
    )
    detail: dict[str, Any] = {"reason": reason}
    if user is None:
        detail["email"] = email[:254]
    record_event(session, EventKind.SIGN_IN_FAILED, client=client, user=user, detail=detail)
    if user is None:
        return SignIn(Outcome.FAILED, _WRONG)
    user.failed_sign_ins += 1
    user.last_failed_sign_in_at = now
    if user.failed_sign_ins >= settings.sign_in_lock_failures:
        user.locked_until = now + timedelta(minutes=settings.sign_in_lock_minutes)
        session.flush()
        record_event(
            session,
            EventKind.LOCKED,
            client=client,
            user=user,
            detail={"failures": user.failed_sign_ins, "until": user.locked_until.isoformat()},
        )
        return _locked(user, now)
    session.flush()
    return SignIn(Outcome.FAILED, _WRONG if reason == "password" else _WRONG_CODE)


def totp_required_for(organisation: Organisation) -> bool:
    """Whether a user of this organisation without an enrolled authenticator is refused.
    Development alone lets them in, so the demo's users sign in with a password."""
    return organisation.totp_required and get_settings().environment is not Environment.DEVELOPMENT


def _signed_in(
    session: Session, user: User, client: Client, now: datetime, *, second_factor: str
) -> SignIn:
    user.failed_sign_ins = 0
    user.last_failed_sign_in_at = None
    user.last_sign_in_at = now
    started = start_session(
        session,
        user_id=user.id,
        stage="active",
        client_address=client.address,
        user_agent=client.user_agent,
    )
    record_event(
        session,
        EventKind.SIGN_IN,
        client=client,
        user=user,
        detail={"second_factor": second_factor},
    )
    return SignIn(Outcome.SIGNED_IN, started=started)


def sign_in_with_password(session: Session, email: str, password: str, *, client: Client) -> SignIn:
    now = datetime.now(UTC)
    gate = _address_gate(session, client, now)
    if gate is not None:
        return gate
    users = UserRepository(session)
    found = users.get_by_email(email.strip().lower()) if email.strip() else None
    user = None if found is None else users.get_for_update(found.id)
    if user is not None:
        gate = _account_gate(user, now)
        if gate is not None:
            return gate
    if not verify_password(password, None if user is None else user.password_hash):
        return _count_failure(session, user, client, now, reason="password", email=email)
    assert user is not None  # noqa: S101  # a password matched
    if user.deactivated_at is not None:
        record_event(
            session, EventKind.SIGN_IN_REFUSED, client=client, user=user,
            detail={"reason": "deactivated"},
        )  # fmt: skip
        return SignIn(Outcome.REFUSED, "このアカウントは無効化されています。")
    if user.totp_secret is not None:
        started = start_session(
            session,
            user_id=user.id,
            stage="totp",
            client_address=client.address,
            user_agent=client.user_agent,
        )
        return SignIn(Outcome.TOTP_NEEDED, started=started)
    if totp_required_for(users.organisation_of(user)):
        record_event(
            session, EventKind.SIGN_IN_REFUSED, client=client, user=user,
            detail={"reason": "totp_not_enrolled"},
        )  # fmt: skip
        return SignIn(
            Outcome.REFUSED,
            "二要素認証が設定されていません。組織の管理者に招待の再発行を依頼してください。",
        )
    return _signed_in(session, user, client, now, second_factor="none")


def sign_in_with_code(session: Session, pending_token: str, code: str, *, client: Client) -> SignIn:
    """The second step: a TOTP code, or one of the recovery codes."""
    now = datetime.now(UTC)
    settings = get_settings()
    sessions = WebSessionRepository(session)
    found = sessions.find_live(
        session_token_hash(pending_token),
        stage="totp",
        idle=timedelta(minutes=settings.session_totp_step_minutes),
    )
    if found is None:
        return SignIn(
            Outcome.EXPIRED, "確認の時間が過ぎました。もう一度パスワードから入力してください。"
        )
    pending, _ = found
    user = UserRepository(session).get_for_update(pending.user_id)
    if user is None or user.totp_secret is None:  # reset meanwhile: start again
        return SignIn(Outcome.EXPIRED, "もう一度パスワードから入力してください。")
    try:
        secret = totp.unseal(user.totp_secret)
    except totp.UnsealableSecret:
        return SignIn(
            Outcome.REFUSED,
            "二要素認証の設定を読めません。組織の管理者に招待の再発行を依頼してください。",
        )
    gate = _address_gate(session, client, now) or _account_gate(user, now)
    if gate is not None:
        return gate
    cleaned = code.strip()
    second_factor = "totp"
    if any(ch.isalpha() for ch in cleaned):
        second_factor = "recovery_code"
        accepted = RecoveryCodeRepository(session).use(
            user.id, keyed_hash(RECOVERY_CODE_PURPOSE, totp.normalise_recovery_code(cleaned))
        )
    else:
        step = totp.matching_step(secret, cleaned, now=now, after_step=user.totp_last_step)
        accepted = step is not None
        if step is not None:
            user.totp_last_step = step
    if not accepted:
        reason = "recovery_code" if second_factor == "recovery_code" else "totp"
        if reason == "totp" and totp.matching_step(secret, cleaned, now=now, after_step=None):
            reason = "totp_replayed"
        return _count_failure(session, user, client, now, reason=reason, email=user.email)
    sessions.revoke(pending.id)
    return _signed_in(session, user, client, now, second_factor=second_factor)


def sign_out(session: Session, token: str, *, client: Client) -> bool:
    """Ends the session behind this cookie token server-side; False when there was none."""
    sessions = WebSessionRepository(session)
    found = sessions.find_live(
        session_token_hash(token),
        stage="active",
        idle=timedelta(hours=get_settings().session_absolute_hours),
    )
    if found is None:
        return False
    web_session, user = found
    sessions.revoke(web_session.id)
    record_event(session, EventKind.SIGNED_OUT, client=client, user=user)
    return True


def current_user(session: Session, token: str) -> User | None:
    """The signed-in user behind a cookie token (pages use it; the API uses the principal)."""
    sessions = WebSessionRepository(session)
    found = sessions.find_live_principal(
        session_token_hash(token),
        idle=timedelta(minutes=get_settings().session_idle_minutes),
    )
    return None if found is None else UserRepository(session).get(found.user_id)


# --- managers' actions -----------------------------------------------------------------------


def _refuse_self(actor: Actor, user: User, what: str) -> None:
    if actor.user_id == user.id:
        raise Conflict(f"You cannot {what} yourself: ask another manager.")


def deactivate_user(session: Session, actor: Actor, user: User, *, client: Client) -> User:
    _refuse_self(actor, user, "deactivate")
    if user.deactivated_at is not None:
        raise Conflict("This user is already deactivated.")
    before = user_snapshot(user)
    now = datetime.now(UTC)
    user.deactivated_at = now
    ended = WebSessionRepository(session).revoke_all_of(user.id)
    InvitationRepository(session).supersede_open(user.id, now)
    session.flush()
    record_event(
        session, EventKind.DEACTIVATED, client=client, user=user, actor_user_id=actor.user_id,
        detail={"sessions_ended": ended},
    )  # fmt: skip
    record_change(
        session, actor, action="user.deactivated", entity_type="user", entity_id=user.id,
        before=before, after=user_snapshot(user),
    )  # fmt: skip
    return user


def change_role(
    session: Session, actor: Actor, user: User, role: UserRole, *, client: Client
) -> User:
    _refuse_self(actor, user, "change the role of")
    if user.deactivated_at is not None:
        raise Conflict("This user is deactivated.")
    if user.role == role.value:
        return user
    before = user_snapshot(user)
    previous = user.role
    user.role = role.value
    session.flush()
    record_event(
        session, EventKind.ROLE_CHANGED, client=client, user=user, actor_user_id=actor.user_id,
        detail={"from": previous, "to": role.value},
    )  # fmt: skip
    record_change(
        session, actor, action="user.role_changed", entity_type="user", entity_id=user.id,
        before=before, after=user_snapshot(user),
    )  # fmt: skip
    return user


def unlock_user(session: Session, actor: Actor, user: User, *, client: Client) -> User:
    """Lifts a sign-in lock and clears the failures' delay."""
    locked = user.locked_until is not None and user.locked_until > datetime.now(UTC)
    user.locked_until = None
    user.failed_sign_ins = 0
    user.last_failed_sign_in_at = None
    session.flush()
    record_event(
        session, EventKind.UNLOCKED, client=client, user=user, actor_user_id=actor.user_id,
        detail={"was_locked": locked},
    )  # fmt: skip
    return user


def list_events(
    session: Session,
    *,
    organisation_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    kinds: Sequence[EventKind],
    cursor: str | None,
    limit: int,
) -> tuple[list[AccountEvent], str | None]:
    before_id: int | None = None
    if cursor is not None:
        value = decode_cursor(cursor).get("before_id")
        if not isinstance(value, int):
            raise BadRequest(INVALID_CURSOR)
        before_id = value
    events = list(
        AccountEventRepository(session).list(
            organisation_id=organisation_id,
            user_id=user_id,
            kinds=[kind.value for kind in kinds],
            before_id=before_id,
            limit=limit + 1,
        )
    )
    next_cursor = None
    if len(events) > limit:
        events = events[:limit]
        next_cursor = encode_cursor({"before_id": events[-1].id})
    return events, next_cursor


def user_status(user: User, now: datetime | None = None) -> UserStatus:
    now = now or datetime.now(UTC)
    if user.deactivated_at is not None:
        return "deactivated"
    if user.activated_at is None:
        return "invited"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    return "active"
