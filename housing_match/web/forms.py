"""How a page reports bad input: one Japanese message per field, shown next to the field and
listed in the error summary at the top of the page (each entry links to its field).

Messages never show a pattern or an English code: pydantic's error types are turned into
sentences staff can act on (「家賃の上限は半角数字で入力してください」), and a field whose rule
needs its own words gets them from ``messages`` (「郵便番号は7桁で入力してください」).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

FORM_ERROR = ""  # the name of an error about the whole form (shown in the summary only)


def field_id(name: str) -> str:
    """The id of a field's control, from its form name: ``needs.rent_ceiling_yen`` →
    ``f-needs-rent_ceiling_yen``. The macros and the error summary's links both use it."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


@dataclass
class FormErrors:
    """Field name → message, in the order the fields appear on the form."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.messages.setdefault(name, message)  # the first problem of a field is enough

    def get(self, name: str) -> str | None:
        return self.messages.get(name)

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self.messages.items())

    def __bool__(self) -> bool:
        return bool(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def ordered(self, order: Sequence[str]) -> FormErrors:
        rank = {name: index for index, name in enumerate(order)}
        ordered = sorted(self.messages.items(), key=lambda item: rank.get(item[0], len(rank)))
        return FormErrors(dict(ordered))


def _number(value: Any) -> str:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        text = f"{value:,}"
        return text.removesuffix(".0")
    return str(value)


# pydantic's error type → a sentence with the field's label (and the rule's limit).
_TEMPLATES: dict[str, str] = {
    "missing": "{label}を入力してください",
    "string_too_short": "{label}を入力してください",
    "string_too_long": "{label}は{max_length}文字以内で入力してください",
    "string_pattern_mismatch": "{label}の形式が正しくありません",
    "int_parsing": "{label}は半角数字で入力してください",
    "int_type": "{label}は半角数字で入力してください",
    "int_from_float": "{label}は整数で入力してください",
    "float_parsing": "{label}は半角数字で入力してください",
    "float_type": "{label}は半角数字で入力してください",
    "decimal_parsing": "{label}は半角数字で入力してください",
    "decimal_type": "{label}は半角数字で入力してください",
    "decimal_max_places": "{label}は小数点以下{decimal_places}桁までで入力してください",
    "greater_than_equal": "{label}は{ge}以上で入力してください",
    "greater_than": "{label}は{gt}より大きい値で入力してください",
    "less_than_equal": "{label}は{le}以下で入力してください",
    "less_than": "{label}は{lt}より小さい値で入力してください",
    "enum": "{label}を一覧から選んでください",
    "literal_error": "{label}を一覧から選んでください",
    "date_parsing": "{label}は日付（例：2026-12-07）で入力してください",
    "date_from_datetime_parsing": "{label}は日付（例：2026-12-07）で入力してください",
    "date_type": "{label}は日付（例：2026-12-07）で入力してください",
    "date_past": "{label}は今日より前の日付にしてください",
    "date_future": "{label}は今日より後の日付にしてください",
    "too_short": "{label}を{min_length}つ以上選んでください",
    "too_long": "{label}は{max_length}つまでです",
}
_FALLBACK = "{label}の内容を確認してください"
# For a select, radios or checkboxes nothing is typed: the person chooses.
_CHOICE_TEMPLATES: dict[str, str] = {
    "missing": "{label}を選んでください",
    "string_too_short": "{label}を選んでください",
    "too_short": "{label}を選んでください",
}


def message_for(
    error_type: str, label: str, context: Mapping[str, Any] | None = None, choice: bool = False
) -> str:
    values = {key: _number(value) for key, value in (context or {}).items()}
    template = (choice and _CHOICE_TEMPLATES.get(error_type)) or _TEMPLATES.get(
        error_type, _FALLBACK
    )
    try:
        return template.format(label=label, **values)
    except KeyError:  # a limit the context does not carry
        return _FALLBACK.format(label=label)


def errors_from_validation(
    error: ValidationError,
    labels: Mapping[str, str],
    messages: Mapping[str, str] | None = None,
    choices: Iterable[str] = (),
) -> FormErrors:
    """One message per field, in the order of ``labels`` (the form's order).

    ``labels`` maps form names (``needs.rent_ceiling_yen``) to what the page calls them;
    ``messages`` gives a field its own sentence, for any error (``"postal_code"``) or for one
    type of error (``"postal_code:string_pattern_mismatch"``); ``choices`` names the selects,
    radios and checkbox groups (「…を選んでください」). An error about the whole
    model (or a field the form does not show) is a form error, listed first.
    """
    messages = messages or {}
    chosen = set(choices)
    errors = FormErrors()
    for detail in error.errors(include_url=False):
        name = _form_name(detail["loc"], labels)
        if name is None:
            override = messages.get(FORM_ERROR)
            errors.add(FORM_ERROR, override or "入力内容を確認してください")
            continue
        override = messages.get(f"{name}:{detail['type']}") or messages.get(name)
        errors.add(
            name,
            override
            or message_for(detail["type"], labels[name], detail.get("ctx"), name in chosen),
        )
    return errors.ordered([FORM_ERROR, *labels])


def _form_name(location: Iterable[int | str], labels: Mapping[str, str]) -> str | None:
    """The longest prefix of the error's location that is a field of the form: an error in
    ``support_plan.0.until`` belongs to ``support_plan.0.until`` if the form shows it, else to
    ``support_plan``."""
    parts = [str(part) for part in location]
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in labels:
            return name
    return None


def unflatten(pairs: Iterable[tuple[str, str]], list_fields: Iterable[str] = ()) -> dict[str, Any]:
    """Form pairs with dotted names → nested data for a pydantic model.

    Blank values are left out (so a required field reads as missing, an optional one as
    unset); names in ``list_fields`` collect every value (checkbox groups), others keep the
    last. Digits in a name index a list: ``anchors.0.label``.
    """
    lists = set(list_fields)
    root: dict[str, Any] = {}
    for name, raw in pairs:
        value = raw.strip()
        if name in lists:
            container = _container(root, name.split(".")[:-1])
            container.setdefault(name.split(".")[-1], [])
            if value:
                container[name.split(".")[-1]].append(value)
            continue
        if not value:
            continue
        parts = name.split(".")
        _container(root, parts[:-1])[parts[-1]] = value
    converted: dict[str, Any] = _lists_from_indexes(root)
    return converted


def _container(root: dict[str, Any], parts: Sequence[str]) -> dict[str, Any]:
    node = root
    for part in parts:
        node = node.setdefault(part, {})
    return node


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexes(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
