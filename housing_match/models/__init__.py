"""Every ORM model, re-exported so Alembic sees one ``target_metadata``."""

from housing_match.models.api_key import ApiKey
from housing_match.models.base import Base
from housing_match.models.history import HistoryEntry
from housing_match.models.organisation import (
    ORGANISATION_KIND_LABELS_JA,
    Organisation,
    OrganisationKind,
)

__all__ = [
    "ORGANISATION_KIND_LABELS_JA",
    "ApiKey",
    "Base",
    "HistoryEntry",
    "Organisation",
    "OrganisationKind",
]
