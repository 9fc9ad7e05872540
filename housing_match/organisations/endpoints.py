from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from housing_match.accounts.service import managed_organisation, require_manager
from housing_match.auth import AdminPrincipal, AuthenticatedPrincipal
from housing_match.db import SessionDep
from housing_match.errors import problem_responses
from housing_match.models import ORGANISATION_KIND_LABELS_JA, Organisation, OrganisationKind
from housing_match.organisations import service
from housing_match.organisations.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
)

router = APIRouter(tags=["organisations"])


def read_model(organisation: Organisation) -> OrganisationRead:
    kind = OrganisationKind(organisation.kind)
    return OrganisationRead(
        id=organisation.id,
        kind=kind,
        kind_label_ja=ORGANISATION_KIND_LABELS_JA[kind],
        slug=organisation.slug,
        name=organisation.name,
        jurisdiction_codes=list(organisation.jurisdiction_codes),
        created_at=organisation.created_at,
        totp_required=organisation.totp_required,
    )


@router.post(
    "/v1/organisations",
    response_model=OrganisationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an organisation (admins)",
    responses=problem_responses(401, 403, 409, 422),
)
def create_organisation(
    session: SessionDep, admin: AdminPrincipal, body: OrganisationCreate
) -> OrganisationRead:
    return read_model(service.create_organisation(session, admin.actor, body))


@router.get(
    "/v1/organisations",
    response_model=list[OrganisationRead],
    summary="List organisations (admins)",
    responses=problem_responses(401, 403),
)
def list_organisations(
    session: SessionDep, _admin: AdminPrincipal, kind: OrganisationKind | None = None
) -> list[OrganisationRead]:
    found = service.list_organisations(session, kind=None if kind is None else kind.value)
    return [read_model(organisation) for organisation in found]


@router.get(
    "/v1/organisations/me",
    response_model=OrganisationRead,
    summary="The caller's own organisation",
    responses=problem_responses(401),
)
def read_own_organisation(
    session: SessionDep, principal: AuthenticatedPrincipal
) -> OrganisationRead:
    return read_model(
        service.get_visible_organisation(session, principal, principal.organisation_id)
    )


@router.get(
    "/v1/organisations/{organisation_id}",
    response_model=OrganisationRead,
    summary="Read an organisation (own, or any for admins)",
    responses=problem_responses(401, 404),
)
def read_organisation(
    session: SessionDep, principal: AuthenticatedPrincipal, organisation_id: uuid.UUID
) -> OrganisationRead:
    return read_model(service.get_visible_organisation(session, principal, organisation_id))


@router.patch(
    "/v1/organisations/{organisation_id}",
    response_model=OrganisationRead,
    summary="Change an organisation's settings (admins): whether its users need TOTP",
    responses=problem_responses(401, 403, 404, 409),
)
def update_organisation(
    session: SessionDep, admin: AdminPrincipal, organisation_id: uuid.UUID, body: OrganisationUpdate
) -> OrganisationRead:
    organisation = service.get_visible_organisation(session, admin, organisation_id)
    if body.totp_required is not None:
        service.set_totp_required(session, admin.actor, organisation, body.totp_required)
    return read_model(organisation)


# API keys are for systems; people who manage them sign in. A key never mints, lists or revokes
# keys, so a leaked key cannot make itself another one or hide what exists.


@router.get(
    "/v1/organisations/{organisation_id}/api-keys",
    response_model=list[ApiKeyRead],
    summary="List an organisation's API keys, never the secrets (its managers)",
    responses=problem_responses(401, 403, 404),
)
def list_api_keys(
    session: SessionDep, principal: AuthenticatedPrincipal, organisation_id: uuid.UUID
) -> list[ApiKeyRead]:
    organisation = managed_organisation(session, principal, organisation_id)
    return [ApiKeyRead.model_validate(key) for key in service.list_api_keys(session, organisation)]


@router.post(
    "/v1/organisations/{organisation_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; the secret is in this response only (its managers)",
    responses=problem_responses(401, 403, 404, 422),
)
def create_api_key(
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    organisation_id: uuid.UUID,
    body: ApiKeyCreate,
) -> ApiKeyCreated:
    organisation = managed_organisation(session, principal, organisation_id)
    api_key, secret = service.create_api_key(
        session, principal.actor, organisation, label=body.label, expires_at=body.expires_at
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=secret)


@router.delete(
    "/v1/api-keys/{key_id}",
    response_model=ApiKeyRead,
    summary="Revoke an API key (its organisation's managers); 409 if already revoked",
    responses=problem_responses(401, 403, 404, 409),
)
def revoke_api_key(
    session: SessionDep, principal: AuthenticatedPrincipal, key_id: uuid.UUID
) -> ApiKeyRead:
    require_manager(principal)
    api_key = service.find_api_key(session, principal, key_id)
    return ApiKeyRead.model_validate(service.revoke_api_key(session, principal.actor, api_key))
