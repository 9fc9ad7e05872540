"""Every ORM model, re-exported so Alembic sees one ``target_metadata``."""

from housing_match.models.account_event import AccountEvent
from housing_match.models.api_key import ApiKey
from housing_match.models.base import Base
from housing_match.models.dwelling import Dwelling
from housing_match.models.dwelling_manager import DwellingManager
from housing_match.models.history import HistoryEntry
from housing_match.models.invitation import Invitation
from housing_match.models.match_listing import MatchListing
from housing_match.models.match_query import MatchQuery
from housing_match.models.organisation import (
    ORGANISATION_KIND_LABELS_JA,
    Organisation,
    OrganisationKind,
)
from housing_match.models.outbox_event import OutboxEvent
from housing_match.models.person import Person
from housing_match.models.person_place import PersonPlace
from housing_match.models.person_read_log import PersonReadLogEntry
from housing_match.models.rate_limit_counter import RateLimitCounter
from housing_match.models.recovery_code import RecoveryCode
from housing_match.models.referral import Referral
from housing_match.models.referral_event import ReferralEvent
from housing_match.models.rent_comparable import (
    RentComparable,
    RentComparablesDirty,
    RentComparablesState,
)
from housing_match.models.sign_in_throttle import SignInThrottle
from housing_match.models.standards_profile import StandardsProfile
from housing_match.models.support_plan_entry import COVERER_KINDS, SupportPlanEntry
from housing_match.models.user import USER_ROLE_LABELS_JA, User, UserRole
from housing_match.models.vacancy import Vacancy
from housing_match.models.web_session import WebSession
from housing_match.models.webhook_delivery import WebhookDelivery
from housing_match.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "COVERER_KINDS",
    "ORGANISATION_KIND_LABELS_JA",
    "USER_ROLE_LABELS_JA",
    "AccountEvent",
    "ApiKey",
    "Base",
    "Dwelling",
    "DwellingManager",
    "HistoryEntry",
    "Invitation",
    "MatchListing",
    "MatchQuery",
    "Organisation",
    "OrganisationKind",
    "OutboxEvent",
    "Person",
    "PersonPlace",
    "PersonReadLogEntry",
    "RateLimitCounter",
    "RecoveryCode",
    "Referral",
    "ReferralEvent",
    "RentComparable",
    "RentComparablesDirty",
    "RentComparablesState",
    "SignInThrottle",
    "StandardsProfile",
    "SupportPlanEntry",
    "User",
    "UserRole",
    "Vacancy",
    "WebSession",
    "WebhookDelivery",
    "WebhookEndpoint",
]
