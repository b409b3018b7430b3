"""Migrations build the schema from nothing on SQLite and PostgreSQL, and match the models."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from careboard import create_app
from careboard.extensions import db
from tests.conftest import ON_POSTGRES, config_for, pg_url


def _drift(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _round_trip(uri: str):
    app = create_app(config_for(uri))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"user", "setting", "alembic_version"} <= tables
        assert _drift(db.engine) == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_upgrade_an_empty_sqlite_database(tmp_path):
    _round_trip(f"sqlite:///{tmp_path}/empty.sqlite")


@pytest.mark.skipif(not ON_POSTGRES, reason="set TEST_DATABASE_URL to a PostgreSQL database")
def test_upgrade_an_empty_postgresql_database():
    schema = f"careboard_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url("public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        _round_trip(pg_url(schema))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_test_database_itself_has_no_drift(app):
    assert _drift(db.engine) == []
