"""Person profiles, matches and allocations: ownership, read logging, and the rules.

Only staff of the owning center see a person (another center gets 404), and every response
carrying a person's data is logged in ``person_reads`` in the same transaction. The history
records that a profile changed and which fields, never the values: it is readable by admins,
who have no business with person data.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.auth import Principal
from housing_match.errors import BadRequest, Conflict, ResourceNotFound, UnprocessableEntity
from housing_match.history.service import record_change
from housing_match.matching import explain
from housing_match.matching.allocation import greedy_assignment, optimal_assignment
from housing_match.matching.allowance import (
    CeilingBasis,
    UnknownMunicipality,
    housing_allowance_ceiling,
)
from housing_match.matching.mapping import (
    consent_values,
    ewkt,
    needs_values,
    new_person,
    person_read,
    place_rows,
    places_read,
    read_entry,
    support_plan_rows,
)
from housing_match.matching.repository import (
    AnchorCriterion,
    Depth,
    MatchCriteria,
    MatchLog,
    MatchOutcome,
    MatchRepository,
    PersonReadLogRepository,
    PersonRepository,
    RankedRow,
    ZoneCriterion,
)
from housing_match.matching.rules import (
    HARD_CONSTRAINT_LABELS_JA,
    NOT_RELAXABLE,
    Factor,
    HardConstraint,
)
from housing_match.matching.schemas import (
    AllocationObjective,
    AllocationRequest,
    AllocationResult,
    Assignment,
    Candidate,
    ExcludedHome,
    ExclusionCount,
    MatchExplanation,
    MatchRelaxation,
    MatchResult,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    ReadLogPage,
    Relaxation,
    RentCeiling,
    RentCeilingSource,
    SupportPlanItem,
    UnassignedPerson,
    UnassignedReason,
    VacancySummary,
)
from housing_match.matching.vocabulary import PlaceRole, today_jst
from housing_match.models import Person
from housing_match.organisations.repository import OrganisationRepository
from housing_match.pagination import INVALID_CURSOR, decode_cursor, encode_cursor
from housing_match.settings import get_settings
from housing_match.vacancies.schemas import VACANCY_STATUS_LABELS_JA, VacancyStatus


class ReadPurpose(StrEnum):
    """Why a person's data was read, as written to ``person_reads`` (labelled in
    ``vocabulary.READ_PURPOSES``)."""

    READ = "person.read"
    LIST = "person.list"
    UPDATE = "person.update"
    CREATE = "person.create"
    DELETE = "person.delete"
    MATCHES = "person.matches"
    EXPLAIN = "person.explain"
    READS = "person.reads"
    ALLOCATION = "allocation"


# --- profiles ------------------------------------------------------------------------------


def rent_ceiling_of(person: Person) -> RentCeiling:
    """The person's rent ceiling and where it comes from: the profile's own value, or the
    住宅扶助 table's row for the home municipality and household size. A home municipality
    code that is no longer current (a merger since the profile was written) gives no ceiling
    (``yen`` None), so the profile can still be read and corrected."""
    if person.rent_ceiling_yen is not None:
        return RentCeiling(
            yen=person.rent_ceiling_yen,
            source=RentCeilingSource.EXPLICIT,
            grade=None,
            municipal_value=False,
            label_ja="個別に設定した家賃上限",
        )
    try:
        allowance = housing_allowance_ceiling(person.home_municipality_code, person.household_size)
    except UnknownMunicipality:
        return RentCeiling(
            yen=None,
            source=RentCeilingSource.HOUSING_ALLOWANCE,
            grade=None,
            municipal_value=False,
            label_ja=(
                f"住宅扶助の上限を決められません（帰住予定地のコード{person.home_municipality_code}"
                "は現在の市区町村コードではありません。帰住予定地を直してください）"
            ),
        )
    municipality = allowance.municipality
    return RentCeiling(
        yen=allowance.yen,
        source=RentCeilingSource.HOUSING_ALLOWANCE,
        grade=municipality.grade,
        municipal_value=municipality.basis is CeilingBasis.CITY,
        ceiling_basis=municipality.basis,
        ceiling_row=municipality.row,
        household_column=allowance.size_label_ja,
        data_as_of=allowance.source_date,
        label_ja=(
            f"住宅扶助の上限（{municipality.name}・{municipality.grade}・"
            f"{allowance.size_label_ja}世帯：{municipality.row}の基準額）"
        ),
    )


def matching_rent_ceiling_yen(person: Person) -> int:
    """The ceiling a match applies; a person without one cannot be matched (422)."""
    ceiling = rent_ceiling_of(person)
    if ceiling.yen is None:
        raise UnprocessableEntity(
            f"Person {person.reference}: home_municipality_code {person.home_municipality_code} "
            "is not a current municipality code, so no 住宅扶助 ceiling applies; correct it "
            "(or set needs.rent_ceiling_yen) before matching."
        )
    return ceiling.yen


def read_model(person: Person) -> PersonRead:
    return person_read(person, rent_ceiling_of(person))


def _log_reads(
    session: Session,
    principal: Principal,
    person_ids: Sequence[uuid.UUID],
    purpose: ReadPurpose,
) -> None:
    PersonReadLogRepository(session).record(
        person_ids,
        organisation_id=principal.organisation_id,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        purpose=purpose.value,
    )


def _match_log(
    principal: Principal, person: Person, purpose: ReadPurpose, *, relaxed: bool
) -> MatchLog:
    return MatchLog(
        person_id=person.id,
        center_id=principal.organisation_id,
        api_key_id=principal.api_key_id,
        user_id=principal.user_id,
        purpose=purpose.value,
        municipality_code=person.home_municipality_code,
        relaxed=relaxed,
    )


NO_SUCH_PERSON = "No such person of your center."


def refused(
    principal: Principal,
    person_id: uuid.UUID,
    purpose: str,
    error: ResourceNotFound | None = None,
) -> ResourceNotFound:
    """The 404 for another organisation's attempt on a person: it looks like no person at
    all, and the attempt is kept in the person's read log for the owning center, although
    the request is rolled back."""
    error = error or ResourceNotFound(NO_SUCH_PERSON)

    def record(session: Session) -> None:
        PersonReadLogRepository(session).record(
            [person_id],
            organisation_id=principal.organisation_id,
            api_key_id=principal.api_key_id,
            user_id=principal.user_id,
            purpose=purpose,
            refused=True,
        )

    error.kept_writes.append(record)
    return error


def check_owner(principal: Principal, person: Person | None, purpose: str) -> Person:
    """The person, if the principal's center owns it; otherwise 404, and an existing
    person's log records the refused attempt."""
    if person is None:
        raise ResourceNotFound(NO_SUCH_PERSON)
    if person.center_id != principal.organisation_id:
        raise refused(principal, person.id, purpose)
    return person


