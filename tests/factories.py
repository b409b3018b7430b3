"""Plain factory functions: each makes one row with sensible defaults and flushes it."""
from __future__ import annotations

from careboard.models import Level, Role, User
from careboard.services import accounts

PASSWORD = "test-password-1"


def make_user(session, username: str, *, role: Role = Role.SALES_CARE, level: Level = Level.STAFF,
              password: str = PASSWORD, language: str = "zh_CN", active: bool = True) -> User:
    user = accounts.create_user(session, username=username, display_name=username.title(), role=role,
                                level=level, password=password, language=language)
    user.active = active
    session.flush()
    return user
