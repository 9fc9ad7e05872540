"""Every ORM model, re-exported so Alembic sees one ``target_metadata``."""

from housing_match.models.api_key import ApiKey
from housing_match.models.base import Base
from housing_match.models.dwelling import Dwelling
from housing_match.models.history import HistoryEntry
from housing_match.models.organisation import (
    ORGANISATION_KIND_LABELS_JA,
    Organisation,
    OrganisationKind,
)
from housing_match.models.standards_profile import StandardsProfile
from housing_match.models.vacancy import Vacancy

__all__ = [
    "ORGANISATION_KIND_LABELS_JA",
    "ApiKey",
    "Base",
    "Dwelling",
    "HistoryEntry",
    "Organisation",
    "OrganisationKind",
    "StandardsProfile",
    "Vacancy",
]
