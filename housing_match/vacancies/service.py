"""Vacancies: posted, refreshed and closed by the corporation that posted them, and nobody else;
only by a corporation that manages the dwelling."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal
from housing_match.errors import BadRequest, Conflict, NotPermitted, ResourceNotFound
from housing_match.history.service import record_change, snapshot
from housing_match.jobs import JobReport, attempt
from housing_match.models import Dwelling, Vacancy
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.referrals.holds import refuse_if_held_by_referral
from housing_match.registry.repository import (
    DwellingFilters,
    DwellingManagerRepository,
    DwellingRepository,
    SearchAfter,
)
from housing_match.settings import get_settings
from housing_match.vacancies.repository import VacancyRepository
from housing_match.vacancies.schemas import VacancyCreate, VacancyStatus, VacancyUpdate

logger = logging.getLogger(__name__)
EXPIRY_BATCH = 1_000

# Which status a corporation may move its vacancy to, from which.
ALLOWED_TRANSITIONS: dict[VacancyStatus, frozenset[VacancyStatus]] = {
    VacancyStatus.OPEN: frozenset({VacancyStatus.HELD, VacancyStatus.LET, VacancyStatus.WITHDRAWN}),
    VacancyStatus.HELD: frozenset({VacancyStatus.OPEN, VacancyStatus.LET, VacancyStatus.WITHDRAWN}),
    VacancyStatus.LET: frozenset(),
    VacancyStatus.WITHDRAWN: frozenset(),
    VacancyStatus.EXPIRED: frozenset(),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _expiry_from(now: datetime) -> datetime:
    return now + timedelta(days=get_settings().vacancy_ttl_days)


def require_managing(
    session: Session, principal: Principal, dwelling_id: uuid.UUID, *, hold: bool = False
) -> None:
    """403 unless the caller manages the dwelling (with ``hold``, until the transaction
    ends). Not 404: the dwelling is in the public register, so refusing it as unknown would
    hide nothing and mislead the caller."""
    repository = DwellingManagerRepository(session)
    if not repository.manages(dwelling_id, principal.organisation_id, hold=hold):
        raise NotPermitted(
            "Only a support corporation that manages this dwelling may post, refresh, change "
            "or withdraw its vacancies; the registering municipality or a managing "
            "corporation can change who manages it.",
            dwelling_id=str(dwelling_id),
        )


def post_vacancy(session: Session, principal: Principal, data: VacancyCreate) -> Vacancy:
    dwelling = DwellingRepository(session).get(data.dwelling_id)
    if dwelling is None or dwelling.status not in ("registered", "deregistered"):
        raise ResourceNotFound("No such registered dwelling.")
    if dwelling.status != "registered":
        raise Conflict("Vacancies can be posted only on registered dwellings.")
    require_managing(session, principal, dwelling.id, hold=True)
    repository = VacancyRepository(session)
    # Reads already treat an overdue vacancy as expired; a new posting must not wait for the job.
    expire_vacancies(session, principal.actor, dwelling_id=dwelling.id)
    if repository.live_for_dwelling(dwelling.id):
        raise Conflict("This dwelling already has an open or held vacancy.")
    now = _now()
    vacancy = Vacancy(
        dwelling_id=dwelling.id,
        corporation_id=principal.organisation_id,
        status=VacancyStatus.OPEN.value,
        available_from=data.available_from,
        rent_offered_yen=data.rent_offered_yen,
        common_fee_offered_yen=data.common_fee_offered_yen,
        conditions=data.conditions,
        covered_risks=sorted(risk.risk_kind.value for risk in data.covered_risks),
        covered_whole_tenancy_risks=sorted(
            risk.risk_kind.value for risk in data.covered_risks if risk.whole_tenancy
        ),
        refreshed_at=now,
        expires_at=_expiry_from(now),
    )
    try:
        with session.begin_nested():
            repository.add(vacancy)
    except IntegrityError as exc:
        # Two corporations posting on one dwelling at once: the partial unique index decides.
        raise Conflict("This dwelling already has an open or held vacancy.") from exc
    record_change(
        session,
        principal.actor,
        action="vacancy.posted",
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=None,
        after=snapshot(vacancy),
    )
    return vacancy


def get_vacancy(session: Session, vacancy_id: uuid.UUID) -> tuple[Vacancy, Dwelling, str]:
    repository = VacancyRepository(session)
    vacancy = repository.get(vacancy_id)
    if vacancy is None:
        raise ResourceNotFound("No such vacancy.")
    dwelling = DwellingRepository(session).get(vacancy.dwelling_id)
    status = repository.effective_status_of(vacancy_id)
    # The foreign key guarantees the dwelling; the row was just read.
    assert dwelling is not None  # noqa: S101
    assert status is not None  # noqa: S101
    return vacancy, dwelling, status


def _own_vacancy_for_update(
    session: Session, principal: Principal, vacancy_id: uuid.UUID
) -> Vacancy:
    vacancy = VacancyRepository(session).get_for_update(vacancy_id)
    # Another corporation's vacancy is readable, but changing it looks like it does not exist.
    if vacancy is None or vacancy.corporation_id != principal.organisation_id:
        raise ResourceNotFound("No such vacancy of yours.")
    # A vacancy posted before managers were recorded, by a corporation that does not manage
    # the dwelling, is frozen: it expires, or a change of the managers withdraws it.
    require_managing(session, principal, vacancy.dwelling_id)
    return vacancy


def current_status(vacancy: Vacancy) -> VacancyStatus:
    if vacancy.status == VacancyStatus.OPEN.value and vacancy.expires_at <= _now():
        return VacancyStatus.EXPIRED
    return VacancyStatus(vacancy.status)


def refresh_vacancy(session: Session, principal: Principal, vacancy_id: uuid.UUID) -> Vacancy:
    vacancy = _own_vacancy_for_update(session, principal, vacancy_id)
    status = current_status(vacancy)
    if status not in (VacancyStatus.OPEN, VacancyStatus.HELD):
        raise Conflict(f"A vacancy that is {status.value} cannot be refreshed; post a new one.")
    before = snapshot(vacancy)
    now = _now()
    vacancy.refreshed_at = now
    vacancy.expires_at = _expiry_from(now)
    session.flush()
    record_change(
        session,
        principal.actor,
        action="vacancy.refreshed",
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=before,
        after=snapshot(vacancy),
    )
    return vacancy


def update_vacancy(
    session: Session, principal: Principal, vacancy_id: uuid.UUID, data: VacancyUpdate
) -> Vacancy:
    vacancy = _own_vacancy_for_update(session, principal, vacancy_id)
    current = current_status(vacancy)
    if current not in (VacancyStatus.OPEN, VacancyStatus.HELD):
        raise Conflict(f"The vacancy is {current.value}; it can no longer be changed.")
    before = snapshot(vacancy)
    if data.status is not None and data.status is not current:
        if data.status not in ALLOWED_TRANSITIONS[current]:
            raise Conflict(f"A vacancy cannot go from {current.value} to {data.status.value}.")
        refuse_if_held_by_referral(session, vacancy.id)
        vacancy.status = data.status.value
        if data.status in (VacancyStatus.LET, VacancyStatus.WITHDRAWN):
            vacancy.closed_reason = data.reason
    if data.available_from is not None:
        vacancy.available_from = data.available_from
    if data.rent_offered_yen is not None:
        vacancy.rent_offered_yen = data.rent_offered_yen
    if data.common_fee_offered_yen is not None:
        vacancy.common_fee_offered_yen = data.common_fee_offered_yen
    if data.conditions is not None:
        vacancy.conditions = data.conditions
    session.flush()
    record_change(
        session,
        principal.actor,
        action="vacancy.updated",
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=before,
        after=snapshot(vacancy),
    )
    return vacancy


def close_vacancies_of_dwelling(
    session: Session,
    actor: Actor,
    dwelling_id: uuid.UUID,
    *,
    reason: str,
    except_corporations: Collection[uuid.UUID] = (),
) -> None:
    """Withdraws the dwelling's live vacancies, but those posted by ``except_corporations``."""
    for vacancy in VacancyRepository(session).live_for_dwelling(dwelling_id):
        if vacancy.corporation_id in except_corporations:
            continue
        before = snapshot(vacancy)
        vacancy.status = VacancyStatus.WITHDRAWN.value
        vacancy.closed_reason = reason
        session.flush()
        record_change(
            session,
            actor,
            action="vacancy.withdrawn",
            entity_type="vacancy",
            entity_id=vacancy.id,
            before=before,
            after=snapshot(vacancy),
        )


