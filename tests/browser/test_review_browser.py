"""The Monday meeting: the review on a tablet, then meeting mode on a TV, advanced by key and by tap."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_review_and_meeting_mode(browser, live_server, shot):
    page = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/review/")
    expect(page.locator("#work table tbody tr").first).to_be_visible()
    shot(page, "review-768x1024")
    page.context.close()

    tv = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    log_in(tv, live_server, "supervisor")
    tv.goto(f"{live_server.url}/review/?mode=meeting")
    sections = tv.locator("[data-section]")
    expect(sections.nth(0)).to_be_visible()
    expect(sections.nth(1)).to_be_hidden()
    expect(tv.locator("[data-counter]")).to_have_text("1 / 7")
    tv.keyboard.press("ArrowRight")
    expect(sections.nth(1)).to_be_visible()
    expect(sections.nth(0)).to_be_hidden()
    sections.nth(1).locator("h2").click()                                    # a tap anywhere advances too
    expect(sections.nth(2)).to_be_visible()
    expect(tv.locator("[data-counter]")).to_have_text("3 / 7")
    shot(tv, "review-meeting-1920x1080")
    tv.keyboard.press("ArrowLeft")
    expect(sections.nth(1)).to_be_visible()
    tv.context.close()
