"""Benchmark of the scorecards: `python -m bench.kpi_bench [--people 200] [--database-url URL]`.

Fills a fresh database with a year of what the measured KPI metrics read (bulk inserts): 200 active
people over the four roles that have a template (mostly sales and after-sales care specialists), about
25 cards per person and month (callbacks with their outcome and some retries, birthday / holiday
greetings and maintenance reminders), 50 complaints a month with their cards, the daily 5S runs of five
areas with their inspection cards, and the supervisor's entries for every person and month. Then times

  live   kpi.compute_live(session, kpi.scorable_people(session), "2026-11", s=settings)   target < 2 s
  trend  kpi.trend(session, person, "2026-11", s=settings): 12 months of one person     target < 300 ms
         (a sales care specialist, and the care director, whose template measures callback_success)

with every month open (the worst case: nothing frozen yet), each --repeat times after one warm-up, in a
fresh session each time. Prints median and max and the SQL statements per run; the exit code is 0
unless something raises.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import event, insert, select

from bench.run import Profiler, StatementCounter, database
from careboard import create_app, dates
from careboard.config import TestConfig
from careboard.extensions import db
from careboard.models import Card, ChecklistArea, ChecklistRun, Complaint, KpiEntry, Level, Role, User
from careboard.services import kpi, settings
from careboard.services.kpi_templates import DEFAULT_TEMPLATES

MONTH = "2026-11"
NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)        # 08:30 in Shanghai: November is still open
MONTHS = dates.previous_months(MONTH, 12)                          # 2025-12 … 2026-11
CHUNK = 5_000
TARGETS = {"live": 2.0, "trend": 0.3}                            # seconds
ROLE_SHARES = ((Role.CARE_DIRECTOR, 0.01), (Role.CS_SUPERVISOR, 0.04), (Role.SALES_CARE, 0.50),
               (Role.AFTERSALES_CARE, 0.45))
CARDS_PER_MONTH = (22, 28)                                       # per person
CALLBACK_SHARE, GREETING_SHARE = 0.6, 0.2                        # the rest: maintenance reminders
COMPLAINTS_PER_MONTH = 50
AREAS = 5


# ---------------------------------------------------------------- the dataset


class Rows:
    """Rows for bulk inserts, with the ids given here (retries name their first attempt's id)."""

    def __init__(self):
        self.cards: list[dict] = []
        self.lanes: dict[tuple[int, str], int] = defaultdict(int)        # (assignee, column) -> next position

    def card(self, *, kind: str, title: str, role: str, assignee: int, due: datetime, completed: datetime | None,
             source: str, rule_key: str | None = None, callback_result: str | None = None, attempt: int = 1) -> int:
        column = "done" if completed else "todo"
        position = self.lanes[assignee, column]
        self.lanes[assignee, column] += 1
        card_id = len(self.cards) + 1
        created = due - timedelta(days=3)
        self.cards.append({
            "id": card_id, "kind": kind, "title": title, "details": "", "role": role, "assignee_id": assignee,
            "column": column, "position": position, "due_at": due, "priority": 2, "source": source,
            "rule_key": rule_key, "customer_id": None, "vehicle_id": None, "created_at": created,
            "created_by_id": None, "updated_at": completed or created, "completed_at": completed,
            "completed_by_id": assignee if completed else None, "outcome_note": None,
            "callback_result": callback_result, "satisfaction": None, "problems": None, "attempt": attempt,
            "complaint_flag": False, "version": 1})
        return card_id


def month_start(month: str) -> datetime:
    year, number = dates.require_month(month)
    return datetime(year, number, 1, tzinfo=UTC) - timedelta(hours=8)       # midnight in Shanghai


def done_at(rng: random.Random, due: datetime) -> datetime | None:
    """When a card due at `due` was done: mostly on time, some late, some never (None); open if not yet due."""
    if due > NOW:
        return None
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.17:
        return min(due + timedelta(hours=rng.randint(1, 60)), NOW)
    return due - timedelta(minutes=rng.randint(5, 2 * 24 * 60))


def people_rows(count: int) -> list[dict]:
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    roles: list[Role] = []
    for role, share in ROLE_SHARES:
        roles += [role] * max(1, round(count * share))
    roles = (roles + [Role.SALES_CARE] * count)[:count]
    level = {Role.CARE_DIRECTOR: Level.DIRECTOR, Role.CS_SUPERVISOR: Level.SUPERVISOR}
    return [{"id": i + 1, "username": f"kpi{i:03d}", "display_name": f"{role.value} {i:03d}", "password_hash": "x",
             "role": role.value, "level": int(level.get(role, Level.STAFF)), "active": True, "language": "zh_CN",
             "created_at": stamp, "updated_at": stamp} for i, role in enumerate(roles)]


def care_cards(rows: Rows, rng: random.Random, people: list[dict]) -> int:
    """Each person's callbacks (with retries), greetings and reminders, month by month. Returns the retries."""
    retries = 0
    for person in people:
        for month in MONTHS:
            start, days = month_start(month), dates.month_days(month)[1].day
            for _n in range(rng.randint(*CARDS_PER_MONTH)):
                due = start + timedelta(days=rng.randrange(days), hours=rng.randint(9, 20))
                completed = done_at(rng, due)
                roll = rng.random()
                if roll < CALLBACK_SHARE:
                    outcome = None
                    if completed:
                        outcome = rng.choices(("reached", "not_reached", "failed"), (0.8, 0.15, 0.05))[0]
                    first = rows.card(kind="callback", title="回访", role=person["role"], assignee=person["id"],
                                      due=due, completed=completed, source="after_service_callback",
                                      callback_result=outcome)
                    if outcome == "not_reached":
                        retry_due = completed + timedelta(days=1)
                        retry_done = done_at(rng, retry_due)
                        rows.card(kind="callback", title="回访(重拨)", role=person["role"], assignee=person["id"],
                                  due=retry_due, completed=retry_done, source="after_service_callback",
                                  rule_key=f"retry:{first}", attempt=2,
                                  callback_result=(rng.choice(("reached", "failed")) if retry_done else None))
                        retries += 1
                else:
                    source = rng.choice(("birthday", "holiday")) if roll < CALLBACK_SHARE + GREETING_SHARE \
                        else "maintenance"
                    rows.card(kind="reminder", title="提醒", role=person["role"], assignee=person["id"], due=due,
                              completed=completed, source=source)
    return retries


def complaint_rows(rows: Rows, rng: random.Random, supervisors: list[int]) -> list[dict]:
    complaints = []
    for month in MONTHS:
        start, days = month_start(month), dates.month_days(month)[1].day
        for _n in range(COMPLAINTS_PER_MONTH):
            received = start + timedelta(days=rng.randrange(days), minutes=rng.randint(60, 14 * 60))
            if received > NOW:
                received = NOW - timedelta(hours=rng.randint(1, 48))
            responded = received + timedelta(minutes=rng.choice((5, 15, 25, 40)))
            handed = responded + timedelta(minutes=rng.choice((20, 50, 90, 150)))
            closed = handed + timedelta(hours=rng.randint(4, 72))
            if closed > NOW or rng.random() < 0.1:
                closed = None
            assignee = rng.choice(supervisors)
            card_id = rows.card(kind="complaint", title="投诉", role=Role.CS_SUPERVISOR.value, assignee=assignee,
                                due=received + timedelta(hours=24), completed=closed, source="manual")
            complaints.append({
                "card_id": card_id, "customer_id": None, "callback_card_id": None,
                "channel": rng.choice(("phone", "hotline", "showroom", "online")),
                "category": rng.choice(("sales", "service", "parts", "attitude")), "severity": rng.randint(1, 3),
                "department": rng.choice(("sales", "aftersales", "customer_care")), "description": "客户投诉",
                "status": "closed" if closed else "handed_off", "received_at": received, "responded_at": responded,
                "handed_off_at": handed, "solution_at": None, "resolved_at": closed, "closed_at": closed,
                "solution": None, "reopen_count": 0, "deadline_override": None, "escalated_status": None,
                "created_by_id": assignee, "version": 1})
    return complaints


def checklist_rows(rows: Rows, rng: random.Random, inspectors: list[int]) -> tuple[list[dict], list[dict]]:
    """Five areas, each checked every morning by one sales care specialist, from its inspection card."""
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    areas = [{"id": a + 1, "name": f"区域 {a + 1}", "position": a, "responsible_role": Role.SALES_CARE.value,
              "responsible_id": None, "inspector_role": Role.SALES_CARE.value, "inspector_id": inspectors[a],
              "active": True, "updated_at": stamp, "version": 1} for a in range(AREAS)]
    runs = []
    first, last = dates.month_days(MONTHS[0])[0], NOW.date()
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        morning = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)      # 09:30 in Shanghai
        for area in areas:
            submitted = morning + timedelta(minutes=rng.randint(0, 60)) if rng.random() < 0.92 else None
            card_id = rows.card(kind="inspection", title=f"5S 检查:{area['name']}", role=Role.SALES_CARE.value,
                                assignee=area["inspector_id"], due=morning + timedelta(hours=2), completed=submitted,
                                source="checklist")
            runs.append({"area_id": area["id"], "day": day, "area_name": area["name"], "card_id": card_id,
                         "status": "submitted" if submitted else "open", "created_at": morning,
                         "submitted_at": submitted, "submitted_by_id": area["inspector_id"] if submitted else None})
    return areas, runs


