"""Configuration classes. Secrets come only from the environment or instance/config.py."""
from __future__ import annotations

import math
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask

VERSION = "0.1.0"                  # as in pyproject.toml; /health shows it

DEV_SECRET_KEY = "careboard-development-only-not-secret"
TEST_SECRET_KEY = "careboard-test-secret"


class Config:
    """Development defaults: SQLite in instance/, debug-friendly, Chinese UI."""

    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None          # None: instance/careboard.sqlite
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # PostgreSQL: parallel workers per query, set on each connection (None or -1: the server's setting). The app's
    # queries are small and many; starting workers costs more than they save (the board's counts took 10 ms
    # with 2 workers and 3 ms without at 2,000 cards: bench/README.md).
    POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER: int | None = 0
    CAREBOARD_TIMEZONE = "Asia/Shanghai"
    CAREBOARD_STORE_NAME = "CareBoard"
    IDLE_LOGOUT_MINUTES = 15                             # tablets are shared
    LOGIN_RATE_LIMIT = "5 per minute"                    # failed attempts per user name and address
    LOGIN_RATE_LIMIT_PER_ADDRESS = "60 per minute"       # every attempt from one address (NAT'd tablets)
    CSP_REPORT_RATE_LIMIT = "30 per minute"              # browsers' CSP reports per address (anonymous)
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
    # The customer import (services/customer_import.py) refuses a file past these before it does the work.
    IMPORT_MAX_ROWS = 100_000                            # data rows of one export; split bigger ones
    IMPORT_MAX_COLUMNS = 200                             # columns of any row (the import knows 14 fields)
    IMPORT_MAX_CELL_CHARS = 2_000                        # characters of one cell
    IMPORT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024    # an XLSX's parts together, unpacked
    IMPORT_MAX_RATIO = 100                               # unpacked / packed size of one XLSX part (zip bombs)
    NOTIFICATION_POLL_SECONDS = 30                       # how often the bell asks for its count
    CAREBOARD_NOTIFY_IMPORT_AFTER_SECONDS = 10           # an import job that ran this long rings its uploader's bell
    IMPORT_IN_BACKGROUND = True                          # False: the upload runs the import in the request
    PHOTO_MAX_DECODED_BYTES = 200 * 1024 * 1024          # memory one photo may take decoded and scaled down
    # Flask-Compress: the app compresses its own answers, under `make run`, `make dev` and gunicorn alike (behind
    # nginx too, which passes them through; deploy/nginx.conf). Brotli first: browsers ask for it over HTTPS and
    # it is smaller; gzip for the rest. Not 304s and other bodyless answers (only 2xx are), not fragments under
    # COMPRESS_MIN_SIZE (a toast, a card's badge: the headers would outweigh the saving), not photos or XLSX
    # (not in the list: already compressed). CAREBOARD_COMPRESS=0 (COMPRESS_REGISTER) turns it off.
    COMPRESS_REGISTER = True
    COMPRESS_ALGORITHM = ("br", "gzip")
    COMPRESS_ALGORITHM_STREAMING = ("br", "gzip")        # send_file's answers: /static/ under `make run`
    COMPRESS_MIN_SIZE = 1024                             # bytes; nginx's gzip_min_length is the same
    COMPRESS_MIMETYPES = ("text/html", "text/css", "text/javascript", "application/javascript",
                          "application/json", "image/svg+xml", "text/plain")
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
    SECRET_KEY = TEST_SECRET_KEY
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
    "CAREBOARD_COMPRESS": "COMPRESS_REGISTER",
    "CAREBOARD_BASE_URL": "CAREBOARD_BASE_URL",
    "CAREBOARD_ROBOT_HOSTS": "CAREBOARD_ROBOT_HOSTS",
    "CAREBOARD_PG_PARALLEL_WORKERS": "POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER",
}
INTEGER_KEYS = {"IDLE_LOGOUT_MINUTES", "PROXY_FIX_X_FOR", "CAREBOARD_AUTO_TICK_SECONDS", "COMPRESS_REGISTER",
                "POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER"}


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


