"""The person form (new and edit) and the person's page, for the staff of the owning center.

The form validates by building the API's own models (``PersonCreate``, then ``PersonUpdate``
for an edit) and saves through the same service, so no rule is written twice; pydantic's
errors become Japanese messages next to their fields (web/forms.py). Places are chosen on a
map (hidden latitude and longitude, a radius slider), never typed.

Anchors, exclusion zones and support-plan rows are fixed slots on the page; an empty slot is
left out, and each slot carries its number (``….slot``) so an error in the third row of the
model still reaches the slot it came from.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from housing_match.accounts.csrf import CsrfForm
from housing_match.db import SessionDep
from housing_match.errors import Conflict
from housing_match.matching import service
from housing_match.matching.allowance import (
    UnknownMunicipality,
    housing_allowance_ceiling,
    load_table,
)
from housing_match.matching.schemas import PersonCreate, PersonRead, PersonUpdate
from housing_match.matching.vocabulary import (
    ANCHOR_KIND_LABELS_JA,
    CONSENT_RECIPIENT_LABELS_JA,
    COVERER_KIND_LABELS_JA,
    FACILITY_LABELS_JA,
    SHARED_FIELD_LABELS_JA,
    AnchorKind,
    ConsentRecipient,
    CovererKind,
    Facility,
    SharedField,
    today_jst,
)
from housing_match.vocabulary import (
    PERSON_CATEGORY_LABELS_JA,
    RISK_KIND_LABELS_JA,
    PersonCategory,
    RiskKind,
)
from housing_match.web.center import CenterStaff, CenterStaffPosting, render_center
from housing_match.web.forms import FormErrors, errors_from_validation, unflatten
from housing_match.web.templating import render

router = APIRouter(include_in_schema=False)

ANCHOR_SLOTS = 3
ZONE_SLOTS = 2
PLAN_SLOTS = 4
# The anchors staff name most in an interview, offered in this order in the empty slots.
SLOT_ANCHOR_KINDS = (AnchorKind.HOSPITAL, AnchorKind.WORKPLACE, AnchorKind.FAMILY)
ANCHOR_DEFAULT_M = 2_000
ZONE_DEFAULT_M = 1_000

# Yes/no needs, as one group of checkboxes: the name of each is the model's field.
NEED_FLAGS: dict[str, str] = {
    "no_stairs": "段差なく出入りできること（1階、またはエレベーターあり）",
    "wheelchair": "車いすで暮らせること",
    "high_support_needs": "手厚い支援が必要（居住サポート住宅などを優先）",
    "has_pets": "ペットを飼っている",
    "smokes": "たばこを吸う",
}
SHARING_FIELDS = [f"consent.sharing.{recipient.value}" for recipient in ConsentRecipient]
LIST_FIELDS = ["categories", "needs_flags", "needs.required_facilities", *SHARING_FIELDS]
CHOICES = ["home_municipality_code", "categories", "needs.required_facilities"]

BASE_LABELS: dict[str, str] = {
    "reference": "ケース番号",
    "categories": "住宅確保要配慮者の区分",
    "household_size": "世帯の人数",
    "home_municipality_code": "帰住予定地（市区町村）",
    "needs.rent_ceiling_yen": "家賃の上限（個別に決める場合）",
    "needs.min_area_m2": "専有面積の下限",
    "needs.max_floor": "住める階の上限",
    "needs.move_in_date": "入居希望日",
    "needs.required_facilities": "専用で必要な設備",
    "needs": "住まいの条件",
}
CONSENT_LABELS: dict[str, str] = {
    "consent.given_on": "同意を得た日",
    "consent": "本人の同意",
}
MESSAGES: dict[str, str] = {
    "reference:string_pattern_mismatch": (
        "ケース番号は半角英数字と「-」「_」「.」で入力してください（例：OSK-2026-014）。氏名は入れません"
    ),
    "home_municipality_code": "帰住予定地を一覧から選んでください",
    "consent": "同意を得た日は今日以前の日付にしてください",
}


def municipality_options() -> list[tuple[str, str]]:
    table = load_table()
    return [
        (code, f"{entry.prefecture} {entry.name}")
        for code, entry in sorted(table.municipalities.items())
    ]


def _slot_labels(kind: str, slot: int, index: int) -> dict[str, str]:
    number = slot + 1
    if kind == "anchors":
        prefix = f"places.anchors.{index}"
        return {
            f"{prefix}.kind": f"近くに住む必要のある場所{number}の種類",
            f"{prefix}.label": f"近くに住む必要のある場所{number}のメモ",
            f"{prefix}.location": f"近くに住む必要のある場所{number}",
            f"{prefix}.max_distance_m": f"近くに住む必要のある場所{number}からの距離",
        }
    if kind == "exclusion_zones":
        prefix = f"places.exclusion_zones.{index}"
        return {
            prefix: f"住まない範囲{number}",
            f"{prefix}.label": f"住まない範囲{number}のメモ",
            f"{prefix}.center": f"住まない範囲{number}",
            f"{prefix}.radius_m": f"住まない範囲{number}の半径",
        }
    prefix = f"support_plan.{index}"
    return {
        f"{prefix}.risk_kind": f"支援計画{number}の心配ごと",
        f"{prefix}.coverer_kind": f"支援計画{number}の担い手の種類",
        f"{prefix}.coverer_name": f"支援計画{number}の担い手",
        f"{prefix}.until": f"支援計画{number}の期限",
    }


def _slot_messages(kind: str, slot: int, index: int) -> dict[str, str]:
    number = slot + 1
    if kind == "anchors":
        return {
            f"places.anchors.{index}.location": (
                f"地図をクリックして、近くに住む必要のある場所{number}を選んでください"
            )
        }
    if kind == "exclusion_zones":
        return {
            f"places.exclusion_zones.{index}": (
                f"地図をクリックして、住まない範囲{number}の中心を選んでください"
            )
        }
    return {}


def form_order(slots: dict[str, int]) -> list[str]:
    """Every field's name in the order of the page (the error summary follows it)."""
    order = [
        "reference", "categories", "household_size", "home_municipality_code",
        "needs.rent_ceiling_yen", "needs.min_area_m2", "needs.max_floor", "needs.move_in_date",
        "needs.required_facilities", "needs",
    ]  # fmt: skip
    for kind in ("anchors", "exclusion_zones", "support_plan"):
        for slot in range(slots[kind]):
            order.extend(_slot_labels(kind, slot, slot))
    return [*order, *CONSENT_LABELS]


