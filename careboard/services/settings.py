"""Typed store settings with defaults; stored as key/value rows (models.Setting)."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields
from functools import cached_property
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard.lru import LruCache
from careboard.dates import holiday_lines, local_date, parse_holidays
from careboard.models import Column, Setting, User
from careboard.services.errors import DomainError
from careboard.workcal import (DEFAULT_HOURS, Day, Hours, NeverOpen, WorkCalendar, coming_year_unknown,
                              month_grid, package_knows)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_KEYS = tuple(f"hours_{d}" for d in WEEKDAYS)
DEFAULT_HOURS_TEXT = f"{DEFAULT_HOURS[0]:%H:%M}-{DEFAULT_HOURS[1]:%H:%M}"
CLOSED_WORDS = ("closed", "休息", "-")
HOURS_TEXT = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})$")
# The working calendar (careboard/workcal.py): one day per line, "2026-12-31 盘点".
DAY_LISTS = ("store_closed_days", "store_open_days", "official_holidays", "official_workdays")


class Clock(enum.StrEnum):
    """How a time limit counts: only while the store is open, or every hour of the day and night."""
    OPENING = "opening"
    CALENDAR = "calendar"


# Each time limit's clock, with its default and why (the seeds, ../shared/seeds/, say what each limit is for).
CLOCK_DEFAULTS: dict[str, Clock] = {
    # "30分钟内响应": answering the customer needs someone in the store; a complaint at 21:00 is answered
    # 30 minutes after the store opens the next morning.
    "clock_complaint_response": Clock.OPENING,
    # "2小时内上报传递给相关责任部门" / "一小时内下发到第一责任人": the departments work in opening hours.
    "clock_complaint_handoff": Clock.OPENING,
    # "24小时内拿出处理方案", "24小时内处理": a promise of a day to the customer, counted on the clock.
    "clock_complaint_solution": Clock.CALENDAR,
    "clock_complaint_resolve": Clock.CALENDAR,
    # "处理完毕的24小时之内进行二次回访": the same day's promise.
    "clock_complaint_second_callback": Clock.CALENDAR,
    # "限时整改": a failed 5S item is put right by the staff on duty, so its days are open days.
    "clock_rectification": Clock.OPENING,
    # Callbacks are calls from the store: one due on a closed day falls due on the next open day. Greetings
    # stay on the birthday or holiday itself in either case.
    "clock_care_cards": Clock.OPENING,
}


@dataclass(frozen=True)
class StoreSettings:
    store_name: str
    timezone: str
    due_soon_hours: int = 2            # a card is "due soon" this long before its due time
    poll_seconds: int = 20             # how often tablets refresh the board
    wip_limit_todo: int = 0            # open cards per person and column before a warning; 0 = none
    wip_limit_doing: int = 3
    wip_limit_waiting: int = 0
    # Care rules (services/care_rules.py): lead times in days before the date, and the like.
    callback_lead_days: int = 1        # a callback card appears this many days before it is due
    backfill_days: int = 7             # the first tick (and a late import) goes back this far, no further
    first_maintenance_lead_days: int = 7
    maintenance_lead_days: int = 7
    maintenance_interval_months: int = 5
    warranty_lead_days: int = 30
    inspection_lead_days: int = 30
    insurance_lead_days: int = 45
    birthday_lead_days: int = 1
    holiday_lead_days: int = 3
    reminder_due_days: int = 3         # a reminder is due this many days after it appears
    winback_months: int = 6            # no service visit for this long: a win-back callback
    callback_attempts: int = 3         # an unreached callback is retried until this many attempts
    satisfaction_threshold: int = 6    # at or below: the callback is flagged for a complaint
    holidays: str = ""                 # "2026-02-17 春节" per line; empty: DEFAULT_HOLIDAYS
    # Complaint SLAs (services/complaints.py), defaults from the seeds.
    complaint_response_minutes: int = 30
    complaint_handoff_hours: int = 2
    complaint_handoff_aftersales_hours: int = 1
    complaint_solution_hours: int = 24
    complaint_resolve_hours: int = 24
    complaint_second_callback_hours: int = 24
    # 5S checklist (services/checklist.py): a failed item is put right by the end of the day this many
    # days after the check (1: the end of the next day).
    rectification_days: int = 1
    # Scorecard (services/kpi.py): from this day of the month the scorecard opens on the current month; before
    # it, on the last finished one (a month a few days old has almost no figures to rank people on).
    scorecard_entry_day: int = 25
    # The working calendar (careboard/workcal.py): opening hours per weekday ("08:30-18:00" or "closed"),
    # the store's own closed and open days, and official holidays and 调休 working days entered by hand for a
    # year chinese_calendar does not know yet; one "2026-12-31 盘点" per line.
    hours_mon: str = DEFAULT_HOURS_TEXT
    hours_tue: str = DEFAULT_HOURS_TEXT
    hours_wed: str = DEFAULT_HOURS_TEXT
    hours_thu: str = DEFAULT_HOURS_TEXT
    hours_fri: str = DEFAULT_HOURS_TEXT
    hours_sat: str = DEFAULT_HOURS_TEXT
    hours_sun: str = DEFAULT_HOURS_TEXT
    store_closed_days: str = ""
    store_open_days: str = ""
    official_holidays: str = ""
    official_workdays: str = ""
    # How each time limit counts (Clock; CLOCK_DEFAULTS says why each default).
    clock_complaint_response: Clock = CLOCK_DEFAULTS["clock_complaint_response"]
    clock_complaint_handoff: Clock = CLOCK_DEFAULTS["clock_complaint_handoff"]
    clock_complaint_solution: Clock = CLOCK_DEFAULTS["clock_complaint_solution"]
    clock_complaint_resolve: Clock = CLOCK_DEFAULTS["clock_complaint_resolve"]
    clock_complaint_second_callback: Clock = CLOCK_DEFAULTS["clock_complaint_second_callback"]
    clock_rectification: Clock = CLOCK_DEFAULTS["clock_rectification"]
    clock_care_cards: Clock = CLOCK_DEFAULTS["clock_care_cards"]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def calendar(self) -> WorkCalendar:
        """The store's working calendar (stored values were validated by save()); built once per settings."""
        days = {name: holiday_lines(getattr(self, name))[0] for name in DAY_LISTS}
        return WorkCalendar.build(
            self.zone, week=[parse_hours(getattr(self, key)) for key in HOURS_KEYS],
            closed_days=[d for d, _n in days["store_closed_days"]], open_days=[d for d, _n in days["store_open_days"]],
            holidays=days["official_holidays"], workdays=days["official_workdays"])

    def limit_end(self, start: datetime, *, minutes: int | float, clock: str) -> datetime:
        """`start` plus a time limit of `minutes`, counted as the setting `clock` (a CLOCK_DEFAULTS key) says:
        opening minutes stop while the store is closed; calendar minutes run day and night. A calendar with
        no opening at all (every day closed for years) counts calendar time rather than never."""
        if getattr(self, clock) is Clock.OPENING:
            try:
                return self.calendar.add_minutes(start, minutes)
            except NeverOpen:
                pass
        return start + timedelta(minutes=minutes)

    def counts_opening(self, clock: str) -> bool:
        return getattr(self, clock) is Clock.OPENING

    @property
    def due_soon(self) -> timedelta:
        return timedelta(hours=self.due_soon_hours)

    def wip_limit(self, column: Column | str) -> int:
        return getattr(self, f"wip_limit_{Column(column).value}", 0)

    def fingerprint(self) -> str:
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:             # part of every ETag: worked out once per settings
        return "|".join(str(getattr(self, f.name)) for f in fields(self))


