"""The one date rule (careboard.dates): every date the app accepts lies in 1900–2100 — forms, services,
settings, the CLI and query strings refuse the rest with a message and store nothing (issue 15)."""
from __future__ import annotations

import inspect
from datetime import date, datetime

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, DateTimeField, DateTimeLocalField
from wtforms.fields.core import UnboundField

from careboard import dates
from careboard.extensions import db
from careboard.models import Card, Complaint, Customer, Role, Sale, ServiceVisit, Setting, Vehicle
from careboard.services import customers
from careboard.services import settings as settings_service
from careboard.dates import parse_holidays
from careboard.services.errors import DomainError, FieldError
from tests.factories import make_card, make_customer, make_vehicle

OUTSIDE = [date(1, 1, 1), date(1899, 12, 31), date(2101, 1, 1), date(9999, 12, 31)]
OUTSIDE_TEXT = [d.isoformat() for d in OUTSIDE]
MESSAGE = "1900-01-01"                 # in the message in every language: "… between 1900-01-01 and 2100-12-31"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- the validator


@pytest.mark.parametrize("value,inside", [
    (None, True), (date(1900, 1, 1), True), (date(2100, 12, 31), True), (datetime(2100, 12, 31, 23, 59), True),
    (date(1899, 12, 31), False), (date(2101, 1, 1), False), (datetime(1, 1, 1), False),
    (datetime(9999, 12, 31, 23, 59), False)])
def test_in_range_and_check(value, inside):
    assert dates.in_range(value) is inside
    if inside:
        assert dates.check(value) == value
    else:
        with pytest.raises(dates.DateOutOfRange):
            dates.check(value)


@pytest.mark.parametrize("text,expected", [
    ("2026-11-25", date(2026, 11, 25)), (" 1900-01-01 ", date(1900, 1, 1)), ("0001-01-01", None),
    ("9999-12-31", None), ("2026-02-30", None), ("", None), (None, None), ("x" * 300, None)])
def test_parse_date(text, expected):
    assert dates.parse_date(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("2026-11", "2026-11"), ("1900-01", "1900-01"), ("2100-12", "2100-12"), ("9999-12", None),
    ("0000-01", None), ("0001-01", None), ("2026-13", None), ("2026-00", None), ("", None), (None, None)])
def test_parse_month(text, expected):
    assert dates.parse_month(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("2026-W47", date(2026, 11, 16)), ("9999-W52", None), ("0001-W01", None), ("2026-W54", None), ("", None)])
def test_parse_week(text, expected):
    assert dates.parse_week(text) == expected


# ---------------------------------------------------------------- every form's date fields


def date_fields_of_every_form():
    import importlib
    import pkgutil

    import careboard.blueprints as package
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, FlaskForm) or cls.__module__ != module.__name__:
                continue
            for name in dir(cls):
                field = getattr(cls, name, None)
                if isinstance(field, UnboundField) and issubclass(field.field_class,
                                                                  (DateField, DateTimeField, DateTimeLocalField)):
                    found.append((f"{cls.__module__}.{cls.__name__}.{name}", field))
    return found


def test_every_date_field_of_every_form_checks_the_range():
    fields = date_fields_of_every_form()
    assert len(fields) >= 12                                   # customers 8, board 1, complaints 2, review 1
    missing = [name for name, field in fields
               if not any(isinstance(v, dates.InRange) for v in field.kwargs.get("validators") or [])]
    assert not missing, f"date fields without careboard.dates.InRange: {missing}"


# ---------------------------------------------------------------- services refuse and store nothing


@pytest.mark.parametrize("bad", OUTSIDE)
def test_the_customer_service_refuses_a_birthday_outside_the_range(session, bad):
    with pytest.raises(FieldError) as refused:
        customers.create_customer(session, name="范围", mobile="13900000001", birthday=bad)
    assert refused.value.field == "birthday" and MESSAGE in str(refused.value)
    session.rollback()
    assert count(Customer) == 0


@pytest.mark.parametrize("column", customers.VEHICLE_DATES)
@pytest.mark.parametrize("bad", [date(1, 1, 1), date(9999, 12, 31)])
def test_save_vehicle_refuses_each_date_outside_the_range_and_changes_nothing(session, column, bad):
    customer = make_customer(session, "车主")
    vehicle = make_vehicle(session, customer, plate="沪AD1234")
    session.commit()
    with pytest.raises(FieldError) as refused:
        customers.save_vehicle(session, customer, vehicle, vin=None, plate="沪AD1234", **{column: bad})
    assert refused.value.field == column and MESSAGE in str(refused.value)
    assert getattr(vehicle, column) is None                     # refused before anything is set
    with pytest.raises(FieldError):
        customers.save_vehicle(session, customer, None, vin=None, plate="沪AD9999", **{column: bad})
    session.rollback()
    assert count(Vehicle) == 1


@pytest.mark.parametrize("bad", [date(1, 1, 1), date(9999, 12, 31)])
def test_record_sale_and_visit_refuse_a_day_outside_the_range(session, bad):
    vehicle = make_vehicle(session, make_customer(session, "交车"), plate="沪AD1234")
    session.commit()
    with pytest.raises(FieldError) as refused:
        customers.record_sale(session, vehicle, bad)
    assert refused.value.field == "delivered_on"
    with pytest.raises(FieldError) as refused:
        customers.record_visit(session, vehicle, bad, work_order="WO-9")
    assert refused.value.field == "visited_on"
    for make in (customers.new_sale, customers.new_visit):      # what the import uses
        with pytest.raises(FieldError):
            make(vehicle, bad)
    assert vehicle.delivery_date is None and vehicle.last_service_visit is None
    session.rollback()
    assert count(Sale) == 0 and count(ServiceVisit) == 0


