from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from housing_match.web.formatting import distance, ja_date, ja_datetime, m2, yen


def test_dates_in_japanese_and_in_japan_time() -> None:
    assert ja_date(date(2026, 12, 7)) == "2026年12月7日"
    # 2026-12-06 15:30 UTC is already the 7th in Japan.
    assert ja_date(datetime(2026, 12, 6, 15, 30, tzinfo=UTC)) == "2026年12月7日"
    assert ja_datetime(datetime(2026, 12, 7, 0, 5, tzinfo=UTC)) == "2026年12月7日 9:05"
    assert ja_date(None) == ja_datetime(None) == "—"
    with pytest.raises(ValueError, match="naive"):
        ja_datetime(datetime(2026, 12, 7, 9, 5))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("value", "text"),
    [(53700, "53,700円"), (0, "0円"), (1234567.5, "1,234,568円"), (Decimal("999.4"), "999円")],
)
def test_yen_with_separators(value: int | float | Decimal, text: str) -> None:
    assert yen(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(25, "25㎡"), (18.5, "18.5㎡"), (Decimal("13.00"), "13㎡"), (Decimal("9.125"), "9.13㎡")],
)
def test_square_metres(value: int | float | Decimal, text: str) -> None:
    assert m2(value) == text


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (0, "0 m"),
        (849, "850 m"),
        (994, "990 m"),
        (995, "1.0 km"),
        (1234, "1.2 km"),
        (9949, "9.9 km"),
        (9950, "10 km"),
        (12_400, "12 km"),
        (123_456, "123 km"),
    ],
)
def test_distances_in_metres_then_kilometres(metres: float, text: str) -> None:
    assert distance(metres) == text


def test_missing_values_are_a_dash_and_negative_distances_an_error() -> None:
    assert yen(None) == m2(None) == distance(None) == "—"
    with pytest.raises(ValueError, match="negative"):
        distance(-1)
