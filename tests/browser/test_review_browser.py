"""The Monday meeting: the review on a tablet, then meeting mode on the TV, a landscape tablet and a phone
(issue 17, item 10): no app navigation, one section per screen with its heading in sight and not covered,
previous and next on screen and by key, a card's details over the meeting and back to the same place;
previous and next without JavaScript too."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Card, CardKind, Column
from tests.browser.conftest import ARTIFACTS, log_in

SIZES = {"tv": {"width": 1920, "height": 1080}, "landscape": {"width": 1024, "height": 768},
         "phone": {"width": 390, "height": 844}}
HEADINGS = ["本周到期的卡片（按人）", "当前逾期", "回访"]

# Where the element is on screen, whether it is inside the viewport, and whether the element found at its
# centre is the element itself or inside it (nothing, such as a sticky bar, lies over it).
UNCOVERED = """(e) => {
  const r = e.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {top: r.top, bottom: r.bottom, inside: r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0,
          uncovered: hit !== null && (hit === e || e.contains(hit))};
}"""


def screen(page, name: str) -> None:
    """What the screen shows (the `shot` fixture takes the whole page, which hides where a dialog sits)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def in_sight(locator) -> dict:
    return locator.evaluate(UNCOVERED)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def current_heading(page):
    return page.locator("[data-section].current h2")


def assert_heading_in_sight(page, text: str) -> None:
    heading = current_heading(page)
    expect(heading).to_contain_text(text)
    seen = in_sight(heading)
    assert seen["inside"] and seen["uncovered"], (text, seen)


def test_the_review_on_an_upright_tablet(browser, live_server, shot):
    page = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/review/")
    expect(page.locator("#work table tbody tr").first).to_be_visible()
    expect(page.locator("header.topbar")).to_be_visible()                   # the app's header off meeting mode
    assert page.locator("[data-section]:visible").count() == 7
    shot(page, "review-768x1024")
    page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_meeting_mode_sections_and_a_card_over_the_meeting(browser, live_server, shot, size):
    height = SIZES[size]["height"]
    page = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/review/?mode=meeting")

    # No app navigation: the meeting's own bar with the week, where we are and the way back.
    expect(page.locator("header.topbar")).to_have_count(0)
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)
    bar = page.locator("[data-meeting-bar]")
    expect(bar).to_be_visible()
    expect(bar.locator("h1")).to_contain_text("周例会")
    expect(bar.locator("[data-counter]")).to_have_text("1 / 7")
    leave = bar.get_by_role("link", name="退出会议模式")
    expect(leave).to_be_visible()
    title = in_sight(bar.locator("h1"))
    assert title["inside"] and title["uncovered"], title
    assert_heading_in_sight(page, HEADINGS[0])
    assert page.locator("[data-section]:visible").count() == 1
    assert no_horizontal_scroll(page)

    # The section fills the screen below the bar (one per screen).
    section = page.locator("[data-section].current").bounding_box()
    bar_box = bar.bounding_box()
    assert section["y"] + section["height"] >= height - 24, (section, bar_box)

    previous = bar.get_by_role("link", name=re.compile("上一部分"))
    following = bar.get_by_role("link", name=re.compile("下一部分"))
    expect(previous).to_have_attribute("aria-disabled", "true")                  # nothing before the first
    for button in (previous, following, leave):
        box = button.bounding_box()
        assert box["height"] >= 44 - 0.5 and box["width"] >= 44 - 0.5, box
    shot(page, f"review-meeting-1-{size}")
    screen(page, f"review-meeting-1-{size}-screen")

    # Next on screen, then by key; Page Up goes back. Each time the heading is in sight, the address follows.
    following.click()
    assert_heading_in_sight(page, HEADINGS[1])
    expect(bar.locator("[data-counter]")).to_have_text("2 / 7")
    expect(page).to_have_url(re.compile(r"[?&]section=2\b"))
    expect(previous).not_to_have_attribute("aria-disabled", "true")
    page.keyboard.press("ArrowRight")
    assert_heading_in_sight(page, HEADINGS[2])
    expect(bar.locator("[data-counter]")).to_have_text("3 / 7")
    page.keyboard.press("PageUp")
    assert_heading_in_sight(page, HEADINGS[1])
    page.keyboard.press("PageDown")
    assert_heading_in_sight(page, HEADINGS[2])
    previous.click()
    assert_heading_in_sight(page, HEADINGS[1])
    assert no_horizontal_scroll(page)
    shot(page, f"review-meeting-2-{size}")

    # A card's link opens its details over the meeting; the address stays, Esc closes, focus returns.
    url = page.url
    link = page.locator("#overdue a[data-card-dialog]").first
    card_title = link.inner_text()
    assert re.search(r"/board/cards/\d+$", link.get_attribute("href"))             # without JavaScript: its page
    link.click()
    dialog = page.locator("#card-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".detail-title")).to_have_text(card_title)
    assert page.url == url
    assert page.evaluate("document.getElementById('card-dialog').contains(document.activeElement)")
    assert no_horizontal_scroll(page)
    screen(page, f"review-meeting-card-{size}")
    page.keyboard.press("ArrowRight")                                             # keys belong to the dialog
    expect(bar.locator("[data-counter]")).to_have_text("2 / 7")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    assert_heading_in_sight(page, HEADINGS[1])
    assert page.url == url

    # Again, closed with its × this time.
    link.click()
    expect(dialog.locator(".detail-title")).to_have_text(card_title)
    dialog.get_by_role("button", name="关闭").click()
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()

    # Leave: back to the normal review of the same week, with the app's header.
    leave.click()
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page).not_to_have_url(re.compile("mode=meeting"))
    page.context.close()


