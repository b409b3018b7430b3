"""Benchmark the board's hot pages on a large dataset: `python -m bench.run [--quick] [--repeat N]`.

A temporary SQLite file (or a fresh PostgreSQL schema with --database-url) is migrated with
`flask db upgrade`'s code path, filled by bench.generate, and then measured through the Flask test
client, one app context per request as in production:

  board    a supervisor's department board filtered to the sales_care lane (2,000 cards): the first screen
  all      the same with all=1, every lane drawn (no target: for comparison)
  poll     the board page revalidated when nothing changed (If-None-Match -> 304)
  mine     a sales_care specialist's "My cards"
  move     a supervisor's drop, then another supervisor's refresh (GET /board/changes), on a board of
           500 cards and on the one of 2,000: their sum should not grow with the cards
  refresh  the tablets' refresh of the 2,000-card board when nothing changed (204)

Prints median and p95 of the server time, SQL statements per request and the HTML size (and gzipped), beside the
targets, plus the median CPU time of this process (without PostgreSQL's) and the full garbage
collections that fell into the measured requests. Exit code 0 whatever the figures; 1 only when a request answers
with an unexpected status.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import gzip
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
from html import unescape
from urllib.parse import quote, urlencode

from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text
from werkzeug.test import TestResponse

from bench.generate import MID_ROLE as MID, Dataset, generate
from careboard import create_app, templating
from careboard.config import TestConfig
from careboard.extensions import db
from careboard.models import Card, Column

FULL = dict(users=200, open_cards=5_000, done_cards=100_000)
QUICK = dict(users=40, open_cards=500, done_cards=5_000)
WARMUP = 3
BOARD_ROLE = "sales_care"           # 2,000 open cards in the full dataset
MID_ROLE = MID.value                # 500

# p95 targets in milliseconds (issue 18; mine and the page's revalidation as before it)
TARGETS = {"board": 50.0, "move": 30.0, "refresh": 3.0, "poll": 5.0, "mine": 30.0}
BOARD_HTML_TARGET = 150_000         # bytes of the board's first screen, before compression
PROFILED = ("board", "all", "poll", "mine", "move", "refresh")
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
class Sample:
    """One measured request: server time, this process's CPU time and the SQL statements it ran."""
    ms: float
    cpu_ms: float
    statements: int


@dataclass
class Result:
    name: str                      # the scenario, as --profile names it
    label: str
    status: int
    samples: list[Sample]
    html_bytes: int | None = None  # the last answer's body, before compression
    cards: int | None = None
    target_ms: float | None = None           # p95
    target_bytes: int | None = None          # the body, before compression
    gzip_bytes: int | None = None
    note: str | None = None                  # printed below the table
    full_gcs: int | None = None              # the scenario's full collections (None: counted on another row)
    full_gc_ms: float = 0.0

    @property
    def times_ms(self) -> list[float]:
        return [s.ms for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu_ms for s in self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)                  # nearest rank
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def sql(self) -> str:
        low, high = min(s.statements for s in self.samples), max(s.statements for s in self.samples)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def has_target(self) -> bool:
        return self.target_ms is not None or self.target_bytes is not None

    @property
    def met(self) -> bool:
        return (self.target_ms is None or self.p95 <= self.target_ms) and \
            (self.target_bytes is None or (self.html_bytes or 0) <= self.target_bytes)


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


def timed(counter: StatementCounter, send) -> tuple[TestResponse, Sample]:
    """One request (`send()`), timed, with the statements it ran."""
    counter.count = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    response = send()
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return response, Sample(elapsed * 1000, elapsed_cpu * 1000, counter.count)


def expect(response: TestResponse, status: int, what: str) -> TestResponse:
    if response.status_code != status:
        raise UnexpectedStatus(f"{what} answered {response.status_code}, expected {status}")
    return response


@contextlib.contextmanager
def measuring(label: str, profile: bool):
    """The measured part of a scenario: the full collections counted from here, and profiled if asked."""
    COLLECTIONS.reset()
    profiler = Profiler() if profile else None
    if profiler:
        profiler.start()
    try:
        yield
    finally:
        if profiler:
            profiler.stop()
            profiler.report(f"{label} (times above are inflated by the profiler)")