def own_person(
    session: Session, principal: Principal, person_id: uuid.UUID, purpose: str
) -> Person:
    return check_owner(principal, PersonRepository(session).get_with_details(person_id), purpose)


def _check_coverers(session: Session, plan: Sequence[SupportPlanItem]) -> None:
    organisations = OrganisationRepository(session)
    for item in plan:
        if (
            item.coverer_organisation_id is not None
            and organisations.get(item.coverer_organisation_id) is None
        ):
            raise UnprocessableEntity(
                f"coverer_organisation_id {item.coverer_organisation_id} names no organisation."
            )


def _record(
    session: Session, principal: Principal, person: Person, action: str, fields: Sequence[str]
) -> None:
    record_change(
        session,
        principal.actor,
        action=action,
        entity_type="person",
        entity_id=person.id,
        before=None,
        after={"center_id": str(person.center_id), "fields": sorted(fields)},
    )


def create_person(session: Session, principal: Principal, data: PersonCreate) -> Person:
    repository = PersonRepository(session)
    if repository.get_by_reference(principal.organisation_id, data.reference) is not None:
        raise Conflict(f"Your center already has a person with reference {data.reference!r}.")
    _check_coverers(session, data.support_plan)
    person = new_person(data, center_id=principal.organisation_id)
    try:
        with session.begin_nested():
            repository.add(person)
    except IntegrityError as exc:
        raise Conflict(
            f"Your center already has a person with reference {data.reference!r}."
        ) from exc
    _record(session, principal, person, "person.created", sorted(PersonCreate.model_fields))
    _log_reads(session, principal, [person.id], ReadPurpose.CREATE)
    return person


