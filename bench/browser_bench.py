"""The board in a real browser: `python -m bench.browser_bench [--quick] [--loads N] [--database-url URL]`.

The server's time (bench/run.py) is only part of what a supervisor waits for: the browser then parses about
1 MB of HTML and lays out 2,000 cards before the page's load event. This benchmark measures that wait.

A temporary SQLite file (or a fresh PostgreSQL schema with --database-url) is migrated and filled by
bench.generate with bench/run.py's dataset (2,000 open cards in the sales_care lane; 500 with --quick), and
served by gunicorn with gunicorn.conf.py and production settings, as bench/load_bench.py does. Debian's
Chromium (Playwright, headless, 1024×768, zh-CN) logs in as a supervisor through the login form and loads
`/board/?role=sales_care` --loads times, the first one a warm-up that is not counted, first at full speed and
then with the CPU throttled 4× through the DevTools protocol (`Emulation.setCPUThrottlingRate`), about what a
mid-range Android tablet does. Each load is read from the Navigation Timing API
(`performance.getEntriesByType('navigation')[0]`), the paint timing and the DOM.

Prints median and worst of each figure beside the targets (load event ≤ 400 ms, and ≤ 1.5 s throttled), the
cards in the DOM at the load event, the HTML's size and the machine's load average. Exit code 0 whatever the
figures (also when Chromium is missing: it says so); 1 only when the run itself breaks (no server, a failed
log-in, a page that does not load).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from bench.generate import Dataset, generate
from bench.load_bench import RunFailed, Store, gunicorn
from bench.run import BOARD_ROLE, FULL, QUICK, database
from careboard import create_app
from careboard.config import TestConfig
from careboard.extensions import db

CHROMIUM = os.environ.get("CAREBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1024, "height": 768}
BOARD_PATH = f"/board/?role={BOARD_ROLE}"
WARMUP = 1
PAGE_TIMEOUT_MS = 60_000                 # a throttled load of the whole board takes several seconds
# The CPU slow-downs measured and the load event's target for each, in milliseconds.
CASES = {1: 400.0, 4: 1500.0}

# Everything one load gives, read once its load event has finished. Times are from the navigation's start.
READ_LOAD = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    load: nav.loadEventEnd - nav.startTime,
    dom_interactive: nav.domInteractive - nav.startTime,
    dom_content_loaded: nav.domContentLoadedEventEnd - nav.startTime,
    response_end: nav.responseEnd - nav.startTime,
    server: nav.responseStart - nav.requestStart,
    first_contentful_paint: paint ? paint.startTime : null,
    transfer_size: nav.transferSize,
    encoded_body_size: nav.encodedBodySize,
    decoded_body_size: nav.decodedBodySize,
    cards: document.querySelectorAll('#board li.card').length,
    // The board answers "no-cache" with an ETag: Chromium revalidates, and an unchanged board comes back as a
    // 304 of a few hundred bytes whose cached copy the browser parses again.
    revalidated: nav.transferSize > 0 && nav.transferSize < nav.encodedBodySize,
  };
}"""
LOAD_FINISHED = "() => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0"

# The figures of the table: (key of READ_LOAD, label), the load event first, then in the order they happen: the
# server's answer, the last byte of the HTML, the document parsed, the deferred scripts run (DOMContentLoaded).
# Only the load event has a target.
FIGURES = [("load", "load event"), ("server", "server (request to first byte)"), ("response_end", "HTML received"),
           ("dom_interactive", "HTML parsed (domInteractive)"), ("first_contentful_paint", "first contentful paint"),
           ("dom_content_loaded", "DOMContentLoaded")]


@dataclass
class Case:
    """The measured loads of one CPU slow-down."""

    rate: int
    loads: list[dict]
    warmup: list[dict]                   # the first loads (new worker caches, a cold browser), not counted

    def values(self, key: str) -> list[float]:
        return [load[key] for load in self.loads if load[key] is not None]

    def median(self, key: str) -> float | None:
        values = self.values(key)
        return statistics.median(values) if values else None

    def worst(self, key: str) -> float | None:
        values = self.values(key)
        return max(values) if values else None


# ---------------------------------------------------------------- the store and its server


