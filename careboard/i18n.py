"""Locale and time-zone selection for Flask-Babel."""
from __future__ import annotations

from flask import current_app, g, has_request_context, session
from flask_login import current_user

from careboard.extensions import db
from careboard.services import settings

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    if has_request_context():
        if current_user and current_user.is_authenticated:
            return current_user.language
        if session.get("language") in current_app.config["LANGUAGES"]:
            return session["language"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def store():
    """The store's settings, read once per request."""
    if "store" not in g:
        g.store = settings.load(db.session)
    return g.store


def select_timezone() -> str:
    if has_request_context():
        return store().timezone
    return current_app.config["CAREBOARD_TIMEZONE"]