class Submission:
    """A posted form: the values to show again (by slot) and the data for the model."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        texts = [(name, value) for name, value in pairs if isinstance(value, str)]
        self.values: dict[str, Any] = unflatten(
            [(name, value) for name, value in texts if name != "csrf_token"], LIST_FIELDS
        )
        self.labels: dict[str, str] = {**BASE_LABELS}
        self.messages: dict[str, str] = {**MESSAGES}
        # compact index in the model → slot on the page, per list
        self.slot_of: dict[str, list[int]] = {}
        self.data = self._data()
        self.labels.update(CONSENT_LABELS)

    def _data(self) -> dict[str, Any]:
        data = copy.deepcopy(self.values)
        needs = data.setdefault("needs", {})
        for flag in data.pop("needs_flags", []):
            if flag in NEED_FLAGS:
                needs[flag] = True
        places = data.setdefault("places", {})
        places["anchors"] = self._used(places.get("anchors", []), "anchors", ("location", "label"))
        places["exclusion_zones"] = self._used(
            places.get("exclusion_zones", []), "exclusion_zones", ("center", "label")
        )
        data["support_plan"] = self._used(
            data.get("support_plan", []),
            "support_plan",
            ("risk_kind", "coverer_kind", "coverer_name", "until"),
        )
        consent = data.setdefault("consent", {})
        consent["sharing"] = {
            recipient: fields for recipient, fields in consent.get("sharing", {}).items() if fields
        }
        return data

    def _used(self, rows: Any, kind: str, marks: tuple[str, ...]) -> list[dict[str, Any]]:
        used: list[dict[str, Any]] = []
        slots: list[int] = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            item = dict(row)
            try:
                slot = int(item.pop("slot", len(slots)))
            except ValueError:
                slot = len(slots)
            if not any(item.get(mark) for mark in marks):
                continue
            index = len(used)
            self.labels.update(_slot_labels(kind, slot, index))
            self.messages.update(_slot_messages(kind, slot, index))
            used.append(item)
            slots.append(slot)
        self.slot_of[kind] = slots
        return used

    def errors(self, error: ValidationError) -> FormErrors:
        found = errors_from_validation(error, self.labels, self.messages, choices=CHOICES)
        renamed = FormErrors()
        for name, message in found.items():
            renamed.add(self._page_name(name), message)
        return renamed

    def _page_name(self, name: str) -> str:
        """A model's field name → the page's: list indexes become slots, and an exclusion
        zone's own error shows at its map."""
        parts = name.split(".")
        if name == "consent":
            return "consent.given_on"
        for kind, start in (("anchors", 2), ("exclusion_zones", 2), ("support_plan", 1)):
            if len(parts) > start and parts[start - 1] == kind and parts[start].isdigit():
                slots = self.slot_of.get(kind, [])
                index = int(parts[start])
                if index < len(slots):
                    parts[start] = str(slots[index])
                if kind == "exclusion_zones" and len(parts) == start + 1:
                    parts.append("center")
                return ".".join(parts)
        return name