def test_meeting_mode_without_javascript(browser, live_server, shot):
    """The bar's previous and next are links to ?section=N: they work with JavaScript off, and a card's link
    opens the card's page."""
    page = browser.new_context(viewport=SIZES["landscape"], locale="zh-CN", java_script_enabled=False).new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/review/?mode=meeting")
    assert_heading_in_sight(page, HEADINGS[0])
    page.get_by_role("link", name=re.compile("下一部分")).click()
    expect(page).to_have_url(re.compile(r"[?&]section=2\b"))
    assert_heading_in_sight(page, HEADINGS[1])
    expect(page.locator("[data-counter]")).to_have_text("2 / 7")
    assert page.locator("[data-section]:visible").count() == 1
    page.get_by_role("link", name=re.compile("下一部分")).click()
    assert_heading_in_sight(page, HEADINGS[2])
    page.get_by_role("link", name=re.compile("上一部分")).click()
    assert_heading_in_sight(page, HEADINGS[1])
    shot(page, "review-meeting-nojs-1024x768")
    link = page.locator("#overdue a[data-card-dialog]").first
    card_title = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(r"/board/cards/\d+$"))
    expect(page.locator("h1.detail-title")).to_have_text(card_title)
    page.context.close()


def test_a_card_changed_over_the_meeting(browser, live_server):
    """The card's actions work in the dialog as in the board's drawer: a move answers with its toast and the
    card as it is now; Done closes the dialog, its toast (with Undo) is usable, focus is back on the link."""
    # An open task of the demo, overdue by a month: first in the overdue list whatever the time of day (which of
    # the demo's cards are overdue, and so on the list's first page, depends on the hour the test runs).
    with live_server.app.app_context():
        card = db.session.scalar(select(Card).where(Card.kind == CardKind.TASK, Card.column == Column.TODO)
                                 .order_by(Card.id))
        card.due_at = utcnow() - timedelta(days=30)
        db.session.commit()
        card_id = card.id
    page = browser.new_context(viewport=SIZES["landscape"], locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/review/?mode=meeting&section=2")

    def column_of() -> str:
        with live_server.app.app_context():
            return db.session.get(Card, card_id).column

    link = page.locator(f'#overdue a[href="/board/cards/{card_id}"]')
    link.click()
    dialog = page.locator("#card-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="→ 进行中").click()
    toast = page.locator("#toasts .toast-success").last
    expect(toast).to_contain_text("已移到进行中")
    expect(toast).to_be_visible()
    expect(dialog.locator(".card-kind")).to_contain_text("进行中")
    assert column_of() == Column.DOING

    dialog.get_by_role("button", name="标记完成").click()
    expect(dialog).to_be_hidden()
    expect(toast).to_contain_text("已完成")
    expect(link).to_be_focused()
    assert column_of() == Column.DONE
    toast.get_by_role("button", name="撤销").click()                             # the page is usable again
    expect(page.locator("#toasts .toast-success").last).to_contain_text("已撤销")
    assert column_of() == Column.DOING
    expect(page.locator("[data-counter]")).to_have_text("2 / 7")
    page.context.close()
