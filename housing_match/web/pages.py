"""Pages anyone may open: the start page and the style guide of the page components."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.responses import HTMLResponse

from housing_match.matching.vocabulary import JST
from housing_match.vocabulary import PERSON_CATEGORY_LABELS_JA, PersonCategory
from housing_match.web.forms import FormErrors, errors_from_validation, unflatten
from housing_match.web.templating import render

router = APIRouter(include_in_schema=False)


def start_page(request: Request) -> HTMLResponse:
    """What anyone who is not a center's signed-in staff sees at / (web/center.py routes it)."""
    return render(request, "pages/index.html")


# --- the style guide: every form macro, its error state, the filters and the map ---------


class StyleguideAnchor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=20.0, le=46.0)
    longitude: float = Field(ge=122.0, le=154.0)


class StyleguideForm(BaseModel):
    """A made-up form whose rules exercise each kind of message."""

    model_config = ConfigDict(extra="forbid")

    reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{7}$")]
    household_size: int = Field(ge=1, le=10)
    rent_ceiling_yen: int = Field(ge=0, le=1_000_000)
    min_area_m2: Decimal = Field(ge=0, le=500, decimal_places=2)
    move_in_date: date
    prefecture: Literal["13", "27", "40"]
    categories: list[PersonCategory] = Field(min_length=1)
    floor: Literal["ground", "elevator", "any"]
    notes: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    anchor: StyleguideAnchor
    anchor_radius_m: int = Field(ge=100, le=5_000)


STYLEGUIDE_LABELS = {
    "reference": "ケース番号",
    "postal_code": "郵便番号",
    "household_size": "世帯の人数",
    "rent_ceiling_yen": "家賃の上限",
    "min_area_m2": "専有面積の下限",
    "move_in_date": "入居希望日",
    "prefecture": "都道府県",
    "categories": "住宅確保要配慮者の区分",
    "floor": "住める階",
    "notes": "支援上の配慮",
    "anchor": "通院先",
    "anchor_radius_m": "通院先からの距離",
}
STYLEGUIDE_MESSAGES = {
    "reference:string_pattern_mismatch": (
        "ケース番号は半角英数字と「-」「_」「.」で入力してください（例：OSK-2026-014）"
    ),
    "postal_code:string_pattern_mismatch": "郵便番号は7桁の半角数字で入力してください",
    "anchor": "地図をクリックして通院先を選んでください",
}
STYLEGUIDE_CHOICES = ("prefecture", "categories", "floor")
PREFECTURES = [("13", "東京都"), ("27", "大阪府"), ("40", "福岡県")]
FLOORS = [
    ("ground", "1階のみ"),
    ("elevator", "エレベーターがあれば何階でも"),
    ("any", "階段でも構わない"),
]


@router.get("/styleguide", response_class=HTMLResponse)
def styleguide(request: Request) -> HTMLResponse:
    """A GET form, so checking it changes nothing and needs no CSRF token."""
    values = unflatten(request.query_params.multi_items(), list_fields=["categories"])
    submitted = values.pop("check", None) is not None
    errors = FormErrors()
    accepted = None
    if submitted:
        try:
            accepted = StyleguideForm.model_validate(values)
        except ValidationError as exc:
            errors = errors_from_validation(
                exc, STYLEGUIDE_LABELS, STYLEGUIDE_MESSAGES, choices=STYLEGUIDE_CHOICES
            )
    return render(
        request,
        "pages/styleguide.html",
        {
            "values": values,
            "errors": errors,
            "accepted": accepted,
            "labels": STYLEGUIDE_LABELS,
            "prefectures": PREFECTURES,
            "floors": FLOORS,
            "categories": [(c.value, PERSON_CATEGORY_LABELS_JA[c]) for c in PersonCategory],
            # Fixed samples, so the page (and its screenshots) are the same on every run.
            "sample_date": date(2026, 12, 7),
            "sample_datetime": datetime(2026, 12, 7, 9, 5, tzinfo=JST),
        },
        status_code=422 if errors else 200,
    )
