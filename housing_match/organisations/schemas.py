from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from housing_match.jurisdiction import jurisdiction_code_error
from housing_match.models import OrganisationKind


def _valid_jurisdiction_code(code: str) -> str:
    error = jurisdiction_code_error(code)
    if error is not None:
        raise ValueError(error)
    return code


JurisdictionCode = Annotated[
    str,
    StringConstraints(pattern=r"^(\d{2}|\d{6})$"),
    AfterValidator(_valid_jurisdiction_code),
]
# Centers hold people's profiles and admins manage everything: their users need two factors.
TOTP_ALWAYS_REQUIRED = frozenset({OrganisationKind.CENTER, OrganisationKind.ADMIN})

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class OrganisationCreate(BaseModel):
    kind: OrganisationKind
    slug: Slug = Field(description="Short stable identifier: lower-case letters, digits, '-'.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    jurisdiction_codes: list[JurisdictionCode] = Field(
        default_factory=list,
        description=(
            "Municipalities only: 2-digit prefecture codes and/or 6-digit local government "
            "codes (全国地方公共団体コード) the organisation governs."
        ),
    )
    totp_required: bool = Field(
        default=True,
        description=(
            "Whether its users must give a TOTP code as well as their password; always true "
            "for centers and admins."
        ),
    )

    @model_validator(mode="after")
    def _jurisdiction_matches_kind(self) -> OrganisationCreate:
        if not self.totp_required and self.kind in TOTP_ALWAYS_REQUIRED:
            raise ValueError("centers and admins always require TOTP")
        if self.kind is OrganisationKind.MUNICIPALITY and not self.jurisdiction_codes:
            raise ValueError("a municipality needs at least one jurisdiction code")
        if self.kind is not OrganisationKind.MUNICIPALITY and self.jurisdiction_codes:
            raise ValueError("only a municipality has a jurisdiction")
        self.jurisdiction_codes = sorted(set(self.jurisdiction_codes))
        return self


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: OrganisationKind
    kind_label_ja: str
    slug: str
    name: str
    jurisdiction_codes: list[str]
    created_at: datetime
    totp_required: bool = Field(
        description="Whether its users must give a TOTP code as well as their password."
    )


class OrganisationUpdate(BaseModel):
    totp_required: bool | None = Field(
        default=None, description="Centers and admins always require TOTP (409 otherwise)."
    )


class ApiKeyCreate(BaseModel):
    label: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    expires_at: AwareDatetime | None = Field(
        default=None, description="Refused from this moment on; omit for a key kept until revoked."
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When the key last authenticated a request, to the minute; null if never."
    )


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: it is stored only as a hash.")
