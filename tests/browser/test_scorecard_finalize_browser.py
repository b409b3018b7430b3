"""Finalizing a month on a tablet and a phone: the button leads to a page that says what finalizing freezes;
only its own button finalizes (nothing is stored before), and the ranking then shows the month finalized."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard import dates
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import KpiMonth
from careboard.services import settings
from tests.browser.conftest import log_in

SHOTS = Path("/tmp/shots/firstrun")


def _status(server, month: str) -> str | None:
    with server.app.app_context():
        status = db.session.scalar(select(KpiMonth.status).where(KpiMonth.month == month))
        db.session.remove()
    return status


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", [{"width": 1024, "height": 768}, {"width": 768, "height": 1024},
                                      {"width": 390, "height": 844}])
def test_the_director_confirms_before_a_month_is_finalized(browser, live_server, shot, viewport):
    with live_server.app.app_context():
        month = dates.month_of(dates.local_date(utcnow(), settings.load(db.session).zone))
    size = f"{viewport['width']}x{viewport['height']}"
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}/scorecard/?month={month}")
    page.get_by_role("link", name=f"定稿 {month}…").click()
    expect(page.get_by_role("heading", name=f"确定定稿 {month}？")).to_be_visible()
    expect(page.get_by_text("定稿将按当前状态冻结 6 份考核表")).to_be_visible()
    expect(page.locator('[data-warning="running"]')).to_be_visible()          # the month is not over
    expect(page.locator("table.ranking tbody tr")).to_have_count(6)
    _no_horizontal_scroll(page)
    path = shot(page, f"scorecard-finalize-confirm-{size}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    assert _status(live_server, month) is None                                # looking froze nothing
    page.get_by_role("link", name="取消").click()
    expect(page.get_by_text("未定稿：实时数据")).to_be_visible()
    assert _status(live_server, month) is None
    page.get_by_role("link", name=f"定稿 {month}…").click()
    page.get_by_label("备注（可选）").fill("月中试定稿")
    page.get_by_role("button", name=f"定稿 {month}", exact=True).click()
    expect(page.get_by_text("已定稿").first).to_be_visible()
    assert _status(live_server, month) == "finalized"
    page.context.close()