def entry_value(metric: dict, rng: random.Random) -> object:
    """A plausible figure a supervisor enters for one metric of a default template."""
    rule, params = metric["rule"], metric.get("params") or {}
    if rule == "linear":
        floor, target = params.get("floor", 0), params.get("target", 1)
        return round(floor + (target - floor) * rng.uniform(0.5, 1.1), 3)
    if rule == "weighted_rates":
        return {p["code"]: round(rng.uniform(0.5, 1.1), 2) for p in params["parts"]}
    if rule == "judged":
        band = rng.choice(params["bands"])
        return {"band": band["code"], "value": rng.randint(int(band["min"]), int(band["max"]))}
    if rule == "band_interpolated":
        return rng.randint(int(params["bands"][0]["from"]), int(params["bands"][-1]["to"]))
    if rule == "coefficient":
        mins = [s["min"] for s in params["steps"] if s["min"] is not None]
        return round(rng.uniform(min(mins) * 0.98, max(mins)), 2)
    return None                                              # a gate reads its metric's value (value_of)


def entry_rows(rng: random.Random, people: list[dict], supervisor: int) -> list[dict]:
    entries = []
    for person in people:
        entered = [m for m in DEFAULT_TEMPLATES[person["role"]]["metrics"] if m["source"] == "entered"]
        for month in MONTHS:
            at = month_start(month) + timedelta(days=27)
            for metric in entered:
                value = entry_value(metric, rng)
                if value is not None:
                    entries.append({"user_id": person["id"], "month": month, "metric": metric["code"],
                                    "value": value, "entered_at": min(at, NOW), "entered_by_id": supervisor})
    return entries


