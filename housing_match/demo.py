"""Demo data for a first look at the API right after ``make run``."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from housing_match.auth import CLI_ACTOR
from housing_match.models import OrganisationKind
from housing_match.organisations.repository import OrganisationRepository
from housing_match.organisations.schemas import OrganisationCreate
from housing_match.organisations.service import create_api_key, create_organisation

DEMO_ORGANISATIONS = (
    OrganisationCreate(kind=OrganisationKind.ADMIN, slug="demo-admin", name="housing-match 運営"),
    OrganisationCreate(
        kind=OrganisationKind.CENTER,
        slug="demo-osaka-center",
        name="大阪府地域生活定着支援センター（デモ）",
    ),
    OrganisationCreate(
        kind=OrganisationKind.SUPPORT_CORPORATION,
        slug="demo-naniwa-support",
        name="居住支援法人なにわ住まいサポート（デモ）",
    ),
    OrganisationCreate(
        kind=OrganisationKind.MUNICIPALITY,
        slug="demo-osaka-city",
        name="大阪市都市整備局住宅部（デモ）",
        jurisdiction_codes=["271004"],
    ),
)


def load_demo(
    session: Session, progress: Callable[[str], None] = lambda _message: None
) -> list[tuple[str, str, str]]:
    """Idempotent: existing demo organisations are kept; each run issues fresh keys.

    Returns (slug, kind, key) for each demo organisation.
    """
    organisations = OrganisationRepository(session)
    keys: list[tuple[str, str, str]] = []
    for spec in DEMO_ORGANISATIONS:
        organisation = organisations.get_by_slug(spec.slug)
        if organisation is None:
            organisation = create_organisation(session, CLI_ACTOR, spec)
            progress(f"created {spec.kind.value} {spec.slug}")
        _, secret = create_api_key(session, CLI_ACTOR, organisation, label="demo")
        keys.append((organisation.slug, organisation.kind, secret))
    return keys
