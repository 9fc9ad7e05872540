from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, bindparam, or_, select, true, update

from housing_match.models import ApiKey, Organisation
from housing_match.repository import RepositoryBase
from housing_match.throttling.repository import REACHED_LIMITS_WAIT, reached_limits_parameters


class OrganisationRepository(RepositoryBase[Organisation]):
    model = Organisation

    def get_by_slug(self, slug: str) -> Organisation | None:
        return self.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()

    def list(self, *, kind: str | None = None) -> Sequence[Organisation]:
        statement = select(Organisation).order_by(Organisation.slug)
        if kind is not None:
            statement = statement.where(Organisation.kind == kind)
        return self.session.scalars(statement).all()


@dataclass(frozen=True)
class ActiveCredential:
    api_key_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_slug: str
    organisation_kind: str
    jurisdiction_codes: list[str]
    last_used_at: datetime | None


@dataclass(frozen=True)
class CredentialLookup:
    """A key's lookup: the active credential, if any, and how long until the failure limits
    reached by the request's buckets let it through (None while none is reached)."""

    credential: ActiveCredential | None
    throttled_seconds: float | None = None


# The last-used time is kept to this precision, so a busy key costs one write per interval.
LAST_USED_PRECISION = timedelta(minutes=1)


# Built once and run on the connection, past the ORM (it reads columns, not objects): every
# request authenticates, and building the statement and its cache key each time cost about
# as much as running it.
_ACTIVE_CREDENTIAL = (
    select(
        ApiKey.id,
        Organisation.id,
        Organisation.slug,
        Organisation.kind,
        Organisation.jurisdiction_codes,
        ApiKey.last_used_at,
    )
    .join(Organisation, Organisation.id == ApiKey.organisation_id)
    .where(
        ApiKey.key_hash == bindparam("key_hash", type_=String()),
        ApiKey.revoked_at.is_(None),
        or_(
            ApiKey.expires_at.is_(None),
            ApiKey.expires_at > bindparam("now", type_=DateTime(timezone=True)),
        ),
    )
)


# With the failed-authentication throttle's read folded in, so that a request makes one round
# trip for both: the throttle's one row, and the credential's columns beside it (NULLs when no
# active key has the hash). Without failure limits, the statement above reads no counters.
_CREDENTIAL = _ACTIVE_CREDENTIAL.subquery("credential")
_THROTTLED_ACTIVE_CREDENTIAL = select(REACHED_LIMITS_WAIT.c.seconds, *_CREDENTIAL.c).select_from(
    REACHED_LIMITS_WAIT.outerjoin(_CREDENTIAL, true())
)


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey

    def find_active_credential(
        self, key_hash: str, *, failure_limits: Mapping[str, int] | None = None
    ) -> CredentialLookup:
        """The active key with this hash and what a request needs of its organisation: the
        columns only, as every request asks this once and needs no ORM objects of it. With
        ``failure_limits`` (buckets of failed authentications and their limits), the same
        statement reads how long those that have reached their limits hold the request off."""
        # The clock of this request, not of its transaction's start (now()).
        parameters = {"key_hash": key_hash, "now": datetime.now(UTC)}
        connection = self.session.connection()
        if not failure_limits:
            row = connection.execute(_ACTIVE_CREDENTIAL, parameters).first()
            return CredentialLookup(None if row is None else ActiveCredential(*row))
        parameters |= reached_limits_parameters(failure_limits)
        seconds, *columns = connection.execute(_THROTTLED_ACTIVE_CREDENTIAL, parameters).one()
        return CredentialLookup(
            credential=None if columns[0] is None else ActiveCredential(*columns),
            throttled_seconds=None if seconds is None else float(seconds),
        )

    def mark_used(self, credential: ActiveCredential) -> None:
        """Records the key's use when the stored time is older than the precision: no write at
        all on most requests, and never a wait: a request that finds the row locked by another
        one doing the same leaves it to that one."""
        now = datetime.now(UTC)
        if credential.last_used_at is not None and (
            now - credential.last_used_at < LAST_USED_PRECISION
        ):
            return
        locked = (
            select(ApiKey.id)
            .where(ApiKey.id == credential.api_key_id)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        self.session.execute(
            update(ApiKey).where(ApiKey.id == locked).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )

    def list_for_organisation(self, organisation_id: uuid.UUID) -> Sequence[ApiKey]:
        return self.session.scalars(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        ).all()
