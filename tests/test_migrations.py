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


def _notices_kept(uri: str):
    """0014 on a database with notices: an escalation keeps its complaint and gets its link, a skipped-row notice
    (no complaint) becomes rows_skipped; down again, the columns and the choices' table go."""
    app = create_app(config_for(uri))
    with app.app_context():
        upgrade(revision="0013")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO \"user\" (id, username, display_name, password_hash, role, level, active, "
                              "language, created_at, updated_at) VALUES (1, 'u', 'U', 'x', 'cs_supervisor', 20, "
                              "true, 'zh_CN', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO card (id, kind, title, details, role, \"column\", position, priority, "
                              "source, created_at, updated_at, version) VALUES (1, 'complaint', 'c', '', "
                              "'cs_supervisor', 'todo', 0, 2, 'manual', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))
            conn.execute(text("INSERT INTO complaint (id, card_id, channel, category, severity, department, "
                              "description, status, received_at, reopen_count, version) VALUES (7, 1, 'phone', "
                              "'service', 2, 'sales', 'd', 'received', CURRENT_TIMESTAMP, 0, 1)"))
            conn.execute(text("INSERT INTO notification (user_id, complaint_id, text, created_at) VALUES "
                              "(1, 7, 'late', CURRENT_TIMESTAMP), (1, NULL, 'skipped', CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT text, kind, link FROM notification ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("late", "complaint_escalated", "/complaints/7"),
                                            ("skipped", "rows_skipped", None)]
        downgrade(revision="0013")
        inspector = inspect(db.engine)
        assert "notification_preference" not in inspector.get_table_names()
        assert {c["name"] for c in inspector.get_columns("notification")} == {
            "id", "user_id", "complaint_id", "text", "created_at", "read_at"}
        db.engine.dispose()


def test_notifications_migration_keeps_the_notices_sqlite(tmp_path):
    _notices_kept(f"sqlite:///{tmp_path}/notices.sqlite")


@pytest.mark.skipif(not ON_POSTGRES, reason="set TEST_DATABASE_URL to a PostgreSQL database")
def test_notifications_migration_keeps_the_notices_postgresql():
    schema = f"careboard_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url("public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        _notices_kept(pg_url(schema))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
