"""One tick at a time across gunicorn workers and the cron job: the claim in the database."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careboard import create_app
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Card, Role, RuleState
from careboard.services import checklist
from careboard.services import tick as tick_service
from careboard import runner
from tests.conftest import ON_POSTGRES
from tests.factories import make_user


def test_a_claim_within_the_interval_is_refused_and_after_it_taken(session):
    now = utcnow()
    assert tick_service.claim_tick(session, now=now, interval_seconds=300)
    session.commit()
    assert not tick_service.claim_tick(session, now=now + timedelta(seconds=299), interval_seconds=300)
    session.rollback()
    assert tick_service.claim_tick(session, now=now + timedelta(seconds=300), interval_seconds=300)
    session.commit()
    claimed = session.scalar(select(RuleState.value).where(RuleState.key == tick_service.TICK_CLAIM))
    assert claimed == tick_service._stamp(now + timedelta(seconds=300))


def test_the_cron_command_claims_regardless_of_the_interval(session):
    now = utcnow()
    assert tick_service.claim_tick(session, now=now, interval_seconds=300)
    session.commit()
    assert tick_service.claim_tick(session, now=now + timedelta(seconds=5))
    session.commit()


@pytest.mark.skipif(not ON_POSTGRES, reason="the advisory lock is PostgreSQL's")
def test_while_a_tick_runs_on_postgresql_every_other_claim_is_refused_at_once(app, session):
    assert tick_service.claim_tick(session, now=utcnow())        # transaction left open: the tick "runs"
    with Session(db.engine) as other:
        assert not tick_service.claim_tick(other, now=utcnow() + timedelta(hours=1))
        other.rollback()
    session.commit()                                           # the first tick ends: the lock goes with it
    with Session(db.engine) as other:
        assert tick_service.claim_tick(other, now=utcnow() + timedelta(hours=1))
        other.commit()


def test_eight_workers_starting_a_tick_at_once_run_it_once(app_config):
    app = create_app(type("Workers", (app_config,), {"CAREBOARD_AUTO_TICK_SECONDS": 300}))
    with app.app_context():
        make_user(db.session, "sales9", role=Role.SALES_CARE)
        checklist.ensure_default_areas(db.session)
        db.session.commit()
    start = threading.Barrier(8)
    results = []

    def worker():
        start.wait()
        results.append(runner.run_claimed_tick(app, 300))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ran = [report for report in results if report is not None]
    assert len(results) == 8 and len(ran) == 1
    with app.app_context():
        inspections = db.session.scalar(select(func.count(Card.id)).where(Card.source == "inspection"))
        assert inspections == len(checklist.DEFAULT_AREAS) == len(ran[0].created)
        db.engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="the advisory lock is PostgreSQL's")
def test_the_tick_command_does_nothing_while_another_tick_runs(app, session):
    worker = Session(db.engine)
    assert tick_service.claim_tick(worker, now=utcnow())         # a worker's tick in progress
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0 and "another tick is running" in result.output
    worker.rollback()
    worker.close()
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0 and "tick at" in result.output
