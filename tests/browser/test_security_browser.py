"""The Content-Security-Policy in a real browser: an injected inline script does not run and is reported,
while the app's own pages (every other browser test) run with nothing blocked."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import Error

from tests.browser.conftest import log_in


def test_an_injected_inline_script_is_blocked_and_reported(page, live_server):
    live_server.expect_csp_reports = True
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/")
    with pytest.raises(Error):
        page.add_script_tag(content="window.injected = true;")
    assert page.evaluate("window.injected === undefined")
    page.evaluate("""() => { const d = document.createElement('div');
                             d.innerHTML = '<img src=x onerror="window.injected = 2">';
                             document.body.appendChild(d); }""")
    deadline = time.monotonic() + 5
    while len(live_server.csp_reports) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert page.evaluate("window.injected === undefined")
    assert any("script-src" in message and "/board/" in message for message in live_server.csp_reports)


def test_htmx_and_drag_and_drop_run_under_the_policy(page, live_server):
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/")
    assert page.evaluate("typeof htmx === 'object' && typeof Sortable === 'function'")
    # htmx's polling request goes out and is answered (the poll header is only ever sent by htmx).
    with page.expect_response(lambda r: "/board/" in r.url and r.request.headers.get("hx-request") == "true",
                              timeout=30_000):
        page.evaluate("htmx.trigger(document.body, 'board-changed')")
