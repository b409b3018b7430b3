"""The store's working calendar: when the store is open, and clocks that run only while it is.

`WorkCalendar` answers "is t open" (`is_open`), "the next opening at or after t" (`next_open`), "t plus N
opening minutes" (`add_minutes`, and backwards `subtract_minutes`) and "the opening time between two moments"
(`open_between`). Moments are
aware datetimes (UTC in, UTC out); days are the store's, in its time zone (`StoreSettings.zone`).

It is built from plain values:
- opening hours per weekday, Monday first: (opens, closes) in local time, or None for a closed weekday.
  Default 08:30–18:00 every day: showrooms open at weekends (the seeds' callbacks, greetings and daily 5S
  checks run seven days a week).
- China's official public holidays and adjusted working days (调休) from the `chinese_calendar` package,
  for the years it knows (1.11: 2004–2026).
- holidays and working days entered by hand, for a year the package does not know yet (the State Council
  publishes the coming year's schedule late in the year). They count only for years the package does not
  know: once an upgrade of the package knows the year, the package's data wins.
- the store's own closed days, and its own open days (a public holiday on which the store opens anyway).

A day is, first rule that applies:
1. one of the store's closed days: closed;
2. one of the store's open days: open;
3. an official public holiday (the package's, or entered by hand): closed;
4. an adjusted working day (调休): open;
5. otherwise as its weekday's hours say.
An open day keeps its weekday's hours; when its weekday is a closed one (a 调休 Saturday in a store shut on
Saturdays), it takes the hours of the first open weekday Monday–Friday.

Default: the store is closed on every day of an official holiday period (春节 2026: Feb 15–23). The
department's staff have those days off; a store that opens on some of them (National Day sales) lists them
as its open days. A year nobody knows (neither the package nor the hand-entered list) has no holidays: its
days follow the weekday hours, and `coming_year_unknown` tells the admin so from December on.

This module imports nothing of CareBoard, so every layer may use it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import Enum

from chinese_calendar import holidays as PACKAGE_HOLIDAYS
from chinese_calendar import workdays as PACKAGE_WORKDAYS

Hours = tuple[time, time] | None

DEFAULT_HOURS: Hours = (time(8, 30), time(18, 0))
DEFAULT_WEEK: tuple[Hours, ...] = (DEFAULT_HOURS,) * 7
PACKAGE_YEARS = range(min(PACKAGE_HOLIDAYS).year, max(PACKAGE_HOLIDAYS).year + 1)
SEARCH_DAYS = 800                  # next_open looks this far ahead before it gives up (a store never open)


class NeverOpen(ValueError):
    """No opening within SEARCH_DAYS: a calendar whose every day is closed."""


class DayKind(str, Enum):
    OPEN = "open"                      # an ordinary open day
    WEEKLY_CLOSED = "weekly_closed"    # its weekday has no hours
    HOLIDAY = "holiday"                # an official public holiday: closed
    WORKDAY = "workday"                # an adjusted working day (调休): open
    STORE_CLOSED = "store_closed"      # the store's own closed day
    STORE_OPEN = "store_open"          # the store opens on what would be a closed day


@dataclass(frozen=True)
class Day:
    day: date
    kind: DayKind
    hours: Hours                       # None when closed
    name: str = ""                     # the holiday's name, when there is one

    @property
    def is_open(self) -> bool:
        return self.hours is not None


def package_knows(year: int) -> bool:
    """True when chinese_calendar has the official schedule of `year`."""
    return year in PACKAGE_YEARS


def _workday_hours(week: Sequence[Hours]) -> Hours:
    return next((h for h in week[:5] if h is not None), None)


@dataclass(frozen=True)
class WorkCalendar:
    zone: tzinfo
    week: tuple[Hours, ...] = DEFAULT_WEEK                 # Monday first
    closed_days: frozenset[date] = frozenset()
    open_days: frozenset[date] = frozenset()
    holidays: dict[date, str] = field(default_factory=dict)    # entered by hand, for unknown years
    workdays: dict[date, str] = field(default_factory=dict)    # entered by hand, for unknown years

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("opening hours need seven weekdays, Monday first")
        for hours in self.week:
            if hours is not None and not hours[0] < hours[1]:
                raise ValueError("a day closes after it opens")

    @classmethod
    def build(cls, zone: tzinfo, *, week: Sequence[Hours] = DEFAULT_WEEK, closed_days: Iterable[date] = (),
              open_days: Iterable[date] = (), holidays: Iterable[tuple[date, str]] = (),
              workdays: Iterable[tuple[date, str]] = ()) -> WorkCalendar:
        return cls(zone, tuple(week), frozenset(closed_days), frozenset(open_days), dict(holidays), dict(workdays))

    # ------------------------------------------------------------ days

    def official(self, day: date) -> tuple[str, str] | None:
        """('holiday' | 'workday', name) when the official schedule (package or hand-entered) names the day."""
        if package_knows(day.year):
            source_h, source_w = PACKAGE_HOLIDAYS, PACKAGE_WORKDAYS
        else:
            source_h, source_w = self.holidays, self.workdays
        if day in source_h:
            return "holiday", source_h[day]
        if day in source_w:
            return "workday", source_w[day]
        return None

    def year_known(self, year: int) -> bool:
        """The package knows the year, or someone entered its holidays or working days by hand."""
        return package_knows(year) or any(d.year == year for d in (*self.holidays, *self.workdays))

    def day(self, day: date) -> Day:
        weekly = self.week[day.weekday()]
        opened = weekly or _workday_hours(self.week)
        official = self.official(day)
        name = official[1] if official else ""
        if day in self.closed_days:
            return Day(day, DayKind.STORE_CLOSED, None, name)
        if day in self.open_days:
            return Day(day, DayKind.STORE_OPEN, opened, name)
        if official and official[0] == "holiday":
            return Day(day, DayKind.HOLIDAY, None, name)
        if official:
            return Day(day, DayKind.WORKDAY, opened, name)
        return Day(day, DayKind.OPEN if weekly else DayKind.WEEKLY_CLOSED, weekly)

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        """[opens, closes) of a store day in UTC, None when the day is closed."""
        hours = self.day(day).hours
        if hours is None:
            return None
        return (datetime.combine(day, hours[0], tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, hours[1], tzinfo=self.zone).astimezone(UTC))

    def next_open_day(self, day: date) -> date:
        """`day` itself when the store opens that day, else the next day it does."""
        for offset in range(SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.day(candidate).is_open:
                return candidate
        raise NeverOpen(day)

    def month(self, year: int, month: int) -> list[Day]:
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return [self.day(first + timedelta(days=n)) for n in range((following - first).days)]

    # ------------------------------------------------------------ moments

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def is_open(self, moment: datetime) -> bool:
        span = self.interval(self._local_day(moment))
        return span is not None and span[0] <= moment < span[1]

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when the store is open then, else the next moment it opens."""
        start = self._local_day(moment)
        for offset in range(SEARCH_DAYS):
            span = self.interval(start + timedelta(days=offset))
            if span is not None and moment < span[1]:
                return max(moment, span[0]).astimezone(UTC)
        raise NeverOpen(moment)

    def add_minutes(self, moment: datetime, minutes: int | float) -> datetime:
        """`moment` plus that many opening minutes: the clock stops while the store is closed.

        With minutes > 0 the result lies in an opening or at its very end (18:00, not the next morning):
        a limit that runs out at closing time is due at closing time. With 0 it is `next_open(moment)`.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        left = timedelta(minutes=minutes)
        at = self.next_open(moment)
        while True:
            span = self.interval(self._local_day(at))
            assert span is not None                         # next_open returns an open moment
            if at + left <= span[1]:
                return (at + left).astimezone(UTC)
            left -= span[1] - at
            at = self.next_open(span[1])

    def last_open(self, moment: datetime) -> datetime:
        """`moment` itself when the store is open just before it, else the last closing before it."""
        start = self._local_day(moment)
        for offset in range(SEARCH_DAYS):
            span = self.interval(start - timedelta(days=offset))
            if span is not None and span[0] < moment:
                return min(moment, span[1]).astimezone(UTC)
        raise NeverOpen(moment)

    def subtract_minutes(self, moment: datetime, minutes: int | float) -> datetime:
        """`moment` minus that many opening minutes, the clock run backwards: the inverse of `add_minutes`
        for a moment while the store is open (a complaint "30 opening minutes ago")."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        left = timedelta(minutes=minutes)
        at = self.last_open(moment)
        while True:
            span = self.interval(self._local_day(at))
            assert span is not None and span[0] < at <= span[1]    # last_open returns such a moment
            if at - left >= span[0]:
                return (at - left).astimezone(UTC)
            left -= at - span[0]
            at = self.last_open(span[0])

    def open_between(self, start: datetime, end: datetime) -> timedelta:
        """How long the store is open within [start, end); zero when end is not after start."""
        total = timedelta()
        if end <= start:
            return total
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            span = self.interval(day)
            if span is not None:
                low, high = max(start, span[0]), min(end, span[1])
                if low < high:
                    total += high - low
            day += timedelta(days=1)
        return total

    def open_minutes_between(self, start: datetime, end: datetime) -> float:
        return self.open_between(start, end) / timedelta(minutes=1)


def coming_year_unknown(calendar: WorkCalendar, today: date) -> int | None:
    """From December on: the coming year when nobody knows its holidays yet (neither the package nor the
    hand-entered list), so the admin should enter them; None otherwise."""
    if today.month == 12 and not calendar.year_known(today.year + 1):
        return today.year + 1
    return None


def month_grid(calendar: WorkCalendar, year: int, month: int) -> list[list[Day | None]]:
    """The month's days in weeks, Monday first; None pads the first and the last week."""
    days: list[Day | None] = [None] * date(year, month, 1).weekday() + calendar.month(year, month)
    days += [None] * (-len(days) % 7)
    return [days[i:i + 7] for i in range(0, len(days), 7)]
