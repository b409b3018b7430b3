"""CareBoard: the customer-care department's board. `create_app` is the only entry point."""
from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import event

from werkzeug.middleware.proxy_fix import ProxyFix

from careboard import auth_session, cli, errors, i18n, policy, runner, security, templating
from careboard.blueprints import (admin, auth, board, checklist, complaints, customers, main, notifications, review,
                                  scorecard)
from careboard.config import VERSION, Config, ProductionConfig, check_production, database_uri, load_environment
from careboard.extensions import babel, compress, csrf, db, htmx, limiter, login, migrate
from careboard.urls import IdConverter, refuse_nul_bytes

__version__ = VERSION


def create_app(config: type = None) -> Flask:
    """Build the app. Without a config, CAREBOARD_ENV=production selects ProductionConfig."""
    if config is None:
        config = ProductionConfig if os.environ.get("CAREBOARD_ENV") == "production" else Config
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config)
    if not app.testing:
        load_environment(app)
        app.config.from_pyfile("config.py", silent=True)      # instance/config.py overrides
    if issubclass(config, ProductionConfig):
        check_production(app)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["CAREBOARD_TIMEZONE"])

    if app.config.get("PROXY_FIX_X_FOR"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    # Compress first: Flask runs the after_request hooks in reverse order, so its hook runs last and compresses
    # the final body, with every header the others add (security.py's, the limiter's, a view's ETag).
    for ext in (compress, login, csrf, htmx, limiter):
        ext.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif db.engine.dialect.name == "postgresql":
            workers = app.config.get("POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER")
            if workers is not None and int(workers) >= 0:
                event.listen(db.engine, "connect", _postgres_settings(int(workers)))

    security.init_app(app)
    auth_session.init_app(app)
    errors.init_app(app)
    templating.init_app(app)

    app.url_map.converters["int"] = IdConverter               # ids beyond 2**31 - 1: 404, not an overflow
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)   # before every other hook
    for bp in (auth.bp, main.bp, board.bp, customers.bp, complaints.bp, checklist.bp, scorecard.bp,
               review.bp, admin.bp, notifications.bp):
        app.register_blueprint(bp)

    cli.init_app(app)
    if app.config["CAREBOARD_AUTO_TICK_SECONDS"]:
        app.before_request(lambda: runner.maybe_tick(app))
    policy.check_every_view_has_a_policy(app)
    return app


def _postgres_settings(workers: int):
    """Set on each new connection, outside a transaction (as SQLAlchemy's PostgreSQL docs set a search_path)."""
    def connected(dbapi_connection, _record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET SESSION max_parallel_workers_per_gather = {workers:d}")
        dbapi_connection.autocommit = autocommit
    return connected


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