def _slot_counts(values: dict[str, Any]) -> dict[str, int]:
    places = values.get("places", {})
    return {
        "anchors": max(ANCHOR_SLOTS, len(places.get("anchors", []))),
        "exclusion_zones": max(ZONE_SLOTS, len(places.get("exclusion_zones", []))),
        "support_plan": max(PLAN_SLOTS, len(values.get("support_plan", []))),
    }


def values_of(person: PersonRead) -> dict[str, Any]:
    """A saved person as the form's values."""
    data = person.model_dump(mode="json")
    needs = data["needs"]
    data["needs_flags"] = [flag for flag in NEED_FLAGS if needs.get(flag)]
    data["places"] = {
        "anchors": [
            {key: anchor[key] for key in ("kind", "label", "location", "max_distance_m")}
            for anchor in data["places"]["anchors"]
        ],
        "exclusion_zones": [
            {key: zone[key] for key in ("label", "center", "radius_m")}
            for zone in data["places"]["exclusion_zones"]
            if zone.get("center") is not None  # a polygon zone is kept as it is (see edit)
        ],
    }
    return data


def pick(values: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path of the form's values (``places.anchors.0.label``)."""
    node = values
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
        if node is None:
            return default
    return node


def _ceiling_context(code: object, household_size: object) -> dict[str, Any]:
    """The 住宅扶助 ceiling the matcher will apply, from the same table."""
    try:
        size = int(str(household_size))
    except ValueError:
        size = 0
    if not isinstance(code, str) or not code or not 1 <= size <= 10:
        return {"ceiling": None}
    try:
        return {"ceiling": housing_allowance_ceiling(code, size)}
    except UnknownMunicipality:
        return {"ceiling": None}


def _form_page(
    request: Request,
    values: dict[str, Any],
    errors: FormErrors,
    person: PersonRead | None,
) -> Response:
    slots = _slot_counts(values)
    return render_center(
        request,
        "persons/form.html",
        {
            "values": values,
            "pick": pick,
            "errors": errors.ordered(form_order(slots)),
            "person": person,
            "slots": slots,
            "slot_anchor_kinds": SLOT_ANCHOR_KINDS,
            "anchor_default_m": ANCHOR_DEFAULT_M,
            "zone_default_m": ZONE_DEFAULT_M,
            "municipalities": municipality_options(),
            "categories": [(c.value, PERSON_CATEGORY_LABELS_JA[c]) for c in PersonCategory],
            "anchor_kinds": [(k.value, ANCHOR_KIND_LABELS_JA[k]) for k in AnchorKind],
            "risk_kinds": [(k.value, RISK_KIND_LABELS_JA[k]) for k in RiskKind],
            "coverer_kinds": [(k.value, COVERER_KIND_LABELS_JA[k]) for k in CovererKind],
            "facilities": [(f.value, FACILITY_LABELS_JA[f]) for f in Facility],
            "need_flags": list(NEED_FLAGS.items()),
            "recipients": [(r.value, CONSENT_RECIPIENT_LABELS_JA[r]) for r in ConsentRecipient],
            "shared_fields": [(f.value, SHARED_FIELD_LABELS_JA[f]) for f in SharedField],
            "today": today_jst(),
            **_ceiling_context(values.get("home_municipality_code"), values.get("household_size")),
        },
        status_code=422 if errors else status.HTTP_200_OK,  # 422: htmx and tests tell it apart,
    )


def _saved(person_id: uuid.UUID) -> RedirectResponse:
    return RedirectResponse(f"/persons/{person_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/persons/new")
def new_person_page(request: Request, principal: CenterStaff) -> Response:
    values: dict[str, Any] = {
        "household_size": 1,
        "consent": {"given_on": today_jst().isoformat()},
    }
    return _form_page(request, values, FormErrors(), None)


@router.post("/persons/new")
def create_person(
    request: Request, session: SessionDep, principal: CenterStaffPosting, form: CsrfForm
) -> Response:
    submission = Submission(form.multi_items())
    try:
        data = PersonCreate.model_validate(submission.data)
    except ValidationError as exc:
        return _form_page(request, submission.values, submission.errors(exc), None)
    try:
        person = service.create_person(session, principal, data)
    except Conflict:
        errors = FormErrors()
        errors.add("reference", "このケース番号はすでに登録されています。別の番号にしてください")
        return _form_page(request, submission.values, errors, None)
    return _saved(person.id)


@router.get("/persons/ceiling")
def ceiling_fragment(
    request: Request,
    principal: CenterStaff,
    home_municipality_code: str = "",
    household_size: str = "",
) -> Response:
    """The ceiling, again, when the municipality or the household changes (htmx)."""
    return render(
        request,
        "persons/_ceiling.html",
        _ceiling_context(home_municipality_code, household_size),
    )


@router.get("/persons/{person_id}")
def person_page(
    request: Request, session: SessionDep, principal: CenterStaff, person_id: uuid.UUID
) -> Response:
    person = service.read_model(service.get_person(session, principal, person_id))
    table = load_table()
    municipality = table.municipalities.get(person.home_municipality_code)
    return render_center(
        request,
        "persons/show.html",
        {
            "person": person,
            "municipality_ja": (
                f"{municipality.prefecture} {municipality.name}"
                if municipality
                else person.home_municipality_code
            ),
            "need_flags": [
                label for flag, label in NEED_FLAGS.items() if getattr(person.needs, flag)
            ],
            "facilities_ja": [FACILITY_LABELS_JA[f] for f in person.needs.required_facilities],
            "sharing": [
                (
                    CONSENT_RECIPIENT_LABELS_JA[recipient],
                    [SHARED_FIELD_LABELS_JA[f] for f in person.consent.sharing.get(recipient, [])],
                )
                for recipient in ConsentRecipient
            ],
            "anchor_circles": [
                {
                    "lat": anchor.location.latitude,
                    "lon": anchor.location.longitude,
                    "radius_m": anchor.max_distance_m,
                    "label": anchor.label or anchor.kind_label_ja,
                    "kind": "anchor",
                }
                for anchor in person.places.anchors
            ]
            + [
                {
                    "lat": zone.center.latitude,
                    "lon": zone.center.longitude,
                    "radius_m": zone.radius_m,
                    "label": zone.label or "住まない範囲",
                    "kind": "exclusion",
                }
                for zone in person.places.exclusion_zones
                if zone.center is not None and zone.radius_m is not None
            ],
        },
    )


@router.get("/persons/{person_id}/edit")
def edit_person_page(
    request: Request, session: SessionDep, principal: CenterStaff, person_id: uuid.UUID
) -> Response:
    person = service.read_model(service.get_person(session, principal, person_id))
    return _form_page(request, values_of(person), FormErrors(), person)


@router.post("/persons/{person_id}/edit")
def update_person(
    request: Request,
    session: SessionDep,
    principal: CenterStaffPosting,
    person_id: uuid.UUID,
    form: CsrfForm,
) -> Response:
    person = service.read_model(service.get_person(session, principal, person_id))
    submission = Submission(form.multi_items())
    # The whole profile is on the page, so it is checked as a new one would be, then
    # replaces the old one field by field.
    data = submission.data
    kept_polygons = [
        zone.model_dump(mode="json")
        for zone in person.places.exclusion_zones
        if zone.polygon is not None
    ]
    data["places"]["exclusion_zones"] = [*data["places"]["exclusion_zones"], *kept_polygons]
    data["places"]["preferred_areas"] = person.places.preferred_areas.model_dump(mode="json")
    try:
        checked = PersonCreate.model_validate(data)
    except ValidationError as exc:
        return _form_page(request, submission.values, submission.errors(exc), person)
    update = PersonUpdate.model_validate(checked.model_dump(mode="json"))
    try:
        service.update_person(session, principal, person_id, update)
    except Conflict:
        errors = FormErrors()
        errors.add("reference", "このケース番号はすでに登録されています。別の番号にしてください")
        return _form_page(request, submission.values, errors, person)
    return _saved(person_id)
