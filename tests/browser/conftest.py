"""Browser tests: Playwright drives Debian's Chromium against the app served on loopback."""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from careboard import create_app
from careboard.extensions import db

CHROMIUM = os.environ.get("CAREBOARD_CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "artifacts"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test of this folder is marked `browser` (so `-m "not browser"` leaves them out: a `pytestmark`
    in a conftest marks nothing), and skipped where Chromium is missing. Runs before `-m` deselects."""
    skip = None if os.path.exists(CHROMIUM) else \
        pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            if skip is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1024, "height": 768}, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai"}


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


class CspReports(logging.Handler):
    """Collects what browsers report to /csp-report: the Content-Security-Policy blocked something."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def served_demo(config):
    """The app of `config` with the demo data loaded, served on loopback. At the end it proves that the strict
    Content-Security-Policy blocked nothing of the app's own pages (unless the server was told to expect it)."""
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    reports = CspReports()
    csp_log = logging.getLogger("careboard.csp")
    csp_log.addHandler(reports)
    server = LiveServer(app).start()
    server.csp_reports = reports.messages
    try:
        yield server
        time.sleep(0.3)                              # a report still in flight
    finally:
        server.stop()
        csp_log.removeHandler(reports)
        with app.app_context():
            db.engine.dispose()
    if not getattr(server, "expect_csp_reports", False):
        assert reports.messages == [], f"the Content-Security-Policy blocked parts of the app: {reports.messages}"


@pytest.fixture
def live_server(app_config):
    """The app with CSRF on, as in production, and the demo data loaded (one per test)."""
    with served_demo(type("Live", (app_config,), {"WTF_CSRF_ENABLED": True})) as server:
        yield server


def drag(page, source, target):
    """Drag `source` onto `target` with the mouse, in steps, as SortableJS needs to see it."""
    s, t = source.bounding_box(), target.bounding_box()
    page.mouse.move(s["x"] + s["width"] / 2, s["y"] + s["height"] / 2)
    page.mouse.down()
    page.mouse.move(s["x"] + s["width"] / 2 + 10, s["y"] + s["height"] / 2 + 10, steps=5)
    page.mouse.move(t["x"] + t["width"] / 2, t["y"] + min(20, t["height"] / 2), steps=20)
    page.mouse.up()


@pytest.fixture
def shot():
    """Save a screenshot under tests/artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, server, username: str, password: str = "careboard-demo"):
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
