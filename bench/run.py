"""Benchmark the board's hot pages on a large dataset: `python -m bench.run [--quick] [--repeat N]`.

A temporary SQLite file (or a fresh PostgreSQL schema with --database-url) is migrated with
`flask db upgrade`'s code path, filled by bench.generate, and then measured through the Flask test
client, one app context per request as in production:

  board   a supervisor's department board filtered to the sales_care lane (2,000 cards)
  mine    a sales_care specialist's "My cards"
  poll    the board's background poll when nothing changed (If-None-Match -> 304)

Prints median and p95 of the server time, SQL statements per request and the HTML size, beside the
targets, plus the median CPU time of this process (without PostgreSQL's) and the full garbage
collections that fell into the measured requests. Exit code 0 whatever the figures; 1 only when a request answers
with an unexpected status.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import math
import os
import platform
import pstats
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

from bench.generate import Dataset, generate
from careboard import create_app, templating
from careboard.config import TestConfig
from careboard.extensions import db

FULL = dict(users=200, open_cards=5_000, done_cards=100_000)
QUICK = dict(users=40, open_cards=500, done_cards=5_000)
WARMUP = 3
BOARD_ROLE = "sales_care"

# p95 targets in milliseconds
TARGETS = {"board": 150.0, "mine": 30.0, "poll": 5.0}
COLLECTIONS = None      # a FullCollections once main() runs


class UnexpectedStatus(RuntimeError):
    pass


class FreshContextClient(FlaskClient):
    """Each request in an app context of its own (its own `g` and database session), as in production
    and as tests/conftest.py's client does."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class StatementCounter:
    """Counts the SQL statements the engine runs (after_cursor_execute; executemany counts once)."""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


class FullCollections:
    """Counts the garbage collector's full (generation 2) collections and the time they take: with a
    few hundred thousand live objects, each one stops a request for tens of milliseconds."""

    def __init__(self):
        self.count, self.seconds, self._start = 0, 0.0, 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._start

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0


@dataclass
class Result:
    name: str
    label: str
    status: int
    times_ms: list[float]
    cpu_ms: list[float]
    statements: list[int]
    html_bytes: int
    cards: int | None
    full_gcs: int = 0
    full_gc_ms: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)                  # nearest rank
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def sql(self) -> str:
        low, high = min(self.statements), max(self.statements)
        return str(low) if low == high else f"{low}-{high}"


# ---------------------------------------------------------------- databases


