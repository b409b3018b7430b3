"""Load test against gunicorn on loopback: `python -m bench.load_bench [--quick] [--database sqlite|postgresql|both]`.

For each database (a temporary SQLite file; a new schema of the PostgreSQL at --database-url) the real CLI
prepares the store in a subprocess (`flask --app careboard db upgrade`, then `demo`), bench.generate adds
a department of the size the load needs (people, open and done cards), and gunicorn is started with
gunicorn.conf.py and production settings. Then Locust plays bench/locustfile.py against it, for --duration
seconds after a warm-up (log-ins and first pages, not measured):

  tablets      staff logged in on "My cards", polling it every --poll-seconds as the page does
  supervisors  each drags a card to another column or person of its own slice of the department
               (POST /board/drop with the card's version, as board.js does) and refreshes the board
               (the board-changed refresh), with a think time of 2-5 s in between

Locust runs in a process of its own (`python -m bench.locustfile`, its library API): importing it patches the
standard library for gevent, which this process (SQLAlchemy, psycopg, subprocesses, gunicorn) does without.
It prints Locust's figures per kind of request and overall, the 409 conflicts (the app refusing a stale drag:
not errors), the errors, the server's own times from gunicorn's access log and the CPU used, beside the
target: zero errors and p95 < 100 ms. Exit code 0 whatever the figures; 1 only when a run could not be
carried out (the server did not start, a log-in failed).
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

from sqlalchemy import create_engine, func, text
from sqlalchemy import select as sql_select
from sqlalchemy.exc import OperationalError

from bench import generate as generated
from bench.run import database, postgres_url
from careboard import create_app
from careboard.config import ENVIRONMENT, Config, TestConfig
from careboard.extensions import db
from careboard.models import Card, Column, Level, User
from careboard.models.cards import OPEN_COLUMNS
from careboard.services.demo import DEMO_PASSWORD, DEMO_USERNAMES

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

TARGET_P95_MS = 100.0
OPEN_CARDS_PER_PERSON = 15             # generated on top of the demo, for a department of the load's size
DONE_CARDS_PER_PERSON = 200
MIN_PEOPLE = 30                        # the default store's size when the load is small
FEWEST_PEOPLE = 14                     # what bench.generate needs to fill every role
SERVER_KINDS = ("mine", "board", "drop", "other")
MAX_ERROR_DETAILS = 5
ACCESS_LOG_FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(D)s'     # %(D)s: the request's time in microseconds
ACCESS_LINE = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)\s*$')

QUICK = dict(duration=20.0, tablets=20, supervisors=3, poll_seconds=5.0)


class RunFailed(RuntimeError):
    """The run could not be carried out (no server, a failed log-in): no figures."""


# ---------------------------------------------------------------- the database


@dataclass
class Account:
    id: int
    username: str
    password: str
    level: int


@dataclass
class Store:
    uri: str
    dialect: str
    server_version: str
    staff: list[Account]
    supervisors: list[Account]          # level supervisor and up: they may drag anyone's cards
    people: int
    open_cards: int
    done_cards: int


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without the app's settings (so a developer's DATABASE_URL or
    CAREBOARD_* cannot leak into the run), plus `values`."""
    env = {key: value for key, value in os.environ.items()
           if key not in ENVIRONMENT and not key.startswith(("CAREBOARD_", "FLASK_", "RATELIMIT_"))}
    env.update(values)
    return env


def flask_cli(args: list[str], env: dict[str, str]) -> None:
    command = [str(BIN / "flask"), "--app", "careboard", *args]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFailed(f"`flask --app careboard {' '.join(args)}` failed ({done.returncode}):\n"
                        f"{(done.stdout + done.stderr)[-2000:]}")