def body_sizes(response: TestResponse) -> dict:
    data = response.get_data()
    return dict(html_bytes=len(data), gzip_bytes=len(gzip.compress(data, compresslevel=6)) if data else None)


def measure(client: FlaskClient, counter: StatementCounter, *, name: str, label: str, path: str,
            headers: dict | None = None, status: int = 200, repeat: int = 30, count=None,
            profile: bool = False, **targets) -> Result:
    """`repeat` GETs of the same URL after the warm-up."""
    samples, response = [], None
    for _ in range(WARMUP):
        expect(client.get(path, headers=headers or {}), status, f"{label}: GET {path}")
    with measuring(f"{repeat} x {label}", profile):
        for _ in range(repeat):
            response, sample = timed(counter, lambda: client.get(path, headers=headers or {}))
            expect(response, status, f"{label}: GET {path}")
            samples.append(sample)
    return Result(name=name, label=label, status=status, samples=samples, **body_sizes(response),
                  cards=count(response.get_data(as_text=True)) if count else None, full_gcs=COLLECTIONS.count,
                  full_gc_ms=COLLECTIONS.seconds * 1000, **targets)


def count_board_cards(html: str) -> int:
    return html.count('class="card ')


def count_mine_cards(html: str) -> int:
    return html.count('class="mine-card ')


class Tablet:
    """A supervisor's board as board.js keeps it: the lanes it shows, those loaded, and its refresh URL, which
    carries the token of the last answer (from `#board-sync`, drawn with the page and again by every refresh
    that found changes)."""

    def __init__(self, client: FlaskClient, board_path: str):
        self.client, self.board_path = client, board_path
        html = expect(client.get(board_path), 200, f"GET {board_path}").get_data(as_text=True)
        lanes = re.findall(r'<section class="lane([^"]*)" id="lane-([^"]+)"', html)
        self.lanes = [key for _, key in lanes]
        self.loaded = [key for classes, key in lanes if "pending" not in classes.split()]
        self.sync = self._sync_url(html)
        self.first_card = int(re.search(r'data-card="(\d+)"', html).group(1))

    @staticmethod
    def _sync_url(html: str) -> str | None:
        found = re.search(r'<div id="board-sync"[^>]*\bhx-get="([^"]+)"', html)
        return unescape(found.group(1)) if found else None

    def refresh_path(self) -> str:
        return f"{self.sync}&{urlencode({'lanes': '.'.join(self.lanes), 'loaded': '.'.join(self.loaded)})}"

    def headers(self) -> dict:
        return {"HX-Request": "true", "HX-Target": "board-sync", "X-CareBoard-Poll": "1",
                "HX-Current-URL": f"http://localhost{self.board_path}"}

    def refresh(self, counter: StatementCounter, *statuses: int) -> tuple[TestResponse, Sample]:
        """GET the refresh; a 200 brings the new token (a 204 leaves the tablet where it was)."""
        path = self.refresh_path()
        response, sample = timed(counter, lambda: self.client.get(path, headers=self.headers()))
        if response.status_code not in statuses:
            raise UnexpectedStatus(f"refresh GET {path} answered {response.status_code}, expected {statuses}")
        if response.status_code == 200:
            sync = self._sync_url(response.get_data(as_text=True))
            if sync is None:
                raise UnexpectedStatus(f"refresh GET {path}: no #board-sync in the answer")
            self.sync = sync
        return response, sample


def card_place(app, card_id: int) -> tuple[Column, int | None, int]:
    """The card's column, assignee and version now (read between the measured requests)."""
    with app.app_context():
        row = db.session.execute(select(Card.column, Card.assignee_id, Card.version).where(Card.id == card_id)).one()
        db.session.remove()
    return Column(row.column), row.assignee_id, row.version