def get_person(session: Session, principal: Principal, person_id: uuid.UUID) -> Person:
    person = own_person(session, principal, person_id, ReadPurpose.READ)
    _log_reads(session, principal, [person.id], ReadPurpose.READ)
    return person


def list_persons(
    session: Session, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[Person], str | None]:
    after: uuid.UUID | None = None
    if cursor is not None:
        try:
            after = uuid.UUID(str(decode_cursor(cursor).get("id")))
        except ValueError as exc:
            raise BadRequest(INVALID_CURSOR) from exc
    persons = list(
        PersonRepository(session).list_for_center(
            principal.organisation_id, after=after, limit=limit + 1
        )
    )
    next_cursor = None
    if len(persons) > limit:
        persons = persons[:limit]
        next_cursor = encode_cursor({"id": str(persons[-1].id)})
    _log_reads(session, principal, [person.id for person in persons], ReadPurpose.LIST)
    return persons, next_cursor


def update_person(
    session: Session, principal: Principal, person_id: uuid.UUID, data: PersonUpdate
) -> Person:
    """The person changed as given; a change of consent also reaches the person's open
    referrals (``referrals.service.apply_consent``), whichever page or endpoint made it."""
    person = own_person(session, principal, person_id, ReadPurpose.UPDATE)
    changed = sorted(data.model_fields_set)
    if data.reference is not None and data.reference != person.reference:
        other = PersonRepository(session).get_by_reference(
            principal.organisation_id, data.reference
        )
        if other is not None:
            raise Conflict(f"Your center already has a person with reference {data.reference!r}.")
        person.reference = data.reference
    if data.home_municipality_code is not None:
        person.home_municipality_code = data.home_municipality_code
    if data.consent is not None:
        for key, value in consent_values(data.consent).items():
            setattr(person, key, value)
    if data.household_size is not None:
        person.household_size = data.household_size
    if data.categories is not None:
        person.categories = [category.value for category in data.categories]
    if data.needs is not None:
        for key, value in needs_values(data.needs).items():
            setattr(person, key, value)
    if data.places is not None:
        person.places = place_rows(data.places)
        person.preferred_municipality_codes = list(data.places.preferred_areas.municipality_codes)
    if data.support_plan is not None:
        _check_coverers(session, data.support_plan)
        person.support_plan = support_plan_rows(data.support_plan)
    # Replacing only places or the plan leaves the row itself unchanged: bump it anyway.
    person.updated_at = datetime.now(UTC)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("The change conflicts with another person of your center.") from exc
    _record(session, principal, person, "person.updated", changed)
    _log_reads(session, principal, [person.id], ReadPurpose.UPDATE)
    if data.consent is not None:
        # Imported here: referrals build on this package (their snapshot uses its criteria),
        # and this is the one call back into them.
        from housing_match.referrals.service import apply_consent

        apply_consent(session, principal, person)
    return person


def delete_person(session: Session, principal: Principal, person_id: uuid.UUID) -> None:
    person = own_person(session, principal, person_id, ReadPurpose.DELETE)
    _record(session, principal, person, "person.deleted", [])
    PersonRepository(session).delete(person)


# --- matching ------------------------------------------------------------------------------


def resolve_weights(overrides: dict[Factor, float] | None) -> dict[Factor, float]:
    configured = get_settings().match_weights
    weights = {factor: float(configured[factor.value]) for factor in Factor}
    if overrides:
        weights |= overrides
    return weights


