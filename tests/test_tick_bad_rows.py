"""One bad row never stops the care rules (issue 15, findings 1 and 11).

A date outside 1900–2100 written straight into the database (past every form) is left out of the tick,
named in its output and told to the supervisors and the director once a day; every other customer's cards
are made, and `flask tick` exits 0, also when the cards it made are assigned.
"""
from __future__ import annotations

import gc
import logging
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select, update

from careboard.extensions import db
from careboard.models import Card, Customer, Level, NoticeKind, Notification, Role, Sale, ServiceVisit, User, Vehicle
from careboard.services import care_rules, customers, settings
from careboard import runner
from careboard import models
from tests.factories import at, make_customer, make_user, make_vehicle

NOW = "2026-11-24T08:00+08:00"
EARLY, LATE = date(1, 1, 1), date(9999, 12, 31)

# (table, column, bad value): one bad row per date column the care rules read
BAD = [
    ("customer", "birthday", EARLY),
    ("vehicle", "delivery_date", LATE),
    ("vehicle", "warranty_end", EARLY),
    ("vehicle", "insurance_expiry", LATE),
    ("vehicle", "next_inspection", EARLY),
    ("vehicle", "first_maintenance_due", LATE),
    ("vehicle", "last_service_visit", EARLY),
    ("sale", "delivered_on", LATE),
    ("service_visit", "visited_on", EARLY),
]


@pytest.fixture
def store(session, people):
    """Good customers (a delivery two days ago, an insurance expiring within the lead time) and one bad row
    per date column, each of its own customer, written with a plain UPDATE."""
    after = make_user(session, "after1", role=Role.AFTERSALES_CARE)
    make_user(session, "ins1", role=Role.INSURANCE_RENEWAL)
    good = make_customer(session, "好客户", sales_care=people["sales1"], aftersales_care=after)
    good_car = make_vehicle(session, good, insurance_expiry=date(2027, 1, 5))
    customers.record_sale(session, good_car, date(2026, 11, 22))
    bad = {}
    for table, column, value in BAD:
        customer = make_customer(session, f"坏{column}", sales_care=people["sales2"], aftersales_care=after)
        vehicle = make_vehicle(session, customer, insurance_expiry=date(2027, 1, 5))
        sale = customers.record_sale(session, vehicle, date(2026, 11, 22))
        visit = customers.record_visit(session, vehicle, date(2026, 11, 22))
        model, row_id = {"customer": (Customer, customer.id), "vehicle": (Vehicle, vehicle.id),
                         "sale": (Sale, sale.id), "service_visit": (ServiceVisit, visit.id)}[table]
        session.execute(update(model).where(model.id == row_id).values({column: value}))
        bad[column] = (customer.name, customer.id, row_id)
    session.commit()
    return {"good": good.id, "bad": bad}


def tick(app, when: str = NOW):
    result = app.test_cli_runner().invoke(args=["tick", "--now", when])
    db.session.remove()                           # the next queries see what the command committed
    return result


def notices(session, username: str):
    return session.scalars(select(Notification.text).join(User, User.id == Notification.user_id)
                           .where(User.username == username, Notification.kind == NoticeKind.ROWS_SKIPPED)).all()


def test_bad_rows_are_skipped_named_and_the_other_customers_get_their_cards(app, session, people, store):
    result = tick(app)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    good_cards = session.scalars(select(Card.title).where(Card.customer_id == store["good"])).all()
    assert any(t.startswith("交车3天回访：好客户") for t in good_cards)
    assert any(t.startswith("续保提醒：好客户") for t in good_cards)
    for table, column, value in BAD:
        name, customer_id, row_id = store["bad"][column]
        line = (f"skipped {table} #{row_id} of customer {name} (#{customer_id}): {column} "
                f"{value.isoformat()} is not a date in 1900-01-01..2100-12-31")
        assert line in result.output
    # no card is planned from a bad row; the good rows of the same customers still make theirs
    def sources(column):
        _name, customer_id, _row = store["bad"][column]
        return set(session.scalars(select(Card.source).where(Card.customer_id == customer_id)))

    assert not sources("delivered_on") & {"sale_3d", "sale_3m", "sale_6m"}
    assert "service_3d" not in sources("visited_on")
    for table, column, _value in BAD:
        if table == "vehicle":
            assert "insurance" not in sources(column), column          # the whole vehicle row is left out
            assert "sale_3d" in sources(column), column                # its (good) delivery is not
    assert "insurance" in sources("birthday")
    for boss in ("supervisor", "director"):
        texts = notices(session, boss)
        assert len(texts) == len(BAD)
        for name, customer_id, _row in store["bad"].values():
            assert any(name in t and f"#{customer_id}" in t for t in texts), (name, texts)
    assert notices(session, "sales1") == []