def move_and_refresh(app, counter: StatementCounter, *, mover: FlaskClient, watcher: FlaskClient, role: str,
                     cards: int, repeat: int, profile: bool) -> list[Result]:
    """A supervisor drags the first card of the board between To do and Doing (each drop a real change, at the
    top of the cell); after each drop another supervisor's tablet, which loaded the board before, fetches its
    refresh with the token of its last answer. Three rows: the drop, the refresh, and their sum per move."""
    board_path = f"/board/?role={role}"
    tablet = Tablet(watcher, board_path)
    card = tablet.first_card
    drop_headers = {"HX-Request": "true", "HX-Target": "toasts", "HX-Current-URL": f"http://localhost{board_path}"}
    drops, refreshes, cells, whole = [], [], [], 0
    drop = refresh = None
    cell = '<div class="cell'

    def one_move() -> tuple[Sample, Sample]:
        nonlocal drop, refresh, whole
        column, assignee, version = card_place(app, card)
        to = Column.DOING if column == Column.TODO else Column.TODO
        form = {"card": card, "column": to.value, "assignee": assignee or "", "position": 0, "version": version}
        drop, drop_sample = timed(counter, lambda: mover.post("/board/drop", data=form, headers=drop_headers))
        expect(drop, 200, f"POST /board/drop {form}")
        refresh, refresh_sample = tablet.refresh(counter, 200)
        html = refresh.get_data(as_text=True)
        whole += 'id="board" class="board" hx-swap-oob' in html
        cells.append(html.count(cell))
        return drop_sample, refresh_sample

    for _ in range(WARMUP):
        one_move()
    cells.clear()
    whole = 0
    label = f"{cards:,} cards ({role})"
    with measuring(f"{repeat} x move + refresh, {label}", profile):
        for _ in range(repeat):
            drop_sample, refresh_sample = one_move()
            drops.append(drop_sample)
            refreshes.append(refresh_sample)
    gcs = dict(full_gcs=COLLECTIONS.count, full_gc_ms=COLLECTIONS.seconds * 1000)
    both = [Sample(d.ms + r.ms, d.cpu_ms + r.cpu_ms, d.statements + r.statements)
            for d, r in zip(drops, refreshes, strict=True)]
    answer = drop.get_data(as_text=True)
    answered_cards = answer.count('<li id="card-')
    note = (f"{label}: the last drop answered {answer.count(cell)} cells and {answered_cards} card(s); the "
            f"refreshes drew "
            f"{min(cells)}-{max(cells)} cells" + (f", the whole board {whole} times" if whole else ""))
    return [Result(name="move", label=f"  drop, {label}", status=200, samples=drops, **body_sizes(drop)),
            Result(name="move", label=f"  refresh after it, {label}", status=200, samples=refreshes,
                   **body_sizes(refresh)),
            Result(name="move", label=f"move + refresh, {label}", status=200, samples=both,
                   target_ms=TARGETS["move"], note=note, **gcs)]


def unchanged_refresh(counter: StatementCounter, tablet: Tablet, *, label: str, repeat: int,
                      profile: bool) -> Result:
    """The tablet's refresh when nothing changed since its token (204). The clock can change a card (its due
    time, or its "due soon" mark, passes): that answer is a 200 with the card's cell, which brings the tablet
    to a new token; it is not counted and the request is made again."""
    samples, redrawn = [], 0
    for _ in range(WARMUP):
        tablet.refresh(counter, 204, 200)
    with measuring(f"{repeat} x {label}", profile):
        while len(samples) < repeat:
            response, sample = tablet.refresh(counter, 204, 200)
            if response.status_code == 204:
                samples.append(sample)
            elif (redrawn := redrawn + 1) > repeat:
                raise UnexpectedStatus(f"{label}: {redrawn} refreshes found changes; nothing should change")
    note = f"{label}: {redrawn} refreshes found a card the clock had changed (200, not counted)" if redrawn else None
    return Result(name="refresh", label=label, status=204, samples=samples, html_bytes=0, note=note,
                  target_ms=TARGETS["refresh"], full_gcs=COLLECTIONS.count, full_gc_ms=COLLECTIONS.seconds * 1000)