INTEGER_RANGES = {
    "due_soon_hours": (0, 72),
    "poll_seconds": (5, 600),
    "wip_limit_todo": (0, 500),
    "wip_limit_doing": (0, 500),
    "wip_limit_waiting": (0, 500),
    "callback_lead_days": (0, 14),
    "backfill_days": (0, 60),
    "first_maintenance_lead_days": (0, 90),
    "maintenance_lead_days": (0, 90),
    "maintenance_interval_months": (1, 24),
    "warranty_lead_days": (0, 180),
    "inspection_lead_days": (0, 180),
    "insurance_lead_days": (0, 180),
    "birthday_lead_days": (0, 30),
    "holiday_lead_days": (0, 30),
    "reminder_due_days": (0, 30),
    "winback_months": (1, 36),
    "callback_attempts": (1, 10),
    "satisfaction_threshold": (0, 10),
    "complaint_response_minutes": (1, 1440),
    "complaint_handoff_hours": (1, 72),
    "complaint_handoff_aftersales_hours": (1, 72),
    "complaint_solution_hours": (1, 240),
    "complaint_resolve_hours": (1, 240),
    "complaint_second_callback_hours": (1, 240),
    "rectification_days": (0, 14),
    "scorecard_entry_day": (1, 28),                     # every month has a 28th
}


SETTING_ROWS = select(Setting.key, Setting.value).order_by(Setting.key)       # built once: every request reads it
_parsed = LruCache(8)


def load(session: Session) -> StoreSettings:
    """The store's settings as they are now: read on every request (one query of a few dozen short rows),
    parsed once per process for the same rows and configuration (StoreSettings is frozen; its calendar is
    worked out once with it)."""
    rows = tuple(tuple(row) for row in session.execute(SETTING_ROWS))
    key = (rows, current_app.config["CAREBOARD_STORE_NAME"], current_app.config["CAREBOARD_TIMEZONE"])
    loaded = _parsed.get(key)
    if loaded is None:
        loaded = _parse(dict(rows))
        _parsed.put(key, loaded)
    return loaded


