from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal, generate_api_key, hash_api_key
from housing_match.errors import Conflict, ResourceNotFound, UnprocessableEntity
from housing_match.history.service import record_change, snapshot
from housing_match.models import ApiKey, Organisation, OrganisationKind
from housing_match.organisations.repository import ApiKeyRepository, OrganisationRepository
from housing_match.organisations.schemas import TOTP_ALWAYS_REQUIRED, OrganisationCreate


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
            totp_required=data.totp_required,
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


def set_totp_required(
    session: Session, actor: Actor, organisation: Organisation, required: bool
) -> Organisation:
    if not required and OrganisationKind(organisation.kind) in TOTP_ALWAYS_REQUIRED:
        raise Conflict("Centers and admins always require TOTP.")
    if organisation.totp_required == required:
        return organisation
    before = snapshot(organisation)
    organisation.totp_required = required
    session.flush()
    record_change(
        session,
        actor,
        action="organisation.totp_required_changed",
        entity_type="organisation",
        entity_id=organisation.id,
        before=before,
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
    session: Session,
    actor: Actor,
    organisation: Organisation,
    *,
    label: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret, which exists only in this return value.

    Who may call this is the caller's check: a manager of the organisation (see
    ``accounts.service.managed_organisation``) or the operator's CLI."""
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise UnprocessableEntity("expires_at must be in the future.")
    secret = generate_api_key()
    api_key = ApiKeyRepository(session).add(
        ApiKey(
            organisation_id=organisation.id,
            prefix=secret[:12],
            key_hash=hash_api_key(secret),
            label=label,
            expires_at=expires_at,
            created_by_user_id=actor.user_id,
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


def find_api_key(session: Session, principal: Principal | None, key_id: uuid.UUID) -> ApiKey:
    """The key, if the caller may see it (the CLI, ``principal=None``, sees every key)."""
    api_key = ApiKeyRepository(session).get(key_id)
    if api_key is None or (
        principal is not None
        and not principal.is_admin
        and api_key.organisation_id != principal.organisation_id
    ):
        raise ResourceNotFound("No such API key.")
    return api_key


def revoke_api_key(session: Session, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoking twice is a conflict, not a silent success: the caller learns the key was
    already out of use (and since when), rather than believing it just stopped one."""
    if api_key.revoked_at is not None:
        raise Conflict(
            f"This API key was already revoked at {api_key.revoked_at.isoformat()}.",
            revoked_at=api_key.revoked_at.isoformat(),
        )
    before = snapshot(api_key)
    api_key.revoked_at = datetime.now(UTC)
    session.flush()
    record_change(
        session,
        actor,
        action="api_key.revoked",
        entity_type="api_key",
        entity_id=api_key.id,
        before=before,
        after=snapshot(api_key),
    )
    return api_key
