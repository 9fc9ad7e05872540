"""Demo data for a first look at the API right after ``make run``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from housing_match.accounts.passwords import hash_password
from housing_match.accounts.repository import UserRepository
from housing_match.accounts.service import CLI_CLIENT, invite_user
from housing_match.auth import CLI_ACTOR
from housing_match.models import Organisation, OrganisationKind, UserRole
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


@dataclass(frozen=True)
class DemoUser:
    slug: str
    email: str
    password: str


def demo_email(slug: str) -> str:
    return f"manager@{slug}.example"  # .example: a domain reserved for examples (RFC 2606)


def _demo_user(session: Session, organisation: Organisation) -> DemoUser:
    """The organisation's demo manager, with a fresh password and no TOTP: such a user signs
    in with the password alone only in the development environment."""
    email = demo_email(organisation.slug)
    users = UserRepository(session)
    user = users.get_by_email(email)
    if user is None:
        name = f"デモ管理者（{organisation.name}）"
        user = invite_user(
            session, CLI_ACTOR, organisation, email=email, name=name, role=UserRole.MANAGER,
            client=CLI_CLIENT,
        ).user  # fmt: skip
    password = secrets.token_hex(8)  # 64 bits; hex, so it never reads as an API key (hm_…)
    user.password_hash = hash_password(password)
    user.activated_at = user.activated_at or datetime.now(UTC)
    user.deactivated_at = None
    user.locked_until = None
    user.failed_sign_ins = 0
    user.last_failed_sign_in_at = None
    session.flush()
    return DemoUser(slug=organisation.slug, email=email, password=password)


def load_demo(
    session: Session, progress: Callable[[str], None] = lambda _message: None
) -> tuple[list[tuple[str, str, str]], list[DemoUser]]:
    """Idempotent: existing demo organisations are kept; each run issues fresh keys and fresh
    passwords for the demo users.

    Returns (slug, kind, key) for each demo organisation, and its demo manager's sign-in.
    """
    organisations = OrganisationRepository(session)
    keys: list[tuple[str, str, str]] = []
    users: list[DemoUser] = []
    for spec in DEMO_ORGANISATIONS:
        organisation = organisations.get_by_slug(spec.slug)
        if organisation is None:
            organisation = create_organisation(session, CLI_ACTOR, spec)
            progress(f"created {spec.kind.value} {spec.slug}")
        _, secret = create_api_key(session, CLI_ACTOR, organisation, label="demo")
        keys.append((organisation.slug, organisation.kind, secret))
        users.append(_demo_user(session, organisation))
    return keys, users
