"""Every XLSX workbook the app writes (the weekly and monthly reports, the HR export of the scorecards) is
made here, so that no writer can store user text as anything but text.

openpyxl guesses a cell's type from its value: a str starting with "=" becomes a formula (a callback's
"problems" `=HYPERLINK("http://…"&D3,"详情")` would run in the reader's Excel), "#N/A" an error, and a
control character raises. Here every str is written as a string cell, as typed: nothing is added to or
taken from the visible text. Text that starts like a formula (OWASP's CSV-injection list: = + - @, tab,
carriage return) also gets Excel's quote prefix, the style Excel itself gives to text typed as
`'=...`, so editing the cell in Excel keeps it text. Characters that XML cannot hold (control characters
other than tab, line feed and carriage return) are written as U+FFFD, and line ends as line feeds (an XML
reader, Excel's included, turns a carriage return into one anyway: browsers send a textarea's lines
ending in CR LF)."""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
PERCENT = "0.0%"
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PLAIN = (int, float, Decimal, date, datetime, time, timedelta)


class Percent(float):
    """A rate written as a number with a percent format."""


def percent(value: float | None) -> Percent | None:
    return None if value is None else Percent(value)


class Sheet:
    """A write-only worksheet that takes rows of plain values."""

    def __init__(self, sheet):
        self._sheet = sheet

    def append(self, values, *, bold: bool = False) -> None:
        self._sheet.append([self._cell(value, bold) for value in values])

    def _cell(self, value, bold: bool):
        if isinstance(value, Percent):
            cell = WriteOnlyCell(self._sheet, value=float(value))
            cell.number_format = PERCENT
        elif value is None or isinstance(value, _PLAIN):       # numbers, dates, yes/no as openpyxl writes them
            cell = WriteOnlyCell(self._sheet, value=value)
        else:                                            # text, and lazy strings (labels) as text
            text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value if isinstance(value, str) else str(value))
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            cell = WriteOnlyCell(self._sheet, value=text)
            cell.data_type = "s"                         # never a formula ("=…") or an error ("#N/A")
            if text.startswith(FORMULA_START):
                cell.quotePrefix = True
        if bold:
            cell.font = Font(bold=True)
        return cell


class Book:
    """A workbook written row by row (openpyxl's write-only mode), saved to bytes."""

    def __init__(self):
        self._book = Workbook(write_only=True)

    def sheet(self, title: str, header: list | None = None) -> Sheet:
        """A new sheet (titles are cut to Excel's 31 characters) with a bold header row."""
        sheet = Sheet(self._book.create_sheet(str(title)[:31]))
        if header:
            sheet.append(header, bold=True)
        return sheet

    def save(self) -> bytes:
        out = io.BytesIO()
        self._book.save(out)
        return out.getvalue()
