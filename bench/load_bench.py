"""Load test against gunicorn on loopback: `python -m bench.load_bench [--quick] [--database sqlite|postgresql|both]`.

For each database (a temporary SQLite file; a new schema of the PostgreSQL at --database-url) the real CLI
prepares the store in a subprocess (`flask --app careboard db upgrade`, then `demo`), bench.generate adds
a department of the size the load needs (people, open and done cards), and gunicorn is started with
gunicorn.conf.py and production settings. Then a bounded threaded client (stdlib only: one thread and one
persistent HTTP/1.1 connection per virtual user) plays, for --duration seconds:

  tablets      staff logged in on "My cards", polling it every --poll-seconds as the page does (htmx
               headers, X-CareBoard-Poll, If-None-Match with the last ETag)
  supervisors  each drags a card to another column or person of its own slice of the department
               (POST /board/drop with the card's version, as board.js does) and reloads the board
               fragment (the board-changed refresh), with a think time of 2-5 s in between

Every virtual user has an X-Forwarded-For address of its own, as nginx in front would give each tablet.
Log-ins and the first page loads are a warm-up outside the measured window. Prints requests/s, p50/p95/p99
overall and per kind, the 409 conflicts (the app refusing a stale drag: not errors), the errors (connection
failures, timeouts, 5xx, unexpected 4xx), the server's own times from gunicorn's access log and the CPU
used, beside the target: zero errors and p95 < 200 ms. Exit code 0 whatever the figures; 1 only when a
run could not be carried out (the server did not start, a log-in failed).
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib.metadata import version as package_version
from pathlib import Path
from urllib.parse import urlencode

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

TARGET_P95_MS = 200.0
TIMEOUT_S = 15.0                       # a request slower than this is an error (a timeout)
THINK_S = (2.0, 5.0)                   # a supervisor's pause between two drags
LOGIN_CONCURRENCY = 4                  # log-ins at once during the warm-up (scrypt is slow on purpose)
OPEN_CARDS_PER_PERSON = 15             # generated on top of the demo, for a department of the load's size
DONE_CARDS_PER_PERSON = 200
MIN_PEOPLE = 30                        # the default store's size when the load is small
FEWEST_PEOPLE = 14                     # what bench.generate needs to fill every role
MOVE_COLUMNS = (Column.TODO.value, Column.DOING.value, Column.WAITING.value)
REASSIGN_SHARE = 0.3                   # drags to another person (else to another column of the same lane)
EXPECTED = {"poll": {200, 304}, "board": {200, 304}, "move": {204}}
KINDS = ("poll", "board", "move")
MAX_ERROR_DETAILS = 5
ACCESS_LOG_FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(D)s'     # %(D)s: the request's time in microseconds
ACCESS_LINE = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)\s*$')

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
# The board's markup (board/index.html, board/_card.html): a list per lane and column, then its cards.
BOARD_TOKENS = re.compile(r'<ol class="cards" data-sortable data-column="(\w+)"\s*(?:data-assignee="(\d+)")?'
                          r'|<li id="card-(\d+)"[^>]*data-version="(\d+)"')

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


# ---------------------------------------------------------------- the client


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float


class RequestError(Exception):
    """No answer: the connection failed or timed out."""


class Browser:
    """One tablet: one persistent HTTP/1.1 connection, its cookies, its address behind the proxy.

    The session cookie is Secure (production); over plain http on loopback we send it back ourselves.
    The headers are those nginx adds in front of gunicorn (X-Forwarded-For/-Proto)."""

    def __init__(self, port: int, address: str, label: str):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.connection: http.client.HTTPConnection | None = None
        self.connections = 0
        self.retries = 0
        self.headers = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https",
                        "User-Agent": f"CareBoard load test ({label})", "Accept-Language": "zh-CN,zh;q=0.9"}

    def request(self, method: str, path: str, headers: dict | None = None, form: dict | None = None) -> Response:
        headers = {**self.headers, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers.setdefault("Referer", self.origin + path)
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = self._connect()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self.close()
                if reused and attempt == 1:
                    # The server closed the idle keep-alive connection as we reused it: a browser retries
                    # at once on a new connection, and so do we (counted, and the time counts).
                    self.retries += 1
                    continue
                raise RequestError(f"{type(error).__name__}: {error}") from None
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise RequestError(f"{type(error).__name__}: {error}") from None
            ms = (time.perf_counter() - started) * 1000
            self._keep_cookies(response.headers)
            if response.will_close:
                self.close()
            return Response(response.status, response.headers, data, ms)
        raise AssertionError("unreachable")

    def _connect(self) -> bool:
        """Make sure there is a connection; True when it is a reused one. A connection the server has
        closed (readable at EOF, e.g. after gunicorn's keepalive) is replaced first, as urllib3 does."""
        if self.connection is not None and self.connection.sock is not None:
            readable, _, _ = select.select([self.connection.sock], [], [], 0)
            if not readable:
                return True
            self.close()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        self.connections += 1
        return False

    def _keep_cookies(self, headers: http.client.HTTPMessage) -> None:
        for header in headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel["expires"].endswith("1970 00:00:00 GMT"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def page(self, path: str) -> Response:
        """A full page load; keeps the CSRF token of <body hx-headers> for the htmx writes."""
        response = self.request("GET", path)
        if response.status != 200:
            raise RunFailed(f"GET {path} answered {response.status}, expected 200")
        token = CSRF_HEADER.search(response.body.decode())
        if not token:
            raise RunFailed(f"GET {path}: no X-CSRFToken in <body hx-headers>")
        self.csrf = token.group(1)
        return response

    def log_in(self, account: Account, start_page: str) -> Response:
        """GET /login, POST the form with its CSRF token (303 expected), then load the start page."""
        form = self.request("GET", "/login")
        token = CSRF_FIELD.search(form.body.decode())
        if form.status != 200 or not token:
            raise RunFailed(f"GET /login answered {form.status}{'' if token else ' without a csrf_token'}")
        done = self.request("POST", "/login", form={"username": account.username, "password": account.password,
                                                     "csrf_token": token.group(1)})
        if done.status != 303:
            raise RunFailed(f"log-in as {account.username} from {self.headers['X-Forwarded-For']}: status "
                            f"{done.status}, expected 303")
        return self.page(start_page)

    def htmx_headers(self, target: str, current_path: str, trigger: str | None = None) -> dict:
        return {"HX-Request": "true", "HX-Target": target, "HX-Trigger": trigger or target,
                "HX-Current-URL": self.origin + current_path, "Referer": self.origin + current_path,
                "X-CSRFToken": self.csrf}


@dataclass
class Sample:
    kind: str
    status: int
    ms: float


@dataclass
class Recorder:
    """What the virtual users saw in the measured window. list.append is atomic, the lock guards the rest."""

    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    idle_logouts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def count(self, what: str) -> None:
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def call(self, browser: Browser, kind: str, method: str, path: str, headers: dict,
             form: dict | None = None) -> Response | None:
        """One measured request; None when it had no usable answer (recorded as an error)."""
        try:
            response = browser.request(method, path, headers, form)
        except RequestError as error:
            self.error(f"{kind} {method} {path}: {error}")
            return None
        self.samples.append(Sample(kind, response.status, response.ms))
        if response.status == 409 and kind == "move":
            self.count("conflicts")
        elif response.status not in EXPECTED[kind]:
            excerpt = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.body.decode(errors="replace")))[:160]
            self.error(f"{kind} {method} {path}: status {response.status} {excerpt.strip()}")
            return None
        return response                         # with HX-Redirect when logged out: the caller decides


