"""Plain factory functions: each makes one row with sensible defaults and flushes it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from careboard.models import Level, Role, User
from careboard.services import accounts

PASSWORD = "test-password-1"
SHANGHAI = timezone(timedelta(hours=8))


def at(text: str) -> datetime:
    """A wall-clock time in Shanghai (the stores' default zone), "2026-11-25T08:00", as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def make_user(session, username: str, *, role: Role = Role.SALES_CARE, level: Level = Level.STAFF,
              password: str = PASSWORD, language: str = "zh_CN", active: bool = True) -> User:
    user = accounts.create_user(session, username=username, display_name=username.title(), role=role,
                                level=level, password=password, language=language)
    user.active = active
    session.flush()
    return user


def make_card(session, *, assignee: User | None = None, role: Role | str | None = None, title: str = "Card",
              kind: str = "task", due_at=None, column: str = "todo", priority: int = 2):
    """A card made by the rules engine (actor None) in To do, then moved to `column` if asked."""
    from careboard.services import board
    role = role or (assignee.role if assignee else Role.SALES_CARE)
    card = board.create_card(session, actor=None, kind=kind, title=title, role=role, assignee=assignee,
                             due_at=due_at, priority=priority)
    session.flush()
    if column != "todo":
        actor = assignee or make_user(session, f"mover{card.id}", level=Level.SUPERVISOR)
        if column == "done":
            board.complete_card(session, card, actor=actor, seen_version=card.version, note="done")
        else:
            board.move_card(session, card, actor=actor, to_column=column, to_assignee=assignee, position=None,
                            seen_version=card.version)
    session.flush()
    return card


_serial = {"n": 0}


def make_customer(session, name: str = "王先生", *, mobile: str | None = None, birthday=None,
                  sales_care: User | None = None, aftersales_care: User | None = None):
    from careboard.services import customers
    _serial["n"] += 1
    mobile = mobile or f"139{_serial['n']:08d}"
    return customers.create_customer(session, name=name, mobile=mobile, birthday=birthday,
                                      sales_care=sales_care, aftersales_care=aftersales_care)


def make_vehicle(session, customer, *, vin: str | None = None, plate: str | None = None, model: str = "明锐",
                 **dates):
    from careboard.services import customers
    _serial["n"] += 1
    vin = vin or f"LSVAB{_serial['n']:012d}"
    return customers.save_vehicle(session, customer, vin=vin, plate=plate, model=model, **dates)
