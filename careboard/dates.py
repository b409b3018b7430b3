"""The calendar: the one rule for every date the app accepts, and every day, week and month it counts.

Every date lies in 1900–2100. Forms (`InRange`, a WTForms validator), the import, the CLI, settings and
query strings all check their dates here, so a warranty end of 0001-01-01 or a delivery on 9999-12-31
never reaches the care rules, where adding months or years to it would overflow.

Days, weeks and months are the store's: a function that turns them into moments takes the store's time
zone (`StoreSettings.zone`) and returns aware datetimes. This module imports nothing of CareBoard but the
domain errors, so every layer may use it.
"""
from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from careboard.services.errors import DomainError

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


# ---------------------------------------------------------------- days


DUE_TIME = time(23, 59)        # a card due on a day is due by the end of that day, in the store's zone


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The store's day at an aware moment: its "today" when the moment is now."""
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of a store day, as aware datetimes."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def due_at(day: date, zone: tzinfo) -> datetime:
    """The moment (UTC) a card due on a store day is due: the end of that day."""
    return datetime.combine(day, DUE_TIME, tzinfo=zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped at the month's end: Jan 31 + 3 months = Apr 30."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birthday: date) -> date:
    """The birthday's date in `year`; Feb 29 is celebrated on Feb 28 in other years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def local_to_utc(value: datetime | None, zone: tzinfo) -> datetime | None:
    """A datetime-local value, meant in the store's time zone, as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=zone).astimezone(UTC)


def utc_to_local_naive(value: datetime | None, zone: tzinfo) -> datetime | None:
    return value.astimezone(zone).replace(tzinfo=None) if value else None


# ---------------------------------------------------------------- weeks (ISO, Monday first)


def require_week(text: str | None) -> date:
    """The Monday of an ISO week written 2026-W47; DomainError saying what is wrong."""
    match = WEEK.match(text or "")
    if not match:
        raise DomainError(_("A week is written YYYY-Www, e.g. 2026-W47."))
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise DomainError(_("There is no week %(week)s.", week=text)) from None
    if not in_range(monday):
        raise DomainError(str(OUT_OF_RANGE))
    return monday


def week_of(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_bounds(week: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) in the store's time zone."""
    monday = require_week(week)
    start = datetime.combine(monday, time.min, tzinfo=zone)
    return start, start + timedelta(days=7)


def shift_week(week: str, weeks: int) -> str:
    return week_of(require_week(week) + timedelta(weeks=weeks))


# ---------------------------------------------------------------- months


def require_month(text: str | None) -> tuple[int, int]:
    """(year, month) of a month written 2026-11; DomainError saying what is wrong."""
    match = MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise DomainError(_("A month is written YYYY-MM, e.g. 2026-11."))
    if parse_month(text) is None:
        raise DomainError(str(OUT_OF_RANGE))
    return int(match.group(1)), int(match.group(2))


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> tuple[date, date]:
    """The first and the last day of a month."""
    year, number = require_month(month)
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return first, following - timedelta(days=1)


def month_bounds(month: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a month in the store's time zone, as aware datetimes."""
    first, last = month_days(month)
    return day_bounds(first, zone)[0], day_bounds(last, zone)[1]


def previous_months(month: str, count: int) -> list[str]:
    """`count` months ending with `month`, oldest first."""
    year, number = require_month(month)
    out = []
    for _n in range(count):
        out.append(f"{year:04d}-{number:02d}")
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return out[::-1]


# ---------------------------------------------------------------- holidays


DEFAULT_HOLIDAYS = """\
2026-01-01 元旦
2026-02-17 春节
2026-04-05 清明节
2026-05-01 劳动节
2026-06-19 端午节
2026-09-25 中秋节
2026-10-01 国庆节
2027-01-01 元旦
2027-02-06 春节
2027-04-05 清明节
2027-05-01 劳动节
2027-06-09 端午节
2027-09-15 中秋节
2027-10-01 国庆节"""


def holiday_lines(text: str) -> tuple[list[tuple[date, str]], list[tuple[int, str]]]:
    """The holidays of the list and its bad lines (number, text): a line is a date in 1900–2100 and a name."""
    holidays, bad = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        day, _sep, name = line.partition(" ")
        try:
            holidays.append((check(date.fromisoformat(day)), name.strip() or day))
        except ValueError:                                   # not a date, or DateOutOfRange
            bad.append((number, line))
    return holidays, bad


def parse_holidays(text: str) -> list[tuple[date, str]]:
    """The holiday list as the settings page saves it: DomainError naming the first bad line."""
    holidays, bad = holiday_lines(text)
    if bad:
        raise DomainError(_("Holiday list, line %(n)d: write a date between 1900 and 2100 as 2026-10-01 followed "
                            "by the name.", n=bad[0][0]))
    return holidays
