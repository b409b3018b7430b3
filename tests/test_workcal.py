"""The store's working calendar (careboard/workcal.py): properties with hypothesis, and the 2026 holidays.

The 2026 dates are chinese_calendar 1.11's: 春节 Feb 15–23 with 调休 working days Sat Feb 14 and Sat Feb 28;
国庆 Oct 1–7 with 调休 working days Sun Sep 20 and Sat Oct 10.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careboard.workcal import (DEFAULT_WEEK, DayKind, NeverOpen, WorkCalendar, coming_year_unknown,
                               package_knows)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS_ONLY = (DEFAULT_WEEK[0],) * 5 + (None, None)
EPS = timedelta(microseconds=1)


def local(text: str) -> datetime:
    """'2026-02-13 17:50' in the store's zone, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def default() -> WorkCalendar:
    return WorkCalendar.build(SHANGHAI)


# ---------------------------------------------------------------- strategies

moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 28),
                       timezones=st.just(UTC))
minutes = st.integers(min_value=0, max_value=20_000)


@st.composite
def hours(draw):
    opens = draw(st.integers(min_value=0, max_value=22 * 60))
    closes = draw(st.integers(min_value=opens + 1, max_value=23 * 60 + 59))
    return time(opens // 60, opens % 60), time(closes // 60, closes % 60)


@st.composite
def calendars(draw):
    week = draw(st.lists(st.none() | hours(), min_size=7, max_size=7).filter(lambda w: any(w)))
    days = st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 3, 31))
    return WorkCalendar.build(
        SHANGHAI, week=week,
        closed_days=draw(st.lists(days, max_size=30)), open_days=draw(st.lists(days, max_size=10)),
        holidays=[(d, "hand") for d in draw(st.lists(days, max_size=10))],
        workdays=[(d, "hand") for d in draw(st.lists(days, max_size=5))])


def lands_open(cal: WorkCalendar, moment: datetime) -> bool:
    """Open at the moment, or the moment is an opening's very end (a limit running out at closing time)."""
    return cal.is_open(moment) or cal.is_open(moment - EPS)


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, moments, minutes)
def test_adding_is_monotonic_in_the_start(cal, a, b, n):
    a, b = sorted((a, b))
    assert cal.add_minutes(a, n) <= cal.add_minutes(b, n)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, minutes, minutes)
def test_adding_is_monotonic_in_the_minutes(cal, t, m, n):
    m, n = sorted((m, n))
    assert t <= cal.add_minutes(t, m) <= cal.add_minutes(t, n)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, minutes)
def test_adding_never_lands_in_a_closed_period(cal, t, n):
    result = cal.add_minutes(t, n)
    assert lands_open(cal, result) if n else cal.is_open(result)
    assert cal.open_between(t, result) == timedelta(minutes=n)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, minutes, st.integers(min_value=1, max_value=20_000))
def test_adding_in_two_steps_equals_adding_once(cal, t, a, b):
    # b > 0: a first step ending at closing time (18:00) goes on from there; adding 0 to 18:00 would
    # move it to the next opening, as adding 0 to any closed moment does.
    assert cal.add_minutes(cal.add_minutes(t, a), b) == cal.add_minutes(t, a + b)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments)
def test_next_open_is_open_and_nothing_earlier_is(cal, t):
    opening = cal.next_open(t)
    assert opening >= t and cal.is_open(opening)
    assert cal.open_between(t, opening) == timedelta()
    if opening > t:
        assert not cal.is_open(opening - EPS) and not cal.is_open(t)
    assert cal.add_minutes(t, 0) == opening


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, minutes)
def test_subtracting_counts_the_same_opening_minutes_backwards(cal, t, n):
    earlier = cal.subtract_minutes(t, n)
    assert earlier <= t
    assert cal.open_between(earlier, t) == timedelta(minutes=n)
    if n:
        assert cal.is_open(earlier)                  # at an opening's start at the earliest, never in a closure
        assert cal.add_minutes(earlier, n) == cal.last_open(t)


@settings(max_examples=100, deadline=None)
@given(calendars(), moments, moments)
def test_open_between_adds_up(cal, a, b):
    a, b = sorted((a, b))
    middle = a + (b - a) / 2
    assert cal.open_between(a, b) == cal.open_between(a, middle) + cal.open_between(middle, b)
    assert cal.open_between(b, a) == timedelta() or a == b


# ---------------------------------------------------------------- 2026 Spring Festival (Feb 15–23)


