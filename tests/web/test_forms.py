from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints, ValidationError, model_validator

from housing_match.web.forms import FORM_ERROR, errors_from_validation, field_id, unflatten


class Needs(BaseModel):
    rent_ceiling_yen: int = Field(ge=0, le=1_000_000)


class Form(BaseModel):
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{7}$")]
    name: Annotated[str, StringConstraints(max_length=10)]
    household_size: int = Field(ge=1, le=10)
    kind: Annotated[str, StringConstraints(min_length=1)]
    needs: Needs
    tags: list[str] = Field(default_factory=list, max_length=2)

    @model_validator(mode="after")
    def _whole(self) -> Form:
        if self.name == "x":
            raise ValueError("an English sentence staff never see")
        return self


LABELS = {
    "postal_code": "郵便番号",
    "name": "呼び名",
    "household_size": "世帯の人数",
    "kind": "種別",
    "needs.rent_ceiling_yen": "家賃の上限",
    "tags": "タグ",
}


def _errors(data: dict[str, object], **kwargs: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    return errors_from_validation(caught.value, LABELS, **kwargs).messages  # type: ignore[arg-type]


def test_each_error_type_becomes_a_japanese_sentence_with_the_limit() -> None:
    messages = _errors(
        {
            "postal_code": "530-0001",
            "name": "あ" * 11,
            "household_size": "二人",
            "needs": {"rent_ceiling_yen": 2_000_000},
            "tags": ["a", "b", "c"],
        },
        choices=["kind"],
    )
    assert messages == {
        "postal_code": "郵便番号の形式が正しくありません",
        "name": "呼び名は10文字以内で入力してください",
        "household_size": "世帯の人数は半角数字で入力してください",
        "kind": "種別を選んでください",
        "needs.rent_ceiling_yen": "家賃の上限は1,000,000以下で入力してください",
        "tags": "タグは2つまでです",
    }
    assert not any("^" in message or "\\d" in message for message in messages.values())


def test_a_field_can_have_its_own_words_and_whole_form_errors_come_first() -> None:
    messages = _errors(
        {"postal_code": "1", "name": "x", "household_size": 0, "kind": "a", "needs": {}},
        messages={"postal_code:string_pattern_mismatch": "郵便番号は7桁で入力してください"},
    )
    assert list(messages) == ["postal_code", "household_size", "needs.rent_ceiling_yen"]
    assert messages["postal_code"] == "郵便番号は7桁で入力してください"
    assert messages["household_size"] == "世帯の人数は1以上で入力してください"
    assert messages["needs.rent_ceiling_yen"] == "家賃の上限を入力してください"

    whole = _errors({"postal_code": "1234567", "name": "x", "household_size": 1, "kind": "a",
                     "needs": {"rent_ceiling_yen": 1}})  # fmt: skip
    assert whole == {FORM_ERROR: "入力内容を確認してください"}


def test_field_ids_and_nested_form_data() -> None:
    assert field_id("needs.rent_ceiling_yen") == "f-needs-rent_ceiling_yen"
    assert field_id("anchors.0.label") == "f-anchors-0-label"
    data = unflatten(
        [
            ("needs.rent_ceiling_yen", " 40000 "),
            ("name", ""),
            ("categories", "elderly"),
            ("categories", "disabled"),
            ("anchors.1.label", "家族"),
            ("anchors.0.label", "通院先"),
        ],
        list_fields=["categories", "tags"],
    )
    assert data == {
        "needs": {"rent_ceiling_yen": "40000"},
        "categories": ["elderly", "disabled"],
        "anchors": [{"label": "通院先"}, {"label": "家族"}],
    }
