"""Configuration: production refuses a missing or default secret; environment variables apply."""
from __future__ import annotations

import secrets

import pytest

from careboard import create_app
from careboard.config import DEV_SECRET_KEY, ConfigurationError, ProductionConfig


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.sqlite")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return monkeypatch


def _instance_less_production(tmp_path):
    # An instance folder of its own, so a developer's instance/config.py cannot leak into the test.
    return type("P", (ProductionConfig,), {})


def test_production_refuses_a_missing_secret_key(production_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_the_development_secret_key(production_env):
    production_env.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_a_short_secret_key(production_env):
    production_env.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match="too short"):
        create_app(ProductionConfig)


def test_production_starts_with_a_real_key_and_secure_cookies(production_env, tmp_path):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("CAREBOARD_TIMEZONE", "Asia/Urumqi")
    production_env.setenv("CAREBOARD_IDLE_LOGOUT_MINUTES", "7")
    app = create_app(ProductionConfig)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["CAREBOARD_TIMEZONE"] == "Asia/Urumqi"
    assert app.config["IDLE_LOGOUT_MINUTES"] == 7
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/prod.sqlite"


def test_postgres_urls_are_spelled_for_psycopg3(production_env):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("DATABASE_URL", "postgres://u:p@db.local:5432/careboard")
    app = create_app(ProductionConfig)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.local:5432/careboard"


def test_default_database_is_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from careboard.config import Config
    app = create_app(type("Dev", (Config,), {"TESTING": True}))
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/careboard.sqlite")


def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(app):
    from sqlalchemy import text

    from careboard.extensions import db
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def _parallel_workers(app) -> str:
    from sqlalchemy import text

    from careboard.extensions import db
    with app.app_context(), db.engine.connect() as conn:
        value = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar()
        assert not conn.connection.dbapi_connection.autocommit      # the setting left transactions as they were
        db.engine.dispose()
    return value


def test_postgres_connections_start_no_parallel_workers_unless_told(app_config, tmp_path):
    """The board's small queries cost more with parallel workers (bench/README.md): every connection sets
    max_parallel_workers_per_gather from the config; None leaves the server's own setting."""
    import psycopg

    from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
    if not ON_POSTGRES:
        pytest.skip("a PostgreSQL setting")
    assert _parallel_workers(create_app(app_config)) == "0"
    two = type("Two", (app_config,), {"POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER": 3})
    assert _parallel_workers(create_app(two)) == "3"
    with psycopg.connect(TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")) as raw:
        server = raw.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
    for own in (None, -1):
        kept = type("Own", (app_config,), {"POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER": own})
        assert _parallel_workers(create_app(kept)) == server


def test_the_parallel_workers_come_from_the_environment(monkeypatch, app_config):
    from careboard.config import load_environment
    app = create_app(app_config)
    monkeypatch.setenv("CAREBOARD_PG_PARALLEL_WORKERS", "-1")
    load_environment(app)
    assert app.config["POSTGRES_MAX_PARALLEL_WORKERS_PER_GATHER"] == -1