def postgres_url(url: str, schema: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def database(url: str | None, prefix: str = "careboard_bench"):
    """A fresh, empty database URI: a temporary SQLite file, or a new schema `<prefix>_<random>` of the given
    PostgreSQL, dropped at the end."""
    if not url:
        directory = tempfile.mkdtemp(prefix="careboard-bench-")
        try:
            yield f"sqlite:///{os.path.join(directory, 'bench.sqlite')}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if not url.startswith(("postgres://", "postgresql")):
        raise SystemExit("--database-url: only PostgreSQL URLs are supported (SQLite is the default)")
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url(url, "public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------- measuring


def login(client: FlaskClient, username: str, password: str) -> None:
    response = client.post("/login", data={"username": username, "password": password})
    if response.status_code != 303:
        raise UnexpectedStatus(f"log-in as {username}: status {response.status_code}, expected 303")


class Profiler:
    """pyinstrument (sampling, little overhead) when it is installed, cProfile otherwise."""

    def __init__(self):
        try:
            from pyinstrument import Profiler as Sampling
        except ImportError:
            self.sampling, self.profile = None, cProfile.Profile()
        else:
            self.sampling, self.profile = Sampling(interval=0.0005), None

    def start(self) -> None:
        self.sampling.start() if self.sampling else self.profile.enable()

    def stop(self) -> None:
        self.sampling.stop() if self.sampling else self.profile.disable()

    def report(self, title: str) -> None:
        print(f"\n--- profile of {title} ---")
        if self.sampling:
            print(self.sampling.output_text(unicode=True, color=False, show_all=False, short_mode=False))
            return
        for order, lines in (("cumulative", 40), ("tottime", 25)):
            pstats.Stats(self.profile, stream=sys.stdout).strip_dirs().sort_stats(order).print_stats(lines)


def measure(client: FlaskClient, counter: StatementCounter, *, name: str, label: str, path: str,
            headers: dict | None = None, expect: int = 200, repeat: int = 30, count=None,
            profile: bool = False) -> Result:
    times, cpu, statements = [], [], []
    response = None
    profiler = Profiler() if profile else None
    for i in range(WARMUP + repeat):
        counter.count = 0
        if i == WARMUP:
            COLLECTIONS.reset()
            if profiler:
                profiler.start()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers or {})
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if response.status_code != expect:
            raise UnexpectedStatus(f"{label}: GET {path} answered {response.status_code}, expected {expect}")
        if i >= WARMUP:
            times.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
            statements.append(counter.count)
    if profiler:
        profiler.stop()
        profiler.report(f"{repeat} x {label} (times above are inflated by the profiler)")
    body = response.get_data(as_text=True)
    return Result(name=name, label=label, status=response.status_code, times_ms=times, cpu_ms=cpu,
                  statements=statements, html_bytes=len(response.get_data()),
                  cards=count(body) if count else None, full_gcs=COLLECTIONS.count,
                  full_gc_ms=COLLECTIONS.seconds * 1000)


def count_board_cards(html: str) -> int:
    return html.count('class="card ')


def count_mine_cards(html: str) -> int:
    return html.count('class="mine-card ')


def run_scenarios(app, dataset: Dataset, counter: StatementCounter, repeat: int, profile: str | None) -> list[Result]:
    supervisor = app.test_client()
    login(supervisor, dataset.supervisor, dataset.password)
    staff = app.test_client()
    staff_name = dataset.sales_staff[0]
    login(staff, staff_name, dataset.password)

    board_path = f"/board/?role={BOARD_ROLE}"
    results = [
        measure(supervisor, counter, name="board", label=f"board {board_path} (supervisor)", path=board_path,
                repeat=repeat, count=count_board_cards, profile=profile == "board"),
        measure(staff, counter, name="mine", label=f"mine /board/mine ({staff_name})", path="/board/mine",
                repeat=repeat, count=count_mine_cards, profile=profile == "mine"),
    ]
    poll_headers = {"HX-Request": "true", "HX-Target": "board", "X-CareBoard-Poll": "1"}
    first = supervisor.get(board_path, headers=poll_headers)
    if first.status_code != 200 or not first.headers.get("ETag"):
        raise UnexpectedStatus(f"board fragment: status {first.status_code}, ETag {first.headers.get('ETag')!r}")
    etag = first.headers["ETag"]
    results.append(measure(supervisor, counter, name="poll", label="unchanged poll (If-None-Match)",
                           path=board_path, headers={**poll_headers, "If-None-Match": etag}, expect=304,
                           repeat=repeat, profile=profile == "poll"))
    return results


# ---------------------------------------------------------------- report


def print_results(results: list[Result], *, expected_board_cards: int, expected_mine_cards: int) -> None:
    header = f"{'scenario':<44} {'status':>6} {'cards':>6} {'HTML KiB':>9} {'SQL/req':>7} " \
             f"{'median ms':>10} {'p95 ms':>8} {'target p95':>11}  met  {'CPU ms':>6}"
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        target = TARGETS[r.name]
        met = "yes" if r.p95 < target else "NO"
        cards = "-" if r.cards is None else str(r.cards)
        print(f"{r.label:<44} {r.status:>6} {cards:>6} {r.html_bytes / 1024:>9.1f} {r.sql:>7} "
              f"{r.median:>10.1f} {r.p95:>8.1f} {'< ' + format(target, 'g') + ' ms':>11}  {met:<3}  "
              f"{r.cpu_median:>6.1f}")
    board = next(r for r in results if r.name == "board")
    mine = next(r for r in results if r.name == "mine")
    if board.cards != expected_board_cards:
        print(f"note: the board rendered {board.cards} cards, the dataset has {expected_board_cards} open "
              f"{BOARD_ROLE} cards")
    if mine.cards != expected_mine_cards:
        print(f"note: my cards rendered {mine.cards} cards, the dataset has {expected_mine_cards}")
    print("full garbage collections during the measured requests: " + "; ".join(
        f"{r.name} {r.full_gcs} ({r.full_gc_ms:.0f} ms in all)" for r in results))
    missed = [r.name for r in results if r.p95 >= TARGETS[r.name]]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smaller dataset: 40 people, 500 open and 5,000 done cards")
    parser.add_argument("--repeat", type=int, default=30, metavar="N",
                        help="measured requests per scenario, after 3 warm-up requests (default 30)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL URL; the benchmark works in a new schema it drops at the end")
    parser.add_argument("--seed", type=int, default=1, help="the dataset's random seed (default 1)")
    parser.add_argument("--profile", choices=sorted(TARGETS), metavar="SCENARIO",
                        help="profile one scenario's measured requests (board, mine or poll) with pyinstrument "
                             "when it is importable, else cProfile")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="skip the gc.collect(); gc.freeze() that wsgi.py does after start-up (shows what "
                             "the garbage collector costs without it)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = QUICK if args.quick else FULL

    with database(args.database_url) as uri:
        config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri})
        app = create_app(config)
        app.test_client_class = FreshContextClient
        with app.app_context():
            upgrade()
            engine = db.engine
            dialect = engine.dialect.name
            counter = StatementCounter(engine)

        started = time.perf_counter()
        dataset = generate(app, seed=args.seed, **sizes)
        generation = time.perf_counter() - started

        version = sqlite3.sqlite_version if dialect == "sqlite" else _server_version(app)
        print(f"CareBoard benchmark · Python {platform.python_version()} · {dialect} {version} · "
              f"{os.cpu_count()} CPUs · {platform.machine()}")
        print(f"dataset ({'quick' if args.quick else 'full'}, seed {args.seed}): {dataset.users} people, "
              f"{dataset.open_cards:,} open cards ({dataset.open_by_role.get(BOARD_ROLE, 0):,} {BOARD_ROLE}), "
              f"{dataset.done_cards:,} done cards, {dataset.events:,} events")
        print(f"generated in {generation:.1f} s")
        print(f"measuring: {WARMUP} warm-up + {args.repeat} requests per scenario; "
              f"times are time.perf_counter() around client.get"
              + ("; gc.freeze() before measuring" if args.gc_freeze else ""))

        global COLLECTIONS
        COLLECTIONS = FullCollections()
        gc.collect()
        if args.gc_freeze:
            gc.freeze()

        try:
            results = run_scenarios(app, dataset, counter, args.repeat, args.profile)
        except UnexpectedStatus as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            with app.app_context():
                db.engine.dispose()
        print_results(results, expected_board_cards=dataset.open_by_role.get(BOARD_ROLE, 0),
                      expected_mine_cards=dataset.open_by_user.get(dataset.sales_staff[0], 0))
        cards, size = card_cache_size()
        print(f"rendered cards kept by this process (templating.board_card): {cards:,}, {size / 2**20:.1f} MiB "
              f"({size / max(cards, 1) / 1024:.2f} KiB a card; emptied at {templating.BOARD_CARD_CACHE_SIZE:,})")
    return 0


def card_cache_size() -> tuple[int, int]:
    """The kept cards and their bytes: the dict, the HTML, the keys and the values they hold (each object once)."""
    seen: set[int] = set()
    size = sys.getsizeof(templating._board_cards)
    for key, html in templating._board_cards.items():
        for item in (key, html, *key, *key[-1]):
            if id(item) not in seen:
                seen.add(id(item))
                size += sys.getsizeof(item)
    return len(templating._board_cards), size


def _server_version(app) -> str:
    with app.app_context():
        version = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    return re.sub(r"\s.*", "", version or "")


if __name__ == "__main__":
    sys.exit(main())