def postgres_answers(url: str) -> str | None:
    """None when the server answers, else why not."""
    engine = create_engine(postgres_url(url, "public"), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        return str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def database_uri(dialect: str, base_url: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in workdir, or a new PostgreSQL schema dropped at the end."""
    if dialect == "sqlite":
        yield f"sqlite:///{workdir / 'load.sqlite'}"
        return
    with database(base_url, prefix="careboard_load") as uri:
        yield uri


def prepare(uri: str, workdir: Path, *, people: int, seed: int) -> Store:
    """Migrate and load the demo through the CLI, as an install does; then add a generated department."""
    env = clean_environment(DATABASE_URL=uri, CAREBOARD_UPLOAD_FOLDER=str(workdir / "uploads"))
    flask_cli(["db", "upgrade"], env)
    flask_cli(["demo"], env)
    # TestConfig: no environment and no instance/config.py, so only `uri` is touched; scrypt as in production.
    config = type("LoadConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri,
                                                "PASSWORD_HASH_METHOD": Config.PASSWORD_HASH_METHOD})
    app = create_app(config)
    try:
        generated.generate(app, users=people, open_cards=OPEN_CARDS_PER_PERSON * people,
                           done_cards=DONE_CARDS_PER_PERSON * people, seed=seed)
        with app.app_context():
            session = db.session
            accounts = [Account(id=row.id, username=row.username, level=row.level,
                                password=DEMO_PASSWORD if row.username in DEMO_USERNAMES else generated.PASSWORD)
                        for row in session.execute(sql_select(User.id, User.username, User.level)
                                                   .where(User.active.is_(True)).order_by(User.id))]
            open_cards = session.scalar(sql_select(func.count(Card.id)).where(Card.column.in_(OPEN_COLUMNS)))
            done_cards = session.scalar(sql_select(func.count(Card.id)).where(Card.column == Column.DONE.value))
            dialect = db.engine.dialect.name
            server_version = sqlite3.sqlite_version if dialect == "sqlite" else \
                session.scalar(text("SHOW server_version")).split()[0]
    finally:
        with app.app_context():
            db.engine.dispose()             # no connection of this process is left when gunicorn starts
    return Store(uri=uri, dialect=dialect, server_version=server_version,
                 staff=[a for a in accounts if a.level == Level.STAFF],
                 supervisors=[a for a in accounts if a.level >= Level.SUPERVISOR],
                 people=len(accounts), open_cards=open_cards, done_cards=done_cards)


# ---------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    access_log: Path
    output: Path
    settings: dict[str, str]            # gunicorn's effective configuration (--print-config)

    def describe(self) -> str:
        s = self.settings
        return (f"{s.get('workers', '?')} workers × {s.get('threads', '?')} threads, {s.get('worker_class', '?')}, "
                f"keepalive {s.get('keepalive', '?')} s")

    def workers(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def cpu_seconds(self) -> float | None:
        """User + system time of the master and its workers so far (Linux /proc), None elsewhere."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [self.process.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += int(fields[11]) + int(fields[12])         # utime, stime
        return total / ticks

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def gunicorn(store: Store, workdir: Path, log_dir: Path, *, workers: int | None, threads: int | None,
             ratelimit_storage: str | None) -> Iterator[Server]:
    """gunicorn -c gunicorn.conf.py wsgi:app with production settings; SIGTERM and wait at the end."""
    port = free_port()
    access_log = log_dir / f"{store.dialect}-access.log"
    output = log_dir / f"{store.dialect}-gunicorn.log"
    env = clean_environment(
        CAREBOARD_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=store.uri,
        CAREBOARD_BIND=f"127.0.0.1:{port}", CAREBOARD_PROXY_FIX_X_FOR="1", CAREBOARD_ACCESS_LOG=str(access_log),
        CAREBOARD_UPLOAD_FOLDER=str(workdir / "uploads"))
    if workers:
        env["CAREBOARD_WORKERS"] = str(workers)
    if threads:
        env["CAREBOARD_THREADS"] = str(threads)
    if ratelimit_storage:
        env["RATELIMIT_STORAGE_URI"] = ratelimit_storage
    # Without a control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared by every gunicorn of
    # this user, and starting or stopping ours would take it away from one that is already running.
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--access-logformat", ACCESS_LOG_FORMAT,
               "wsgi:app"]
    settings = gunicorn_settings(command, env)
    with output.open("w") as out:
        # A session of its own: Ctrl-C reaches this process only, which then stops gunicorn gracefully.
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(process=process, port=port, access_log=access_log, output=output, settings=settings)
    try:
        wait_until_healthy(server, store.dialect)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def gunicorn_settings(command: list[str], env: dict[str, str]) -> dict[str, str]:
    """What gunicorn.conf.py makes of this environment, from `gunicorn --print-config`."""
    done = subprocess.run([*command[:-1], "--print-config", command[-1]], cwd=PROJECT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFailed(f"gunicorn --print-config failed ({done.returncode}):\n{done.stderr[-2000:]}")
    pairs = (line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def wait_until_healthy(server: Server, dialect: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RunFailed(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                backend = json.loads(body).get("database_backend")
                if backend != dialect:
                    raise RunFailed(f"/healthz says the server uses {backend}, expected {dialect}")
                return
            last = f"status {response.status}"
        except OSError as error:
            last = str(error)
        finally:
            conn.close()
        time.sleep(0.2)
    raise RunFailed(f"/healthz did not answer 200 within {limit:.0f} s ({last}):\n{server.log_tail()}")


# ---------------------------------------------------------------- the load (Locust, in a process of its own)


@dataclass
class Load:
    duration: float
    tablets: int
    supervisors: int
    poll_seconds: float
    spawn_rate: float
    people: int                         # generated on top of the demo's 16
    seed: int


@dataclass
class Outcome:
    store: Store
    load: Load
    swarm: dict                         # the summary bench.locustfile printed: Locust's figures per kind
    load_average: float                 # the machine's 1-minute load average as the window started
    server_ms: dict[str, list[float]]
    cpu: dict[str, float | None]
    server_problems: list[str]


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs so far (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]                # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Window:
    """The server's CPU, the machine's and gunicorn's access log between the locustfile's window-start and
    window-end lines."""

    server: Server
    load_average: float = 0.0
    log_offset: int = 0
    before: tuple = ()
    after: tuple = ()

    def start(self) -> None:
        self.load_average = os.getloadavg()[0]
        self.log_offset = self.server.access_log.stat().st_size
        self.before = (self.server.cpu_seconds(), machine_busy())

    def end(self) -> None:
        self.after = (self.server.cpu_seconds(), machine_busy())

    def cpu(self) -> dict[str, float | None]:
        (server_before, machine_before), (server_after, machine_after) = self.before, self.after
        cpu: dict[str, float | None] = {"server": None, "machine": None}
        if server_before is not None and server_after is not None:
            cpu["server"] = server_after - server_before
        if machine_before and machine_after:
            busy, total = machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]
            cpu["machine"] = busy / total if total else None
        return cpu


def run_load(store: Store, server: Server, load: Load, workdir: Path, log_dir: Path) -> Outcome:
    """`python -m bench.locustfile` against the server: Locust's gevent patches stay in that process. Its
    stderr (Locust's log) goes to <log_dir>/<dialect>-locust.log."""
    accounts = workdir / "accounts.json"
    accounts.write_text(json.dumps({"staff": [[a.username, a.password] for a in store.staff],
                                    "supervisors": [[a.username, a.password] for a in store.supervisors]}))
    command = [sys.executable, "-m", "bench.locustfile", "--host", f"http://127.0.0.1:{server.port}",
               "--accounts", str(accounts), "--tablets", str(load.tablets), "--supervisors", str(load.supervisors),
               "--poll-seconds", str(load.poll_seconds), "--duration", str(load.duration),
               "--spawn-rate", str(load.spawn_rate), "--seed", str(load.seed)]
    log = log_dir / f"{store.dialect}-locust.log"
    window = Window(server)
    summary = None
    with log.open("w") as err, subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=err,
                                                text=True) as process:
        try:
            for line in process.stdout:
                event = json.loads(line) if line.startswith("{") else {}
                if event.get("event") == "window-start":
                    window.start()
                elif event.get("event") == "window-end":
                    window.end()
                elif event.get("event") == "summary":
                    summary = event
        finally:
            if process.poll() is None and summary is None:
                process.terminate()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    if summary is None:
        raise RunFailed(f"the load (bench.locustfile) ended with {process.returncode} and no figures:\n{tail}")
    if summary.get("could_not_start"):
        raise RunFailed("the warm-up failed: " + "; ".join(summary["could_not_start"][:MAX_ERROR_DETAILS]))
    time.sleep(0.5)                             # let gunicorn write the window's last access-log lines
    return Outcome(store=store, load=load, swarm=summary, load_average=window.load_average,
                   server_ms=server_times(server.access_log, window.log_offset), cpu=window.cpu(),
                   server_problems=server_problems(server.output))


def request_kind(method: str, path: str) -> str:
    """The kind of a request in gunicorn's access log, by its path (the poll's query differs by protocol)."""
    if method == "POST":
        return "drop" if path.startswith("/board/drop") else "other"
    if path.startswith("/board/mine"):
        return "mine"
    return "board" if path.startswith("/board/") else "other"


def server_times(access_log: Path, offset: int) -> dict[str, list[float]]:
    """The request times gunicorn logged (%(D)s) in the window, by kind: time in the worker, without the
    wait for a free worker and without the network."""
    times: dict[str, list[float]] = {kind: [] for kind in SERVER_KINDS}
    with access_log.open(errors="replace") as log:
        log.seek(offset)
        for line in log:
            match = ACCESS_LINE.search(line)
            if match:
                method, path, _status, micros = match.groups()
                times[request_kind(method, path)].append(int(micros) / 1000)
    return times


def server_problems(output: Path) -> list[str]:
    """Tracebacks, worker timeouts and database errors in gunicorn's own log."""
    patterns = ("Traceback", "WORKER TIMEOUT", "database is locked", "[ERROR]", "[CRITICAL]", "OperationalError")
    lines = output.read_text(errors="replace").splitlines()
    return [line for line in lines if any(p in line for p in patterns)]


# ---------------------------------------------------------------- report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)                    # nearest rank, as bench/run.py
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def row(line: dict, name: str | None = None) -> str:
    return (f"{name or line['name']:<14} {line['requests']:>8} {line['rps']:>6.1f} {line['failures']:>6} "
            f"{line['median']:>7.0f} {line['p95']:>7.0f} {line['p99']:>7.0f} {line['max']:>7.0f}")


def report(outcome: Outcome, workers: str) -> str:
    """Prints the run's figures; returns the verdict on the target."""
    store, load, swarm = outcome.store, outcome.load, outcome.swarm
    print(f"\n== {store.dialect} {store.server_version} · gunicorn {package_version('gunicorn')} ({workers}) · "
          f"Locust {package_version('locust')} · Python {platform.python_version()} · {os.cpu_count()} CPUs · "
          "the client runs on the same machine")
    print(f"store: {store.people} people ({len(store.staff)} staff, {len(store.supervisors)} supervisor level and "
          f"up), {store.open_cards:,} open cards, {store.done_cards:,} done cards (demo + bench.generate)")
    print(f"load: {load.tablets} tablets polling /board/mine every {load.poll_seconds:g} s, {load.supervisors} "
          f"supervisors dragging a card and refreshing the board every {swarm['think'][0]:g}-{swarm['think'][1]:g} s; "
          f"{swarm['window']:.0f} s measured after a warm-up of {swarm['warm_up']:.1f} s "
          f"({load.tablets + load.supervisors} log-ins and first pages, spawned {load.spawn_rate:g} a second)")
    warm = {line["name"]: line for line in swarm["warm_up_kinds"]}
    if "page" in warm:
        print(f"warm-up (not measured): first page median {warm['page']['median']:.0f} ms, p95 "
              f"{warm['page']['p95']:.0f} ms, max {warm['page']['max']:.0f} ms; errors "
              f"{sum(line['failures'] for line in swarm['warm_up_kinds'])}")
    header = (f"{'kind':<14} {'requests':>8} {'req/s':>6} {'errors':>6} {'median':>7} {'p95':>7} {'p99':>7} "
              f"{'max':>7}  (ms, Locust's figures)")
    print(header)
    print("-" * len(header))
    for line in swarm["kinds"]:
        print(row(line))
    total = swarm["total"]
    print(row(total, "all"))
    server = outcome.server_ms
    print("server time (gunicorn access log, p50 / p95 / p99 ms): " + "; ".join(
        f"{kind} {' / '.join(format(percentile(server[kind], q), '.1f') for q in (0.5, 0.95, 0.99))}"
        for kind in SERVER_KINDS if server[kind]))
    cpu = outcome.cpu
    cores = os.cpu_count() or 1
    parts = []
    if cpu["server"] is not None:
        parts.append(f"gunicorn {cpu['server']:.1f} s ({cpu['server'] / swarm['window'] / cores:.0%} of {cores} "
                     "cores)")
    if cpu["machine"] is not None:
        parts.append(f"the whole machine {cpu['machine']:.0%} busy")
    parts.append(f"Locust {swarm['client_cpu']:.1f} s")
    print(f"CPU in the window: {', '.join(parts)}; load average {outcome.load_average:.2f} as it began")
    conflicts = sum(line["requests"] for line in swarm["kinds"] if line["name"] == "drop-409")
    print(f"conflicts (drop-409, a drag of a card another supervisor had just changed; not errors): {conflicts}")
    print(f"errors: {total['failures']}")
    for error in swarm["errors"][:MAX_ERROR_DETAILS]:
        print(f"  {error['occurrences']}× {error['name']}: {error['error'][:160]}")
    if outcome.server_problems:
        print(f"gunicorn's log has {len(outcome.server_problems)} lines about errors, for example:")
        for line in outcome.server_problems[:MAX_ERROR_DETAILS]:
            print(f"  {line[:200]}")

    missed = [f"{total['failures']} errors"] if total["failures"] else []
    if not total["requests"] or total["p95"] >= TARGET_P95_MS:
        missed.append(f"p95 {total['p95']:.0f} ms ≥ {TARGET_P95_MS:g} ms")
    slow = [f"{line['name']} {line['p95']:.0f} ms" for line in swarm["kinds"] if line["p95"] >= TARGET_P95_MS]
    verdict = "met" if not missed else "not met (" + "; ".join(missed) + ")"
    if slow:
        verdict += f"; p95 ≥ {TARGET_P95_MS:g} ms: {', '.join(slow)}"
    print(f"target (zero errors, p95 < {TARGET_P95_MS:g} ms): {verdict}")
    return verdict


def run_database(dialect: str, args: argparse.Namespace, load: Load, log_dir: Path | None) -> str:
    """One database from start to end; returns the verdict, "skipped" or "could not run"."""
    if dialect == "postgresql":
        why = postgres_answers(args.database_url)
        if why:
            print(f"\n== postgresql: skipped, {args.database_url} does not answer ({why})")
            return "skipped"
    workdir = Path(tempfile.mkdtemp(prefix=f"careboard-load-{dialect}-"))
    try:
        with database_uri(dialect, args.database_url, workdir) as uri:
            print(f"\n{dialect}: preparing the store (flask db upgrade, flask demo, bench.generate) …", flush=True)
            store = prepare(uri, workdir, people=load.people, seed=load.seed)
            with gunicorn(store, workdir, log_dir or workdir, workers=args.workers, threads=args.threads,
                          ratelimit_storage=args.ratelimit_storage) as server:
                print(f"{dialect}: gunicorn on 127.0.0.1:{server.port} ({server.describe()}); warming up …",
                      flush=True)
                outcome = run_load(store, server, load, workdir, log_dir or workdir)
        return "target " + report(outcome, server.describe())
    except RunFailed as error:
        print(f"\n== {dialect}: the run could not be carried out: {error}", flush=True)
        return "could not run"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="the measured window (default 120)")
    parser.add_argument("--tablets", type=int, metavar="N", help="staff tablets polling My cards (default 100)")
    parser.add_argument("--supervisors", type=int, metavar="N", help="supervisors dragging cards (default 10)")
    parser.add_argument("--poll-seconds", type=float, metavar="S", help="the tablets' poll interval (default 20, "
                                                                        "the store setting's default)")
    parser.add_argument("--spawn-rate", type=float, metavar="N", default=20.0,
                        help="users started a second during the warm-up (Locust's -r; default 20)")
    parser.add_argument("--people", type=int, metavar="N",
                        help="people bench.generate adds to the demo store, with 15 open and 200 done cards "
                             "each (default: one per tablet and supervisor, at least 30)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 s, 20 tablets, 3 supervisors, polls every 5 s (explicit options win)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", default=DEFAULT_PG, metavar="URL",
                        help=f"the PostgreSQL to use (default {DEFAULT_PG}); the run works in a new schema "
                             "careboard_load_<random> that it drops at the end")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="gunicorn workers (CAREBOARD_WORKERS; default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads per worker (CAREBOARD_THREADS; default: gunicorn.conf.py's)")
    parser.add_argument("--ratelimit-storage", metavar="URI",
                        help="RATELIMIT_STORAGE_URI for the server (default: the app's)")
    parser.add_argument("--log-dir", type=Path, metavar="DIR",
                        help="keep gunicorn's output and access log (with request times) and Locust's log in DIR")
    parser.add_argument("--seed", type=int, default=1, help="the dataset's and Locust's random seed (default 1)")
    args = parser.parse_args(argv)
    defaults = dict(duration=120.0, tablets=100, supervisors=10, poll_seconds=20.0)
    if args.quick:
        defaults.update(QUICK)
    chosen = {name: default if getattr(args, name) is None else getattr(args, name)
              for name, default in defaults.items()}
    people = args.people or max(MIN_PEOPLE, chosen["tablets"] + chosen["supervisors"])
    load = Load(seed=args.seed, people=people, spawn_rate=args.spawn_rate, **chosen)
    if load.duration <= 0 or load.poll_seconds <= 0 or load.spawn_rate <= 0 or load.tablets < 0 \
            or load.supervisors < 0 \
            or load.tablets + load.supervisors == 0:
        parser.error("--duration, --poll-seconds and --spawn-rate must be positive, and there must be a tablet or "
                     "a supervisor")
    if (args.workers is not None and args.workers < 1) or (args.threads is not None and args.threads < 1):
        parser.error("--workers and --threads must be at least 1")
    if people < FEWEST_PEOPLE:
        parser.error(f"--people: bench.generate needs at least {FEWEST_PEOPLE} to fill every role")
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)

    print(f"CareBoard load test · {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
    results = {}
    try:
        for dialect in (("sqlite", "postgresql") if args.database == "both" else (args.database,)):
            results[dialect] = run_database(dialect, args, load, args.log_dir)
    except KeyboardInterrupt:
        print("\ninterrupted; gunicorn was stopped and the temporary database removed", file=sys.stderr)
        return 130
    print("\nsummary: " + "; ".join(f"{dialect} {result}" for dialect, result in results.items()))
    return 1 if "could not run" in results.values() else 0


if __name__ == "__main__":
    sys.exit(main())
