"""The one rule for every date the app accepts: it lies in 1900–2100.

Forms (`InRange`, a WTForms validator), the import, the CLI, settings and query strings all check their
dates here, so a warranty end of 0001-01-01 or a delivery on 9999-12-31 never reaches the rules engine,
where adding months or years to it would overflow.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

FIRST = date(1900, 1, 1)
LAST = date(2100, 12, 31)
OUT_OF_RANGE = _l("Enter a date between 1900-01-01 and 2100-12-31.")

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class DateOutOfRange(ValueError):
    """A date outside 1900–2100; its text is the user's message."""

    def __init__(self) -> None:
        super().__init__(str(OUT_OF_RANGE))


def in_range(value: date | datetime | None) -> bool:
    """True for None (no date) and for dates (or datetimes) in 1900-01-01 .. 2100-12-31."""
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    return FIRST <= day <= LAST


def check(value: date | datetime | None) -> date | datetime | None:
    """The value itself when it is in range; raises DateOutOfRange otherwise."""
    if not in_range(value):
        raise DateOutOfRange()
    return value


class InRange:
    """WTForms validator for DateField, DateTimeLocalField and friends: 1900–2100 or a message."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not in_range(field.data):
            raise ValidationError(self.message or str(OUT_OF_RANGE))


def parse_date(text: str | None) -> date | None:
    """An ISO date (YYYY-MM-DD) in range, else None: for query strings, settings and the CLI."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if in_range(day) else None


def parse_month(text: str | None) -> str | None:
    """'YYYY-MM' with a real month in 1900–2100, normalised; None for anything else."""
    match = MONTH.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (FIRST.year <= year <= LAST.year and 1 <= month <= 12):
        return None
    return f"{year:04d}-{month:02d}"


def parse_week(text: str | None) -> date | None:
    """'YYYY-Www' (an ISO week) in 1900–2100: its Monday; None for anything else."""
    match = WEEK.match((text or "").strip())
    if not match:
        return None
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None
    return monday if in_range(monday) else None
