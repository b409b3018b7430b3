"""The database goes away and comes back: every page answers the app's own 503 page (in Chinese, with a hint to
retry), every htmx call a 503 toast, /healthz 503, and once the database is back the same app, not restarted,
serves the logged-in user again. PostgreSQL really: a closed port, and a TCP proxy in front of the server that
the test closes and reopens; SQLite: a database file whose folder is gone."""
from __future__ import annotations

import logging
import shutil
import socket
import threading
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError

from careboard import create_app, policy
from careboard.extensions import db
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, FreshContextClient, config_for, fresh_database_uri
from tests.factories import PASSWORD, make_user
from tests.tcp_proxy import TcpProxy

TITLE = "数据库暂时无法连接"
HINT = "请稍等片刻再试"
POSTGRES_URL = TEST_DATABASE_URL if ON_POSTGRES else "postgresql://postgres@127.0.0.1:5432/test"


class Recorded(logging.Handler):
    """The app logger's messages while a test runs (not caplog: a migration run reconfigures the root logger)."""

    def __init__(self, app) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.levels: list[int] = []
        app.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.levels.append(record.levelno)


def outage_app(uri: str, **overrides):
    app = create_app(config_for(uri, **overrides))
    app.test_client_class = FreshContextClient
    return app


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 30             # the login's rate limit may name a later time
    html = response.get_data(as_text=True)
    assert "<html" in html and TITLE in html and HINT in html
    assert "Internal Server Error" not in html


def assert_unavailable_toast(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers["HX-Retarget"] == "#toasts"
    assert response.headers["HX-Reswap"] == "innerHTML"            # replaces, so polls do not pile them up
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="toast toast-error"') and 'data-status="503"' in html
    assert TITLE in html and "<html" not in html


def unreachable_uris(tmp_path: Path) -> list[str]:
    return ["postgresql+psycopg://postgres@127.0.0.1:1/test",           # nothing listens on port 1
            f"sqlite:///{tmp_path}/no-such-folder/careboard.sqlite"]   # the file cannot be opened


@pytest.mark.parametrize("which", [0, 1], ids=["postgresql closed port", "sqlite missing folder"])
def test_every_page_and_htmx_call_answers_503_while_the_database_is_unreachable(tmp_path, which):
    # TESTING propagates what no handler takes: any path that still failed with a bare 500 raises here.
    app = outage_app(unreachable_uris(tmp_path)[which], CAREBOARD_AUTO_TICK_SECONDS=300)
    client = app.test_client()
    page = client.get("/login?next=/board/mine")
    assert_unavailable_page(page)
    assert 'href="/login?next=/board/mine"' in page.get_data(as_text=True)       # "try again": the same page
    assert_unavailable_toast(client.get("/login", headers={"HX-Request": "true", "HX-Target": "main"}))
    assert_unavailable_page(client.post("/login", data={"username": "sales1", "password": "x"}))
    assert_unavailable_page(client.get("/no/such/page"))          # the 404 page's frame reads the database too
    assert_unavailable_toast(client.get("/no/such/page", headers={"HX-Request": "true"}))
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"].startswith("error")
    for thread in threading.enumerate():                         # the automatic tick's thread failed quietly
        if thread.name == "careboard-tick":
            thread.join(10)


def test_an_outage_is_logged_once_not_per_request(tmp_path):
    app = outage_app(unreachable_uris(tmp_path)[1])
    client = app.test_client()
    log = Recorded(app)
    for _ in range(3):
        assert client.get("/login").status_code == 503
    assert log.levels == [logging.ERROR], log.messages
    assert log.messages[0].startswith("the database cannot be reached (OperationalError: unable to open database "
                                      "file, on GET /login)")


@pytest.mark.parametrize("error", [
    InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True),
], ids=["InterfaceError", "DBAPIError that cost the connection"])
def test_other_lost_connections_are_503_too(app_config, error):
    app = create_app(app_config)

    @policy.public
    def lose_connection():
        raise error

    app.add_url_rule("/lose-connection", view_func=lose_connection)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    assert_unavailable_page(client.get("/lose-connection"))
    assert_unavailable_toast(client.get("/lose-connection", headers={"HX-Request": "true"}))