def prepare(uri: str, *, sizes: dict, seed: int) -> tuple[Store, Dataset, float]:
    """Migrate and fill the database as bench/run.py does; return it as load_bench's gunicorn() wants it,
    with what was generated and how long that took. No connection of this process stays open."""
    app = create_app(type("BrowserBenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri}))
    try:
        with app.app_context():
            upgrade()
            dialect = db.engine.dialect.name
        started = time.perf_counter()
        dataset = generate(app, seed=seed, **sizes)
        seconds = time.perf_counter() - started
    finally:
        with app.app_context():
            db.engine.dispose()
    store = Store(uri=uri, dialect=dialect, server_version="", staff=[], supervisors=[], people=dataset.users,
                  open_cards=dataset.open_cards, done_cards=dataset.done_cards)
    return store, dataset, seconds


# ---------------------------------------------------------------- the browser


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Through the login form, as a person does; the session cookie then rides on every load."""
    page.goto(f"{base_url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.press('input[name="password"]', "Enter")
    if "/login" in page.url:
        raise RunFailed(f"log-in as {username} failed: the browser is still on {page.url}")


def load_board(page: Page, url: str) -> dict:
    """One navigation to the board, read once its load event has run to the end."""
    response = page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    if response is None or response.status != 200:
        raise RunFailed(f"GET {url} answered {response.status if response else 'nothing'}, expected 200")
    page.wait_for_function(LOAD_FINISHED, timeout=PAGE_TIMEOUT_MS)
    return page.evaluate(READ_LOAD)


def measure(page: Page, url: str, *, rate: int, loads: int) -> Case:
    """`loads` navigations with the CPU slowed down `rate` times; the first WARMUP are not counted."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    try:
        results = [load_board(page, url) for _ in range(loads)]
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        cdp.detach()
    return Case(rate=rate, loads=results[WARMUP:], warmup=results[:WARMUP])


def run_browser(base_url: str, dataset: Dataset, loads: int) -> list[Case]:
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = context.new_page()
                log_in(page, base_url, dataset.supervisor, dataset.password)
                return [measure(page, base_url + BOARD_PATH, rate=rate, loads=loads) for rate in CASES]
            finally:
                browser.close()
    except PlaywrightError as error:
        raise RunFailed(f"the browser failed: {error}") from None


# ---------------------------------------------------------------- report


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def case_name(rate: int) -> str:
    return "full speed" if rate == 1 else f"CPU throttled {rate}×"


def print_results(cases: list[Case], *, expected_cards: int) -> None:
    header = f"{'case':<50} {'median ms':>10} {'worst ms':>9} {'target':>10}  met (worst load)"
    print()
    print(header)
    print("-" * len(header))
    for case in cases:
        for key, label in FIGURES:
            median, worst = case.median(key), case.worst(key)
            if key == "load":
                target = CASES[case.rate]
                met = "yes" if worst is not None and worst <= target else "NOT MET"
                target_text = f"≤ {target:,.0f} ms"
            else:
                met = target_text = ""
            print(f"{label + ', ' + case_name(case.rate):<50} {ms(median):>10} {ms(worst):>9} {target_text:>10}  {met}")
    for case in cases:
        print(f"each load event, {case_name(case.rate)} (ms): " + ", ".join(ms(v) for v in case.values("load"))
              + f" (warm-up: {', '.join(ms(load['load']) for load in case.warmup)})")
        revalidated = sum(load["revalidated"] for load in case.loads)
        print(f"  the HTML came as a 304 (the browser's cached copy, revalidated) in {revalidated} of "
              f"{len(case.loads)} loads, in full in the others")
    full = [load for case in cases for load in case.loads if not load["revalidated"]]
    first = (full or cases[0].loads)[-1]
    cards = sorted({load["cards"] for case in cases for load in case.loads})
    print(f"\ncards in the DOM at the load event: {', '.join(f'{n:,}' for n in cards)} "
          f"(the dataset has {expected_cards:,} open {BOARD_ROLE} cards)")
    print(f"HTML of the board: {first['decoded_body_size'] / 1024:,.1f} KiB decoded, "
          f"{first['encoded_body_size'] / 1024:,.1f} KiB encoded, {first['transfer_size'] / 1024:,.1f} KiB "
          f"transferred (with headers)")
    missed = [case_name(c.rate) for c in cases if (c.worst("load") or 0) > CASES[c.rate]]
    print("load event targets met (worst load)" if not missed else f"load event targets missed: {', '.join(missed)}")


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="bench/run.py's small dataset: 500 open cards (200 of them sales_care) instead of 5,000")
    parser.add_argument("--loads", type=int, default=7, metavar="N",
                        help=f"page loads per case, the first {WARMUP} a warm-up that is not counted (default 7)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL URL; the benchmark works in a new schema it drops at the end")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="gunicorn workers (CAREBOARD_WORKERS; default: gunicorn.conf.py's)")
    parser.add_argument("--seed", type=int, default=1, help="the dataset's random seed (default 1)")
    args = parser.parse_args(argv)
    if args.loads <= WARMUP:
        parser.error(f"--loads must be more than the {WARMUP} warm-up load")
    if not os.path.exists(CHROMIUM):
        print(f"browser benchmark skipped: {CHROMIUM} is not installed (apt-get install chromium)")
        return 0

    print(f"CareBoard browser benchmark · {platform.machine()} · {os.cpu_count()} CPUs · "
          f"Python {platform.python_version()} · Chromium {CHROMIUM}")
    print(f"load average (1 / 5 / 15 min) at the start: {load_average()}")
    try:
        with database(args.database_url, prefix="careboard_browser") as uri, \
                tempfile.TemporaryDirectory(prefix="careboard-browser-") as workdir:
            store, dataset, seconds = prepare(uri, sizes=QUICK if args.quick else FULL, seed=args.seed)
            print(f"dataset ({'quick' if args.quick else 'full'}, seed {args.seed}, {store.dialect}): "
                  f"{dataset.users} people, {dataset.open_cards:,} open cards "
                  f"({dataset.open_by_role.get(BOARD_ROLE, 0):,} {BOARD_ROLE}), generated in {seconds:.1f} s")
            with gunicorn(store, Path(workdir), Path(workdir), workers=args.workers, threads=None,
                          ratelimit_storage=None) as server:
                print(f"gunicorn: {server.describe()}; Chromium at {VIEWPORT['width']}×{VIEWPORT['height']} "
                      f"loads {BOARD_PATH} as {dataset.supervisor}, {args.loads} times per case "
                      f"({WARMUP} warm-up)")
                started = time.perf_counter()
                cases = run_browser(f"http://127.0.0.1:{server.port}", dataset, args.loads)
                browsing = time.perf_counter() - started
    except RunFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_results(cases, expected_cards=dataset.open_by_role.get(BOARD_ROLE, 0))
    print(f"the browser's part took {browsing:.0f} s; load average (1 / 5 / 15 min) at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