# ---------------------------------------------------------------- the production secret key

# Values that were ever published with CareBoard (examples, documentation, tests): whoever has read the
# repository can sign a session cookie with them. The repository's files are scanned as well (below), so a
# value added to an example later is refused without anyone remembering to list it here.
PUBLISHED_SECRETS = frozenset({
    DEV_SECRET_KEY,
    TEST_SECRET_KEY,
    "change-me-to-64-random-hex-characters",          # deploy/careboard.env.example until 2026-12
    "change-me",
    "changeme",
    "secret",
})
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "your-secret")
# The repository's own text files, relative to the folder that holds the careboard package (when they are
# there: an installed package has only its own .py files). Never instance/: that is where the real key lives.
# deploy/ only its examples and units: an operator may keep the real careboard.env next to them.
REPOSITORY_FILES = ("*.md", "docs/**/*.md", "deploy/*.example", "deploy/*.service", "deploy/*.timer", "deploy/*.conf",
                    "careboard/**/*.py", "careboard/**/*.html", "tests/**/*.py", "wsgi.py", "gunicorn.conf.py",
                    "Makefile", "pyproject.toml")
MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
MIN_ENTROPY_BITS = 80                                 # estimated; token_hex(32) ~240, token_hex(16) ~110
GENERATE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def _repository_root() -> Path:
    return Path(__file__).resolve().parent.parent


def appears_in_repository(value: str | bytes, root: Path | None = None) -> Path | None:
    """The first of the repository's own files that contains `value`, or None."""
    root = root or _repository_root()
    needle = value if isinstance(value, bytes) else value.encode()
    for pattern in REPOSITORY_FILES:
        for path in sorted(root.glob(pattern)):
            if not path.is_file():
                continue
            try:
                if needle in path.read_bytes():
                    return path
            except OSError:
                continue
    return None


def _repeats_a_pattern(value: str) -> bool:
    """"abcabcabc…": the value is a shorter piece repeated (the last repetition may be cut short)."""
    return any(all(value[i] == value[i % period] for i in range(len(value)))
               for period in range(1, len(value) // 2 + 1))


def estimated_entropy_bits(value: str) -> float:
    """Length × the Shannon entropy of the value's own character frequencies: an upper bound for guessable
    keys (it cannot see words or sequences), a good estimate for random ones."""
    counts = Counter(value)
    return -len(value) * sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def secret_key_problem(secret: str | bytes | None, root: Path | None = None) -> str | None:
    """Why this key must not sign production sessions, or None when it may (bytes, e.g. os.urandom(32) in
    instance/config.py, are judged byte by byte)."""
    if not secret:
        return ("CareBoard will not start in production without a secret key: set the SECRET_KEY environment "
                "variable (or SECRET_KEY in instance/config.py) to a long random value, for example the output "
                f"of: {GENERATE}")
    if not isinstance(secret, str | bytes):
        return "SECRET_KEY must be text: " + GENERATE
    key = secret.decode("latin-1") if isinstance(secret, bytes) else secret
    if key in PUBLISHED_SECRETS or any(word in key.lower() for word in PLACEHOLDER_WORDS):
        return ("SECRET_KEY is a value published with CareBoard (the development, test or example key): anyone "
                f"could forge sessions with it. Generate your own: {GENERATE}")
    if len(key) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random characters, e.g. {GENERATE}"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS or _repeats_a_pattern(key):
        return f"SECRET_KEY is too weak (too few different characters or a repeated pattern): use {GENERATE}"
    if estimated_entropy_bits(key) < MIN_ENTROPY_BITS:
        return f"SECRET_KEY is too weak (too predictable to be random): use {GENERATE}"
    found = appears_in_repository(secret, root)
    if found is not None:
        return (f"SECRET_KEY appears in CareBoard's own files ({found.name}), so it is not secret: "
                f"generate your own: {GENERATE}")
    return None


def check_production(app: Flask) -> None:
    """Production refuses a missing key, any key that appears in the repository and any weak key."""
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem:
        raise ConfigurationError(problem)
