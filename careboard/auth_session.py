"""Flask-Login wiring and the idle logout for shared tablets."""
from __future__ import annotations

import time

import htmx_flask
from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from careboard.extensions import db, login
from careboard.models import User

SEEN = "seen"
POLL_HEADER = "X-CareBoard-Poll"      # sent by the board's background refresh: not activity


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = _l("Please log in to continue.")
    login.login_message_category = "info"
    login.session_protection = "basic"
    app.before_request(enforce_idle_logout)


@login.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def enforce_idle_logout():
    """Log out after IDLE_LOGOUT_MINUTES without a request of the user's own (polls don't count)."""
    if request.endpoint in (None, "static", "main.healthz") or not current_user.is_authenticated:
        return None
    now = int(time.time())
    limit = current_app.config["IDLE_LOGOUT_MINUTES"] * 60
    seen = session.get(SEEN)
    if seen is not None and now - seen > limit:
        logout_user()
        session.clear()
        flash(_("You were logged out after %(n)d minutes without activity.",
                n=current_app.config["IDLE_LOGOUT_MINUTES"]), "info")
        target = url_for("auth.login")
        if request.htmx:
            return htmx_flask.make_response("", redirect=target)
        return redirect(target)
    if request.headers.get(POLL_HEADER) != "1" or seen is None:
        session[SEEN] = now
    return None
