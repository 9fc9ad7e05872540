"""What a referral carries: the consented profile, and the match explanation frozen at the time.

The explanation comes from the matcher's own pieces (``criteria_for``, ``MatchSql``,
``explain.candidate``), applied to the one home referred, so it says what the matcher would
have said for that home at that moment. A home that fails a hard constraint is refused rather
than referred with a caveat: the corporation must never learn that, say, an exclusion zone
covers its home, and a referral the matcher would not propose wastes the hold.

The corporation's view (``SharedProfile``, ``SharedExplanation``) is computed here once, when
the referral is made, and stored; the API and the webhooks both serve that stored copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from housing_match.errors import Conflict
from housing_match.matching import explain
from housing_match.matching.mapping import places_read, support_plan_read
from housing_match.matching.repository import MatchRepository
from housing_match.matching.rules import HARD_CONSTRAINT_LABELS_JA, Factor
from housing_match.matching.schemas import Candidate
from housing_match.matching.service import (
    criteria_for,
    person_context,
    rent_ceiling_of,
    resolve_weights,
)
from housing_match.matching.vocabulary import (
    SHARED_FIELD_LABELS_JA,
    ConsentRecipient,
    Facility,
    SharedField,
)
from housing_match.models import Dwelling, Person, Vacancy
from housing_match.referrals.repository import ReferralMatchRepository
from housing_match.referrals.schemas import (
    MatchSnapshot,
    SharedAnchor,
    SharedAnchorFit,
    SharedExplanation,
    SharedNeeds,
    SharedProfile,
    SharedSupportPlanItem,
)
from housing_match.vocabulary import PERSON_CATEGORY_LABELS_JA, PersonCategory

SHARED_NOTE_JA = "本人が居住支援法人への提供に同意した項目に基づく説明のみを表示しています。"

# Which consented groups a ranking factor's value and detail may reveal. A factor not listed
# (anchor distance, preferred area) is never shown: with the home's address it locates places.
FACTOR_NEEDS: dict[Factor, frozenset[SharedField]] = {
    Factor.RENT_HEADROOM: frozenset({SharedField.NEEDS}),
    Factor.FLOOR_AREA: frozenset({SharedField.NEEDS}),
    Factor.ACCESSIBILITY: frozenset(),
    Factor.COVERAGE_STRENGTH: frozenset({SharedField.SUPPORT_PLAN}),
    Factor.FRESHNESS: frozenset(),
    Factor.CLASS_FIT: frozenset({SharedField.CATEGORIES, SharedField.NEEDS}),
}


def consented_fields(person: Person) -> list[SharedField] | None:
    """The groups the person agreed to share with support corporations; None: no consent to
    a referral at all (the recipient is not listed)."""
    sharing = person.consent_sharing or {}
    if ConsentRecipient.SUPPORT_CORPORATION.value not in sharing:
        return None
    return sorted(
        {SharedField(name) for name in sharing[ConsentRecipient.SUPPORT_CORPORATION.value]}
    )


def shared_profile(person: Person, fields: list[SharedField]) -> SharedProfile:
    """Only the consented groups: every other field stays null, whatever the profile holds."""
    allowed = set(fields)
    profile = SharedProfile(
        fields=list(fields), field_labels_ja=[SHARED_FIELD_LABELS_JA[field] for field in fields]
    )
    if SharedField.HOUSEHOLD_SIZE in allowed:
        profile.household_size = person.household_size
    if SharedField.CATEGORIES in allowed:
        categories = [PersonCategory(category) for category in person.categories]
        profile.categories = categories
        profile.category_labels_ja = [PERSON_CATEGORY_LABELS_JA[c] for c in categories]
    if SharedField.NEEDS in allowed:
        profile.needs = SharedNeeds(
            rent_ceiling_yen=rent_ceiling_of(person).yen,
            min_area_m2=person.min_area_m2,
            wheelchair=person.wheelchair,
            no_stairs=person.no_stairs,
            max_floor=person.max_floor,
            required_facilities=[Facility(name) for name in person.required_facilities],
            has_pets=person.has_pets,
            smokes=person.smokes,
            high_support_needs=person.high_support_needs,
        )
    if SharedField.MOVE_IN_DATE in allowed:
        profile.move_in_date = person.move_in_date
    if SharedField.HOME_MUNICIPALITY in allowed:
        profile.home_municipality_code = person.home_municipality_code
    if SharedField.ANCHOR_KINDS in allowed:
        profile.anchors = [
            SharedAnchor(
                kind=anchor.kind,
                kind_label_ja=anchor.kind_label_ja,
                max_distance_m=anchor.max_distance_m,
                required=anchor.required,
            )
            for anchor in places_read(person).anchors
        ]
    if SharedField.SUPPORT_PLAN in allowed:
        profile.support_plan = [
            SharedSupportPlanItem(
                risk_kind=item.risk_kind,
                risk_kind_label_ja=item.risk_kind_label_ja,
                coverer_kind=item.coverer_kind,
                coverer_kind_label_ja=item.coverer_kind_label_ja,
                coverer_name=item.coverer_name,
                coverer_organisation_id=item.coverer_organisation_id,
                until=item.until,
                open_ended=item.open_ended,
            )
            for item in support_plan_read(person)
        ]
    return profile


def shared_explanation(snapshot: MatchSnapshot, fields: list[SharedField]) -> SharedExplanation:
    allowed = set(fields)
    candidate = snapshot.candidate
    factors = [
        factor
        for factor in candidate.factors
        if factor.factor in FACTOR_NEEDS and FACTOR_NEEDS[factor.factor] <= allowed
    ]
    anchors = None
    if SharedField.ANCHOR_KINDS in allowed:
        anchors = [
            SharedAnchorFit(
                kind=anchor.kind,
                kind_label_ja=anchor.kind_label_ja,
                max_distance_m=anchor.max_distance_m,
                required=anchor.required,
                within=anchor.within,
            )
            for anchor in candidate.anchors
        ]
    return SharedExplanation(
        taken_at=snapshot.taken_at,
        monthly_cost_yen=candidate.monthly_cost_yen,
        passes_hard_constraints=True,
        factors=factors,
        # Who covers each landlord risk comes from the support plan: all of it, or none.
        risks=candidate.risks if SharedField.SUPPORT_PLAN in allowed else None,
        anchors=anchors,
        note_ja=SHARED_NOTE_JA,
    )


@dataclass(frozen=True)
class Frozen:
    snapshot: MatchSnapshot
    explanation: SharedExplanation


def freeze_match(
    session: Session,
    person: Person,
    vacancy: Vacancy,
    dwelling: Dwelling,
    fields: list[SharedField],
    *,
    now: datetime,
) -> Frozen:
    """The match explanation for this person and home now; 409 when the matcher excludes it."""
    weights = resolve_weights(None)
    context = person_context(person)
    criteria = criteria_for(person, context, weights=weights)
    repository = ReferralMatchRepository(session)
    evaluation = repository.evaluate(criteria, vacancy.id)
    if evaluation is None:
        raise Conflict("The vacancy is not open on a registered dwelling.")
    if evaluation.failed:
        failed = [
            {"constraint": name.value, "label_ja": HARD_CONSTRAINT_LABELS_JA[name]}
            for name in evaluation.failed
        ]
        failing = ", ".join(item["constraint"] for item in failed)
        raise Conflict(
            f"The vacancy is not one of the person's matches: it fails {failing}. "
            "Refer the person only to a home the matcher proposes.",
            not_a_candidate=failed,
        )
    rank, candidate_count = repository.rank(criteria, vacancy.id, evaluation.row.score)
    # The details as the matcher reads them for its candidates, so both explain alike.
    home = MatchRepository(session).homes([vacancy.id])[vacancy.id]
    candidate: Candidate = explain.candidate(context, rank, evaluation.row, home, weights)
    snapshot = MatchSnapshot(
        taken_at=now,
        weights=weights,
        rank=rank,
        candidate_count=candidate_count,
        in_search_area=evaluation.in_search_area,
        rent_ceiling=rent_ceiling_of(person),
        candidate=candidate,
    )
    return Frozen(snapshot=snapshot, explanation=shared_explanation(snapshot, fields))
