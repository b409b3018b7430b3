"""Accounts: authentication and the administrator's use cases."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careboard.dbtypes import utcnow
from careboard.models import Level, Role, User
from careboard.services import DomainError

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
MIN_PASSWORD = 8


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same answer for every failure)."""
    user = find_by_username(session, username)
    if user is None or not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD))


def create_user(session: Session, *, username: str, display_name: str, role: Role, level: Level,
                password: str, language: str = "zh_CN") -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise DomainError(_("User names are 2 to 40 lower-case letters, digits, '.', '_' or '-', "
                            "starting with a letter."))
    if find_by_username(session, username) is not None:
        raise DomainError(_("The user name %(name)s is taken.", name=username))
    _check_password(password)
    user = User(username=username, display_name=display_name.strip(), role=Role(role).value,
                level=int(Level(level)), language=language)
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.active.is_(True), User.level >= Level.ADMIN)) or 0


def update_user(session: Session, user: User, *, actor: User, display_name: str, role: Role,
                level: Level, language: str) -> User:
    if user.id == actor.id and int(level) < user.level:
        raise DomainError(_("You cannot lower your own permission level."))
    user.display_name = display_name.strip()
    user.role = Role(role).value
    user.level = int(Level(level))
    user.language = language
    return user


def set_active(session: Session, user: User, *, actor: User, active: bool) -> User:
    """Deactivating keeps every row of the user; they simply cannot log in."""
    if not active and user.id == actor.id:
        raise DomainError(_("You cannot deactivate your own account."))
    if not active and user.level >= Level.ADMIN and user.active and _active_admins(session) <= 1:
        raise DomainError(_("At least one active administrator must remain."))
    user.active = active
    return user


def reset_password(session: Session, user: User, *, password: str) -> User:
    _check_password(password)
    user.set_password(password)
    return user


def change_own_password(session: Session, user: User, *, current: str, new: str) -> User:
    if not user.check_password(current):
        raise DomainError(_("The current password is wrong."))
    return reset_password(session, user, password=new)


def list_users(include_inactive: bool = True):
    query = select(User).order_by(User.active.desc(), User.role, User.username)
    return query if include_inactive else query.where(User.active.is_(True))
