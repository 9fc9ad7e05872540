"""Text PostgreSQL cannot store: the one rule, applied to every request and every imported file.

PostgreSQL's text types refuse the NUL character (U+0000), and a string holding half of a
surrogate pair (``"\\ud800"`` is valid JSON) cannot be encoded as UTF-8 at all. Either one,
left to reach the database, is a 500 after the endpoint has done its work. So
``TextInputGuardMiddleware`` checks every path, query string, JSON and form body before any
endpoint runs and answers 422 naming the field, and the bulk import checks its files with the
same functions (``problems``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

NUL_MESSAGE = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = "must be valid Unicode text: an unpaired surrogate (U+D800 to U+DFFF) was found"
# A JSON text can hold either only as an escape: \u0000, or \ud800 to \udfff. A hit may be a
# false alarm (an escaped backslash, a proper pair), which only costs a look at the values.
_SUSPECT_JSON = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_SUSPECT_JSON_BYTES = re.compile(_SUSPECT_JSON.pattern.encode())
MAX_REPORTED = 20


@dataclass(frozen=True)
class TextProblem:
    location: str
    message: str
    type: str


def text_problem(value: str) -> tuple[str, str] | None:
    """(message, type) when ``value`` cannot be stored as text, else None."""
    if "\x00" in value:
        return NUL_MESSAGE, "string_nul"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE, "string_unicode"
    return None


def printable(part: str) -> str:
    """A location part with the characters at fault written as escapes, so the problem
    document itself can be encoded and read."""
    if text_problem(part) is None:
        return part
    return "".join(
        f"\\u{ord(char):04x}" if char == "\x00" or "\ud800" <= char <= "\udfff" else char
        for char in part
    )


def problems(value: Any, prefix: str) -> Iterator[TextProblem]:
    """Every string in a parsed JSON value (keys included) that cannot be stored, with its
    location: ``prefix`` then the keys and indexes, dot-separated."""
    if isinstance(value, str):
        found = text_problem(value)
        if found is not None:
            yield TextProblem(prefix, *found)
    elif isinstance(value, dict):
        for key, item in value.items():
            location = f"{prefix}.{printable(str(key))}"
            found = text_problem(str(key))
            if found is not None:
                yield TextProblem(location, *found)
            yield from problems(item, location)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from problems(item, f"{prefix}.{index}")


def may_hold_problems(text: str) -> bool:
    """Whether a JSON text may hold a NUL or a lone surrogate (cheap; no false negatives)."""
    return "\x00" in text or _SUSPECT_JSON.search(text) is not None


def json_body_problems(body: bytes) -> list[TextProblem]:
    if b"\x00" not in body and _SUSPECT_JSON_BYTES.search(body) is None:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # malformed: the framework answers 400 for that
    return _first(problems(document, "body"))


def form_problems(encoded: bytes, prefix: str) -> list[TextProblem]:
    """A query string or an ``application/x-www-form-urlencoded`` body."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return []
    fields = parse_qsl(
        encoded.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"
    )
    found = (
        TextProblem(f"{prefix}.{printable(name)}", *problem)
        for name, value in fields
        for problem in (text_problem(name) or text_problem(value),)
        if problem is not None
    )
    return _first(found)


def path_problems(path: str) -> list[TextProblem]:
    found = text_problem(path)
    return [] if found is None else [TextProblem("path", *found)]


def _first(found: Iterator[TextProblem]) -> list[TextProblem]:
    result: list[TextProblem] = []
    for problem in found:
        result.append(problem)
        if len(result) == MAX_REPORTED:
            break
    return result
