"""CareBoard's load for Locust: staff tablets polling "My cards" and supervisors dragging cards on the board.

Two ways to run it:

  headless, measured: `python -m bench.load_bench` prepares a store of the load's size and gunicorn with
      production settings, then runs this file's `swarm()` in a process of its own (`python -m bench.locustfile
      --host ... --accounts FILE ...`): the users log in and open their page (the warm-up), the statistics are
      reset, and the measured window follows. `swarm()` prints JSON lines that load_bench reads and reports.
  interactive, with Locust's web UI: `.venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:5000`
      against `make run` (the demo store's accounts, see bench/README.md), then open http://127.0.0.1:8089.

Locust patches the standard library for gevent when it is imported; nothing of the app is imported here unless
the demo accounts are asked for, and load_bench keeps its own process (SQLAlchemy, psycopg, gunicorn) unpatched.

The poll does what the page does: "My cards" polls its `hx-get` with `If-None-Match` (304 or 200 with an
ETag); the board polls its refresh element `#board-sync`, whose `hx-get` carries the token of what the tablet
has (204, or 200 with the changed cells out of band and `#board-sync` again with the next token). Requests
are named by kind (login, page, poll-<status>, drop, drop-409, refresh-<status>)
and fail in Locust's statistics on any status the app should not answer.
"""
from __future__ import annotations

import argparse
import html
import itertools
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

THINK_S = (2.0, 5.0)                  # a supervisor's pause between two drags
MOVE_COLUMNS = ("todo", "doing", "waiting")
REASSIGN_SHARE = 0.3                  # drags to another person (else to another column of the same lane)
WARM_UP_LIMIT_S = 300.0               # every user has logged in and opened its page by then, or the run fails
MAX_FAILURE_DETAILS = 10

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
# The board's markup (board/index.html, board/_card.html): a list per lane and column, then its cards.
BOARD_TOKENS = re.compile(r'<ol class="cards" data-sortable data-column="(\w+)"\s*(?:data-assignee="(\d+)")?'
                          r'|<li id="card-(\d+)" class="([^"]*)"[^>]*data-version="(\d+)"')
# Cards a supervisor leaves alone: a complaint's card goes only where the complaint's step puts it (the app
# answers 422 to a drag to another column), and board.js does not let a locked card be dragged.
UNDRAGGABLE = re.compile(r"\b(kind-complaint|locked)\b")
DROP_URL = re.compile(r'data-drop-url="([^"]+)"')
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')

Account = tuple[str, str]                                   # username, password
Lanes = dict[tuple[str, int], list[tuple[int, int]]]        # (column, assignee id) -> [(card id, version)]


def demo_accounts() -> dict[str, list[Account]]:
    """The demo store's accounts (`make run`): staff for the tablets, supervisor level and up for the drags."""
    from careboard.models import Level
    from careboard.services.demo import DEMO_PASSWORD, DEMO_USERS
    return {"staff": [(u, DEMO_PASSWORD) for u, _name, _role, level in DEMO_USERS if level == Level.STAFF],
            "supervisors": [(u, DEMO_PASSWORD) for u, _name, _role, level in DEMO_USERS if level >= Level.SUPERVISOR]}


def address(n: int) -> str:
    """10.0.<n // 250>.<n % 250 + 1>: one address per virtual user, as nginx in front reports each tablet's."""
    return f"10.0.{n // 250}.{n % 250 + 1}"


def region_tag(body: str, region: str) -> dict[str, str]:
    """The attributes of `<div id="region" ...>`, unescaped; empty when the page has no such region."""
    match = re.search(rf'<div id="{region}"[^>]*>', body)
    return {name: html.unescape(value) for name, value in ATTRIBUTE.findall(match.group(0))} if match else {}


def read_lanes(body: str) -> Lanes:
    """Every lane (column × person) in the HTML with the cards that may be dragged and their versions, in order."""
    lanes: Lanes = {}
    current = None
    for column, assignee, card, classes, version in BOARD_TOKENS.findall(body):
        if column:
            current = (column, int(assignee)) if assignee and column in MOVE_COLUMNS else None
            if current:
                lanes[current] = []
        elif current and not UNDRAGGABLE.search(classes):
            lanes[current].append((int(card), int(version)))
    return lanes