@dataclass
class Tablet:
    """A staff member's tablet on "My cards": the page polls every poll_seconds (board/mine.html)."""

    browser: Browser
    account: Account
    seen_at: float = 0.0                # the last request that counts as activity (polls don't)
    etag: str | None = None

    PATH = "/board/mine"

    def warm_up(self) -> None:
        self.browser.log_in(self.account, self.PATH)
        self.seen_at = time.monotonic()

    def run(self, recorder: Recorder, start: float, end: float, poll_seconds: float, rng: random.Random,
            stop: threading.Event) -> None:
        due = start + rng.uniform(0, poll_seconds)      # tablets were not switched on at the same moment
        while due < end and not stop.wait(max(0.0, due - time.monotonic())):
            self.poll(recorder)
            due += poll_seconds

    def poll(self, recorder: Recorder) -> None:
        # What htmx sends for hx-get="/board/mine" hx-trigger="every 20s" hx-headers X-CareBoard-Poll, with
        # board.js adding the last ETag it saw on a 200.
        headers = {**self.browser.htmx_headers("mine", self.PATH), "X-CareBoard-Poll": "1"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        response = recorder.call(self.browser, "poll", "GET", self.PATH, headers)
        if response is None:
            return
        if response.headers.get("HX-Redirect"):
            self.logged_out(recorder, response.headers["HX-Redirect"])
        elif response.status == 200 and response.headers.get("ETag"):
            self.etag = response.headers["ETag"]

    def logged_out(self, recorder: Recorder, target: str) -> None:
        """The idle logout (polls are not activity) is the app working as designed after
        IDLE_LOGOUT_MINUTES; earlier it is an error. Either way the person logs in again."""
        idle = time.monotonic() - self.seen_at
        if idle < Config.IDLE_LOGOUT_MINUTES * 60 - 5:
            recorder.error(f"poll: logged out after {idle:.0f} s without activity (HX-Redirect: {target})")
        else:
            recorder.count("idle_logouts")
        self.browser.cookies.clear()
        self.etag = None
        try:
            self.warm_up()
        except (RunFailed, RequestError) as error:
            recorder.error(f"log-in again after the idle logout: {error}")


Lanes = dict[tuple[str, int], list[tuple[int, int]]]      # (column, assignee id) -> [(card id, version)]


@dataclass
class Supervisor:
    """A supervisor on the department board dragging cards between columns and people of its own slice
    (so that two supervisors rarely drag the same lane: a drag renumbers its lanes, and every card
    renumbered gets a new version)."""

    browser: Browser
    account: Account
    people: list[int]                   # the assignees whose lanes this supervisor works on
    lanes: Lanes = field(default_factory=dict)
    etag: str | None = None

    PATH = "/board/?"                   # hx-get="{{ request.full_path }}" of /board/

    def warm_up(self) -> None:
        response = self.browser.log_in(self.account, "/board/")
        self.read_board(response.body)

    def read_board(self, body: bytes) -> None:
        lanes: Lanes = {}
        mine = set(self.people)
        current = None
        for column, assignee, card, version in BOARD_TOKENS.findall(body.decode()):
            if column:
                current = (column, int(assignee)) if assignee and int(assignee) in mine and \
                    column in MOVE_COLUMNS else None
                if current:
                    lanes.setdefault(current, [])
            elif current:
                lanes[current].append((int(card), int(version)))
        self.lanes = lanes

    def run(self, recorder: Recorder, start: float, end: float, rng: random.Random, stop: threading.Event) -> None:
        due = start + rng.uniform(0, THINK_S[1])
        while due < end and not stop.wait(max(0.0, due - time.monotonic())):
            self.drag(recorder, rng)
            due = time.monotonic() + rng.uniform(*THINK_S)

    def drag(self, recorder: Recorder, rng: random.Random) -> None:
        """What board.js posts on a drop (htmx.ajax with the card's id and version), then the board's
        refresh that the answer's HX-Trigger: board-changed sets off."""
        sources = [lane for lane, cards in self.lanes.items() if cards]
        if not sources:
            recorder.error(f"{self.account.username}: no card to drag in its lanes")
            return
        column, assignee = rng.choice(sources)
        card, card_version = rng.choice(self.lanes[(column, assignee)])
        if len(self.people) > 1 and rng.random() < REASSIGN_SHARE:
            to = (rng.choice(MOVE_COLUMNS), rng.choice([p for p in self.people if p != assignee]))
        else:
            to = (rng.choice([c for c in MOVE_COLUMNS if c != column]), assignee)
        position = rng.randint(0, len(self.lanes.get(to, [])))
        headers = self.browser.htmx_headers(f"card-{card}", "/board/")
        response = recorder.call(self.browser, "move", "POST", "/board/drop", headers,
                                 form={"card": card, "column": to[0], "position": position,
                                       "version": card_version, "assignee": to[1]})
        if response is None or response.headers.get("HX-Redirect"):
            if response is not None:
                recorder.error(f"move: {self.account.username} was logged out")
            return
        self.refresh(recorder)

    def refresh(self, recorder: Recorder) -> None:
        headers = {**self.browser.htmx_headers("board", "/board/"), "X-CareBoard-Poll": "1"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        response = recorder.call(self.browser, "board", "GET", self.PATH, headers)
        if response is not None and response.status == 200:
            self.etag = response.headers.get("ETag")
            self.read_board(response.body)


# ---------------------------------------------------------------- a run


@dataclass
class Load:
    duration: float
    tablets: int
    supervisors: int
    poll_seconds: float
    people: int                         # generated on top of the demo's 16
    seed: int


@dataclass
class Outcome:
    store: Store
    load: Load
    recorder: Recorder
    window: float                       # seconds from the start of the window to the last answer
    warm_up: float
    load_average: float                 # the machine's 1-minute load average as the window started
    connections: int
    retries: int
    server_ms: dict[str, list[float]]
    cpu: dict[str, float | None]
    server_problems: list[str]


def address(n: int) -> str:
    """10.0.<n // 250>.<n % 250 + 1>: one address per virtual user, as the proxy would report it."""
    return f"10.0.{n // 250}.{n % 250 + 1}"


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs so far (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]                # idle + iowait
    return sum(values) - idle, sum(values)


def warm_up(user: Tablet | Supervisor) -> None:
    """Log in and load the first page, outside the measured window."""
    try:
        user.warm_up()
    except RequestError as error:
        raise RunFailed(f"warm-up of {user.account.username} from {user.browser.headers['X-Forwarded-For']}: "
                        f"{error}") from None


def run_load(store: Store, server: Server, load: Load) -> Outcome:
    tablets = [Tablet(Browser(server.port, address(i), f"tablet {i}"), store.staff[i % len(store.staff)])
               for i in range(load.tablets)]
    staff_ids = [a.id for a in store.staff]
    supervisors = [Supervisor(Browser(server.port, address(load.tablets + i), f"supervisor {i}"),
                              store.supervisors[i % len(store.supervisors)], staff_ids[i::load.supervisors])
                   for i in range(load.supervisors)]
    users = [*tablets, *supervisors]

    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=LOGIN_CONCURRENCY)
    try:
        list(pool.map(warm_up, users))          # the first failure raises RunFailed
    finally:
        pool.shutdown(cancel_futures=True)
    warm_up_seconds = time.monotonic() - started
    time.sleep(0.5)                             # let gunicorn write the warm-up's access-log lines

    recorder = Recorder()
    stop = threading.Event()
    load_average = os.getloadavg()[0]
    log_offset = server.access_log.stat().st_size
    cpu_before, machine_before, client_before = server.cpu_seconds(), machine_busy(), time.process_time()
    start = time.monotonic()
    end = start + load.duration
    rng = random.Random(load.seed)
    with ThreadPoolExecutor(max_workers=len(users), thread_name_prefix="user") as pool:
        futures = [pool.submit(t.run, recorder, start, end, load.poll_seconds, random.Random(rng.random()), stop)
                   for t in tablets]
        futures += [pool.submit(s.run, recorder, start, end, random.Random(rng.random()), stop) for s in supervisors]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()
            raise
    window = time.monotonic() - start
    cpu_after, machine_after = server.cpu_seconds(), machine_busy()
    client_cpu = time.process_time() - client_before
    for user in users:
        user.browser.close()
    time.sleep(0.5)

    cpu: dict[str, float | None] = {"server": None, "machine": None, "client": client_cpu}
    if cpu_before is not None and cpu_after is not None:
        cpu["server"] = cpu_after - cpu_before
    if machine_before and machine_after:
        busy, total = machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]
        cpu["machine"] = busy / total if total else None
    return Outcome(store=store, load=load, recorder=recorder, window=window, warm_up=warm_up_seconds,
                   load_average=load_average,
                   connections=sum(u.browser.connections for u in users),
                   retries=sum(u.browser.retries for u in users),
                   server_ms=server_times(server.access_log, log_offset), cpu=cpu,
                   server_problems=server_problems(server.output))