def run_scenarios(app, dataset: Dataset, counter: StatementCounter, repeat: int, profile: str | None) -> list[Result]:
    if len(dataset.overseers) < 2:
        raise UnexpectedStatus("the dataset needs two accounts of level supervisor or up")
    supervisor, watcher, staff = app.test_client(), app.test_client(), app.test_client()
    login(supervisor, dataset.supervisor, dataset.password)
    login(watcher, dataset.overseers[1], dataset.password)
    staff_name = dataset.sales_staff[0]
    login(staff, staff_name, dataset.password)
    big, mid = dataset.open_by_role.get(BOARD_ROLE, 0), dataset.open_by_role.get(MID_ROLE, 0)

    board_path = f"/board/?role={BOARD_ROLE}"
    results = [
        measure(supervisor, counter, name="board", label=f"board {board_path} (first screen)", path=board_path,
                repeat=repeat, count=count_board_cards, profile=profile == "board", target_ms=TARGETS["board"],
                target_bytes=BOARD_HTML_TARGET),
        measure(supervisor, counter, name="all", label="  the same with all=1 (every lane)",
                path=f"{board_path}&all=1", repeat=repeat, count=count_board_cards, profile=profile == "all"),
    ]
    first = expect(supervisor.get(board_path), 200, f"GET {board_path}")
    if not first.headers.get("ETag"):
        raise UnexpectedStatus(f"GET {board_path}: no ETag")
    results.append(measure(supervisor, counter, name="poll", label="board page revalidated (If-None-Match)",
                           path=board_path, headers={"If-None-Match": first.headers["ETag"]}, status=304,
                           repeat=repeat, profile=profile == "poll", target_ms=TARGETS["poll"]))
    results.append(measure(staff, counter, name="mine", label=f"mine /board/mine ({staff_name})", path="/board/mine",
                           repeat=repeat, count=count_mine_cards, profile=profile == "mine",
                           target_ms=TARGETS["mine"]))
    for role, cards in ((MID_ROLE, mid), (BOARD_ROLE, big)):
        results += move_and_refresh(app, counter, mover=supervisor, watcher=watcher, role=role, cards=cards,
                                    repeat=repeat, profile=profile == "move" and role == BOARD_ROLE)
    results.append(unchanged_refresh(counter, Tablet(watcher, board_path), repeat=repeat,
                                     label=f"unchanged refresh, {big:,} cards (204)", profile=profile == "refresh"))
    return results


# ---------------------------------------------------------------- report


def print_results(results: list[Result], *, expected_board_cards: int, expected_mine_cards: int) -> None:
    header = f"{'scenario':<50} {'status':>6} {'cards':>6} {'HTML KiB':>9} {'gzip KiB':>9} {'SQL/req':>7} " \
             f"{'median ms':>10} {'p95 ms':>8} {'target':>17}  met  {'CPU ms':>6}"
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.label:<50} {r.status:>6} {'-' if r.cards is None else r.cards:>6} {kib(r.html_bytes):>9} "
              f"{kib(r.gzip_bytes):>9} {r.sql:>7} {r.median:>10.1f} {r.p95:>8.1f} {target_text(r):>17}  "
              f"{('yes' if r.met else 'NO') if r.has_target else '-':<3}  {r.cpu_median:>6.1f}")
    board = next(r for r in results if r.name == "board")
    everything = next(r for r in results if r.name == "all")
    mine = next(r for r in results if r.name == "mine")
    print(f"board first screen: {board.cards:,} of {expected_board_cards:,} cards, {board.html_bytes:,} bytes of HTML "
          f"(target ≤ {BOARD_HTML_TARGET:,}), {board.gzip_bytes:,} gzipped (level 6, for information)")
    if everything.cards != expected_board_cards:
        print(f"note: all=1 rendered {everything.cards} cards, the dataset has {expected_board_cards} open "
              f"{BOARD_ROLE} cards")
    if mine.cards != expected_mine_cards:
        print(f"note: my cards rendered {mine.cards} cards, the dataset has {expected_mine_cards}")
    moves = [r for r in results if r.name == "move" and r.target_ms is not None]
    for r in results:
        if r.note:
            print(r.note)
    if len(moves) == 2:
        small, large = moves
        print(f"move + refresh p95, {large.label.split(', ', 1)[1]} / {small.label.split(', ', 1)[1]}: "
              f"{large.p95:.1f} / {small.p95:.1f} ms = {large.p95 / small.p95:.2f} (constant in N: about 1)")
    print("full garbage collections during the measured requests: " + "; ".join(
        f"{short_name(r)} {r.full_gcs} ({r.full_gc_ms:.0f} ms)" for r in results if r.full_gcs is not None))
    missed = [r.label.strip() for r in results if r.has_target and not r.met]
    print("all targets met" if not missed else f"targets missed: {'; '.join(missed)}")


