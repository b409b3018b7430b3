"""Typed store settings with defaults; stored as key/value rows (models.Setting)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard.dates import parse_holidays
from careboard.models import Column, Setting, User
from careboard.services.errors import DomainError


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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def due_soon(self) -> timedelta:
        return timedelta(hours=self.due_soon_hours)

    def wip_limit(self, column: Column | str) -> int:
        return getattr(self, f"wip_limit_{Column(column).value}", 0)

    def fingerprint(self) -> str:
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


def load(session: Session) -> StoreSettings:
    raw = {s.key: s.value for s in session.scalars(select(Setting))}
    values: dict = {
        "store_name": raw.get("store_name") or current_app.config["CAREBOARD_STORE_NAME"],
        "timezone": raw.get("timezone") or current_app.config["CAREBOARD_TIMEZONE"],
    }
    for key in INTEGER_RANGES:
        if key in raw:
            values[key] = int(raw[key])
    if raw.get("holidays"):
        values["holidays"] = raw["holidays"]
    return StoreSettings(**values)


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