def test_a_second_tick_the_same_day_names_them_again_without_new_notices(app, session, people, store):
    assert tick(app).exit_code == 0
    again = tick(app, "2026-11-24T16:00+08:00")
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped ") == len(BAD)
    assert len(notices(session, "supervisor")) == len(BAD)
    next_day = tick(app, "2026-11-25T08:00+08:00")
    assert next_day.exit_code == 0, next_day.output
    assert len(notices(session, "supervisor")) == 2 * len(BAD)      # once a day while still wrong


def test_the_notice_names_the_customer_and_the_field_in_the_readers_words(app, session, people, store):
    tick(app)
    name, _id, _row = store["bad"]["warranty_end"]
    text = next(t for t in notices(session, "director") if name in t)
    assert "0001-01-01" in text and ("质保到期" in text or "Warranty end" in text)


def test_a_bad_holiday_line_in_the_settings_is_skipped_and_reported(app, session, people):
    from careboard.models.settings import Setting
    session.add(Setting(key="holidays", value="0001-01-01 太早\n2026-11-26 感恩节"))
    session.commit()
    result = tick(app)
    assert result.exit_code == 0, result.output
    assert "skipped settings #1: holidays 0001-01-01 太早" in result.output
    titles = session.scalars(select(Card.title).where(Card.source == "holiday")).all()
    assert titles and all("11月26日" in t for t in titles)


def test_the_automatic_tick_logs_the_bad_rows_and_goes_on(app, session, people, store, caplog):
    with time_machine.travel(at("2026-11-24T08:00"), tick=False), caplog.at_level(logging.WARNING):
        report = runner.run_claimed_tick(app, None)
    assert report is not None and report.created
    assert len(report.skipped_rows) == len(BAD)
    assert sum("automatic tick: skipped" in r.getMessage() for r in caplog.records) == len(BAD)


def test_out_of_range_rows_costs_one_query_per_table(app, session, store, statements):
    s = settings.load(session)
    statements["n"] = 0
    rows = care_rules.out_of_range_rows(session, s)
    assert statements["n"] == 4
    assert {(r.table, r.field) for r in rows} == {(t, c) for t, c, _v in BAD}


# ---------------------------------------------------------------- finding 11: exit code with assigned cards


def test_tick_command_exits_0_when_it_creates_assigned_cards(app, session):
    sales = make_user(session, "sales7", role=Role.SALES_CARE)
    boss = make_user(session, "boss7", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR)
    vehicle = make_vehicle(session, make_customer(session, "指派", sales_care=sales))
    customers.record_sale(session, vehicle, date(2026, 11, 22))
    session.commit()
    del sales, boss, vehicle
    db.session.remove()                    # as in a real `flask tick`: no user is loaded before the command
    gc.collect()
    result = app.test_cli_runner().invoke(args=["tick", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "交车3天回访：指派" in result.output and "→ Sales7" in result.output
    db.session.remove()
    assigned = db.session.scalar(select(func.count(Card.id)).where(Card.assignee_id.is_not(None)))
    assert assigned >= 1


@pytest.mark.parametrize("value", ["0001-01-01T08:00", "9999-12-31T08:00+08:00", "1899-12-31T23:00", "tomorrow"])
def test_tick_command_refuses_a_now_outside_1900_2100_and_does_nothing(app, session, people, value):
    result = app.test_cli_runner().invoke(args=["tick", "--now", value])
    assert result.exit_code == 2, result.output
    assert "--now" in result.output
    db.session.remove()
    assert db.session.get(models.RuleState, "last_tick_at") is None