def said(text: str) -> str:
    """The words of an answer (a toast's message), for an error's description."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:120]


@dataclass
class Poll:
    """How a page keeps one region current, as the page itself says: by ETag ("My cards": its hx-get with
    If-None-Match) or, for the board, by its refresh element `#board-sync`, whose hx-get carries the token of
    what the tablet has; each 200 brings that element again with the next token (out of band)."""

    region: str
    path: str
    by_token: bool = False
    etag: str | None = None

    @classmethod
    def of(cls, body: str, region: str) -> Poll:
        sync = region_tag(body, "board-sync") if region == "board" else {}
        if sync.get("hx-get"):
            return cls(region, sync["hx-get"], by_token=True)
        tag = region_tag(body, region)
        if not tag:
            raise ValueError(f'no <div id="{region}"> on the page')
        return cls(region, tag["hx-get"])

    def request(self) -> tuple[str, dict[str, str]]:
        """The URL and the headers of the next poll (htmx's, plus what board.js adds)."""
        if self.by_token:
            return self.path, {}
        return self.path, ({"HX-Target": self.region} | ({"If-None-Match": self.etag} if self.etag else {}))

    def expected(self) -> set[int]:
        return {200, 204} if self.by_token else {200, 304}

    def answered(self, status: int, headers, body: str) -> str | None:
        """Keeps what the next poll needs from a good answer; returns why the answer is wrong, if it is."""
        if status != 200:
            return None
        if self.by_token:
            sync = region_tag(body, "board-sync")
            if not sync.get("hx-get"):
                return "200 without #board-sync"
            self.path = sync["hx-get"]
        elif headers.get("ETag"):
            self.etag = headers["ETag"]
        return None


@dataclass
class Warm:
    """How far the warm-up is: users ready (logged in, first page open) and users that failed to get there."""

    ready: int = 0
    failed: list[str] = field(default_factory=list)


WARM = Warm()
SERIAL = itertools.count()              # one address per virtual user, across both kinds


class CareBoardUser(HttpUser):
    """A browser behind nginx: its own X-Forwarded-For, https as the proxy says, the Secure session cookie sent
    back over the plain http of loopback, the CSRF token of <body hx-headers> for htmx's writes."""

    abstract = True
    accounts: list[Account] = []
    page_path = "/"
    csrf = ""
    origin = ""

    def on_start(self) -> None:
        n = next(SERIAL)
        self.origin = f"https://{urlsplit(self.host).netloc}"
        self.client.headers.update({"X-Forwarded-For": address(n), "X-Forwarded-Proto": "https",
                                    "User-Agent": f"CareBoard load test ({type(self).__name__} {n})",
                                    "Accept-Language": "zh-CN,zh;q=0.9"})
        try:
            body = self.log_in(self.account())
            self.opened(body)
        except (RuntimeError, ValueError) as error:
            WARM.failed.append(f"{type(self).__name__} {n} ({address(n)}): {error}")
            raise StopUser() from None
        WARM.ready += 1

    def account(self) -> Account:
        raise NotImplementedError

    def opened(self, body: str) -> None:
        """What the user keeps from its first page."""
        raise NotImplementedError

    def log_in(self, account: Account) -> str:
        """GET /login, POST the form with its token (303 expected), then open the user's page."""
        with self.request("GET", "/login", "login") as form:
            token = CSRF_FIELD.search(form.text)
            if form.status_code != 200 or not token:
                form.failure(f"GET /login answered {form.status_code}{'' if token else ' without a csrf_token'}")
                raise RuntimeError(f"GET /login answered {form.status_code}")
        with self.request("POST", "/login", "login", allow_redirects=False,
                          data={"username": account[0], "password": account[1], "csrf_token": token.group(1)},
                          headers={"Referer": self.origin + "/login"}) as done:
            if done.status_code != 303:
                done.failure(f"log-in answered {done.status_code}, expected 303")
                raise RuntimeError(f"log-in as {account[0]} answered {done.status_code}, expected 303")
        with self.request("GET", self.page_path, "page") as page:
            token = CSRF_HEADER.search(page.text)
            if page.status_code != 200 or not token:
                page.failure(f"GET {self.page_path} answered {page.status_code}"
                             f"{'' if token else ' without X-CSRFToken in <body hx-headers>'}")
                raise RuntimeError(f"GET {self.page_path} answered {page.status_code}")
        self.csrf = token.group(1)
        return page.text

    def request(self, method: str, url: str, name: str, **kwargs):
        """Locust's request with catch_response. The session cookie is Secure (production behind https), and
        requests keeps a Secure cookie from plain http: it is sent back as the browser behind nginx would."""
        for cookie in self.client.cookies:
            cookie.secure = False
        return self.client.request(method, url, name=name, catch_response=True, **kwargs)

    def htmx(self, trigger: str) -> dict[str, str]:
        return {"HX-Request": "true", "HX-Trigger": trigger, "HX-Current-URL": self.origin + self.page_path,
                "Referer": self.origin + self.page_path, "X-CSRFToken": self.csrf}

    def poll(self, poll: Poll, kind: str) -> tuple[int, str]:
        """One poll, named `<kind>-<status>`; the status and the body of the answer (0 and "" when it failed)."""
        url, headers = poll.request()
        headers = {**self.htmx(poll.region), **headers, "X-CareBoard-Poll": "1"}
        with self.request("GET", url, kind, headers=headers) as response:
            status = response.status_code
            response.request_meta["name"] = f"{kind}-{status}"
            wrong = (f"status {status}: {said(response.text)}" if status not in poll.expected()
                     else "logged out (HX-Redirect)" if response.headers.get("HX-Redirect")
                     else poll.answered(status, response.headers, response.text))
            if wrong:
                response.failure(wrong)
                return 0, ""
            return status, response.text


class Tablet(CareBoardUser):
    """A staff member's tablet on "My cards": the page polls every poll_seconds (board/mine.html), from a moment
    of its own (tablets were not switched on together)."""

    fixed_count = 100
    poll_seconds = 20.0
    page_path = "/board/mine"
    serial = itertools.count()
    due = 0.0

    def account(self) -> Account:
        return self.accounts[next(Tablet.serial) % len(self.accounts)]

    def opened(self, body: str) -> None:
        self.watch = Poll.of(body, "mine")

    def on_start(self) -> None:
        super().on_start()
        gevent.sleep(random.uniform(0, self.poll_seconds))
        self.due = time.monotonic()

    def wait_time(self) -> float:
        self.due += self.poll_seconds
        return max(0.0, self.due - time.monotonic())

    @task
    def poll_mine(self) -> None:
        self.poll(self.watch, "poll")


class Supervisor(CareBoardUser):
    """A supervisor on the department board dragging cards between columns and people of its own slice of the
    people on it (so that two supervisors rarely drag in the same lane: a drag renumbers its lanes, and every
    renumbered card gets a new version), then refreshing the board as its board-changed event makes it."""

    fixed_count = 10
    wait_time = between(*THINK_S)
    page_path = "/board/?all=1"          # the whole board, as after scrolling it: every lane loaded
    serial = itertools.count()

    def account(self) -> Account:
        self.n = next(Supervisor.serial)
        return self.accounts[self.n % len(self.accounts)]

    def opened(self, body: str) -> None:
        self.watch = Poll.of(body, "board")
        self.drop_url = html.unescape(found.group(1)) if (found := DROP_URL.search(body)) else "/board/drop"
        self.lanes = read_lanes(body)
        people = sorted({assignee for _column, assignee in self.lanes})
        self.people = people[self.n % max(1, Supervisor.fixed_count)::max(1, Supervisor.fixed_count)] or people
        if not any(self.lanes.get((c, p)) for c in MOVE_COLUMNS for p in self.people):
            raise ValueError("no card to drag on the board")

    def on_start(self) -> None:
        super().on_start()
        gevent.sleep(random.uniform(0, THINK_S[1]))

    @task
    def drag(self) -> None:
        """What board.js posts on a drop, then the refresh; after a 409 (another supervisor moved a lane
        first), the refresh and one more drag with what it brought."""
        if self.drop() == 409:
            self.refresh()
            self.drop()
        self.refresh()

    def drop(self) -> int:
        sources = [lane for lane, cards in self.lanes.items() if lane[1] in self.people and cards]
        if not sources:
            return 0
        column, assignee = random.choice(sources)
        card, version = random.choice(self.lanes[(column, assignee)])
        if len(self.people) > 1 and random.random() < REASSIGN_SHARE:
            to = (random.choice(MOVE_COLUMNS), random.choice([p for p in self.people if p != assignee]))
        else:
            to = (random.choice([c for c in MOVE_COLUMNS if c != column]), assignee)
        form = {"card": card, "column": to[0], "assignee": to[1], "version": version,
                "position": random.randint(0, len(self.lanes.get(to, [])))}
        with self.request("POST", self.drop_url, "drop", data=form,
                          headers={**self.htmx(f"card-{card}"), "HX-Target": "toasts"}) as response:
            status = response.status_code
            if status == 409:                   # the app refusing a stale drag: expected, counted apart
                response.request_meta["name"] = "drop-409"
                response.success()
            elif status not in (200, 204) or response.headers.get("HX-Redirect"):
                response.failure(f"status {status}{' (logged out)' if response.headers.get('HX-Redirect') else ''}: "
                                 f"{said(response.text)}")
            else:
                self.learn(response.text, whole=False)
        return status

    def refresh(self) -> None:
        status, body = self.poll(self.watch, "refresh")
        if status == 200:
            self.learn(body, whole=not self.watch.by_token)

    def learn(self, body: str, *, whole: bool) -> None:
        """The lanes as the answer shows them: the whole board, or the cells it sent out of band."""
        seen = read_lanes(body)
        if whole:
            self.lanes = seen
            return
        moved = {card for cards in seen.values() for card, _version in cards}
        for lane, cards in self.lanes.items():
            self.lanes[lane] = [(card, version) for card, version in cards if card not in moved]
        self.lanes.update(seen)


@events.init_command_line_parser.add_listener
def options(parser) -> None:
    """`locust -f bench/locustfile.py` with the web UI: where the accounts come from, how often tablets poll."""
    parser.add_argument("--accounts", metavar="FILE", default="", help="JSON {staff: [[username, password], ...], "
                        "supervisors: [...]} (default: the demo store's accounts)")
    parser.add_argument("--poll-seconds", type=float, default=20.0, help="the tablets' poll interval")


@events.init.add_listener
def configure_from_options(environment, **_kwargs) -> None:
    if environment.parsed_options is not None:
        configure(environment.parsed_options.accounts, environment.parsed_options.poll_seconds)


def configure(accounts_file: str, poll_seconds: float) -> None:
    accounts = json.loads(Path(accounts_file).read_text()) if accounts_file else demo_accounts()
    Tablet.accounts = [tuple(a) for a in accounts["staff"]]
    Supervisor.accounts = [tuple(a) for a in accounts["supervisors"]]
    Tablet.poll_seconds = poll_seconds


# ---------------------------------------------------------------- headless, for bench/load_bench.py


def emit(event: str, **values) -> None:
    print(json.dumps({"event": event, **values}), flush=True)


def figures(entry, seconds: float) -> dict:
    """One line of Locust's statistics: its own percentiles (two significant digits above 100 ms)."""
    return {"name": entry.name, "requests": entry.num_requests, "failures": entry.num_failures,
            "rps": entry.num_requests / seconds if seconds else 0.0, "median": entry.median_response_time,
            "p95": entry.get_response_time_percentile(0.95), "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time}


def table(stats, seconds: float) -> list[dict]:
    return [figures(entry, seconds) for _key, entry in sorted(stats.entries.items()) if entry.num_requests]


def swarm(argv: list[str] | None = None) -> int:
    """The warm-up, the statistics reset, the measured window; prints JSON lines: `window-start`, `window-end`
    (load_bench measures the server and the machine between the two) and `summary`."""
    parser = argparse.ArgumentParser(prog="python -m bench.locustfile", description=swarm.__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--accounts", required=True, metavar="FILE")
    parser.add_argument("--tablets", type=int, default=100)
    parser.add_argument("--supervisors", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--spawn-rate", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    configure(args.accounts, args.poll_seconds)
    Tablet.fixed_count, Supervisor.fixed_count = args.tablets, args.supervisors
    users = args.tablets + args.supervisors
    env = Environment(user_classes=[c for c in (Tablet, Supervisor) if c.fixed_count], host=args.host)
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(users, spawn_rate=args.spawn_rate)
    while WARM.ready + len(WARM.failed) < users and time.monotonic() - started < WARM_UP_LIMIT_S:
        gevent.sleep(0.1)
    warm_up = time.monotonic() - started
    if WARM.ready < users:
        runner.quit()
        emit("summary", could_not_start=WARM.failed or [f"only {WARM.ready} of {users} users ready after "
                                                          f"{WARM_UP_LIMIT_S:g} s"])
        return 1
    warm_up_table = table(env.stats, warm_up)
    env.stats.reset_all()
    emit("window-start")
    cpu_before, window_start = time.process_time(), time.monotonic()
    gevent.sleep(args.duration)
    window = time.monotonic() - window_start
    client_cpu = time.process_time() - cpu_before
    emit("window-end")
    errors = sorted(env.stats.errors.values(), key=lambda e: -e.occurrences)
    summary = dict(window=window, warm_up=warm_up, think=THINK_S, client_cpu=client_cpu, warm_up_kinds=warm_up_table,
                   kinds=table(env.stats, window), total=figures(env.stats.total, window),
                   errors=[{"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                           for e in errors[:MAX_FAILURE_DETAILS]])
    runner.quit()
    emit("summary", **summary)
    return 0


if __name__ == "__main__":
    sys.exit(swarm())
