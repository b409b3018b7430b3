"""The README's pictures, taken from the running app at the sizes people hold it (issue 17).

Each shot is saved under tests/artifacts/readme/; `make screenshots` runs this file alone and copies them to
docs/screenshots/, which the README shows. Each page is checked as it is taken: it answered 200, its main heading
is in view, and it does not scroll sideways.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, log_in

SHOTS = ARTIFACTS / "readme"
# name: (who, path, width, height, full page)
PICTURES = {
    "board": ("supervisor", "/board/", 1024, 768, False),
    "mine-portrait": ("sales1", "/board/mine", 768, 1024, False),
    "complaint-phone": ("supervisor", "/complaints/", 390, 844, True),
    "meeting": ("director", "/review/?mode=meeting", 1920, 1080, False),
    "what-if": ("director", "/scorecard/templates/sales_care", 1024, 768, True),
    "login": (None, "/login", 1024, 768, False),
}


@pytest.mark.parametrize("name", list(PICTURES))
def test_readme_screenshot(browser, live_server, name):
    who, path, width, height, full = PICTURES[name]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    if who:
        log_in(page, live_server, who)
    response = page.goto(live_server.url + path)
    assert response.status == 200
    expect(page.locator("h1").first).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000
    context.close()
