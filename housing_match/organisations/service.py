from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal, generate_api_key, hash_api_key
from housing_match.errors import Conflict, ResourceNotFound
from housing_match.history.service import record_change, snapshot
from housing_match.models import ApiKey, Organisation
from housing_match.organisations.repository import ApiKeyRepository, OrganisationRepository
from housing_match.organisations.schemas import OrganisationCreate


def create_organisation(session: Session, actor: Actor, data: OrganisationCreate) -> Organisation:
    repository = OrganisationRepository(session)
    if repository.get_by_slug(data.slug) is not None:
        raise Conflict(f"An organisation with slug {data.slug!r} already exists.")
    organisation = repository.add(
        Organisation(
            kind=data.kind.value,
            slug=data.slug,
            name=data.name,
            jurisdiction_codes=list(data.jurisdiction_codes),
        )
    )
    record_change(
        session,
        actor,
        action="organisation.created",
        entity_type="organisation",
        entity_id=organisation.id,
        before=None,
        after=snapshot(organisation),
    )
    return organisation


def list_organisations(session: Session, *, kind: str | None = None) -> Sequence[Organisation]:
    return OrganisationRepository(session).list(kind=kind)


def get_visible_organisation(
    session: Session, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """Admins see every organisation; the others only their own (404 otherwise)."""
    if not principal.is_admin and organisation_id != principal.organisation_id:
        raise ResourceNotFound("No such organisation.")
    organisation = OrganisationRepository(session).get(organisation_id)
    if organisation is None:
        raise ResourceNotFound("No such organisation.")
    return organisation


def get_organisation_by_slug(session: Session, slug: str) -> Organisation:
    organisation = OrganisationRepository(session).get_by_slug(slug)
    if organisation is None:
        raise ResourceNotFound(f"No organisation with slug {slug!r}.")
    return organisation


def create_api_key(
    session: Session, actor: Actor, organisation: Organisation, *, label: str = ""
) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret, which exists only in this return value."""
    secret = generate_api_key()
    api_key = ApiKeyRepository(session).add(
        ApiKey(
            organisation_id=organisation.id,
            prefix=secret[:12],
            key_hash=hash_api_key(secret),
            label=label,
        )
    )
    record_change(
        session,
        actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=api_key.id,
        before=None,
        after=snapshot(api_key),
    )
    return api_key, secret


def list_api_keys(session: Session, organisation: Organisation) -> Sequence[ApiKey]:
    return ApiKeyRepository(session).list_for_organisation(organisation.id)


def revoke_api_key(session: Session, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    api_key = ApiKeyRepository(session).get(key_id)
    if api_key is None or (
        not principal.is_admin and api_key.organisation_id != principal.organisation_id
    ):
        raise ResourceNotFound("No such API key.")
    if api_key.revoked_at is not None:
        return api_key
    before = snapshot(api_key)
    api_key.revoked_at = datetime.now(UTC)
    session.flush()
    record_change(
        session,
        principal.actor,
        action="api_key.revoked",
        entity_type="api_key",
        entity_id=api_key.id,
        before=before,
        after=snapshot(api_key),
    )
    return api_key
