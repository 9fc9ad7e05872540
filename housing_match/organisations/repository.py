from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from housing_match.models import ApiKey, Organisation
from housing_match.repository import RepositoryBase


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


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey

    def find_active_credential(self, key_hash: str) -> ActiveCredential | None:
        """The active key with this hash and what a request needs of its organisation: the
        columns only, as every request asks this once and needs no ORM objects of it."""
        row = self.session.execute(
            select(
                ApiKey.id,
                Organisation.id,
                Organisation.slug,
                Organisation.kind,
                Organisation.jurisdiction_codes,
            )
            .join(Organisation, Organisation.id == ApiKey.organisation_id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        ).first()
        return None if row is None else ActiveCredential(*row)

    def list_for_organisation(self, organisation_id: uuid.UUID) -> Sequence[ApiKey]:
        return self.session.scalars(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        ).all()