def generate(count: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    people = people_rows(count)
    by_role = defaultdict(list)
    for p in people:
        by_role[p["role"]].append(p["id"])
    rows = Rows()
    retries = care_cards(rows, rng, people)
    complaints = complaint_rows(rows, rng, by_role[Role.CS_SUPERVISOR.value])
    areas, runs = checklist_rows(rows, rng, by_role[Role.SALES_CARE.value][:AREAS])
    entries = entry_rows(rng, people, by_role[Role.CS_SUPERVISOR.value][0])
    for model, data in ((User, people), (Card, rows.cards), (Complaint, complaints), (ChecklistArea, areas),
                        (ChecklistRun, runs), (KpiEntry, entries)):
        for start in range(0, len(data), CHUNK):
            db.session.execute(insert(model), data[start:start + CHUNK])
    if db.engine.dialect.name == "postgresql":
        for table in ("user", "card", "checklist_area"):
            db.session.execute(db.text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return {"people": len(people), "cards": len(rows.cards), "retries": retries, "complaints": len(complaints),
            "runs": len(runs), "entries": len(entries),
            **{role: len(ids) for role, ids in by_role.items()}}


# ---------------------------------------------------------------- measuring


def card_query_plan(user_id: int, store: settings.StoreSettings) -> str:
    """The indexes the database uses for one person's callback cards of a month (kpi.callback_completion's
    query). Without statistics SQLite's choice between ix_card_kind and ix_card_assignee_open depends on
    the order the migrations happened to create them in: see bench/README.md."""
    seen: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        kpi.measure(db.session, "callback_completion", [user_id], MONTH, s=store, now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    statement, parameters = seen[-1]
    sqlite = db.engine.dialect.name == "sqlite"
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
    lines = [row[-1] if sqlite else row[0] for row in cursor.fetchall()]
    cursor.close()
    db.session.remove()
    return ", ".join(sorted({word for line in lines for word in line.replace("(", " ").split()
                             if word.startswith("ix_card")})) or "; ".join(lines)


def timed(label: str, target: float, run: Callable[[], object], counter: StatementCounter, repeat: int,
          profiler: Profiler | None = None) -> float:
    """One warm-up, then `repeat` runs in a fresh session each; prints median, max and statements."""
    run()
    db.session.remove()
    times, cpu, statements = [], [], set()
    for _n in range(repeat):
        counter.count = 0
        if profiler:
            profiler.start()
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        elapsed = time.perf_counter() - started
        cpu.append(time.process_time() - started_cpu)
        if profiler:
            profiler.stop()
        times.append(elapsed)
        statements.add(counter.count)
        db.session.remove()
    median, worst = statistics.median(times), max(times)
    sql = str(min(statements)) if len(statements) == 1 else f"{min(statements)}–{max(statements)}"
    print(f"  {label:<46} median {median * 1000:7.0f} ms   max {worst * 1000:7.0f} ms   "
          f"CPU {statistics.median(cpu) * 1000:5.0f} ms   {sql:>7} SQL   "
          f"target < {target * 1000:.0f} ms: {'yes' if median < target else 'NO'}")
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kpi_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="active people with a KPI template (default 200)")
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="measured runs per operation (default 5)")
    parser.add_argument("--database-url", metavar="URL", help="PostgreSQL (a schema of its own, dropped after)")
    parser.add_argument("--profile", choices=("live", "trend", "trend-director"),
                        help="profile one operation's measured runs (pyinstrument if importable, else cProfile)")
    args = parser.parse_args(argv)
    if args.people < 10 or args.repeat < 1:
        parser.error("--people must be at least 10 and --repeat at least 1")
    with database(args.database_url) as uri:
        app = create_app(type("KpiBench", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri}))
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            sizes = generate(args.people)
            print(f"scorecard benchmark · {db.engine.dialect.name} · {sizes['people']} people "
                  f"({', '.join(f'{sizes[r.value]} {r.value}' for r, _s in ROLE_SHARES)}), "
                  f"{MONTHS[0]}…{MONTHS[-1]}: {sizes['cards']:,} cards ({sizes['retries']:,} callback retries), "
                  f"{sizes['complaints']:,} complaints, {sizes['runs']:,} 5S runs, {sizes['entries']:,} entries "
                  f"(generated in {time.perf_counter() - started:.1f} s)")
            counter = StatementCounter(db.engine)
            store = settings.load(db.session)
            sales = db.session.scalar(select(User.id).where(User.role == Role.SALES_CARE.value).order_by(User.id))
            director = db.session.scalar(select(User.id).where(User.role == Role.CARE_DIRECTOR.value))
            gc.collect()
            gc.freeze()                                      # as wsgi.py does after start-up
            cards = []

            def live() -> None:
                cards[:] = kpi.compute_live(db.session, kpi.scorable_people(db.session), MONTH, s=store, now=NOW)

            def trend_of(user_id: int) -> Callable[[], object]:
                return lambda: kpi.trend(db.session, db.session.get(User, user_id), MONTH, s=store)

            print(f"  index for a person's callback cards: {card_query_plan(sales, store)}")
            profiler = Profiler() if args.profile else None
            print(f"  one warm-up, then {args.repeat} runs each, a fresh session per run; every month open")
            for name, label, run in (
                    ("live", f"live: compute_live, {sizes['people']} people, {MONTH}", live),
                    ("trend", "trend: 12 months of a sales care specialist", trend_of(sales)),
                    ("trend-director", "trend: 12 months of the care director", trend_of(director))):
                timed(label, TARGETS[name.split("-")[0]], run, counter, args.repeat,
                      profiler if args.profile == name else None)
                if name == "live":
                    totals = [c.total for c in cards]
                    print(f"    {len(cards)} scorecards; totals {min(totals):.1f}–{max(totals):.1f}, "
                          f"median {statistics.median(totals):.1f}")
            if profiler:
                profiler.report(args.profile)
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