def person_context(person: Person) -> explain.PersonContext:
    """What explanations need of a person: anchors, ceiling, the plan in force at move-in."""
    coverage_date = person.move_in_date or today_jst()
    return explain.PersonContext(
        person=person,
        # In the criteria's order (criteria_for), which the distances of each row follow.
        anchors=sorted(places_read(person).anchors, key=_required_first),
        rent_ceiling_yen=matching_rent_ceiling_yen(person),
        coverage_date=coverage_date,
        active_plan=[
            entry
            for entry in person.support_plan
            if entry.until is None or entry.until >= coverage_date
        ],
    )


class _MaybeRequired(Protocol):
    @property
    def required(self) -> bool: ...


def _required_first(anchor: _MaybeRequired) -> bool:
    """The order of a person's anchors, in the criteria and in the explanations alike."""
    return not anchor.required


@dataclass(frozen=True)
class Relaxing:
    """A relaxation as asked for: one hard constraint dropped, or loosened by an amount."""

    constraint: HardConstraint | None = None
    radius_factor: float | None = None
    radius_m: int | None = None
    rent_tolerance_yen: int | None = None


NO_RELAXATION = Relaxing()


def relaxing(
    relax: HardConstraint | None,
    *,
    radius_factor: float | None = None,
    radius_m: int | None = None,
    rent_tolerance_yen: int | None = None,
) -> Relaxing:
    """The relaxation asked for, checked: 400 for a combination that means nothing."""
    if relax in NOT_RELAXABLE:
        raise BadRequest(f"{relax} cannot be relaxed: it protects someone else.")
    if radius_factor is not None and radius_m is not None:
        raise BadRequest("Give radius_factor or radius_m, not both.")
    if (radius_factor is not None or radius_m is not None) and (
        relax is not HardConstraint.ANCHOR_DISTANCE
    ):
        name = "radius_factor" if radius_factor is not None else "radius_m"
        raise BadRequest(f"{name} goes with relax=anchor_distance.")
    if rent_tolerance_yen is not None and relax is not HardConstraint.RENT_CEILING:
        raise BadRequest("rent_tolerance_yen goes with relax=rent_ceiling.")
    return Relaxing(relax, radius_factor, radius_m, rent_tolerance_yen)


def _check_relaxing(person: Person, relaxation: Relaxing) -> None:
    """A radius that loosens none of the person's required anchors is a mistake, not a
    relaxation (a relaxation never tightens: each anchor keeps at least its own maximum)."""
    if relaxation.radius_m is None:
        return
    limits = [
        int(place.radius_m or 0)
        for place in person.places
        if place.role == PlaceRole.ANCHOR.value and place.required
    ]
    if limits and relaxation.radius_m <= min(limits):
        raise BadRequest(
            f"radius_m ({relaxation.radius_m:,} m) must exceed the maximum distance of at least "
            f"one required anchor (the smallest is {min(limits):,} m): it would relax nothing."
        )


def relaxation_detail_ja(relaxation: Relaxing, rent_ceiling_yen: int) -> str:
    constraint = relaxation.constraint
    if constraint is None:
        return ""
    label = HARD_CONSTRAINT_LABELS_JA[constraint]
    if relaxation.radius_factor is not None:
        factor = relaxation.radius_factor
        return f"{label}：必須の通院先等の上限距離をそれぞれ{factor:g}倍にしました"
    if relaxation.radius_m is not None:
        return (
            f"{label}：必須の通院先等の上限距離を{relaxation.radius_m:,}mまで広げました"
            "（元の上限がこれより長いものはそのまま）"
        )
    if relaxation.rent_tolerance_yen is not None:
        tolerance = relaxation.rent_tolerance_yen
        return (
            f"{label}：上限を{tolerance:,}円超えるまで認めました"
            f"（{rent_ceiling_yen + tolerance:,}円まで）"
        )
    return f"{label}：この条件を外しました"


