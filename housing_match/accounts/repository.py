from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from housing_match.models import (
    AccountEvent,
    Invitation,
    Organisation,
    RecoveryCode,
    SignInThrottle,
    User,
    WebSession,
)
from housing_match.repository import RepositoryBase


def _now() -> datetime:
    # The clock of this moment, as the services' rules use, not of the transaction's start.
    return datetime.now(UTC)


class UserRepository(RepositoryBase[User]):
    model = User

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalars(select(User).where(User.email == email.lower())).first()

    def get_for_update(self, user_id: uuid.UUID) -> User | None:
        """The user with its row locked, so concurrent sign-ins count failures exactly."""
        return self.session.scalars(
            select(User).where(User.id == user_id).with_for_update()
        ).first()

    def list(self, *, organisation_id: uuid.UUID | None) -> Sequence[User]:
        statement = select(User).order_by(User.organisation_id, User.email)
        if organisation_id is not None:
            statement = statement.where(User.organisation_id == organisation_id)
        return self.session.scalars(statement).all()

    def organisation_of(self, user: User) -> Organisation:
        organisation = self.session.get(Organisation, user.organisation_id)
        assert organisation is not None  # noqa: S101  # a foreign key guarantees it
        return organisation


class InvitationRepository(RepositoryBase[Invitation]):
    model = Invitation

    def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        return self.session.scalars(
            select(Invitation).where(Invitation.token_hash == token_hash).with_for_update()
        ).first()

    def supersede_open(self, user_id: uuid.UUID, now: datetime) -> None:
        """Older links of this user stop working once a new one is issued."""
        self.session.execute(
            update(Invitation)
            .where(
                Invitation.user_id == user_id,
                Invitation.used_at.is_(None),
                Invitation.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )


class RecoveryCodeRepository(RepositoryBase[RecoveryCode]):
    model = RecoveryCode

    def replace(self, user_id: uuid.UUID, code_hashes: Sequence[str]) -> None:
        self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        self.session.add_all(
            RecoveryCode(user_id=user_id, code_hash=code_hash) for code_hash in code_hashes
        )
        self.session.flush()

    def use(self, user_id: uuid.UUID, code_hash: str) -> bool:
        """Marks an unused code of this user as used; False when there is none."""
        used = self.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=func.now())
            .returning(RecoveryCode.id)
        ).first()
        return used is not None

    def unused_count(self, user_id: uuid.UUID) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            )
            or 0
        )


@dataclass(frozen=True)
class LiveSession:
    """What a request needs of a signed-in session, its user and their organisation."""

    session_id: uuid.UUID
    last_seen_at: datetime
    user_id: uuid.UUID
    role: str
    organisation_id: uuid.UUID
    organisation_slug: str
    organisation_kind: str
    jurisdiction_codes: list[str]


class WebSessionRepository(RepositoryBase[WebSession]):
    model = WebSession

    def find_live(
        self, token_hash: str, *, stage: str, idle: timedelta
    ) -> tuple[WebSession, User] | None:
        row = self.session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.stage == stage,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > _now(),
                WebSession.last_seen_at > _now() - idle,
                User.deactivated_at.is_(None),
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def find_live_principal(self, token_hash: str, *, idle: timedelta) -> LiveSession | None:
        """One query per request, columns only, as for API keys."""
        row = self.session.execute(
            select(
                WebSession.id,
                WebSession.last_seen_at,
                User.id,
                User.role,
                Organisation.id,
                Organisation.slug,
                Organisation.kind,
                Organisation.jurisdiction_codes,
            )
            .join(User, User.id == WebSession.user_id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.stage == "active",
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > _now(),
                WebSession.last_seen_at > _now() - idle,
                User.deactivated_at.is_(None),
            )
        ).first()
        return None if row is None else LiveSession(*row)

    def touch(self, session_id: uuid.UUID) -> None:
        """Moves the idle clock on, without waiting for a concurrent request doing the same."""
        locked = (
            select(WebSession.id)
            .where(WebSession.id == session_id)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        self.session.execute(
            update(WebSession).where(WebSession.id == locked).values(last_seen_at=_now()),
            execution_options={"synchronize_session": False},
        )

    def revoke(self, session_id: uuid.UUID) -> None:
        self.session.execute(
            update(WebSession)
            .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    def revoke_all_of(self, user_id: uuid.UUID) -> int:
        result = self.session.execute(
            update(WebSession)
            .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(WebSession.id)
        )
        return len(result.all())


class AccountEventRepository(RepositoryBase[AccountEvent]):
    model = AccountEvent

    def list(
        self,
        *,
        organisation_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        kinds: Sequence[str],
        before_id: int | None,
        limit: int,
    ) -> Sequence[AccountEvent]:
        statement = select(AccountEvent).order_by(AccountEvent.id.desc()).limit(limit)
        if organisation_id is not None:
            statement = statement.where(AccountEvent.organisation_id == organisation_id)
        if user_id is not None:
            statement = statement.where(AccountEvent.user_id == user_id)
        if kinds:
            statement = statement.where(AccountEvent.kind.in_(kinds))
        if before_id is not None:
            statement = statement.where(AccountEvent.id < before_id)
        return self.session.scalars(statement).all()


class SignInThrottleRepository(RepositoryBase[SignInThrottle]):
    model = SignInThrottle

    def get_by_address(self, client_address: str) -> SignInThrottle | None:
        return self.session.get(SignInThrottle, client_address)

    def record_failure(
        self, client_address: str, *, now: datetime, window: timedelta
    ) -> SignInThrottle:
        """Counts one more failure from this address; a count older than the window restarts."""
        row = SignInThrottle
        inserted = insert(row).values(client_address=client_address, failures=1, last_failed_at=now)
        statement = inserted.on_conflict_do_update(
            index_elements=[row.client_address],
            set_={
                "failures": case(
                    (row.last_failed_at < now - window, 1),
                    else_=row.failures + 1,
                ),
                "last_failed_at": now,
            },
        ).returning(row.failures, row.last_failed_at)
        failures, last_failed_at = self.session.execute(statement).one()
        return SignInThrottle(
            client_address=client_address, failures=failures, last_failed_at=last_failed_at
        )
