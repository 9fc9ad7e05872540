"""Values as PostgreSQL's COPY text format writes them.

Tab between columns, ``\\N`` for NULL, and backslash, tab, newline and carriage return escaped
in a value. Array literals and JSON get their own quoting first.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from typing import Any

NULL = "\\N"
FLAG = {True: "t", False: "f"}
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_EWKB_POINT = struct.Struct("<BIIdd")
_EWKB_POINT_WITH_SRID = 0x20000001


def escaped(value: str) -> str:
    return value.translate(_ESCAPES)


def ewkb_point(longitude: float, latitude: float) -> str:
    # Hex EWKB rather than WKT: PostGIS reads it without a parser, and the point is the same.
    return _EWKB_POINT.pack(1, _EWKB_POINT_WITH_SRID, 4326, longitude, latitude).hex()


def free_texts(values: Iterable[str]) -> str:
    """A text[] literal of arbitrary strings."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return escaped("{" + ",".join(quoted) + "}")


def words(values: Iterable[str]) -> str:
    """An array literal of vocabulary words, which need no quoting."""
    return "{" + ",".join(values) + "}"


def json_text(value: Any) -> str:
    return escaped(json.dumps(value))
