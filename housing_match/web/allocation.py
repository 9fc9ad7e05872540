"""Allocating several persons at once, for the staff of their center: pick persons still
searching, see the proposed assignment (``matching.service.compare_allocations``: exactly what
``POST /v1/allocations`` answers) beside the greedy one over the same scores, with their
totals and each pair explained, and send the chosen pairs as referrals.

The chosen referrals are made by the referral service, as the referral pages make one, all in
one transaction: if the rules refuse any (the vacancy was taken meanwhile, no consent), none is
sent, the page says which and why in Japanese, and the allocation is computed again.

A full page per step rather than htmx fragments: the selection lives in the address (so the
browser's back button and a bookmark work), and the page stays usable without scripts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from housing_match.accounts.csrf import CsrfForm
from housing_match.auth import Principal
from housing_match.db import SessionDep
from housing_match.matching import service as matching_service
from housing_match.matching.schemas import AllocationObjective, AllocationRequest
from housing_match.referrals import service as referrals_service
from housing_match.referrals.schemas import ReferralCreate
from housing_match.referrals.snapshot import consented_fields
from housing_match.settings import get_settings
from housing_match.web.center import (
    CenterStaff,
    CenterStaffPosting,
    PersonState,
    caseload,
    render_center,
)
from housing_match.web.forms import FormErrors

router = APIRouter(include_in_schema=False)

PATH = "/allocation"
OBJECTIVE_LABELS_JA: dict[AllocationObjective, str] = {
    AllocationObjective.TOTAL_SCORE: "点数の合計をできるだけ高くする（標準）",
    AllocationObjective.MOST_HOUSED: "住まいが決まる人をできるだけ多くする",
}
MIN_PERSONS = 2  # one person's best home is the candidates page's first row


@dataclass(frozen=True)
class Pair:
    """A person and the vacancy proposed for them, as a checkbox of the form sends it."""

    person_id: uuid.UUID
    vacancy_id: uuid.UUID

    @property
    def value(self) -> str:
        return f"{self.person_id}:{self.vacancy_id}"

    @classmethod
    def parse(cls, value: object) -> Pair | None:
        person, _, vacancy = str(value).partition(":")
        try:
            return cls(uuid.UUID(person), uuid.UUID(vacancy))
        except ValueError:
            return None


@dataclass(frozen=True)
class Refusal:
    """A chosen pair the referral service refused, in staff's words."""

    pair: Pair
    reference: str
    message_ja: str


def _selection_errors(selected: list[uuid.UUID]) -> FormErrors:
    errors = FormErrors()
    most = get_settings().allocation_max_persons
    if len(selected) < MIN_PERSONS:
        errors.add("person", f"対象者を{MIN_PERSONS}人以上選んでください。")
    elif len(selected) > most:
        errors.add("person", f"一度に選べる対象者は{most}人までです。")
    return errors


def _person_label(reference: str, categories_ja: list[str]) -> str:
    return reference + (f"（{'、'.join(categories_ja)}）" if categories_ja else "")


def comparison_ja(proposed_count: int, greedy_count: int, gain: float) -> str:
    """What the proposal gains (or gives up) over the greedy way, in one sentence. Totals are
    shown to a tenth of a point, so a smaller difference counts as none."""
    housed = proposed_count - greedy_count
    score = ""
    if gain >= 0.05:
        score = f"点数の合計が{gain:.1f}点高くなります"
    elif gain <= -0.05:
        score = f"点数の合計が{-gain:.1f}点低くなります"
    if housed == 0 and not score:
        return "住まいが決まる人数も点数の合計も、点数の高い順に決めた場合と同じです。"
    if housed == 0:
        return f"提案のほうが{score}。"
    people = f"住まいが決まる人が{abs(housed)}人{'多' if housed > 0 else '少な'}く"
    return f"提案のほうが{people}{'、' + score if score else 'なります'}。"


