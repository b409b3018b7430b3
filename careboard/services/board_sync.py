"""The tablets' refresh of the board: which cells changed since the version a tablet last saw.

A saved change of a card logs the cells it touched (models.cards.BoardChange: where the card was, where it is
now); the clock changes a card's look when it passes the card's due time or the "due soon" mark before it. A
refresh asks with the token of its last answer (`Sync.token`) and gets the cells to draw again, whatever the
board holds, or "the whole board" when what it shows changed otherwise: accounts (the lanes), the day (Done
shows today), the settings, the viewer's filters or language, or a token too old or not ours.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careboard import dates
from careboard.models import BoardChange, Card, Column
from careboard.models.cards import OPEN_COLUMNS
from careboard.services.board import BoardFilters, _etag, lane_key, lane_where, people_stamp, people_version
from careboard.services.settings import StoreSettings

KEEP_CHANGES = timedelta(days=1)        # a board not refreshed for a day loads whole


@dataclass(frozen=True)
class Cell:
    """One column of one lane on a board drawn with the given filters."""
    lane: str
    column: str

    @classmethod
    def of(cls, filters: BoardFilters, column: str, assignee_id: int | None, role: str) -> Cell:
        return cls(lane_key(filters, assignee_id, role), Column(column).value)

    @property
    def where(self):
        return (Card.column == self.column) & lane_where(self.lane)


@dataclass
class Sync:
    token: str                                    # the version of the board this answer brings the tablet to
    whole: bool = False                           # draw the whole board again
    cells: set[Cell] = field(default_factory=set)

    @property
    def unchanged(self) -> bool:
        return not self.whole and not self.cells


def _base(people: str, now: datetime, settings: StoreSettings, scope: str) -> str:
    return _etag(people, dates.local_date(now, settings.zone).isoformat(), settings.fingerprint(), scope)


def board_token(session: Session, *, now: datetime, settings: StoreSettings, scope: str) -> str:
    """The token of a board drawn now: the newest change logged, the time, and what else the board shows."""
    newest, *stamp = session.execute(select(select(func.max(BoardChange.id)).scalar_subquery(),
                                            *people_stamp())).one()
    return _token(newest or 0, now, _base(people_version(session, stamp), now, settings, scope))


def _token(newest: int, now: datetime, base: str) -> str:
    return f"{newest}.{int(now.timestamp())}.{base}"


def _parse(token: str) -> tuple[int, datetime, str] | None:
    try:
        newest, seconds, base = token.split(".")
        return int(newest), datetime.fromtimestamp(int(seconds), UTC), base
    except (ValueError, OverflowError, OSError):
        return None


def changes_since(session: Session, token: str, *, filters: BoardFilters, now: datetime, settings: StoreSettings,
                  scope: str) -> Sync:
    """The cells of the board (with these filters) to draw again since `token`. Its cost depends on what
    changed, not on how many cards the board holds: an unchanged board costs one query of index seeks."""
    seen = _parse(token)
    since, then = (seen[0], seen[1]) if seen else (0, now)
    soon = settings.due_soon
    # The cards whose due time, or "due soon" mark, the clock passed since the token (ix_card_due).
    passed = select(Card.column, Card.assignee_id, Card.role).where(
        Card.column.in_(OPEN_COLUMNS),
        or_(Card.due_at.between(then, now), Card.due_at.between(then + soon, now + soon)))
    newest, oldest, clock, *stamp = session.execute(select(
        select(func.max(BoardChange.id)).scalar_subquery(), select(func.min(BoardChange.id)).scalar_subquery(),
        passed.exists(), *people_stamp())).one()
    newest = newest or 0
    base = _base(people_version(session, stamp), now, settings, scope)
    fresh = _token(newest, now, base)
    if seen is None or seen[2] != base or since > newest or (oldest is not None and since < oldest - 1) \
            or now - then > KEEP_CHANGES:
        return Sync(fresh, whole=True)
    if newest == since and not clock:
        return Sync(fresh)
    query = select(BoardChange.column, BoardChange.assignee_id, BoardChange.role).where(BoardChange.id > since)
    places = session.execute(query.union(passed) if clock else query.distinct()).all()
    return Sync(fresh, cells={Cell.of(filters, column, assignee_id, role) for column, assignee_id, role in places})


def prune(session: Session, now: datetime) -> int:
    """Forget the changes older than a day (the tick calls this): the log stays small."""
    return session.execute(BoardChange.__table__.delete().where(BoardChange.at < now - KEEP_CHANGES)).rowcount