# ---------------------------------------------------------------- the forms answer 422 with the message


@pytest.fixture
def owner(session, people):
    customer = make_customer(session, "表单", sales_care=people["sales1"])
    vehicle = make_vehicle(session, customer, plate="沪AD1234")
    session.commit()
    return {"customer": customer.id, "vehicle": vehicle.id}


@pytest.mark.parametrize("bad", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_the_customer_forms_refuse_dates_outside_the_range(client, auth, owner, bad):
    auth.login("supervisor")
    c, v = owner["customer"], owner["vehicle"]
    before = (count(Sale), count(ServiceVisit), count(Customer))
    posts = [
        (f"/customers/{c}/sales", {"sale-vehicle": v, "sale-delivered_on": bad}),
        (f"/customers/{c}/visits", {"visit-vehicle": v, "visit-visited_on": bad, "visit-work_order": "WO-1"}),
        ("/customers/new", {"name": "新客户", "mobile": "13900000002", "birthday": bad, "sales_care": 0,
                            "aftersales_care": 0}),
    ] + [(f"/customers/{c}/vehicles/{v}/edit", {"plate": "沪AD1234", column: bad})
         for column in customers.VEHICLE_DATES]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 422, (url, response.status_code)
        assert MESSAGE in response.get_data(as_text=True), url
    assert (count(Sale), count(ServiceVisit), count(Customer)) == before
    db.session.remove()
    vehicle = db.session.get(Vehicle, v)
    assert all(getattr(vehicle, column) is None for column in customers.VEHICLE_DATES)


@pytest.mark.parametrize("bad", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_cards_complaints_and_review_actions_refuse_a_due_time_outside_the_range(client, auth, session, people,
                                                                                bad):
    card = make_card(session, assignee=people["sales1"], title="原来")
    session.commit()
    card_id, version = card.id, card.version
    auth.login("supervisor")
    cards, complaints = count(Card), count(Complaint)
    response = client.post("/board/cards/new", data={"title": "新卡", "kind": "task", "role": Role.SALES_CARE.value,
                                                      "assignee": people["sales1"].id, "priority": 2, "due_at": bad})
    assert response.status_code == 422 and MESSAGE in response.get_data(as_text=True)
    response = client.post(f"/board/cards/{card_id}/edit", data={"title": "改", "priority": 2, "due_at": bad,
                                                                 "version": version})
    assert response.status_code == 422 and MESSAGE in response.get_data(as_text=True)
    response = client.post("/complaints/new", data={"channel": "phone", "category": "service",
                                                    "department": "aftersales", "severity": 2,
                                                    "description": "太慢", "received_at": bad})
    assert response.status_code == 422 and MESSAGE in response.get_data(as_text=True)
    response = client.post("/review/actions", data={"week": "2026-W47", "title": "改进", "owner": people["sales1"].id,
                                                    "due_at": bad}, follow_redirects=True)
    assert MESSAGE in response.get_data(as_text=True)
    assert (count(Card), count(Complaint)) == (cards, complaints)
    db.session.remove()
    assert db.session.get(Card, card_id).title == "原来"


# ---------------------------------------------------------------- settings, months and weeks


@pytest.mark.parametrize("line", ["0001-01-01 太早", "9999-12-31 太晚", "2026-02-30 没有这天"])
def test_the_holiday_list_refuses_a_date_outside_the_range(session, people, line):
    with pytest.raises(DomainError) as refused:
        settings_service.save(session, actor=people["admin"], holidays=f"2026-10-01 国庆节\n{line}")
    assert "line 2" in str(refused.value) or "第 2 行" in str(refused.value)
    session.rollback()
    assert session.scalar(select(Setting).where(Setting.key == "holidays")) is None
    with pytest.raises(DomainError):
        parse_holidays(line)


@pytest.mark.parametrize("month", ["0001-01", "0000-01", "9999-12", "1899-12", "2101-01"])
def test_kpi_months_outside_the_range_are_refused(month):
    with pytest.raises(DomainError):
        dates.require_month(month)


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "1899-W52", "2101-W01"])
def test_review_weeks_outside_the_range_are_refused(week):
    with pytest.raises(DomainError):
        dates.require_week(week)


def test_query_strings_outside_the_range(client, auth, people):
    auth.login("director")
    for week in ("9999-W52", "0001-W01"):
        assert client.get(f"/review/?week={week}").status_code == 404
    for month in ("9999-12", "0000-01", "0001-01"):
        assert client.get(f"/scorecard/?month={month}").status_code == 404
        assert client.get(f"/scorecard/sales1/{month}").status_code == 404
        assert client.post(f"/scorecard/months/{month}/finalize").status_code == 404
        assert client.get(f"/complaints/?month={month}").status_code == 200         # the filter is ignored
        assert client.get(f"/checklist/history?month={month}").status_code == 200  # this month instead
        response = client.post("/review/reports/generate", data={"kind": "monthly", "period": month})
        assert response.status_code == 422
    assert client.get("/board/archive?page=99999999999999999999").status_code == 200
    assert client.get("/customers/?page=99999999999999999999").status_code == 200


def test_a_card_due_time_outside_the_range_is_refused_at_the_form_level(app, people):
    from careboard.blueprints.board.forms import NewCardForm
    with app.test_request_context(method="POST", data={"due_at": "0001-01-01T00:00"}):
        form = NewCardForm(kinds=[], people=[])
        form.validate()
        assert any(MESSAGE in str(e) for e in form.due_at.errors)
