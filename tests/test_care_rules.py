"""The care rules with frozen time: each rule's day, month ends and leap days, the time zone, idempotency,
the incremental tick, assignment, and callback outcomes with retries and the complaint flag."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from careboard.extensions import db
from careboard.models import CallbackResult, Card, Level, Role
from careboard.services import checklist, customers, settings
from careboard.services import tick as tick_service
from careboard.services import callbacks
from careboard import runner
from careboard.dates import add_months, birthday_in
from careboard.services.errors import CallbackError
from tests.factories import at, make_customer, make_user, make_vehicle


def tick(session, when: str):
    report = tick_service.tick(session, now=at(when))
    session.commit()
    return report


def cards(session, rule: str | None = None):
    query = select(Card).order_by(Card.id)
    if rule:
        query = query.where(Card.source == rule)
    return session.scalars(query).all()


@pytest.fixture
def staff(session):
    people = {
        "admin": make_user(session, "admin", role=Role.ANALYST, level=Level.ADMIN),
        "sales1": make_user(session, "sales1", role=Role.SALES_CARE),
        "sales2": make_user(session, "sales2", role=Role.SALES_CARE),
        "after1": make_user(session, "after1", role=Role.AFTERSALES_CARE),
        "ins1": make_user(session, "ins1", role=Role.INSURANCE_RENEWAL),
    }
    session.commit()
    return people


@pytest.mark.parametrize("start,months,expected", [
    (date(2026, 1, 31), 3, date(2026, 4, 30)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 12, 15), 3, date(2027, 3, 15)),
    (date(2026, 5, 31), -3, date(2026, 2, 28)),
])
def test_add_months_clamps_at_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_a_leap_day_birthday_is_kept_on_february_28():
    assert birthday_in(2027, date(1992, 2, 29)) == date(2027, 2, 28)
    assert birthday_in(2028, date(1992, 2, 29)) == date(2028, 2, 29)


def test_sale_callbacks_at_three_days_three_and_six_months(session, staff):
    customer = make_customer(session, "李女士", sales_care=staff["sales2"])
    vehicle = make_vehicle(session, customer, plate="沪AD1234", model="柯迪亚克")
    customers.record_sale(session, vehicle, date(2026, 11, 20))
    session.commit()
    assert tick(session, "2026-11-21T09:00").created == [] or not cards(session, "sale_3d")
    tick(session, "2026-11-22T09:00")                    # due 11-23, appears one day ahead
    [three_days] = cards(session, "sale_3d")
    assert three_days.due_at == at("2026-11-23T23:59")
    assert three_days.role == "sales_care" and three_days.kind == "callback"
    assert three_days.assignee_id == staff["sales2"].id             # the customer's care person
    assert three_days.customer_id == customer.id and three_days.vehicle_id == vehicle.id
    assert "李女士" in three_days.title and "沪A·D1234" in three_days.title
    tick(session, "2027-02-19T09:00")
    assert [c.due_at for c in cards(session, "sale_3m")] == [at("2027-02-20T23:59")]
    tick(session, "2027-05-19T09:00")
    assert [c.due_at for c in cards(session, "sale_6m")] == [at("2027-05-20T23:59")]


def test_sale_at_a_month_end(session, staff):
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_sale(session, vehicle, date(2026, 8, 31))
    session.commit()
    tick(session, "2026-11-28T09:00")
    assert cards(session, "sale_3m") == []
    tick(session, "2026-11-29T09:00")
    assert [c.due_at for c in cards(session, "sale_3m")] == [at("2026-11-30T23:59")]


def test_visit_callback_and_the_time_zone_edge(session, staff):
    vehicle = make_vehicle(session, make_customer(session, aftersales_care=staff["after1"]))
    customers.record_visit(session, vehicle, date(2026, 11, 25), work_order="R2611-001")
    session.commit()
    tick(session, "2026-11-26T23:30")                  # still the 26th in Shanghai (15:30 UTC)
    assert cards(session, "service_3d") == []
    tick(session, "2026-11-27T00:30")                  # the 27th in Shanghai, still the 26th in UTC
    [card] = cards(session, "service_3d")
    assert card.due_at == at("2026-11-28T23:59") and card.role == "aftersales_care"
    assert card.assignee_id == staff["after1"].id and "R2611-001" in card.title


def test_win_back_once_per_lapse(session, staff):
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_visit(session, vehicle, date(2026, 5, 25))
    session.commit()
    tick(session, "2026-11-24T09:00")
    assert cards(session, "winback") == []
    tick(session, "2026-11-25T09:00")
    tick(session, "2026-11-26T09:00")
    assert len(cards(session, "winback")) == 1
    customers.record_visit(session, vehicle, date(2026, 12, 1))       # back, then away again
    session.commit()
    tick(session, "2027-06-01T09:00")
    assert len(cards(session, "winback")) == 2


def test_date_reminders_with_their_lead_times(session, staff):
    s = settings.load(session)
    vehicle = make_vehicle(session, make_customer(session), insurance_expiry=date(2027, 1, 9),
                           first_maintenance_due=date(2026, 12, 2), warranty_end=date(2026, 12, 25),
                           next_inspection=date(2026, 12, 25))
    session.commit()
    tick(session, "2026-11-25T08:00")
    by_rule = {c.source: c for c in cards(session)}
    assert by_rule["insurance"].role == "insurance_renewal"              # 2027-01-09 minus 45 days
    assert by_rule["insurance"].assignee_id == staff["ins1"].id
    assert by_rule["first_maintenance"].due_at == at("2026-11-28T23:59")  # appears 11-25, due 3 days later
    assert by_rule["warranty"].role == by_rule["inspection"].role == "aftersales_care"
    assert s.insurance_lead_days == 45 and vehicle.id == by_rule["insurance"].vehicle_id


def test_regular_maintenance_after_the_interval(session, staff):
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_visit(session, vehicle, date(2026, 7, 2))           # + 5 months = 12-02, lead 7
    session.commit()
    tick(session, "2026-11-25T08:00")
    [card] = cards(session, "maintenance")
    assert card.due_at == at("2026-11-28T23:59")


def test_birthday_on_a_leap_day_in_a_common_year(session, staff):
    make_customer(session, "闰年先生", birthday=date(1992, 2, 29), sales_care=staff["sales1"])
    session.commit()
    tick(session, "2027-02-26T08:00")
    assert cards(session, "birthday") == []
    tick(session, "2027-02-27T08:00")
    [card] = cards(session, "birthday")
    assert card.due_at == at("2027-02-28T23:59") and card.assignee_id == staff["sales1"].id


def test_holiday_greetings_one_card_per_sales_care_person(session, staff):
    tick(session, "2026-09-28T08:00")                   # National Day 10-01, three days ahead
    greetings = [c for c in cards(session, "holiday") if "国庆节" in c.title]
    assert sorted(c.assignee_id for c in greetings) == sorted([staff["sales1"].id, staff["sales2"].id])
    assert [c.source for c in tick(session, "2026-09-29T08:00").created] == []


def test_the_morning_inspection_cards_one_per_checklist_area(session, staff):
    assert tick(session, "2026-11-24T08:00").created == []                # no areas set up: no cards
    checklist.ensure_default_areas(session)
    tick(session, "2026-11-25T07:30")
    tick(session, "2026-11-25T10:00")
    made = cards(session, "inspection")
    assert len(made) == len(checklist.DEFAULT_AREAS)
    [display] = [c for c in made if "展车" in c.title]
    assert display.kind == "inspection" and display.role == "sales_care" and display.due_at == at("2026-11-25T23:59")


def test_tick_is_idempotent(session, staff):
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_sale(session, vehicle, date(2026, 11, 20))
    session.commit()
    first = tick(session, "2026-11-25T08:00")
    assert first.created
    assert tick(session, "2026-11-25T08:00").created == []
    assert tick(session, "2026-11-25T18:00").created == []
    assert session.scalar(select(func.count(Card.id))) == len(first.created)


def test_two_ticks_at_once_create_nothing_twice(app, session, staff):
    for i in range(20):
        vehicle = make_vehicle(session, make_customer(session, f"客户{i}"))
        customers.record_sale(session, vehicle, date(2026, 11, 20) - timedelta(days=i % 5))
    session.commit()
    errors = []

    def run():
        try:
            with app.app_context():
                tick_service.tick(db.session, now=at("2026-11-25T08:00"))
                db.session.commit()
        except Exception as error:  # noqa: BLE001  (collected and asserted below)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = session.scalars(select(Card.rule_key)).all()
    assert len(keys) == len(set(keys)) > 0
    assert len(errors) <= 1                          # at worst one waits too long for the lock; none duplicates


def test_nothing_older_than_the_backfill(session, staff):
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_sale(session, vehicle, date(2026, 9, 1))          # its 3-day callback was long ago
    session.commit()
    tick(session, "2026-11-25T08:00")
    assert cards(session, "sale_3d") == []


def test_a_late_import_is_caught_without_rescanning(app, session, staff):
    tick(session, "2026-11-25T08:00")
    vehicle = make_vehicle(session, make_customer(session))
    customers.record_sale(session, vehicle, date(2026, 11, 22))        # imported today, delivered on the 22nd
    session.commit()
    tick(session, "2026-11-25T09:00")
    [card] = cards(session, "sale_3d")
    assert card.due_at == at("2026-11-25T23:59")


def _statements(app, fn):
    counter = {"n": 0}

    def count(*_a):
        counter["n"] += 1

    event.listen(db.engine, "after_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "after_cursor_execute", count)
    return counter["n"]


def test_an_unchanged_rerun_costs_the_same_whatever_the_number_of_customers(app, session, staff):
    def rerun_cost(n):
        for _ in range(n):
            vehicle = make_vehicle(session, make_customer(session), insurance_expiry=date(2027, 3, 1))
            customers.record_sale(session, vehicle, date(2026, 6, 1))
        session.commit()
        tick(session, "2026-11-25T08:00")
        return _statements(app, lambda: tick(session, "2026-11-25T09:00"))

    assert rerun_cost(5) == rerun_cost(60)


def test_assignment_prefers_the_care_person_then_the_least_loaded(session, staff):
    gone = make_user(session, "gone", role=Role.SALES_CARE, active=False)
    for i in range(3):
        vehicle = make_vehicle(session, make_customer(session, sales_care=gone if i == 0 else None))
        customers.record_sale(session, vehicle, date(2026, 11, 22))
    session.commit()
    tick(session, "2026-11-25T08:00")
    owners = [c.assignee_id for c in cards(session, "sale_3d")]
    assert gone.id not in owners
    assert sorted(owners).count(staff["sales1"].id) in (1, 2) and set(owners) <= {staff["sales1"].id,
                                                                                  staff["sales2"].id}


def _callback(session, staff):
    vehicle = make_vehicle(session, make_customer(session, sales_care=staff["sales1"]))
    customers.record_sale(session, vehicle, date(2026, 11, 22))
    session.commit()
    tick(session, "2026-11-24T08:00")
    return cards(session, "sale_3d")[0]


def test_an_unreached_callback_is_retried_then_fails(session, staff):
    s = settings.load(session)
    card = _callback(session, staff)
    now = at("2026-11-24T10:00")
    retry = callbacks.record_callback(session, card, actor=staff["sales1"], seen_version=card.version,
                                       reached=False, satisfaction=None, comments="", problems=None,
                                       settings=s, now=now)
    session.commit()
    assert card.column == "done" and card.callback_result == CallbackResult.NOT_REACHED.value
    assert retry.attempt == 2 and retry.due_at == at("2026-11-25T23:59") and retry.customer_id == card.customer_id
    third = callbacks.record_callback(session, retry, actor=staff["sales1"], seen_version=retry.version,
                                       reached=False, satisfaction=None, comments="关机", problems=None,
                                       settings=s, now=now)
    session.commit()
    assert third.attempt == 3
    last = callbacks.record_callback(session, third, actor=staff["sales1"], seen_version=third.version,
                                      reached=False, satisfaction=None, comments="", problems=None,
                                      settings=s, now=now)
    session.commit()
    assert last is None and third.callback_result == CallbackResult.FAILED.value
    assert session.scalar(select(func.count(Card.id)).where(Card.source == "sale_3d")) == 3


@pytest.mark.parametrize("score,flagged", [(5, True), (6, True), (7, False), (10, False)])
def test_satisfaction_at_or_below_the_threshold_flags_a_complaint(session, staff, score, flagged):
    card = _callback(session, staff)
    callbacks.record_callback(session, card, actor=staff["sales1"], seen_version=card.version, reached=True,
                               satisfaction=score, comments="", problems="洗车不干净",
                               settings=settings.load(session), now=at("2026-11-24T10:00"))
    session.commit()
    assert card.complaint_flag is flagged and card.satisfaction == score and card.problems == "洗车不干净"
    assert card.callback_result == "reached" and card.column == "done"
    from careboard.models import Complaint
    opened = session.scalars(select(Complaint).where(Complaint.callback_card_id == card.id)).all()
    assert len(opened) == (1 if flagged else 0)
    if flagged:
        assert opened[0].channel == "callback" and opened[0].customer_id == card.customer_id
        assert "洗车不干净" in opened[0].description


def test_reached_needs_a_satisfaction_and_changes_nothing_without(session, staff):
    card = _callback(session, staff)
    with pytest.raises(CallbackError):
        callbacks.record_callback(session, card, actor=staff["sales1"], seen_version=card.version, reached=True,
                                   satisfaction=None, comments="", problems=None,
                                   settings=settings.load(session), now=at("2026-11-24T10:00"))
    session.rollback()
    assert session.get(Card, card.id).column == "todo"


def test_tick_command_prints_what_it_created(app, session, staff):
    vehicle = make_vehicle(session, make_customer(session, "命令行"))
    customers.record_sale(session, vehicle, date(2026, 11, 22))
    session.commit()
    result = app.test_cli_runner().invoke(args=["tick", "--now", "2026-11-24T08:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "交车3天回访：命令行" in result.output
    again = app.test_cli_runner().invoke(args=["tick", "--now", "2026-11-24T08:00+08:00"])
    assert "nothing to create" in again.output


def test_the_app_ticks_by_itself_at_most_every_interval(app_config, tmp_path):
    """A request starts a background tick when the interval has passed; the next one within it does not."""
    from careboard import create_app
    from careboard.models import RuleState
    config = type("AutoTick", (app_config,), {"CAREBOARD_AUTO_TICK_SECONDS": 300})
    app = create_app(config)
    runner._last_check["at"] = None         # never, even on a machine booted under 300 s ago
    with app.app_context():
        make_user(db.session, "sales9", role=Role.SALES_CARE)
        checklist.ensure_default_areas(db.session)
        db.session.commit()
    client = app.test_client()
    client.get("/healthz")
    for thread in threading.enumerate():
        if thread.name == "careboard-tick":
            thread.join(timeout=10)
    with app.app_context():
        assert db.session.get(RuleState, "last_tick_at") is not None
        assert db.session.scalar(select(func.count(Card.id)).where(Card.source == "inspection")) == \
            len(checklist.DEFAULT_AREAS)
        first = db.session.get(RuleState, "last_tick_at").value
    client.get("/healthz")                                   # within the interval: no second tick
    with app.app_context():
        assert db.session.get(RuleState, "last_tick_at").value == first
        db.engine.dispose()


def test_a_callback_due_on_a_closed_day_falls_due_on_the_next_open_day(session, staff):
    # D+3 of a delivery on 2026-09-28 is 10-01, National Day (closed Oct 1–7 by default): due on 10-08.
    vehicle = make_vehicle(session, make_customer(session, "国庆先生", birthday=date(1990, 10, 1),
                                                  sales_care=staff["sales1"]))
    customers.record_sale(session, vehicle, date(2026, 9, 28))
    session.commit()
    tick(session, "2026-09-30T09:00")
    [callback] = cards(session, "sale_3d")
    assert callback.due_at == at("2026-10-08T23:59") and callback.rule_key.endswith("2026-10-01")
    [greeting] = cards(session, "birthday")                       # greetings stay on the day itself
    assert greeting.due_at == at("2026-10-01T23:59")
    assert [c.source for c in tick(session, "2026-10-01T09:00").created if c.source == "sale_3d"] == []


def test_a_closed_day_of_the_store_moves_a_visit_callback(session, staff):
    settings.save(session, actor=staff["admin"], store_closed_days="2026-11-28 盘点")
    vehicle = make_vehicle(session, make_customer(session, aftersales_care=staff["after1"]))
    customers.record_visit(session, vehicle, date(2026, 11, 25))
    session.commit()
    tick(session, "2026-11-27T09:00")
    [card] = cards(session, "service_3d")
    assert card.due_at == at("2026-11-29T23:59")