def server_times(access_log: Path, offset: int) -> dict[str, list[float]]:
    """The request times gunicorn logged (%(D)s) in the window, by kind: time in the worker, without the
    wait for a free thread and without the network."""
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with access_log.open(errors="replace") as log:
        log.seek(offset)
        for line in log:
            match = ACCESS_LINE.search(line)
            if not match:
                continue
            method, path, _status, micros = match.groups()
            kind = {("GET", "/board/mine"): "poll", ("GET", "/board/?"): "board", ("GET", "/board/"): "board",
                    ("POST", "/board/drop"): "move"}.get((method, path))
            if kind:
                times[kind].append(int(micros) / 1000)
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


def figures(times: list[float]) -> str:
    if not times:
        return f"{'-':>8} {'-':>8} {'-':>8} {'-':>8}"
    return " ".join(f"{v:>8.1f}" for v in (percentile(times, 0.5), percentile(times, 0.95),
                                           percentile(times, 0.99), max(times)))


def report(outcome: Outcome, workers: str) -> str:
    """Prints the run's figures; returns the verdict on the target."""
    store, load, recorder = outcome.store, outcome.load, outcome.recorder
    print(f"\n== {store.dialect} {store.server_version} · gunicorn {package_version('gunicorn')} ({workers}) · "
          f"Python {platform.python_version()} · {os.cpu_count()} CPUs · the client runs on the same machine")
    print(f"store: {store.people} people ({len(store.staff)} staff, {len(store.supervisors)} supervisor level and "
          f"up), {store.open_cards:,} open cards, {store.done_cards:,} done cards (demo + bench.generate)")
    print(f"load: {load.tablets} tablets polling /board/mine every {load.poll_seconds:g} s, {load.supervisors} "
          f"supervisors dragging a card and reloading the board every {THINK_S[0]:g}-{THINK_S[1]:g} s; "
          f"{load.duration:g} s measured after a warm-up of {outcome.warm_up:.1f} s "
          f"({load.tablets + load.supervisors} log-ins and first pages)")

    samples = recorder.samples
    header = (f"{'kind':<7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
              "  statuses")
    print(header)
    print("-" * len(header))
    for kind in (*KINDS, "all"):
        chosen = [s for s in samples if kind in ("all", s.kind)]
        statuses = " ".join(f"{status}×{n}" for status, n in sorted(Counter(s.status for s in chosen).items()))
        print(f"{kind:<7} {len(chosen):>8} {len(chosen) / load.duration:>7.1f} "
              f"{figures([s.ms for s in chosen])}  {statuses}")
    server = outcome.server_ms
    print("server time (gunicorn access log, p50 / p95 / p99 ms): " + "; ".join(
        f"{kind} {' / '.join(format(percentile(server[kind], q), '.1f') for q in (0.5, 0.95, 0.99))}"
        for kind in KINDS if server[kind]))
    cpu = outcome.cpu
    cores = os.cpu_count() or 1
    parts = []
    if cpu["server"] is not None:
        parts.append(f"gunicorn {cpu['server']:.1f} s ({cpu['server'] / outcome.window / cores:.0%} of {cores} cores)")
    if cpu["machine"] is not None:
        parts.append(f"the whole machine {cpu['machine']:.0%} busy")
    parts.append(f"this client {cpu['client']:.1f} s")
    print(f"CPU in the window: {', '.join(parts)}; load average {outcome.load_average:.2f} as it began")
    print(f"connections opened: {outcome.connections} (one per virtual user, plus new ones after gunicorn's "
          f"keepalive closed idle ones); requests retried on a new connection: {outcome.retries}")
    if recorder.idle_logouts:
        print(f"idle logouts (after {Config.IDLE_LOGOUT_MINUTES} min of polling only; logged in again): "
              f"{recorder.idle_logouts}")
    print(f"conflicts (409, a drag of a card another supervisor had just changed; not errors): {recorder.conflicts}")
    print(f"errors: {len(recorder.errors)}")
    for message in recorder.errors[:MAX_ERROR_DETAILS]:
        print(f"  {message}")
    if len(recorder.errors) > MAX_ERROR_DETAILS:
        print(f"  … and {len(recorder.errors) - MAX_ERROR_DETAILS} more")
    if outcome.server_problems:
        print(f"gunicorn's log has {len(outcome.server_problems)} lines about errors, for example:")
        for line in outcome.server_problems[:MAX_ERROR_DETAILS]:
            print(f"  {line[:200]}")

    p95 = percentile([s.ms for s in samples], 0.95) if samples else math.inf
    missed = [f"{len(recorder.errors)} errors"] if recorder.errors else []
    if p95 >= TARGET_P95_MS:
        missed.append(f"p95 {p95:.1f} ms ≥ {TARGET_P95_MS:g} ms")
    slow = [f"{kind} {percentile(times, 0.95):.1f} ms" for kind in KINDS
            if (times := [s.ms for s in samples if s.kind == kind]) and percentile(times, 0.95) >= TARGET_P95_MS]
    verdict = "met" if not missed else "MISSED (" + "; ".join(missed) + ")"
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
                outcome = run_load(store, server, load)
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
                        help="keep gunicorn's output and access log (with request times) in DIR")
    parser.add_argument("--seed", type=int, default=1, help="the dataset's and the client's random seed (default 1)")
    args = parser.parse_args(argv)
    defaults = dict(duration=120.0, tablets=100, supervisors=10, poll_seconds=20.0)
    if args.quick:
        defaults.update(QUICK)
    chosen = {name: default if getattr(args, name) is None else getattr(args, name)
              for name, default in defaults.items()}
    people = args.people or max(MIN_PEOPLE, chosen["tablets"] + chosen["supervisors"])
    load = Load(seed=args.seed, people=people, **chosen)
    if load.duration <= 0 or load.poll_seconds <= 0 or load.tablets < 0 or load.supervisors < 0 \
            or load.tablets + load.supervisors == 0:
        parser.error("--duration and --poll-seconds must be positive, and there must be a tablet or a supervisor")
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
