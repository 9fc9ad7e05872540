"""Japanese formatting for pages: the Jinja filters ``ja_date``, ``ja_datetime``, ``yen``,
``m2`` and ``distance``.

Pure functions, so they are tested without a browser. A missing value renders as an em dash:
an empty cell reads as a mistake, a dash as "none".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from housing_match.matching.vocabulary import JST

MISSING = "—"

Number = int | float | Decimal


def ja_date(value: date | datetime | None) -> str:
    """``2026年12月7日``; a date-time is taken in Japan time first."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        value = _in_japan(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def ja_datetime(value: datetime | None) -> str:
    """``2026年12月7日 9:05`` in Japan time (no seconds: nobody acts on them)."""
    if value is None:
        return MISSING
    local = _in_japan(value)
    return f"{ja_date(local)} {local.hour}:{local.minute:02d}"


def _in_japan(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a naive date-time has no place in Japan time; store aware ones")
    return value.astimezone(JST)


def yen(value: Number | None) -> str:
    """``53,700円``: whole yen, thousands separated."""
    if value is None:
        return MISSING
    rounded = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{int(rounded):,}円"


def m2(value: Number | None) -> str:
    """``25㎡``, ``18.5㎡``: at most two decimals, no trailing zeros."""
    if value is None:
        return MISSING
    rounded = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.2f}".rstrip("0").rstrip(".")
    return f"{text}㎡"


def distance(metres: Number | None) -> str:
    """``850 m`` below a kilometre (to 10 m), ``1.2 km`` below 10 km, ``12 km`` beyond.

    The same rule as ``formatDistance`` in static/map.js, which labels the radius slider.
    """
    if metres is None:
        return MISSING
    value = Decimal(str(metres))
    if value < 0:
        raise ValueError("a distance cannot be negative")
    if value < 995:
        tens = (value / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
        return f"{int(tens):,} m"
    kilometres = value / 1000
    if kilometres < Decimal("9.95"):
        return f"{kilometres.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} km"
    return f"{int(kilometres.quantize(Decimal(1), rounding=ROUND_HALF_UP)):,} km"


FILTERS = {
    "ja_date": ja_date,
    "ja_datetime": ja_datetime,
    "yen": yen,
    "m2": m2,
    "distance": distance,
}
