"""The import applies a chunk of rows with two flushes, through the `new_*` / `assign_*` helpers of
services.customers instead of their per-row use cases. These tests hold it to the row-by-row path (the
public functions, each with its duplicate query and flush) and check that those still refuse duplicates."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select

from careboard.extensions import db
from careboard.models import Customer, Sale, ServiceVisit, Vehicle
from careboard.services import customer_import
from careboard.services import customers as svc
from careboard.services.customer_import import apply_import, plan_import
from careboard.services.errors import FieldError, ImportRefused

pytestmark = pytest.mark.usefixtures("english")      # messages in English (the msgids)

HEADER = ["客户姓名", "手机号", "生日", "车牌号", "车架号", "车型", "交车日期", "质保到期日", "保险到期日",
          "年检到期日", "首保到期日", "进站日期", "工单号", "维修项目"]
FIELDS = ["name", "mobile", "birthday", "plate", "vin", "model", "delivery_date", "warranty_end", "insurance_expiry",
          "next_inspection", "first_maintenance_due", "visit_date", "work_order", "visit_description"]
REMINDERS = ("warranty_end", "insurance_expiry", "next_inspection", "first_maintenance_due")


def vin(n: int) -> str:
    return f"LSVAU2180N{n:07d}"


def mobile(n: int) -> str:
    return f"1380013{n:04d}"


def row(n: int, *, name=None, phone="", birthday=None, plate=None, vin_=None, model="明锐 1.5L",
        delivered=date(2026, 11, 1), visited=None, work_order=None, items=None) -> dict:
    return {"name": name or f"客户{n}", "mobile": mobile(n) if phone == "" else phone, "birthday": birthday,
            "plate": plate if plate is not None else f"沪AD{n:04d}", "vin": vin(n) if vin_ is None else vin_,
            "model": model, "delivery_date": delivered, "warranty_end": date(2029, 11, 1),
            "insurance_expiry": date(2027, 10, 31), "next_inspection": None, "first_maintenance_due": date(2027, 5, 1),
            "visit_date": visited, "work_order": work_order, "visit_description": items}


def write_csv(folder: Path, rows: list[dict]) -> Path:
    path = folder / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for r in rows:
            writer.writerow(["" if r[f] is None else str(r[f]) for f in FIELDS])
    return path


def row_by_row(session, rows: list[dict]) -> None:
    """The rows applied with the public use cases only, one call (and one flush) at a time."""
    for r in rows:
        vehicle = svc.find_vehicle_by_vin(session, r["vin"]) if r["vin"] else None
        if vehicle is None:
            vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == r["plate"], Vehicle.vin.is_(None)))
        customer = session.get(Customer, vehicle.customer_id) if vehicle else svc.find_customer_by_mobile(
            session, r["mobile"])
        if customer is None:
            customer = svc.create_customer(session, name=r["name"], mobile=r["mobile"], birthday=r["birthday"])
        else:
            svc.update_customer(session, customer, name=r["name"], mobile=r["mobile"] or customer.mobile,
                                birthday=r["birthday"] or customer.birthday, notes=customer.notes)
        dates = {name: r[name] for name in REMINDERS if r[name]}
        if vehicle is None:
            vehicle = svc.save_vehicle(session, customer, None, vin=r["vin"], plate=r["plate"], model=r["model"],
                                       delivery_date=r["delivery_date"], **dates)
        else:
            svc.save_vehicle(session, customer, vehicle, vin=r["vin"] or vehicle.vin, plate=r["plate"] or vehicle.plate,
                             model=r["model"] or vehicle.model, **dates)
        if r["delivery_date"]:
            svc.record_sale(session, vehicle, r["delivery_date"])
        if r["visit_date"]:
            svc.record_visit(session, vehicle, r["visit_date"], work_order=r["work_order"],
                             description=r["visit_description"] or "")


def contents(session) -> dict[str, list]:
    """Every row, with its links as natural keys (ids differ between runs on PostgreSQL)."""
    session.flush()
    session.expire_all()
    people = {c.id: (c.mobile or "", c.name) for c in session.scalars(select(Customer))}
    cars = {v.id: v.vin or v.plate for v in session.scalars(select(Vehicle))}
    return {
        "customers": sorted((c.name, c.mobile or "", str(c.birthday), c.notes, c.sales_care_id or 0)
                            for c in session.scalars(select(Customer))),
        "vehicles": sorted((people[v.customer_id], v.vin or "", v.plate or "", v.model, str(v.delivery_date),
                            str(v.warranty_end), str(v.insurance_expiry), str(v.next_inspection),
                            str(v.first_maintenance_due), str(v.last_service_visit))
                           for v in session.scalars(select(Vehicle))),
        "sales": sorted((people[s.customer_id], cars[s.vehicle_id], s.delivered_on)
                        for s in session.scalars(select(Sale))),
        "visits": sorted((people[s.customer_id], cars[s.vehicle_id], s.visited_on, s.work_order or "", s.description)
                         for s in session.scalars(select(ServiceVisit))),
    }


def existing(session) -> None:
    """What the database has before the file: a customer without a birthday whose car has only a plate,
    with a delivery and a visit; and a customer with a work order."""
    old = svc.create_customer(session, name="老客户", mobile=mobile(30))
    car = svc.save_vehicle(session, old, None, vin=None, plate="沪AD0030", model="卡罗拉")
    svc.record_sale(session, car, date(2025, 3, 1))
    svc.record_visit(session, car, date(2026, 2, 2))
    other = svc.create_customer(session, name="其他", mobile=mobile(31))
    svc.record_visit(session, svc.save_vehicle(session, other, None, vin=vin(31), plate=None), date(2026, 1, 9),
                     work_order="OLD-1")
    session.commit()


ROWS = [
    row(1, visited=date(2026, 1, 5), work_order="A1", items="保养"),
    row(1, visited=date(2026, 6, 5), work_order="A2"),
    row(1, vin_=vin(9), plate="沪AD0009", delivered=date(2026, 10, 1), visited=date(2026, 2, 1)),
    row(1, vin_=vin(9), plate="沪AD0009", visited=date(2026, 2, 1), work_order="B1"),   # same day, its own order
    row(2, phone=None, visited=date(2026, 3, 1), work_order="C1", items="换胎"),
    row(2, phone=None, visited=date(2026, 3, 1)),                # that day's visit exists: no second one
    row(2, phone=None, delivered=date(2026, 11, 20)),            # a later delivery: the car's date follows
    row(30, name="老客户", birthday=date(1970, 5, 6), vin_=vin(30), plate="沪AD0030", delivered=date(2025, 3, 1),
        visited=date(2026, 2, 2)),                                # found by its plate: gets its VIN, nothing twice
    row(30, name="老客户", birthday=date(1970, 5, 6), vin_=vin(30), plate="沪AD0030", delivered=None,
        visited=date(2026, 4, 4), work_order="D1"),
    row(31, name="其他", vin_=vin(31), plate="沪AD0031", delivered=None, visited=date(2026, 1, 9), work_order="OLD-1"),
    row(3, birthday=date(1988, 8, 8), vin_="", plate="沪AD0003", visited=date(2026, 5, 5)),
    row(3, birthday=date(1988, 8, 8), vin_="", plate="沪AD0003", visited=date(2026, 7, 7), work_order="E1"),
    *[row(n, visited=date(2026, 8, n % 28 + 1), work_order=f"F{n}") for n in range(40, 52)],
]


@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 500])
def test_chunks_give_the_same_database_as_the_row_by_row_use_cases(session, folder, monkeypatch, chunk_rows):
    existing(session)
    savepoint = session.begin_nested()
    row_by_row(session, ROWS)
    expected = contents(session)
    savepoint.rollback()
    monkeypatch.setattr(customer_import, "CHUNK_ROWS", chunk_rows)
    report = apply_import(session, write_csv(folder, ROWS))
    session.commit()
    assert report.ok, report.errors
    assert contents(session) == expected
    assert (len(expected["customers"]), len(expected["vehicles"]), len(expected["sales"]), len(expected["visits"])) \
        == (2 + 15, 2 + 16, 1 + 18, 2 + 20)                                 # what was there + what the file adds
    assert (report.customers_created, report.customers_updated, report.vehicles_created, report.vehicles_updated,
            report.sales_created, report.visits_created) == (15, 1, 16, 2, 18, 20)
    again = apply_import(session, write_csv(folder, ROWS))
    assert again.changed_rows == 0 and contents(session) == expected


@pytest.mark.parametrize("chunk_rows", [1, 500])
def test_repair_items_of_one_work_order_are_added_across_chunks(session, folder, monkeypatch, chunk_rows):
    monkeypatch.setattr(customer_import, "CHUNK_ROWS", chunk_rows)
    rows = [row(1, visited=date(2026, 1, 5), work_order="A1", items="更换机油"), row(2),
            row(1, visited=date(2026, 1, 5), work_order="A1", items="轮胎换位"),
            row(1, visited=date(2026, 1, 6), items="洗车"), row(1, visited=date(2026, 1, 6), items="打蜡")]
    report = apply_import(session, write_csv(folder, rows))
    assert report.visits_created == 2
    assert sorted(session.scalars(select(ServiceVisit.description))) == ["更换机油；轮胎换位", "洗车；打蜡"]


def test_a_chunk_is_flushed_in_a_few_statements_not_several_per_row(app, session, folder):
    rows = [row(n, visited=date(2026, 8, 1), work_order=f"W{n}") for n in range(1, 101)]
    path = write_csv(folder, rows)
    statements = []

    def listener(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "after_cursor_execute", listener)
    try:
        report = apply_import(session, path)
    finally:
        event.remove(db.engine, "after_cursor_execute", listener)
    assert report.ok and report.visits_created == 100
    others = [s for s in statements if not s.startswith("INSERT")]
    assert len(others) < 20, "\n".join(others)          # was about 500: a duplicate query per object, UPDATEs
    if db.engine.dialect.name == "postgresql":          # INSERTs batched (insertmanyvalues); SQLite: one a row
        assert len(statements) < 40, "\n".join(statements)


def test_the_dry_run_of_a_chunk_writes_nothing(session, folder):
    existing(session)
    before = contents(session)
    report = plan_import(session, write_csv(folder, ROWS))
    session.commit()
    assert report.ok and report.sales_created > 0
    assert contents(session) == before


def test_a_work_order_of_another_vehicle_is_refused_within_a_chunk(session, folder):
    existing(session)
    rows = [row(1, visited=date(2026, 1, 9), work_order="OLD-1")]             # OLD-1 is vin(31)'s visit
    with pytest.raises(ImportRefused) as refused:
        apply_import(session, write_csv(folder, rows))
    assert [(e.line, e.field) for e in refused.value.report.errors] == [(2, "work_order")]
    assert session.scalar(select(Customer).where(Customer.mobile == mobile(1))) is None


# ---------------------------------------------------------------- the use cases keep their checks


def test_the_use_cases_still_refuse_duplicates(session):
    first = svc.create_customer(session, name="甲", mobile=mobile(1))
    second = svc.create_customer(session, name="乙", mobile=mobile(2))
    with pytest.raises(FieldError) as taken:
        svc.create_customer(session, name="丙", mobile="+86 " + mobile(1))
    assert taken.value.field == "mobile"
    with pytest.raises(FieldError):
        svc.update_customer(session, second, name="乙", mobile=mobile(1), birthday=None)
    assert second.mobile == mobile(2)
    car = svc.save_vehicle(session, first, None, vin=vin(1), plate=None)
    with pytest.raises(FieldError) as vin_taken:
        svc.save_vehicle(session, second, None, vin=vin(1).lower(), plate=None)
    assert vin_taken.value.field == "vin"
    other = svc.save_vehicle(session, second, None, vin=None, plate="沪AD0002")
    with pytest.raises(FieldError):
        svc.save_vehicle(session, second, other, vin=vin(1), plate="沪AD0002")
    assert svc.record_sale(session, car, date(2026, 1, 1)) is svc.record_sale(session, car, date(2026, 1, 1))
    assert svc.record_sale(session, car, date(2025, 1, 1)) and car.delivery_date == date(2026, 1, 1)
    visit = svc.record_visit(session, car, date(2026, 2, 1), work_order=" W1 ")
    assert svc.record_visit(session, car, date(2026, 2, 1), work_order="W1") is visit
    assert svc.record_visit(session, car, date(2026, 2, 1)) is visit                  # that day's visit
    with pytest.raises(FieldError) as clash:
        svc.record_visit(session, other, date(2026, 2, 1), work_order="W1")
    assert clash.value.field == "work_order"
    assert car.last_service_visit == date(2026, 2, 1)
    assert len(session.scalars(select(Sale)).all()) == 2 and len(session.scalars(select(ServiceVisit)).all()) == 1


@pytest.mark.parametrize("kwargs,field", [
    ({"name": " ", "mobile": None}, "name"),
    ({"name": "甲", "mobile": "12345"}, "mobile"),
    ({"name": "甲", "mobile": None, "birthday": date(2999, 1, 1)}, "birthday"),
])
def test_the_helpers_check_values_as_the_use_cases_do(session, kwargs, field):
    for make in (lambda: svc.create_customer(session, **kwargs), lambda: svc.new_customer(**kwargs),
                 lambda: svc.assign_customer(Customer(name="x"), **{"mobile": None, "birthday": None, **kwargs})):
        with pytest.raises(FieldError) as refused:
            make()
        assert refused.value.field == field
    customer = svc.new_customer(name=" 甲 ", mobile="138-0013-8000")
    assert (customer.name, customer.mobile, customer.notes) == ("甲", "13800138000", "")
    with pytest.raises(FieldError) as no_vehicle:
        svc.new_vehicle(customer, vin=None, plate=" ")
    assert no_vehicle.value.field == "vin"
    with pytest.raises(FieldError):
        svc.new_vehicle(customer, vin="LSVAU2180N000000I", plate=None)
    with pytest.raises(FieldError):
        svc.new_vehicle(customer, vin=None, plate="沪AD0001", delivery_date=date(2999, 1, 1))
    with pytest.raises(ValueError):
        svc.assign_vehicle(Vehicle(), vin=vin(1), plate=None, colour="red")
    assert session.scalars(select(Customer)).all() == []


def test_a_new_customer_and_vehicle_are_flushed_together_then_their_events(session):
    customer = svc.new_customer(name="甲", mobile=mobile(1))
    car = svc.new_vehicle(customer, vin=vin(1).lower(), plate="沪a·d0001", model="  明锐 ",
                          delivery_date=date(2026, 1, 1))
    session.add_all([customer, car])
    session.flush()
    assert (car.customer_id, car.vin, car.plate, car.model) == (customer.id, vin(1), "沪AD0001", "明锐")
    session.add_all([svc.new_sale(car, date(2026, 3, 1)),
                     svc.new_visit(car, date(2026, 4, 1), work_order=" ", description=" 保养 ")])
    session.flush()
    assert (car.delivery_date, car.last_service_visit) == (date(2026, 3, 1), date(2026, 4, 1))
    visit = session.scalar(select(ServiceVisit))
    assert (visit.customer_id, visit.work_order, visit.description) == (customer.id, None, "保养")