def short_name(r: Result) -> str:
    """The scenario's name, with the board's size for the two moves."""
    return f"{r.name} {r.label.split(', ')[1].split(' (')[0]}" if r.name == "move" else r.name


def kib(size: int | None) -> str:
    return "-" if size is None else f"{size / 1024:.1f}"


def target_text(r: Result) -> str:
    parts = ([f"≤ {r.target_ms:g} ms"] if r.target_ms is not None else []) + \
            ([f"{r.target_bytes / 1000:g} KB"] if r.target_bytes is not None else [])
    return ", ".join(parts) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smaller dataset: 40 people, 500 open and 5,000 done cards")
    parser.add_argument("--repeat", type=int, default=30, metavar="N",
                        help="measured requests per scenario, after 3 warm-up requests (default 30)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL URL; the benchmark works in a new schema it drops at the end")
    parser.add_argument("--seed", type=int, default=1, help="the dataset's random seed (default 1)")
    parser.add_argument("--profile", choices=PROFILED, metavar="SCENARIO",
                        help=f"profile one scenario's measured requests ({', '.join(PROFILED)}; move: at 2,000 "
                             "cards) with pyinstrument when it is importable, else cProfile")
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
        if dialect == "postgresql":
            analyze(app)
        generation = time.perf_counter() - started

        version = sqlite3.sqlite_version if dialect == "sqlite" else _server_version(app)
        print(f"CareBoard benchmark · Python {platform.python_version()} · {dialect} {version} · "
              f"{os.cpu_count()} CPUs · {platform.machine()}")
        print(f"dataset ({'quick' if args.quick else 'full'}, seed {args.seed}): {dataset.users} people, "
              f"{dataset.open_cards:,} open cards ({dataset.open_by_role.get(BOARD_ROLE, 0):,} {BOARD_ROLE}, "
              f"{dataset.open_by_role.get(MID_ROLE, 0):,} {MID_ROLE}), "
              f"{dataset.done_cards:,} done cards, {dataset.events:,} events")
        print(f"generated in {generation:.1f} s" + (", then ANALYZEd" if dialect == "postgresql" else ""))
        print(f"measuring: {WARMUP} warm-up + {args.repeat} requests per scenario; "
              f"times are time.perf_counter() around each request (client.get or .post)"
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
              f"({size / max(cards, 1) / 1024:.2f} KiB a card; at most {templating.BOARD_CARD_CACHE_SIZE:,}, "
              "the least recently shown out first)")
    return 0


def card_cache_size() -> tuple[int, int]:
    """The kept cards and their bytes: the dict, the HTML, the keys and the values they hold (each object once)."""
    seen: set[int] = set()
    kept = templating._board_cards._items                # the LruCache's OrderedDict
    size = sys.getsizeof(kept)
    for key, html in kept.items():
        for item in (key, html, *key, *key[-1]):
            if id(item) not in seen:
                seen.add(id(item))
                size += sys.getsizeof(item)
    return len(templating._board_cards), size


def analyze(app) -> None:
    """PostgreSQL: gather the planner's statistics, as autovacuum does soon after a bulk load and a production
    database always has. Without them the planner guesses, e.g. the board's "done today" cards through the
    role's index, filtering the role's 40,000 done cards (about 18 ms a query)."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            db.session.execute(text(f'ANALYZE "{table.name}"'))
        db.session.commit()
        db.session.remove()


def _server_version(app) -> str:
    with app.app_context():
        version = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    return re.sub(r"\s.*", "", version or "")


if __name__ == "__main__":
    sys.exit(main())
