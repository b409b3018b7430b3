"""Benchmark of the care rules engine: `python -m bench.tick_bench [--customers N] [--database-url URL]`.

Fills a fresh database with customers, vehicles, deliveries and service visits over three years (bulk
inserts), then times `tick_service.tick`: the first run (nothing handled yet), an unchanged rerun the same
day, and the next day's run (one new day to look at). Targets: first run < 10 s, unchanged rerun < 1 s.
Prints figures; the exit code is 0 unless the engine fails.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import func, insert, select

from bench.run import database
from careboard import create_app
from careboard.config import TestConfig
from careboard.extensions import db
from careboard.models import Card, Customer, Level, Role, Sale, ServiceVisit, User, Vehicle
from careboard.services import tick as tick_service

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)        # 08:30 in Shanghai


def generate(customers: int, vehicles: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    users = []
    for i, role in enumerate([Role.SALES_CARE] * 8 + [Role.AFTERSALES_CARE] * 8 + [Role.INSURANCE_RENEWAL] * 3):
        users.append({"id": i + 1, "username": f"{role.value[:5]}{i:02d}", "display_name": f"{role.value} {i}",
                      "password_hash": "x", "role": role.value, "level": int(Level.STAFF), "active": True,
                      "language": "zh_CN", "created_at": stamp, "updated_at": stamp})
    db.session.execute(insert(User), users)
    sales_ids = [u["id"] for u in users if u["role"] == "sales_care"]
    after_ids = [u["id"] for u in users if u["role"] == "aftersales_care"]
    rows = []
    for i in range(customers):
        rows.append({"id": i + 1, "name": f"客户{i}", "mobile": f"139{i:08d}",
                     "birthday": date(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                     "notes": "", "sales_care_id": rng.choice(sales_ids) if i % 3 else None,
                     "aftersales_care_id": rng.choice(after_ids) if i % 4 else None,
                     "created_at": stamp, "updated_at": stamp})
    db.session.execute(insert(Customer), rows)
    vehicle_rows, sale_rows, visit_rows = [], [], []
    for v in range(vehicles):
        customer = v % customers + 1
        delivered = TODAY - timedelta(days=rng.randint(0, 3 * 365))
        last_visit = None
        day = delivered + timedelta(days=rng.randint(60, 150))
        while day < TODAY and rng.random() < 0.6:
            visit_rows.append({"customer_id": customer, "vehicle_id": v + 1, "visited_on": day,
                               "work_order": f"R{v:06d}-{len(visit_rows)}", "description": "保养",
                               "created_at": stamp})
            last_visit = day
            day += timedelta(days=rng.randint(90, 240))
        vehicle_rows.append({
            "id": v + 1, "customer_id": customer, "plate": f"沪A{v:05d}",
            "vin": "LSV" + "".join(rng.choice(VIN_CHARS) for _ in range(14)), "model": "明锐",
            "delivery_date": delivered, "warranty_end": delivered + timedelta(days=3 * 365),
            "insurance_expiry": delivered + timedelta(days=365 * ((TODAY - delivered).days // 365 + 1)),
            "next_inspection": delivered + timedelta(days=6 * 365),
            "first_maintenance_due": delivered + timedelta(days=90), "last_service_visit": last_visit,
            "created_at": stamp, "updated_at": stamp})
        sale_rows.append({"customer_id": customer, "vehicle_id": v + 1, "delivered_on": delivered,
                          "created_at": stamp})
    for table, data in ((Vehicle, vehicle_rows), (Sale, sale_rows), (ServiceVisit, visit_rows)):
        for start in range(0, len(data), 5000):
            db.session.execute(insert(table), data[start:start + 5000])
    if db.engine.dialect.name == "postgresql":
        for table in ("user", "customer", "vehicle"):
            db.session.execute(db.text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))
    db.session.commit()
    return {"customers": customers, "vehicles": vehicles, "sales": len(sale_rows), "visits": len(visit_rows)}


def timed(label: str, now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    report = tick_service.tick(db.session, now=now)
    db.session.commit()
    elapsed = time.perf_counter() - started
    print(f"  {label:<38} {elapsed * 1000:9.0f} ms   {len(report.created):6d} cards created")
    return elapsed, len(report.created)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--vehicles", type=int, default=30_000)
    parser.add_argument("--database-url", metavar="URL", help="PostgreSQL (a schema of its own, dropped after)")
    args = parser.parse_args(argv)
    with database(args.database_url) as uri:
        app = create_app(type("TickBench", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri}))
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            sizes = generate(args.customers, args.vehicles)
            print(f"care rules benchmark · {db.engine.dialect.name} · {sizes['customers']:,} customers, "
                  f"{sizes['vehicles']:,} vehicles, {sizes['sales']:,} deliveries, {sizes['visits']:,} visits "
                  f"(generated in {time.perf_counter() - started:.1f} s)")
            first, made = timed("first run (8 days: backfill + today)", NOW)
            rerun, again = timed("unchanged rerun, same day", NOW + timedelta(hours=2))
            next_day, _ = timed("next morning (one new day)", NOW + timedelta(days=1))
            cards = db.session.scalar(select(func.count(Card.id)))
            keys = db.session.scalar(select(func.count(func.distinct(Card.rule_key))))
            print(f"  cards in all: {cards:,}; distinct rule keys: {keys:,}; rerun created {again}")
            print(f"  targets: first run < 10 s: {'yes' if first < 10 else 'NO'} ({first:.2f} s); "
                  f"unchanged rerun < 1 s: {'yes' if rerun < 1 else 'NO'} ({rerun:.3f} s); "
                  f"next day {next_day:.2f} s")
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
