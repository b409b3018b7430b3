"""Accounts: authentication and the administrator's use cases."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session
from werkzeug import security

from careboard.dbtypes import utcnow
from careboard.models import Level, LoginSession, Role, User
from careboard.services.errors import DomainError

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
MIN_PASSWORD = 8


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


@lru_cache(maxsize=4)
def dummy_hash(method: str) -> str:
    """A hash of a random password made with `method`, once per process and method: what a failed log-in
    of an unknown or deactivated name is checked against."""
    return security.generate_password_hash(secrets.token_urlsafe(16), method)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same answer for every failure).

    Every attempt checks exactly one password hash made with the configured method, so a failed log-in
    costs the same whether the name exists, is deactivated or is unknown: the time of the answer does not
    tell which user names exist."""
    user = find_by_username(session, username)
    known = user is not None and user.active
    stored = user.password_hash if known else dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
    if not security.check_password_hash(stored, password) or not known:
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
    user = User(username=username, display_name=display_name.strip(), role=Role(role),
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
    user.role = Role(role)
    user.level = int(Level(level))
    user.language = language
    return user


def set_active(session: Session, user: User, *, actor: User, active: bool) -> User:
    """Deactivating keeps every row of the user; they cannot log in, and every open session of theirs ends."""
    if not active and user.id == actor.id:
        raise DomainError(_("You cannot deactivate your own account."))
    if not active and user.level >= Level.ADMIN and user.active and _active_admins(session) <= 1:
        raise DomainError(_("At least one active administrator must remain."))
    user.active = active
    if not active:
        end_all_sessions(session, user)
    return user


def reset_password(session: Session, user: User, *, password: str) -> User:
    """A new password ends every session of the account (the caller may open a fresh one for itself)."""
    _check_password(password)
    user.set_password(password)
    end_all_sessions(session, user)
    return user


def change_own_password(session: Session, user: User, *, current: str, new: str) -> User:
    if not user.check_password(current):
        raise DomainError(_("The current password is wrong."))
    return reset_password(session, user, password=new)


def list_users(include_inactive: bool = True):
    query = select(User).order_by(User.active.desc(), User.role, User.username)
    return query if include_inactive else query.where(User.active.is_(True))


# ---------------------------------------------------------------- login sessions (see careboard/auth_session.py)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> str:
    """A new signed-in browser of `user`: returns the token for its cookie; the database keeps only its hash.
    Rows older than `lifetime` (anybody's: they no longer let anyone in) are deleted on the way."""
    session.execute(delete(LoginSession).where(LoginSession.created_at < now - lifetime))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=token_hash(token), created_at=now))
    session.flush()
    return token


def close_login_session(session: Session, token: str | None) -> None:
    """Log-out: this browser's session ends; a copy of its cookie no longer works."""
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def end_all_sessions(session: Session, user: User) -> None:
    """Every browser of the account is logged out at once (password change, reset, deactivation)."""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# Every request of a signed-in person runs it: built once, its values bound per call (building the statement
# cost more than running it: bench/README.md, "One statement for a redraw's counts").
SESSION_USER = (select(User).join(LoginSession, LoginSession.user_id == User.id)
                .where(User.id == bindparam("user_id"), User.active.is_(True),
                       LoginSession.token_hash == bindparam("token_hash"),
                       LoginSession.created_at >= bindparam("not_before", type_=LoginSession.created_at.type)))


def session_user(session: Session, user_id: int, token: str, *, not_before: datetime) -> User | None:
    """The active user whose login session this token is, in one query (the user joined with the session)."""
    return session.scalar(SESSION_USER, {"user_id": user_id, "token_hash": token_hash(token),
                                         "not_before": not_before})
