"""The bell (issue: in-app notifications): a supervisor reassigns a card while its new owner's page is open, and
that person's bell rings within one poll (the test's poll is 1 s; Playwright's expect waits, never a sleep); the
panel opens from the bell, and its notice leads to the card, read. At 1024×768 and 390×844."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Card, User
from tests.browser.conftest import log_in

SIZES = {"1024x768": {"width": 1024, "height": 768}, "390x844": {"width": 390, "height": 844}}
TITLE = "试驾车预约确认"


@pytest.fixture
def app_config(app_config):
    return type("QuickBell", (app_config,), {"NOTIFICATION_POLL_SECONDS": 1})


def card_id(server, title: str) -> int:
    with server.app.app_context():
        found = db.session.scalar(select(Card.id).where(Card.title.like(f"{title}%")))
        db.session.remove()
    return found


def user_id(server, username: str) -> int:
    with server.app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username))
        db.session.remove()
    return found


@pytest.mark.parametrize("size", list(SIZES))
def test_a_reassigned_card_rings_its_new_owners_bell_within_one_poll(browser, live_server, shot, size):
    staff = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(staff, live_server, "sales2")
    staff.goto(f"{live_server.url}/board/mine")
    count = staff.locator("#bell-count")
    before = int(count.get_attribute("data-count"))
    assert 'every 1s' in count.get_attribute("hx-trigger")

    boss = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN").new_page()
    log_in(boss, live_server, "supervisor")
    card = card_id(live_server, TITLE)
    boss.goto(f"{live_server.url}/board/cards/{card}")
    title = boss.locator("h1").first.text_content().strip()
    host = boss.locator("#card-page")
    host.get_by_label("分派给").select_option(str(user_id(live_server, "sales2")))
    host.get_by_role("button", name="⇄ 转派").click()
    expect(boss.locator("#toasts")).to_contain_text(f"已转派给陈晨：{title}")
    boss.context.close()

    expect(count).to_have_attribute("data-count", str(before + 1), timeout=5000)   # the next poll
    expect(count).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    header = staff.locator("header.topbar").bounding_box()["height"]
    assert header <= (64 if size == "390x844" else 110), header
    shot(staff, f"notifications-bell-rang-{size}")

    staff.locator(".bell-menu > summary").click()
    panel = staff.locator("#notice-panel")
    notice = panel.get_by_role("button", name=f"李主管 把“{title}”分配给了你。")
    expect(notice).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(staff, f"notifications-panel-{size}")
    notice.click()
    expect(staff).to_have_url(f"{live_server.url}/board/cards/{card}")
    expect(staff.locator("#bell-count")).to_have_attribute("data-count", str(before))
    staff.context.close()