def test_a_statement_the_database_refuses_is_still_a_500(app_config):
    app = create_app(app_config)

    @policy.public
    def duplicate():
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    app.add_url_rule("/duplicate", view_func=duplicate)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/duplicate")
    assert response.status_code == 500 and "Retry-After" not in response.headers


def log_in(client, app, username: str = "sales1") -> None:
    with app.app_context():
        make_user(db.session, username)
        db.session.commit()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]


def assert_served(client) -> None:
    page = client.get("/board/mine")
    assert page.status_code == 200
    assert "Sales1" in page.get_data(as_text=True)


def assert_down(client) -> None:
    assert_unavailable_page(client.get("/board/mine"))           # the user loader is the first to fail
    assert_unavailable_toast(client.get("/board/mine", headers={"HX-Request": "true", "HX-Target": "board"}))
    assert client.get("/healthz").status_code == 503


def test_sqlite_the_same_app_recovers_when_the_file_is_back(database_template, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    if ON_POSTGRES:                                              # no SQLite template in this run: migrate one
        uri = f"sqlite:///{folder}/careboard.sqlite"
        with create_app(config_for(uri)).app_context():
            upgrade()
            db.engine.dispose()
    else:
        shutil.copyfile(database_template, folder / "careboard.sqlite")
    app = outage_app(f"sqlite:///{folder}/careboard.sqlite", PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    log_in(client, app)
    assert_served(client)

    with app.app_context():
        db.engine.dispose()                                      # the pooled connections still had the file open
    folder.rename(tmp_path / "away")
    log = Recorded(app)
    assert_down(client)
    (tmp_path / "away").rename(folder)
    assert_served(client)
    assert len(log.messages) == 2 and "cannot be reached" in log.messages[0], log.messages
    assert log.messages[1] == "the database is reachable again (2 requests were answered 503 meanwhile)"


def postgres_upstream() -> tuple[str, int]:
    url = make_url(POSTGRES_URL)
    return url.host or "127.0.0.1", url.port or 5432


def postgres_is_running() -> bool:
    try:
        socket.create_connection(postgres_upstream(), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def postgres_schema_url(database_template, tmp_path):
    """A migrated PostgreSQL schema: this run's template when the tests run on PostgreSQL, else a new one."""
    if not postgres_is_running():
        pytest.skip(f"no PostgreSQL server answers at {postgres_upstream()}")
    if ON_POSTGRES:
        yield fresh_database_uri(database_template, tmp_path)
        return
    schema = f"careboard_outage_{uuid.uuid4().hex[:10]}"
    base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        with create_app(config_for(url)).app_context():
            upgrade()
            db.engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pool_pre_ping", "no pre-ping"])
def test_postgresql_the_same_app_recovers_when_the_server_is_back(postgres_schema_url, pre_ping):
    proxy = TcpProxy(postgres_upstream())
    url = make_url(postgres_schema_url).set(host="127.0.0.1", port=proxy.port)
    app = outage_app(url.render_as_string(hide_password=False), PROPAGATE_EXCEPTIONS=False,
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": pre_ping})
    try:
        client = app.test_client()
        log_in(client, app)
        assert_served(client)

        proxy.close()                                            # the server stops: connections cut, new refused
        log = Recorded(app)
        assert_down(client)
        proxy.open()                                             # back on the same port
        assert_served(client)
        assert client.get("/healthz").status_code == 200
        assert len(log.messages) == 2 and "cannot be reached" in log.messages[0], log.messages
        assert log.messages[1] == "the database is reachable again (2 requests were answered 503 meanwhile)"
    finally:
        proxy.close()
        with app.app_context():
            db.engine.dispose()