def _relaxation_fields(relaxation: Relaxing, rent_ceiling_yen: int) -> dict[str, Any]:
    if relaxation.constraint is None:
        raise ValueError("no relaxation")
    return {
        "constraint": relaxation.constraint,
        "label_ja": HARD_CONSTRAINT_LABELS_JA[relaxation.constraint],
        "radius_factor": relaxation.radius_factor,
        "radius_m": relaxation.radius_m,
        "rent_tolerance_yen": relaxation.rent_tolerance_yen,
        "detail_ja": relaxation_detail_ja(relaxation, rent_ceiling_yen),
    }


def criteria_for(
    person: Person,
    context: explain.PersonContext,
    *,
    weights: dict[Factor, float],
    relaxation: Relaxing = NO_RELAXATION,
) -> MatchCriteria:
    anchors: list[AnchorCriterion] = []
    zones: list[ZoneCriterion] = []
    polygons: list[str] = []
    for place in person.places:
        if place.role == PlaceRole.ANCHOR.value:
            anchors.append(
                AnchorCriterion(
                    ewkt=ewkt(place.area),
                    max_distance_m=float(place.radius_m or 0),
                    required=place.required,
                )
            )
        elif place.role == PlaceRole.PREFERRED_AREA.value:
            polygons.append(ewkt(place.area))
        else:
            zones.append(
                ZoneCriterion(
                    ewkt=ewkt(place.area),
                    radius_m=None if place.radius_m is None else float(place.radius_m),
                    label=place.label,
                )
            )
    # Required anchors first and point zones first: the SQL's text depends on the order of
    # each, so persons with the same mix of them share one rendering (match_shape), and the
    # order changes nothing else. The sorts are stable, as is person_context's.
    anchors.sort(key=_required_first)
    zones.sort(key=lambda zone: zone.radius_m is None)
    return MatchCriteria(
        home_municipality_code=person.home_municipality_code,
        household_size=person.household_size,
        categories=tuple(person.categories),
        rent_ceiling_yen=context.rent_ceiling_yen,
        move_in_date=person.move_in_date,
        min_area_m2=None if person.min_area_m2 is None else Decimal(person.min_area_m2),
        wheelchair=person.wheelchair,
        no_stairs=person.no_stairs,
        max_floor=person.max_floor,
        required_facilities=tuple(person.required_facilities),
        has_pets=person.has_pets,
        smokes=person.smokes,
        high_support_needs=person.high_support_needs,
        preferred_municipality_codes=tuple(person.preferred_municipality_codes),
        preferred_polygons=tuple(polygons),
        anchors=tuple(anchors),
        exclusion_zones=tuple(zones),
        plan_covered=tuple(entry.risk_kind for entry in context.active_plan),
        plan_open_ended=tuple(
            sorted({entry.risk_kind for entry in context.active_plan if entry.until is None})
        ),
        weights=weights,
        relax=relaxation.constraint,
        radius_factor=relaxation.radius_factor,
        radius_m=None if relaxation.radius_m is None else float(relaxation.radius_m),
        rent_tolerance_yen=relaxation.rent_tolerance_yen,
        vacancy_ttl_days=get_settings().vacancy_ttl_days,
    )


def _explained(
    context: explain.PersonContext,
    rows: Sequence[RankedRow],
    weights: dict[Factor, float],
    *,
    first_rank: int = 1,
) -> list[Candidate]:
    """The candidates of one person explained, from rows read with their details."""
    candidates = []
    for rank, row in enumerate(rows, start=first_rank):
        if row.home is None:
            raise ValueError("a row to explain carries its home's details")
        candidates.append(explain.candidate(context, rank, row, row.home, weights))
    return candidates


_CONSTRAINT_ORDER = {name: position for position, name in enumerate(HardConstraint)}