def _render(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    selected: list[uuid.UUID],
    objective: AllocationObjective | None,
    checked: Iterable[str] = (),
    refused: list[tuple[Pair, str]] | None = None,
    errors: FormErrors | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    load = caseload(session, principal)
    searching = sorted(
        (
            (person, row)
            for person, row in zip(load.persons, load.rows, strict=True)
            if row.state is PersonState.SEARCHING
        ),
        key=lambda pair: pair[0].reference,
    )
    options = [
        (str(person.id), _person_label(person.reference, row.categories_ja))
        for person, row in searching
    ]
    no_consent = {person.id for person in load.persons if consented_fields(person) is None}
    references = load.references
    refusals = [
        Refusal(pair, references.get(pair.person_id, "対象者"), message)
        for pair, message in refused or []
    ]
    errors = errors if errors is not None else FormErrors()
    for refusal in refusals:
        errors.add(f"pair.{refusal.pair.person_id}", f"{refusal.reference}：{refusal.message_ja}")
    comparison = None
    if objective is not None:
        selection = _selection_errors(selected)
        for name, message in selection.items():
            errors.add(name, message)
        if not selection:
            comparison = matching_service.compare_allocations(
                session, principal, AllocationRequest(person_ids=selected, objective=objective)
            )
    context: dict[str, Any] = {
        "options": options,
        "selected": [str(person_id) for person_id in selected],
        "objective": (objective or AllocationObjective.TOTAL_SCORE).value,
        "objectives": [(item.value, label) for item, label in OBJECTIVE_LABELS_JA.items()],
        "objective_ja": None if objective is None else OBJECTIVE_LABELS_JA[objective],
        "comparison": comparison,
        "no_consent": no_consent,
        "checked": set(checked),
        "refusals": refusals,
        "refused": {refusal.pair.value: refusal.message_ja for refusal in refusals},
        "errors": errors,
        "hold_hours": get_settings().referral_hold_hours,
    }
    if comparison is not None:
        proposed, greedy = comparison.proposed, comparison.greedy
        context["gain_ja"] = comparison_ja(
            proposed.assigned_count,
            greedy.assigned_count,
            proposed.total_score - greedy.total_score,
        )
        context["proposed_pairs"] = {
            item.person_id: Pair(item.person_id, item.candidate.vacancy.id).value
            for item in proposed.assignments
        }
    return render_center(request, "allocation/page.html", context, status_code)


@router.get(PATH)
def allocation_page(
    request: Request,
    session: SessionDep,
    principal: CenterStaff,
    person: Annotated[list[uuid.UUID] | None, Query()] = None,
    objective: AllocationObjective | None = None,
) -> Response:
    """Without ``objective`` the picker only; with it (the form was sent) the comparison."""
    selected = list(dict.fromkeys(person or []))
    return _render(request, session, principal, selected=selected, objective=objective)


def _selected_of(form: Any) -> list[uuid.UUID]:
    selected: list[uuid.UUID] = []
    for value in form.getlist("person"):
        try:
            selected.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return list(dict.fromkeys(selected))


def _objective_of(form: Any) -> AllocationObjective:
    try:
        return AllocationObjective(str(form.get("objective")))
    except ValueError:
        return AllocationObjective.TOTAL_SCORE


@router.post(f"{PATH}/referrals")
def send_referrals(
    request: Request, session: SessionDep, principal: CenterStaffPosting, form: CsrfForm
) -> Response:
    selected, objective = _selected_of(form), _objective_of(form)
    values = [str(value) for value in form.getlist("pair")]
    pairs = list({pair.value: pair for value in values if (pair := Pair.parse(value))}.values())
    if not pairs:
        errors = FormErrors()
        errors.add("pair", "入居相談を送る組を1つ以上選んでください。")
        return _render(
            request, session, principal, selected=selected, objective=objective, errors=errors,
            status_code=422,
        )  # fmt: skip
    # In the order of the vacancies: each referral locks its vacancy until the transaction
    # ends, so two staff sending overlapping pairs queue instead of deadlocking.
    pairs.sort(key=lambda pair: str(pair.vacancy_id))
    refused: list[tuple[Pair, str]] = []
    all_or_none = session.begin_nested()
    for pair in pairs:
        try:
            with session.begin_nested():
                referrals_service.create_referral(
                    session,
                    principal,
                    ReferralCreate(person_id=pair.person_id, vacancy_id=pair.vacancy_id),
                )
        except referrals_service.ReferralRefused as refusal:
            refused.append((pair, refusal.message_ja))
    if not refused:
        all_or_none.commit()
        return RedirectResponse(f"/?referred={len(pairs)}", status_code=status.HTTP_303_SEE_OTHER)
    all_or_none.rollback()
    return _render(
        request, session, principal, selected=selected, objective=objective, checked=values,
        refused=refused, status_code=status.HTTP_409_CONFLICT,
    )  # fmt: skip
