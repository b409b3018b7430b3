"""Flask-Login wiring, the server-side login sessions and the idle logout for shared tablets.

A signed-in browser is a row in `login_session` (careboard/models/users.py LoginSession): logging in creates a
random token, keeps its sha256 in the row and the token itself in Flask's signed session cookie; every
request loads the user only if that row exists (one query: the user joined with the session). Logging out
deletes the row, so a copy of the cookie taken before is worthless; a password change, an administrator's
reset and a deactivation delete every row of the account, ending all its browsers at once.

Why a row of our own rather than Flask-Session (server-side session storage): no new dependency; the
cookie stays Flask's signed cookie, so CSRF tokens, the language and the idle timer work as before; the
cost is one indexed lookup joined with the user load the request makes anyway; and revocation is
instant, per browser (log-out) and per account (password, deactivation) — with Flask-Session, ending an
account's other sessions would need an index of sessions by user that it does not keep.

A session also ends PERMANENT_SESSION_LIFETIME after the log-in (older rows no longer count and are
deleted when someone logs in). Flask-Login's remember-me cookie is not used (`login_user` is never called
with `remember=True`); a remember cookie presented anyway logs nobody in, since it carries no session token.
"""
from __future__ import annotations

import time

import htmx_flask
from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from careboard.dbtypes import utcnow
from careboard.extensions import db, login
from careboard.models import User
from careboard.services import accounts

SEEN = "seen"
TOKEN = "login_token"                 # the login session's token, in the signed session cookie
POLL_HEADER = "X-CareBoard-Poll"      # sent by the board's background refresh: not activity


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = _l("Please log in to continue.")
    login.login_message_category = "info"
    login.session_protection = "basic"
    app.before_request(enforce_idle_logout)


@login.user_loader
def load_user(user_id: str) -> User | None:
    token = session.get(TOKEN)
    if not token or not isinstance(token, str) or not str(user_id).isdigit():
        return None
    lifetime = current_app.permanent_session_lifetime
    return accounts.session_user(db.session, int(user_id), token, not_before=utcnow() - lifetime)


def sign_in(user: User) -> None:
    """Start a login session for this browser (the caller commits)."""
    token = accounts.open_login_session(db.session, user, now=utcnow(),
                                        lifetime=current_app.permanent_session_lifetime)
    login_user(user)                                  # never remember=True: see the module docstring
    session[TOKEN] = token


def sign_out() -> None:
    """End this browser's login session on the server and forget the cookie's contents (the caller commits)."""
    accounts.close_login_session(db.session, session.get(TOKEN))
    logout_user()
    session.clear()


def renew() -> None:
    """After the account's sessions were ended (own password change): this browser stays signed in."""
    sign_in(current_user._get_current_object())


def enforce_idle_logout():
    """Log out after IDLE_LOGOUT_MINUTES without a request of the user's own (polls don't count)."""
    if request.endpoint in (None, "static", "main.healthz") or not current_user.is_authenticated:
        return None
    now = int(time.time())
    limit = current_app.config["IDLE_LOGOUT_MINUTES"] * 60
    seen = session.get(SEEN)
    if seen is not None and now - seen > limit:
        sign_out()
        db.session.commit()
        flash(_("You were logged out after %(n)d minutes without activity.",
                n=current_app.config["IDLE_LOGOUT_MINUTES"]), "info")
        target = url_for("auth.login")
        if request.htmx:
            return htmx_flask.make_response("", redirect=target)
        return redirect(target)
    if request.headers.get(POLL_HEADER) != "1" or seen is None:
        session[SEEN] = now
    return None