def match_person(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    *,
    limit: int,
    relaxation: Relaxing,
    weights: dict[Factor, float] | None,
) -> MatchResult:
    person = own_person(session, principal, person_id, ReadPurpose.MATCHES)
    _check_relaxing(person, relaxation)
    relax = relaxation.constraint
    resolved = resolve_weights(weights)
    context = person_context(person)
    criteria = criteria_for(person, context, weights=resolved, relaxation=relaxation)
    outcome = MatchRepository(session).match(
        criteria,
        limit=limit,
        log=_match_log(principal, person, ReadPurpose.MATCHES, relaxed=relax is not None),
    )
    counts, rows = outcome.counts, outcome.rows
    excluded = [
        ExclusionCount(
            constraint=name,
            label_ja=HARD_CONSTRAINT_LABELS_JA[name],
            excluded=count,
            excluded_only_by_this=counts.excluded_only[name],
            relaxed=name is relax,
            excluded_before_relaxation=(
                counts.excluded_before_relaxation if name is relax else None
            ),
        )
        for name, count in counts.excluded.items()
    ]
    excluded.sort(key=lambda item: (-item.excluded, _CONSTRAINT_ORDER[item.constraint]))
    return MatchResult(
        person_id=person.id,
        rent_ceiling=rent_ceiling_of(person),
        considered=counts.considered,
        candidate_count=counts.candidates,
        excluded_count=counts.excluded_homes,
        excluded_by_several=counts.excluded_by_several,
        excluded_by=excluded,
        relaxation=(
            None
            if relax is None
            else MatchRelaxation(
                **_relaxation_fields(relaxation, context.rent_ceiling_yen),
                candidates_before_relaxation=counts.strict_candidates,
                opened_up=counts.candidates - counts.strict_candidates,
            )
        ),
        weights=resolved,
        candidates=_explained(context, rows, resolved),
    )


def explain_home(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    vacancy_id: uuid.UUID,
    *,
    relaxation: Relaxing,
) -> MatchExplanation:
    """Why one home is or is not among the person's candidates: each hard constraint it
    fails, by how much, judged by the matcher's own checks."""
    person = own_person(session, principal, person_id, ReadPurpose.EXPLAIN)
    _check_relaxing(person, relaxation)
    context = person_context(person)
    criteria = criteria_for(person, context, weights=resolve_weights(None), relaxation=relaxation)
    repository = MatchRepository(session)
    judged = repository.explain(criteria, vacancy_id)
    if judged is None:
        raise ResourceNotFound("No such vacancy.")
    _log_reads(session, principal, [person.id], ReadPurpose.EXPLAIN)
    # Who covers each landlord risk is the candidates' own explanation (explain.py).
    home = None
    if HardConstraint.RISK_COVERAGE in judged.failed:
        home = repository.homes([vacancy_id]).get(vacancy_id)
    return explain.why_not(
        context,
        criteria,
        judged,
        home,
        rent_ceiling=rent_ceiling_of(person),
        relaxation=(
            None
            if relaxation.constraint is None
            else Relaxation(**_relaxation_fields(relaxation, context.rent_ceiling_yen))
        ),
    )


def excluded_homes(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    constraint: HardConstraint,
    *,
    relaxation: Relaxing,
    limit: int,
) -> list[ExcludedHome]:
    """Homes that ``constraint`` keeps out of the person's match (with the relaxation, if
    any), those it alone keeps out first: the homes to ask "why not?" about."""
    person = own_person(session, principal, person_id, ReadPurpose.EXPLAIN)
    _check_relaxing(person, relaxation)
    context = person_context(person)
    criteria = criteria_for(person, context, weights=resolve_weights(None), relaxation=relaxation)
    found = MatchRepository(session).excluded(criteria, constraint, limit=limit)
    _log_reads(session, principal, [person.id], ReadPurpose.EXPLAIN)
    return [
        ExcludedHome(
            vacancy_id=home.vacancy_id,
            dwelling_id=home.dwelling_id,
            address=home.address,
            registration_number=home.registration_number,
            monthly_cost_yen=home.monthly_cost_yen,
            failed=list(home.failed),
            failed_labels_ja=[HARD_CONSTRAINT_LABELS_JA[name] for name in home.failed],
        )
        for home in found
    ]


