"""The scorecard on a tablet: the supervisor enters this month's figures, the director reads last month's
finalized ranking and one person's breakdown with the trend."""
from __future__ import annotations

from playwright.sync_api import expect

from careboard import dates
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.services import settings
from tests.browser.conftest import log_in

TABLET = {"width": 768, "height": 1024}


def test_entries_ranking_and_breakdown(browser, live_server, shot):
    with live_server.app.app_context():
        month = dates.month_of(dates.local_date(utcnow(), settings.load(db.session).zone))
        last = dates.previous_months(month, 2)[0]
    boss = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(boss, live_server, "supervisor")
    boss.goto(f"{live_server.url}/scorecard/entries/{month}/sales1")
    boss.locator('input[name="m-archiving"]').fill("96")
    boss.locator('input[name="m-reports"]').fill("100")
    shot(boss, "scorecard-entries-768x1024")
    boss.get_by_role("button", name="保存").click()
    expect(boss.get_by_text("的数据已保存")).to_be_visible()
    expect(boss.locator("tr", has_text="成交档案48小时内归档率")).to_contain_text("96%")

    director = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(director, live_server, "director")
    director.goto(f"{live_server.url}/scorecard/?month={last}")
    expect(director.get_by_text("已定稿").first).to_be_visible()
    expect(director.locator("table.ranking tbody tr")).to_have_count(6)
    shot(director, "scorecard-ranking-768x1024")
    director.locator("table.ranking tbody tr").first.get_by_role("link").click()
    expect(director.locator("svg.trend circle")).not_to_have_count(0)
    shot(director, "scorecard-person-768x1024")
    for page in (boss, director):
        page.context.close()
