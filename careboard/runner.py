"""The app runs the tick too: on requests, at most every CAREBOARD_AUTO_TICK_SECONDS, in a thread.

A single-box install needs no cron: `maybe_tick` (called before requests) starts a daemon thread that claims
and runs one tick in its own transaction; across workers the claim in the database decides who runs.
`run_claimed_tick` is the one place outside a request that commits a tick; `flask tick` (cli.py) does the
same from cron. Beside cli.py, not among the services: it owns threads, the app context and the commit.
"""
from __future__ import annotations

import threading
import time as monotime
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from careboard import dates
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.services import robots
from careboard.services.settings import StoreSettings
from careboard.services.tick import TickReport, claim_tick, tick

_tick_lock = threading.Lock()
_last_check: dict[str, float | None] = {"at": None}     # monotonic time of the last check; None: never


def maybe_tick(app: Flask) -> None:
    """Called on requests: at most every CAREBOARD_AUTO_TICK_SECONDS, run a tick in a background thread,
    so a single-box install needs no cron. Across workers the last tick time in the database decides."""
    interval = app.config.get("CAREBOARD_AUTO_TICK_SECONDS", 300)
    last = _last_check["at"]
    if not interval or (last is not None and monotime.monotonic() - last < interval):
        return
    if not _tick_lock.acquire(blocking=False):
        return
    _last_check["at"] = monotime.monotonic()
    threading.Thread(target=_background_tick, args=(app, interval), daemon=True, name="careboard-tick").start()


def _background_tick(app: Flask, interval: int) -> None:
    try:
        run_claimed_tick(app, interval)
    finally:
        _tick_lock.release()


def run_claimed_tick(app: Flask, interval: int | None) -> TickReport | None:
    """Claim and run one tick in its own transaction; None when another worker has it (or had it within
    `interval` seconds)."""
    with app.app_context():
        try:
            now = utcnow()
            if not claim_tick(db.session, now=now, interval_seconds=interval):
                db.session.rollback()
                return None
            report = tick(db.session, now=now)
            db.session.commit()
        except (IntegrityError, OperationalError) as error:   # SQLite busy beyond its timeout, a unique key
            db.session.rollback()
            app.logger.warning("automatic tick skipped: %s", error)
            return None
        if report.created:
            app.logger.info("automatic tick created %d cards", len(report.created))
        for row in report.skipped_rows:
            app.logger.warning("automatic tick: %s", row.line())
        send_robot_messages(app)
        return report


def send_robot_messages(app: Flask, *, limit: int = 50) -> int:
    """Send what the chat robots' outbox holds that is due, one message per commit (services/robots.py),
    after the tick's own commit and never inside a request. Returns how many were tried."""
    tried = 0
    with app.app_context():
        while tried < limit:
            try:
                message = robots.deliver_one(db.session, now=utcnow())
                db.session.commit()
            except (IntegrityError, OperationalError) as error:
                db.session.rollback()
                app.logger.warning("robot messages not sent now: %s", error)
                break
            if message is None:
                break
            tried += 1
            if message.last_error:
                app.logger.warning("robot %s: %s", message.robot_id, message.last_error)
    return tried


def parse_now(text: str | None, settings: StoreSettings) -> datetime:
    """`--now`: an ISO time in 1900–2100; without an offset it is the store's local time. None: the real now.
    ValueError (DateOutOfRange for a time outside 1900–2100) when it is not one."""
    if not text:
        return utcnow()
    value = datetime.fromisoformat(text.strip())
    dates.check(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.zone)
    return value.astimezone(UTC)
