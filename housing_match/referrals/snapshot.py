"""What a referral carries: the consented profile, and the match explanation frozen at the time.

The explanation comes from the matcher's own pieces (``criteria_for``, ``MatchSql``,
``explain.candidate``), applied to the one home referred, so it says what the matcher would
have said for that home at that moment. A home that fails a hard constraint is refused rather
than referred with a caveat: the corporation must never learn that, say, an exclusion zone
covers its home, and a referral the matcher would not propose wastes the hold.

The corporation's view (``SharedProfile``, ``SharedExplanation``) is computed here once, when
the referral is made, and stored; the API and the webhooks both serve that stored copy. Both are
built whole and then cut down to the consented groups (``redact_profile``,
``redact_explanation``), the one place that rule lives: a withdrawal of consent cuts the stored
copies of open referrals down the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


# Which attributes of the corporation's view of the profile each consented group fills; any
# other attribute (``fields`` and ``field_labels_ja`` aside) would leak, and a test says so.
PROFILE_FIELDS: dict[SharedField, tuple[str, ...]] = {
    SharedField.HOUSEHOLD_SIZE: ("household_size",),
    SharedField.CATEGORIES: ("categories", "category_labels_ja"),
    SharedField.NEEDS: ("needs",),
    SharedField.MOVE_IN_DATE: ("move_in_date",),
    SharedField.HOME_MUNICIPALITY: ("home_municipality_code",),
    SharedField.ANCHOR_KINDS: ("anchors",),
    SharedField.SUPPORT_PLAN: ("support_plan",),
}


def redact_profile(profile: SharedProfile, fields: list[SharedField]) -> SharedProfile:
    """Only the consented groups: every other attribute null, whatever the profile holds.
    Applied when a referral is made, and again to an open referral's stored copy when the
    person withdraws consent (then ``fields`` only ever shrinks)."""
    allowed = set(fields)
    kept = list(dict.fromkeys(fields))
    cleared: dict[str, Any] = {
        attribute: None
        for field, attributes in PROFILE_FIELDS.items()
        if field not in allowed
        for attribute in attributes
    }
    return profile.model_copy(
        update=cleared
        | {"fields": kept, "field_labels_ja": [SHARED_FIELD_LABELS_JA[f] for f in kept]}
    )


def shared_profile(person: Person, fields: list[SharedField]) -> SharedProfile:
    """The person's profile as a corporation may see it with these consented groups."""
    categories = [PersonCategory(category) for category in person.categories]
    full = SharedProfile(
        fields=list(SharedField),
        field_labels_ja=[],
        household_size=person.household_size,
        categories=categories,
        category_labels_ja=[PERSON_CATEGORY_LABELS_JA[c] for c in categories],
        needs=SharedNeeds(
            rent_ceiling_yen=rent_ceiling_of(person).yen,
            min_area_m2=person.min_area_m2,
            wheelchair=person.wheelchair,
            no_stairs=person.no_stairs,
            max_floor=person.max_floor,
            required_facilities=[Facility(name) for name in person.required_facilities],
            has_pets=person.has_pets,
            smokes=person.smokes,
            high_support_needs=person.high_support_needs,
        ),
        move_in_date=person.move_in_date,
        home_municipality_code=person.home_municipality_code,
        anchors=[
            SharedAnchor(
                kind=anchor.kind,
                kind_label_ja=anchor.kind_label_ja,
                max_distance_m=anchor.max_distance_m,
                required=anchor.required,
            )
            for anchor in places_read(person).anchors
        ],
        support_plan=[
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
        ],
    )
    return redact_profile(full, fields)


def redact_explanation(
    explanation: SharedExplanation, fields: list[SharedField]
) -> SharedExplanation:
    """Only what the consented groups reveal (``FACTOR_NEEDS``; the risks with the support
    plan; the anchors' fit with their kinds): at the referral, and again on withdrawal."""
    allowed = set(fields)
    return explanation.model_copy(
        update={
            "factors": [
                factor
                for factor in explanation.factors
                if factor.factor in FACTOR_NEEDS and FACTOR_NEEDS[factor.factor] <= allowed
            ],
            # Who covers each landlord risk comes from the support plan: all of it, or none.
            "risks": explanation.risks if SharedField.SUPPORT_PLAN in allowed else None,
            "anchors": explanation.anchors if SharedField.ANCHOR_KINDS in allowed else None,
        }
    )


def shared_explanation(snapshot: MatchSnapshot, fields: list[SharedField]) -> SharedExplanation:
    candidate = snapshot.candidate
    full = SharedExplanation(
        taken_at=snapshot.taken_at,
        monthly_cost_yen=candidate.monthly_cost_yen,
        passes_hard_constraints=True,
        factors=candidate.factors,
        risks=candidate.risks,
        anchors=[
            SharedAnchorFit(
                kind=anchor.kind,
                kind_label_ja=anchor.kind_label_ja,
                max_distance_m=anchor.max_distance_m,
                required=anchor.required,
                within=anchor.within,
            )
            for anchor in candidate.anchors
        ],
        note_ja=SHARED_NOTE_JA,
    )
    return redact_explanation(full, fields)


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
            "Refer the person only to a home the matcher proposes; "
            f"GET /v1/persons/{person.id}/matches/explain?vacancy_id={vacancy.id} "
            "says by how much.",
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
