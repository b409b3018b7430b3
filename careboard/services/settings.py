"""Typed store settings with defaults from the app's configuration."""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard.models import Setting, User
from careboard.services import DomainError


@dataclass(frozen=True)
class StoreSettings:
    store_name: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _raw(session: Session) -> dict[str, str]:
    return {s.key: s.value for s in session.scalars(select(Setting))}


def load(session: Session) -> StoreSettings:
    raw = _raw(session)
    return StoreSettings(
        store_name=raw.get("store_name") or current_app.config["CAREBOARD_STORE_NAME"],
        timezone=raw.get("timezone") or current_app.config["CAREBOARD_TIMEZONE"],
    )


def validate_timezone(name: str) -> str:
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("Unknown time zone: %(name)s", name=name)) from None
    return name


def common_timezones() -> list[str]:
    preferred = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Urumqi", "Asia/Singapore", "UTC"]
    return preferred + sorted(z for z in available_timezones() if z not in preferred and "/" in z)


def save(session: Session, *, actor: User, store_name: str, timezone: str) -> StoreSettings:
    store_name = store_name.strip()
    if not store_name:
        raise DomainError(_("The store needs a name."))
    values = {"store_name": store_name, "timezone": validate_timezone(timezone)}
    existing = {s.key: s for s in session.scalars(select(Setting).where(Setting.key.in_(values)))}
    for key, value in values.items():
        row = existing.get(key) or Setting(key=key)
        row.value, row.updated_by_id = value, actor.id
        session.add(row)
    return load(session)