def expire_vacancies(
    session: Session,
    actor: Actor,
    *,
    dwelling_id: uuid.UUID | None = None,
    ids: Collection[uuid.UUID] | None = None,
) -> int:
    expired = VacancyRepository(session).expire_due(dwelling_id=dwelling_id, ids=ids)
    for vacancy_id, _corporation_id in expired:
        record_change(
            session,
            actor,
            action="vacancy.expired",
            entity_type="vacancy",
            entity_id=vacancy_id,
            before={"status": "open"},
            after={"status": "expired"},
        )
    return len(expired)


def expire_overdue_vacancies(session: Session, actor: Actor) -> JobReport:
    """The ``vacancies expire`` job: a batch of overdue vacancies in one savepoint; when a
    batch fails, its vacancies one by one, so one corporation's bad row holds back no other's."""
    repository = VacancyRepository(session)
    report = JobReport()
    while True:
        ids = repository.overdue(limit=EXPIRY_BATCH, skip=report.failed)
        if not ids:
            return report
        try:
            with session.begin_nested():
                report.done += expire_vacancies(session, actor, ids=ids)
        except Exception:
            logger.warning("vacancies expire: a batch failed; expiring its vacancies one by one")
            for vacancy_id in ids:
                attempt(
                    session,
                    report,
                    "vacancies expire",
                    vacancy_id,
                    partial(_expire_one, session, actor, vacancy_id),
                )