def test_spring_festival_days_are_closed_and_its_working_saturdays_open():
    cal = WorkCalendar.build(SHANGHAI, week=WEEKDAYS_ONLY)                # a store shut at weekends
    days = [date(2026, 2, d) for d in (14, 15, 23, 24, 28)] + [date(2026, 3, 1)]
    assert [cal.day(d).kind for d in days] == [
        DayKind.WORKDAY, DayKind.HOLIDAY, DayKind.HOLIDAY, DayKind.OPEN, DayKind.WORKDAY, DayKind.WEEKLY_CLOSED]
    assert cal.day(date(2026, 2, 17)).name == "Spring Festival"
    assert cal.day(date(2026, 2, 14)).hours == DEFAULT_WEEK[0]            # a Saturday with Monday's hours
    assert not cal.is_open(local("2026-02-17 10:00"))
    assert cal.is_open(local("2026-02-14 10:00")) and cal.is_open(local("2026-02-28 10:00"))


def test_a_complaint_before_spring_festival_waits_for_the_store_to_reopen():
    cal = default()
    assert cal.add_minutes(local("2026-02-13 17:50"), 30) == local("2026-02-14 08:50")
    assert cal.add_minutes(local("2026-02-14 17:45"), 30) == local("2026-02-24 08:45")
    assert cal.next_open(local("2026-02-15 09:00")) == local("2026-02-24 08:30")
    assert cal.open_minutes_between(local("2026-02-14 17:00"), local("2026-02-24 09:00")) == 90
    assert cal.next_open_day(date(2026, 2, 16)) == date(2026, 2, 24)


# ---------------------------------------------------------------- 2026 National Day (Oct 1–7)


def test_national_day_and_its_working_days():
    cal = WorkCalendar.build(SHANGHAI, week=WEEKDAYS_ONLY)
    assert cal.day(date(2026, 9, 20)).kind == DayKind.WORKDAY             # a Sunday
    assert cal.day(date(2026, 10, 10)).kind == DayKind.WORKDAY            # a Saturday
    assert cal.day(date(2026, 10, 11)).kind == DayKind.WEEKLY_CLOSED
    assert all(cal.day(date(2026, 10, d)).kind == DayKind.HOLIDAY for d in range(1, 8))
    assert cal.add_minutes(local("2026-09-30 17:30"), 60) == local("2026-10-08 09:00")
    assert cal.add_minutes(local("2026-10-09 17:30"), 60) == local("2026-10-10 09:00")


def test_the_store_opens_on_a_holiday_it_marks_open_and_closes_on_its_own_days():
    cal = WorkCalendar.build(SHANGHAI, open_days=[date(2026, 10, 3)], closed_days=[date(2026, 10, 8)])
    assert cal.day(date(2026, 10, 3)).kind == DayKind.STORE_OPEN
    assert cal.day(date(2026, 10, 3)).name == "National Day"
    assert cal.add_minutes(local("2026-09-30 17:30"), 60) == local("2026-10-03 09:00")
    assert cal.next_open(local("2026-10-03 18:00")) == local("2026-10-09 08:30")


# ---------------------------------------------------------------- evening, unknown years, bad calendars


def test_a_complaint_logged_at_nine_in_the_evening_is_due_after_the_morning_opening():
    assert default().add_minutes(local("2026-12-07 21:00"), 30) == local("2026-12-08 09:00")
    assert default().add_minutes(local("2026-12-07 17:30"), 30) == local("2026-12-07 18:00")


def test_a_year_the_package_does_not_know_uses_the_hand_entered_days():
    assert package_knows(2026) and not package_knows(2027)
    bare = default()
    assert bare.day(date(2027, 2, 6)).kind == DayKind.OPEN and not bare.year_known(2027)
    cal = WorkCalendar.build(SHANGHAI, week=WEEKDAYS_ONLY, holidays=[(date(2027, 2, 6), "春节")],
                             workdays=[(date(2027, 2, 20), "春节")])
    assert cal.year_known(2027)
    assert cal.day(date(2027, 2, 6)).kind == DayKind.HOLIDAY
    assert cal.day(date(2027, 2, 20)).kind == DayKind.WORKDAY
    # a known year ignores hand entries: the package's schedule wins
    assert WorkCalendar.build(SHANGHAI, holidays=[(date(2026, 3, 2), "x")]).day(date(2026, 3, 2)).is_open


def test_the_coming_year_is_flagged_from_december_while_nobody_knows_it():
    assert coming_year_unknown(default(), date(2026, 12, 7)) == 2027
    assert coming_year_unknown(default(), date(2026, 11, 30)) is None
    assert coming_year_unknown(default(), date(2025, 12, 7)) is None     # the package knows 2026
    known = WorkCalendar.build(SHANGHAI, holidays=[(date(2027, 1, 1), "元旦")])
    assert coming_year_unknown(known, date(2026, 12, 7)) is None


def test_a_calendar_never_open_is_refused():
    cal = WorkCalendar.build(SHANGHAI, week=(None,) * 7)
    with pytest.raises(NeverOpen):
        cal.next_open(local("2026-12-07 09:00"))
    with pytest.raises(ValueError):
        WorkCalendar.build(SHANGHAI, week=((time(18), time(8)),) * 7)
    with pytest.raises(ValueError):
        default().add_minutes(local("2026-12-07 09:00"), -1)
