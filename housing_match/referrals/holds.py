"""What the vacancies service asks before a corporation changes a vacancy's status by hand.

Kept apart from ``service.py`` so that the vacancies service can import it without a cycle.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from housing_match.errors import Conflict
from housing_match.referrals.mapping import hold_active
from housing_match.referrals.repository import ReferralRepository


def refuse_if_held_by_referral(session: Session, vacancy_id: uuid.UUID) -> None:
    """409 while a referral's hold lasts: the referral is answered instead (accept, decline,
    contract), so the vacancy, the hold and the matcher never disagree. The caller holds the
    vacancy's row lock, under which every hold is taken or released."""
    repository = ReferralRepository(session)
    holder = repository.holder_of(vacancy_id)
    if holder is None or not hold_active(holder, repository.database_now()):
        return
    expires = holder.hold_expires_at
    raise Conflict(
        "A referral holds this vacancy"
        + ("" if expires is None else f" until {expires.isoformat()}")
        + "; answer the referral (accept, decline or contract) instead of changing the status.",
        referral_id=str(holder.id),
        hold_expires_at=None if expires is None else expires.isoformat(),
    )