def _summaries(rows: Sequence[Any]) -> list[VacancySummary]:
    return [
        VacancySummary(
            vacancy_id=row.id,
            address=row.address,
            registration_number=row.registration_number,
            vacancy_status=VacancyStatus(row.status),
            status_label_ja=VACANCY_STATUS_LABELS_JA[VacancyStatus(row.status)],
        )
        for row in rows
    ]


def vacancies_of_registration(
    session: Session, registration_number: str, *, limit: int = 10
) -> list[VacancySummary]:
    """The vacancies of the dwellings registered under ``registration_number`` (dwellings
    are public to every organisation, as in ``GET /v1/dwellings``), the live ones first."""
    repository = MatchRepository(session)
    return _summaries(
        repository.vacancy_summaries(registration_number=registration_number.strip(), limit=limit)
    )


def vacancy_summary(session: Session, vacancy_id: uuid.UUID) -> VacancySummary | None:
    found = _summaries(MatchRepository(session).vacancy_summaries(vacancy_id=vacancy_id, limit=1))
    return found[0] if found else None


def read_log(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
    refused_only: bool | None,
) -> ReadLogPage:
    """Who read the person's data, when and for what, newest first: for the owning center.
    Reading the log is not itself logged (it carries no profile data), but another
    center's attempt on it is, as refused."""
    own_person(session, principal, person_id, ReadPurpose.READS)
    after: tuple[datetime, int] | None = None
    if cursor is not None:
        values = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(str(values["t"])), int(values["id"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest(INVALID_CURSOR) from exc
    rows = list(
        PersonReadLogRepository(session).page_for_person(
            person_id, after=after, limit=limit + 1, refused=refused_only
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor({"t": last.read_at.isoformat(), "id": last.id})
    return ReadLogPage(
        items=[read_entry(entry, organisation, user) for entry, organisation, user in rows],
        next_cursor=next_cursor,
    )


# --- allocation ----------------------------------------------------------------------------


# Why a person who had feasible homes was left without one, by the assignment that did it.
_TAKEN_BY_OPTIMUM_JA = "条件を満たす空室はすべて、全体で最適な割当てにより他の方に提案されました"
_TAKEN_BY_GREEDY_JA = (
    "条件を満たす空室はすべて、点数の高い組から順に決める方法で他の方に割り当てられました"
)


@dataclass(frozen=True)
class AllocationComparison:
    """The proposed assignment (exactly what ``allocate`` answers) beside the greedy one
    (the best remaining pair first, as a person with a spreadsheet would do), over the same
    scores: what the optimiser gains is the difference of their totals."""

    proposed: AllocationResult
    greedy: AllocationResult


def allocate(session: Session, principal: Principal, data: AllocationRequest) -> AllocationResult:
    table = _score_table(session, principal, data)
    return table.result(optimal_assignment(table.scores, len(table.persons), data.objective))


def compare_allocations(
    session: Session, principal: Principal, data: AllocationRequest
) -> AllocationComparison:
    table = _score_table(session, principal, data)
    optimal = optimal_assignment(table.scores, len(table.persons), data.objective)
    return AllocationComparison(
        proposed=table.result(optimal),
        greedy=table.result(greedy_assignment(table.scores), taken_ja=_TAKEN_BY_GREEDY_JA),
    )


@dataclass(frozen=True)
class _ScoreTable:
    """The persons of an allocation, each one's top homes ranked, and the scores of those
    (person index, vacancy) pairs: what an assignment is chosen from and explained with."""

    session: Session
    objective: AllocationObjective
    persons: list[Person]
    contexts: list[explain.PersonContext]
    outcomes: list[MatchOutcome]
    weights: dict[Factor, float]
    scores: dict[tuple[int, uuid.UUID], float]

    def result(
        self, assignment: dict[int, uuid.UUID], taken_ja: str = _TAKEN_BY_OPTIMUM_JA
    ) -> AllocationResult:
        # Ranked without details (a person's top n are mostly not chosen); the chosen homes'
        # are read now, in one query.
        homes = MatchRepository(self.session).homes(list(assignment.values()))
        assignments: list[Assignment] = []
        unassigned: list[UnassignedPerson] = []
        total = 0.0
        for index, person in enumerate(self.persons):
            outcome = self.outcomes[index]
            vacancy = assignment.get(index)
            if vacancy is not None:
                ranked = outcome.scores
                position = next(i for i, (listed, _) in enumerate(ranked) if listed == vacancy)
                home = homes.get(vacancy)
                if home is None:
                    raise Conflict(
                        "A chosen vacancy was removed during the allocation. Allocate again."
                    )
                row = replace(outcome.row(position), home=home)
                (candidate,) = _explained(
                    self.contexts[index], [row], self.weights, first_rank=position + 1
                )
                total += row.score
                assignments.append(
                    Assignment(person_id=person.id, reference=person.reference, candidate=candidate)
                )
                continue
            counts, top = outcome.counts, outcome.top_constraint
            if counts.candidates == 0:
                reason = UnassignedReason.NO_FEASIBLE_HOME
                reason_ja = "条件をすべて満たす空室がありません"
                if top is not None:
                    label = HARD_CONSTRAINT_LABELS_JA[top]
                    reason_ja += f"（最も多く除外した条件：{label} {counts.excluded[top]}件）"
            else:
                reason = UnassignedReason.HOMES_TAKEN
                reason_ja = taken_ja
            unassigned.append(
                UnassignedPerson(
                    person_id=person.id,
                    reference=person.reference,
                    reason=reason,
                    reason_ja=reason_ja,
                    candidate_count=counts.candidates,
                    top_constraint=top,
                    top_constraint_label_ja=None if top is None else HARD_CONSTRAINT_LABELS_JA[top],
                )
            )
        return AllocationResult(
            objective=self.objective,
            total_score=round(total, 4),
            assigned_count=len(assignments),
            assignments=assignments,
            unassigned=unassigned,
        )


def _score_table(session: Session, principal: Principal, data: AllocationRequest) -> _ScoreTable:
    settings = get_settings()
    if len(data.person_ids) > settings.allocation_max_persons:
        raise UnprocessableEntity(
            f"At most {settings.allocation_max_persons} persons per allocation."
        )
    found = {p.id: p for p in PersonRepository(session).get_many_with_details(data.person_ids)}
    persons: list[Person] = []
    for person_id in data.person_ids:
        person = found.get(person_id)
        if person is None or person.center_id != principal.organisation_id:
            error = ResourceNotFound(f"No such person of your center: {person_id}.")
            if person is not None:
                error = refused(principal, person.id, ReadPurpose.ALLOCATION, error)
            raise error
        persons.append(person)
    weights = resolve_weights(None)
    # Each person's top n homes (n = number of persons) hold an optimal assignment: if a person
    # were given a home outside them, one of their top n is free and scores at least as much.
    # They hold the greedy one too: the others take at most n - 1 homes, so greedy reaches a
    # free home among a person's top n before any pair beyond them.
    per_person = len(persons)
    contexts = [person_context(person) for person in persons]
    outcomes = MatchRepository(session).match_many(
        [
            criteria_for(person, context, weights=weights)
            for person, context in zip(persons, contexts, strict=True)
        ],
        limit=per_person,
        depth=Depth.RANKED,
        logs=[
            _match_log(principal, person, ReadPurpose.ALLOCATION, relaxed=False)
            for person in persons
        ],
    )
    scores = {
        (index, vacancy_id): score
        for index, outcome in enumerate(outcomes)
        for vacancy_id, score in outcome.scores
    }
    return _ScoreTable(
        session=session,
        objective=data.objective,
        persons=persons,
        contexts=contexts,
        outcomes=outcomes,
        weights=weights,
        scores=scores,
    )