def _parse(raw: dict[str, str]) -> StoreSettings:
    values: dict = {
        "store_name": raw.get("store_name") or current_app.config["CAREBOARD_STORE_NAME"],
        "timezone": raw.get("timezone") or current_app.config["CAREBOARD_TIMEZONE"],
    }
    for key in INTEGER_RANGES:
        if key in raw:
            values[key] = int(raw[key])
    for key in ("holidays", *HOURS_KEYS, *DAY_LISTS):
        if raw.get(key):
            values[key] = raw[key]
    for key in CLOCK_DEFAULTS:
        if raw.get(key) in {c.value for c in Clock}:
            values[key] = Clock(raw[key])
    return StoreSettings(**values)


def parse_hours(text: str | None) -> Hours:
    """A weekday's opening hours: "08:30-18:00", or "closed" (休息, -) for none; empty: the default 08:30-18:00."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_HOURS
    if text.lower() in CLOSED_WORDS:
        return None
    match = HOURS_TEXT.match(text)
    try:
        if not match:
            raise ValueError(text)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        opens, closes = time(h1, m1), time(h2, m2)
    except ValueError:
        raise DomainError(_("Opening hours are written 08:30-18:00, or “closed” for a closed day.")) from None
    if not opens < closes:
        raise DomainError(_("The store must close after it opens (%(hours)s).", hours=text))
    return opens, closes


def hours_text(hours: Hours) -> str:
    return "closed" if hours is None else f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


def parse_day_list(text: str | None, *, official: bool) -> list[tuple[date, str]]:
    """One day per line ("2026-12-31 盘点"); `official`: only years chinese_calendar does not know."""
    days, bad = holiday_lines(text or "")
    if bad:
        raise DomainError(_("Line %(n)d: write a date between 1900 and 2100 as 2026-12-31, then a name if you "
                            "like.", n=bad[0][0]))
    if official:
        known = sorted({d.year for d, _name in days if package_knows(d.year)})
        if known:
            raise DomainError(_("The official calendar of %(year)d is already known; enter the store's own closed "
                                "or open days instead.", year=known[0]))
    return days


def validate_timezone(name: str) -> str:
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("Unknown time zone: %(name)s", name=name)) from None
    return name


def common_timezones() -> list[str]:
    preferred = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Urumqi", "Asia/Singapore", "UTC"]
    return preferred + sorted(z for z in available_timezones() if z not in preferred and "/" in z)


def save(session: Session, *, actor: User, **changes) -> StoreSettings:
    """Validate every value first; write them all or none."""
    values: dict[str, str] = {}
    if "store_name" in changes:
        name = (changes.pop("store_name") or "").strip()
        if not name:
            raise DomainError(_("The store needs a name."))
        values["store_name"] = name
    if "timezone" in changes:
        values["timezone"] = validate_timezone(changes.pop("timezone"))
    if "holidays" in changes:
        text = (changes.pop("holidays") or "").strip()
        parse_holidays(text)                                   # raises DomainError with the bad line
        values["holidays"] = text
    week, current = [], load(session)
    for key in HOURS_KEYS:
        if key in changes:
            values[key] = hours_text(parse_hours(changes.pop(key)))
        week.append(parse_hours(values.get(key, getattr(current, key))))
    if not any(week):
        raise DomainError(_("The store must open on at least one weekday."))
    for key in DAY_LISTS:
        if key in changes:
            text = (changes.pop(key) or "").strip()
            parse_day_list(text, official=key.startswith("official_"))
            values[key] = text
    for key in CLOCK_DEFAULTS:
        if key in changes:
            value = changes.pop(key)
            if value not in {c.value for c in Clock}:
                raise DomainError(_("A time limit counts opening hours or calendar time, not “%(value)s”.",
                                    value=value))
            values[key] = str(Clock(value))
    for key, value in changes.items():
        if key not in INTEGER_RANGES:
            raise DomainError(_("Unknown setting: %(name)s", name=key))
        low, high = INTEGER_RANGES[key]
        if value is None or not low <= int(value) <= high:
            raise DomainError(_("%(name)s must be between %(low)d and %(high)d.", name=key, low=low, high=high))
        values[key] = str(int(value))
    existing = {s.key: s for s in session.scalars(select(Setting).where(Setting.key.in_(values)))}
    for key, value in values.items():
        row = existing.get(key) or Setting(key=key)
        row.value, row.updated_by_id = value, actor.id
        session.add(row)
    session.flush()
    return load(session)


def calendar_year(store: StoreSettings, year: int) -> list[tuple[int, list[list[Day | None]]]]:
    """The year's months as Monday-first week grids, each day marked open, holiday, 调休 or closed."""
    cal = store.calendar
    return [(month, month_grid(cal, year, month)) for month in range(1, 13)]


def unknown_coming_year(store: StoreSettings, now: datetime) -> int | None:
    """From December on: the coming year when neither chinese_calendar nor the admin has its holidays."""
    return coming_year_unknown(store.calendar, local_date(now, store.zone))
