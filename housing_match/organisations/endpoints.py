from __future__ import annotations

import uuid

from fastapi import APIRouter, status

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
)

router = APIRouter(tags=["organisations"])


def _read(organisation: Organisation) -> OrganisationRead:
    kind = OrganisationKind(organisation.kind)
    return OrganisationRead(
        id=organisation.id,
        kind=kind,
        kind_label_ja=ORGANISATION_KIND_LABELS_JA[kind],
        slug=organisation.slug,
        name=organisation.name,
        jurisdiction_codes=list(organisation.jurisdiction_codes),
        created_at=organisation.created_at,
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
    return _read(service.create_organisation(session, admin.actor, body))


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
    return [_read(organisation) for organisation in found]


@router.get(
    "/v1/organisations/me",
    response_model=OrganisationRead,
    summary="The caller's own organisation",
    responses=problem_responses(401),
)
def read_own_organisation(
    session: SessionDep, principal: AuthenticatedPrincipal
) -> OrganisationRead:
    return _read(service.get_visible_organisation(session, principal, principal.organisation_id))


@router.get(
    "/v1/organisations/{organisation_id}",
    response_model=OrganisationRead,
    summary="Read an organisation (own, or any for admins)",
    responses=problem_responses(401, 404),
)
def read_organisation(
    session: SessionDep, principal: AuthenticatedPrincipal, organisation_id: uuid.UUID
) -> OrganisationRead:
    return _read(service.get_visible_organisation(session, principal, organisation_id))


@router.get(
    "/v1/organisations/{organisation_id}/api-keys",
    response_model=list[ApiKeyRead],
    summary="List an organisation's API keys (never the secrets)",
    responses=problem_responses(401, 404),
)
def list_api_keys(
    session: SessionDep, principal: AuthenticatedPrincipal, organisation_id: uuid.UUID
) -> list[ApiKeyRead]:
    organisation = service.get_visible_organisation(session, principal, organisation_id)
    return [ApiKeyRead.model_validate(key) for key in service.list_api_keys(session, organisation)]


@router.post(
    "/v1/organisations/{organisation_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; the secret is in this response only",
    responses=problem_responses(401, 404, 422),
)
def create_api_key(
    session: SessionDep,
    principal: AuthenticatedPrincipal,
    organisation_id: uuid.UUID,
    body: ApiKeyCreate,
) -> ApiKeyCreated:
    organisation = service.get_visible_organisation(session, principal, organisation_id)
    api_key, secret = service.create_api_key(
        session, principal.actor, organisation, label=body.label
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=secret)


@router.delete(
    "/v1/api-keys/{key_id}",
    response_model=ApiKeyRead,
    summary="Revoke an API key",
    responses=problem_responses(401, 404),
)
def revoke_api_key(
    session: SessionDep, principal: AuthenticatedPrincipal, key_id: uuid.UUID
) -> ApiKeyRead:
    return ApiKeyRead.model_validate(service.revoke_api_key(session, principal, key_id))
