"""Cells for spreadsheets: text that Excel would run as a formula is defused on the way out.

Registration numbers, addresses and notes come from applicants, and the files they end up in
are opened in Excel by municipal staff. Excel (and LibreOffice, Google Sheets) reads a cell as
a formula when it starts with ``=``, ``+``, ``-`` or ``@``, also after leading spaces, and a
leading tab or carriage return opens the same door (OWASP, "CSV injection"):
``=HYPERLINK("https://…", "詳細")`` becomes a live link and ``+81-3-1234-5678`` a sum. Such a
text cell gets an apostrophe in front, which spreadsheets take as "this is text".

The apostrophe is undone on import (``restored``), so export → import → export gives the same
bytes. A value that itself starts with apostrophes before a formula-like text gets one more,
so ``restored`` can tell the two apart: ``defused`` and ``restored`` are exact inverses.

Numbers are not text: callers pass them as numbers, and they are written as they are (a floor
of -1 stays -1). A lone ``-``, the usual "none" in a register, is not a formula and is left.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

# The full-width forms as well: Japanese text is typed with them, and an input method turns
# them into the ASCII ones when a cell is edited.
_TRIGGERS = frozenset("=+-@＝＋－＠")
_LONE_DASHES = frozenset({"-", "－"})


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would read this text cell as a formula."""
    if text[:1] in {"\t", "\r"}:
        return True
    stripped = text.lstrip()
    return stripped[:1] in _TRIGGERS and stripped.rstrip() not in _LONE_DASHES


def _needs_apostrophe(text: str) -> bool:
    return formula_like(text.lstrip("'"))


def defused(text: str) -> str:
    """The text as a spreadsheet cell that reads as the same text, never as a formula."""
    first = text[:1]
    # One look at the first character settles almost every cell.
    if first in _TRIGGERS or first == "'" or first.isspace():
        return "'" + text if _needs_apostrophe(text) else text
    return text


def restored(text: str) -> str:
    """The text ``defused`` was given, from what it returned (any other text as it is)."""
    if text[:1] == "'" and _needs_apostrophe(text[1:]):
        return text[1:]
    return text


# --- CSV ----------------------------------------------------------------------------------

# Excel reads a BOM-less UTF-8 file as Shift_JIS and garbles every Japanese label.
BOM = "\ufeff"


def csv_document(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM, CRLF line ends, every text cell defused; numbers as written."""
    return b"".join(csv_chunks(header, rows))


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 1_000
) -> Iterator[bytes]:
    """``csv_document`` a few hundred kilobytes at a time, as the rows arrive: a streamed
    export of any size holds one chunk in memory, never the file."""
    return csv_chunks_of_cells(
        header, ([_csv_cell(value) for value in row] for row in rows), rows_per_chunk=rows_per_chunk
    )


def csv_chunks_of_cells(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 1_000
) -> Iterator[bytes]:
    """``csv_chunks`` of rows whose cells are already written for the file: every text cell
    passed through ``defused`` by the caller, blanks as "", numbers as they are. For a
    caller that formats a whole row in one go, where a pass over each cell here would cost
    as much as the rest of the export."""
    buffer = io.StringIO(newline="")
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value.__class__ is str:
        return defused(value)
    return "" if value is None else value


# --- Excel workbooks (.xlsx) ----------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_document(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet: the header in bold and frozen, numbers as numeric cells, text as text.

    A text cell is always stored as text (openpyxl would store one starting with ``=`` as a
    formula), and a formula-like one carries Excel's own apostrophe marker (``quotePrefix``),
    so it stays text even when staff edit it; its value is the text itself."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    # A workbook cannot hold most control characters (the file would not open): they become
    # the replacement character, visibly.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True
    return cell
