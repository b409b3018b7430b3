"""Configuration classes. Secrets come only from the environment or instance/config.py."""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask

DEV_SECRET_KEY = "careboard-development-only-not-secret"


class Config:
    """Development defaults: SQLite in instance/, debug-friendly, Chinese UI."""

    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None          # None: instance/careboard.sqlite
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    CAREBOARD_TIMEZONE = "Asia/Shanghai"
    CAREBOARD_STORE_NAME = "CareBoard"
    IDLE_LOGOUT_MINUTES = 15                             # tablets are shared
    LOGIN_RATE_LIMIT = "5 per minute"                    # failed attempts per user name and address
    LOGIN_RATE_LIMIT_PER_ADDRESS = "60 per minute"       # every attempt from one address (NAT'd tablets)
    RATELIMIT_STORAGE_URI = "database://"                # shared by every worker (careboard/ratelimit.py)
    RATELIMIT_STRATEGY = "fixed-window"                  # the one the database storage supports
    RATELIMIT_HEADERS_ENABLED = True
    PROXY_FIX_X_FOR = 0                                  # set to 1 behind one reverse proxy
    CAREBOARD_AUTO_TICK_SECONDS = 300                    # the app runs the care rules itself; 0: only cron
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024                # a bigger request is refused with 413
    CAREBOARD_UPLOAD_FOLDER: str | None = None           # None: instance/uploads
    PHOTO_MAX_BYTES = 15 * 1024 * 1024                   # one photo as the tablet sends it
    PHOTO_MAX_PIXELS = 50_000_000                        # width × height before decoding (decompression bombs)
    PHOTO_MAX_SIDE = 2560                                # stored photos are scaled down to this long side
    WTF_CSRF_TIME_LIMIT = None                           # valid for the session; idle logout ends it
    PASSWORD_HASH_METHOD = "scrypt"
    SESSION_COOKIE_NAME = "careboard_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "careboard-test-secret"
    WTF_CSRF_ENABLED = False                             # tests that prove CSRF turn it back on
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"          # fast, for tests only
    CAREBOARD_AUTO_TICK_SECONDS = 0                      # tests tick explicitly
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    SECRET_KEY = None                                    # must come from SECRET_KEY or instance/config.py
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


# Environment variable -> config key, read by the factory (never at import time).
ENVIRONMENT = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "CAREBOARD_TIMEZONE": "CAREBOARD_TIMEZONE",
    "CAREBOARD_STORE_NAME": "CAREBOARD_STORE_NAME",
    "CAREBOARD_IDLE_LOGOUT_MINUTES": "IDLE_LOGOUT_MINUTES",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "CAREBOARD_PROXY_FIX_X_FOR": "PROXY_FIX_X_FOR",
    "CAREBOARD_AUTO_TICK_SECONDS": "CAREBOARD_AUTO_TICK_SECONDS",
    "CAREBOARD_UPLOAD_FOLDER": "CAREBOARD_UPLOAD_FOLDER",
}
INTEGER_KEYS = {"IDLE_LOGOUT_MINUTES", "PROXY_FIX_X_FOR", "CAREBOARD_AUTO_TICK_SECONDS"}


class ConfigurationError(RuntimeError):
    """The app refuses to start; the message says what to set."""


def load_environment(app: Flask) -> None:
    for variable, key in ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value:
            app.config[key] = int(value) if key in INTEGER_KEYS else value


def database_uri(app: Flask) -> str:
    """The configured URL, with postgres:// spelled for psycopg 3; SQLite in instance/ by default."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        return "sqlite:///" + os.path.join(app.instance_path, "careboard.sqlite")
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix):]
    return uri


def check_production(app: Flask) -> None:
    key = app.config.get("SECRET_KEY")
    if not key or key == DEV_SECRET_KEY:
        raise ConfigurationError(
            "CareBoard will not start in production without a secret key: set the SECRET_KEY "
            "environment variable (or SECRET_KEY in instance/config.py) to a long random value, "
            "for example the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if len(key) < 16:
        raise ConfigurationError("SECRET_KEY is too short: use at least 32 random characters.")
