"""Fixtures: a fresh database per test, migrated as in production.

SQLite (the default): the migrations run once into a template file, copied for every test.
PostgreSQL (TEST_DATABASE_URL=postgresql://...): the migrations run once into a schema of this test
run; every test starts from emptied tables. A module whose tests only read slow-to-load data (the demo)
may share one database of its own: `module_database_uri`.
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

from careboard import create_app
from careboard.config import TestConfig
from careboard.extensions import db
from tests.factories import PASSWORD, make_user

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))


def pg_url(schema: str) -> str:
    base = TEST_DATABASE_URL.replace("postgres://", "postgresql+psycopg://", 1)
    if base.startswith("postgresql://"):
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def config_for(uri: str, **overrides) -> type:
    return type("PerTestConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri, **overrides})


@contextmanager
def migrated_schema():
    """A PostgreSQL schema of its own with the migrations run into it; dropped at the end."""
    schema = f"careboard_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url("public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        app = create_app(config_for(pg_url(schema)))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield pg_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Where the migrated template lives: a SQLite file, or a PostgreSQL schema."""
    if ON_POSTGRES:
        with migrated_schema() as uri:
            yield uri
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite"
        app = create_app(config_for(f"sqlite:///{path}"))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield path


BACKGROUND_THREAD_PREFIX = "careboard-"      # the app's own threads: the automatic tick, the import jobs


@pytest.fixture(autouse=True)
def background_threads_end_with_their_test():
    """The app's background threads (an automatic tick a production-configured app starts on its first request,
    an import job) end before the next test empties the tables: on PostgreSQL a tick still writing while
    TRUNCATE takes its locks deadlocks the next test's set-up (red on CI)."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        if thread.name.startswith(BACKGROUND_THREAD_PREFIX):
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} was still running 60 s after its test"


def fresh_database_uri(database_template, tmp_path) -> str:
    if ON_POSTGRES:
        engine = create_engine(database_template)
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    path = tmp_path / "careboard.sqlite"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def module_database_uri(database_template, tmp_path_factory):
    """A migrated database that one test module keeps for all its tests (on PostgreSQL a schema of its own,
    which the per-test fixtures never empty); for data that is slow to load and only read."""
    if ON_POSTGRES:
        with migrated_schema() as uri:
            yield uri
    else:
        path = tmp_path_factory.mktemp("module") / "careboard.sqlite"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app_config(database_template, tmp_path):
    """The config class of this test's app; a test may subclass it before `app` is built."""
    return config_for(fresh_database_uri(database_template, tmp_path))


class FreshContextClient(FlaskClient):
    """Each request in an app context of its own, as in production: its own `g` and its own
    database session, not the test's (which the `app` fixture keeps pushed)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config, tmp_path):
    app = create_app(app_config)
    app.instance_path = str(tmp_path / "instance")     # uploads and imports stay inside the test's folder
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    return db.session


class AuthActions:
    """As in Flask's tutorial: log a test client in and out."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "sales1", password: str = PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def people(session):
    """One account per permission level (and a second staff member); committed."""
    from careboard.models import Level, Role
    users = {
        "admin": make_user(session, "admin", role=Role.ANALYST, level=Level.ADMIN),
        "director": make_user(session, "director", role=Role.CARE_DIRECTOR, level=Level.DIRECTOR),
        "supervisor": make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR),
        "sales1": make_user(session, "sales1", role=Role.SALES_CARE, level=Level.STAFF),
        "sales2": make_user(session, "sales2", role=Role.SALES_CARE, level=Level.STAFF),
    }
    session.commit()
    return users


@pytest.fixture
def statements(app):
    """Counts the SQL statements sent while a test runs: `statements["n"]`."""
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(db.engine, "after_cursor_execute", count)
    yield counter
    event.remove(db.engine, "after_cursor_execute", count)


@pytest.fixture
def english(app):
    """Messages in English (the msgids), whatever the translations say; `usefixtures("english")`."""
    from flask_babel import force_locale
    with force_locale("en"):
        yield


@pytest.fixture
def folder(tmp_path):
    """An empty folder for the files a test writes (imports, exports)."""
    path = tmp_path / "files"
    path.mkdir()
    return path
