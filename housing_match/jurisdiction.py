"""Japanese local government codes (全国地方公共団体コード) and jurisdiction containment."""

from __future__ import annotations

from collections.abc import Iterable

PREFECTURE_CODES = frozenset(f"{n:02d}" for n in range(1, 48))
_CHECK_DIGIT_WEIGHTS = (6, 5, 4, 3, 2)


def municipality_check_digit(first_five: str) -> str:
    """The JIS X 0402 check digit: weights 6..2, modulus 11, 10 written as 0."""
    total = sum(int(d) * w for d, w in zip(first_five, _CHECK_DIGIT_WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def is_valid_prefecture_code(code: str) -> bool:
    return code in PREFECTURE_CODES


def jurisdiction_code_error(code: str) -> str | None:
    """Why ``code`` is not a prefecture or municipality code, or None when it is one."""
    if len(code) == 2:
        if is_valid_prefecture_code(code):
            return None
        return f"{code!r} is not a prefecture code (01-47)"
    if len(code) != 6:
        return f"{code!r} must be a 2-digit prefecture code or a 6-digit municipality code"
    if not (code.isascii() and code.isdigit()):
        return f"{code!r} is not a 6-digit municipality code"
    if code[:2] not in PREFECTURE_CODES:
        return f"{code!r} does not start with a prefecture code (01-47)"
    expected = municipality_check_digit(code[:5])
    if expected != code[5]:
        return f"{code!r} has a wrong check digit (expected {expected})"
    return None


def is_valid_municipality_code(code: str) -> bool:
    return len(code) == 6 and jurisdiction_code_error(code) is None


def jurisdiction_contains(jurisdiction_codes: Iterable[str], municipality_code: str) -> bool:
    """True when the municipality lies in the jurisdiction (listed itself or by its prefecture)."""
    codes = set(jurisdiction_codes)
    return municipality_code in codes or municipality_code[:2] in codes