def _expire_one(session: Session, actor: Actor, vacancy_id: uuid.UUID) -> bool:
    return expire_vacancies(session, actor, ids=[vacancy_id]) > 0


def search_vacancies(
    session: Session,
    filters: DwellingFilters,
    *,
    statuses: tuple[str, ...],
    corporation_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Vacancy, Dwelling, str, float | None]], str | None]:
    after: SearchAfter | None = None
    if cursor is not None:
        values = decode_cursor(cursor)
        try:
            identifier = str(uuid.UUID(str(values.get("id"))))
        except ValueError as exc:
            raise BadRequest(INVALID_CURSOR) from exc
        distance = values.get("d")
        if filters.near is not None:
            if not isinstance(distance, int | float):
                raise BadRequest(INVALID_CURSOR)
            after = SearchAfter(id=identifier, distance=float(distance))
        else:
            municipality, dwelling = values.get("m"), values.get("dw")
            try:
                dwelling_id = str(uuid.UUID(str(dwelling)))
            except ValueError as exc:
                raise BadRequest(INVALID_CURSOR) from exc
            if not isinstance(municipality, str):
                raise BadRequest(INVALID_CURSOR)
            after = SearchAfter(
                id=identifier, municipality_code=municipality, dwelling_id=dwelling_id
            )
    rows = VacancyRepository(session).search(
        filters, statuses=statuses, corporation_id=corporation_id, after=after, limit=limit + 1
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            {
                "d": last[3],
                "m": last[1].municipality_code,
                "dw": str(last[1].id),
                "id": str(last[0].id),
            }
        )
    return rows, next_cursor
