"""Every main page at the three sizes people hold (issue 17): landscape and upright tablets, a phone.

No page scrolls sideways, the header keeps within its budget (tablets: 110px in both languages; a phone: 64px
with the menu closed), and the navigation's and the board's buttons are at least 44px to tap. The phone's menu
opens without JavaScript and from the keyboard; the board's column heads stay visible while scrolling; lanes
come in the department's order and stay folded as their person left them. Screenshots go to
/tmp/shots/layout (or $CAREBOARD_SHOTS) to be looked at.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import User
from tests.browser.conftest import log_in

SHOTS = Path(os.environ.get("CAREBOARD_SHOTS", "/tmp/shots/layout"))
LANDSCAPE, PORTRAIT, PHONE = (1024, 768), (768, 1024), (390, 844)
SIZES = {"landscape": LANDSCAPE, "portrait": PORTRAIT, "phone": PHONE}
HEADER_BUDGET = {"landscape": 110, "portrait": 110, "phone": 64}
TAP = 44

PAGES = ["/board/mine", "/board/", "/complaints/", "/customers/", "/checklist/", "/scorecard/", "/review/",
         "/board/archive", "/board/cards/new", "/complaints/new", "/account"]
ADMIN_PAGES = ["/admin/users", "/admin/settings", "/board/scripts", "/scorecard/templates", "/checklist/areas",
               "/review/reports"]
VISITS = {"sales1": PAGES[:6], "supervisor": PAGES, "director": PAGES, "admin": ADMIN_PAGES + ["/board/"]}

MEASURE = """() => {
  const bar = document.querySelector('header.topbar');
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          header: bar.getBoundingClientRect().height};
}"""
# Visible tap targets smaller than 44px: the navigation's links, the header's buttons, the board's buttons.
SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
  .map(e => [e.textContent.trim(), e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.height < 44 - 0.5 || r.width < 44 - 0.5))
  .map(([text, r]) => `${text} ${Math.round(r.width)}x${Math.round(r.height)}`)"""
TARGETS = ("header.topbar a, header.topbar button, header.topbar .menu-button, #main .actions .button, "
           ".filters .button, .lane-toggle, .mine-card .button")


def save(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def set_language(page, language: str) -> None:
    page.locator(f"button[name=language][value={language}]").click()       # in the phone's menu: not needed here
    page.wait_for_load_state()


@pytest.mark.parametrize("username", list(VISITS))
def test_no_page_scrolls_sideways_and_the_header_keeps_its_budget(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, username)
    problems = []
    for language in ("zh_CN", "en"):
        page.set_viewport_size({"width": 1024, "height": 768})
        set_language(page, language)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            for path in VISITS[username]:
                response = page.goto(live_server.url + path)
                assert response.status == 200, (path, response.status)
                m = page.evaluate(MEASURE)
                where = f"{username} {language} {size} {path}"
                if m["scrollWidth"] > m["innerWidth"]:
                    problems.append(f"{where}: {m['scrollWidth']}px wide in {m['innerWidth']}px")
                if m["header"] > HEADER_BUDGET[size]:
                    problems.append(f"{where}: header {m['header']}px > {HEADER_BUDGET[size]}px")
                small = page.evaluate(SMALL_TARGETS, TARGETS)
                if small:
                    problems.append(f"{where}: tap targets under 44px: {small}")
                if path in ("/board/", "/board/mine", "/complaints/", "/scorecard/"):
                    save(page, f"{username}-{language}-{size}-{path.strip('/').replace('/', '-')}")
    context.close()
    assert problems == []


def test_phone_menu_opens_from_the_keyboard_and_shows_every_destination(browser, live_server):
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    header = page.locator("header.topbar")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav).to_be_hidden()
    assert header.bounding_box()["height"] <= 64
    expect(page.locator("#overdue-badge")).to_be_visible()                   # the badges stay in the bar

    page.locator("#menu-toggle").focus()
    page.keyboard.press("Space")
    expect(nav).to_be_visible()
    links = nav.get_by_role("link")
    expect(links).to_have_count(7)
    for i in range(7):
        box = links.nth(i).bounding_box()
        assert box["height"] >= TAP and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0]
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_be_visible()
    save(page, "phone-menu-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()

    page.locator("label.menu-button").click()
    nav.get_by_role("link", name="投诉").click()
    expect(page.get_by_role("heading", name="投诉", exact=True)).to_be_visible()
    expect(nav).to_be_hidden()                                               # a new page: the menu is closed
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    context.close()


def test_phone_menu_works_without_javascript(browser, live_server):
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN",
                                  java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, "sales1")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav).to_be_hidden()
    page.locator("label.menu-button").click()
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="客户").click()
    expect(page.get_by_role("heading", name="客户", exact=True)).to_be_visible()
    context.close()


@pytest.mark.parametrize("size", ["landscape", "portrait"])
def test_board_column_heads_stay_below_the_header_while_scrolling(browser, live_server, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + "/board/")
    heads = page.locator(".board-columns")
    expect(heads).to_be_visible()
    page.mouse.wheel(0, 4000)
    page.wait_for_function("window.scrollY > 3000")
    header = page.locator("header.topbar").bounding_box()
    box = heads.bounding_box()
    assert abs(box["y"] - (header["y"] + header["height"])) <= 1              # right below the header, not under it
    expect(heads.get_by_text("进行中")).to_be_in_viewport()
    # The lane in view names its person right below the column heads.
    lane_heads = page.locator(".lane-head").all()
    pinned = [h for h in lane_heads if abs(h.bounding_box()["y"] - (box["y"] + box["height"])) <= 1]
    assert len(pinned) >= 1
    save(page, f"board-scrolled-{size}")
    context.close()


def test_phone_board_stacks_columns_under_a_sticky_lane_head(browser, live_server):
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + "/board/")
    lane = page.locator(".lane", has_text="张丽").first
    cells = lane.locator(".cell")
    boxes = [cells.nth(i).bounding_box() for i in range(4)]
    assert all(b["width"] > 300 for b in boxes)                               # one under the other, full width
    assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes)
    lane.locator(".cell").nth(1).scroll_into_view_if_needed()
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(100)
    head = lane.locator(".lane-head").bounding_box()
    bar = page.locator("header.topbar").bounding_box()
    assert abs(head["y"] - bar["height"]) <= 1                                # the person stays named
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    save(page, "phone-board-scrolled")
    context.close()


def test_board_lanes_in_the_departments_order_and_folded_as_left(browser, live_server):
    context = browser.new_context(viewport={"width": LANDSCAPE[0], "height": LANDSCAPE[1]}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + "/board/")
    subtitles = page.locator(".lane-head small:not(.count)").all_inner_texts()
    assert subtitles[:4] == ["关爱总监", "客服主管", "销售关爱专员", "销售关爱专员"]
    assert subtitles.index("售后关爱专员") < subtitles.index("广告专员")        # not the codes' alphabet

    with live_server.app.app_context():
        zhang = db.session.scalar(select(User).where(User.username == "sales1"))
    lane = page.locator(f"#lane-user-{zhang.id}")
    toggle = lane.locator(".lane-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(lane.locator(".card").first).to_be_hidden()
    save(page, "board-lane-folded")

    # Reloaded, and even without JavaScript (the server renders it): still folded, the others open.
    page.reload()
    expect(page.locator(f"#lane-user-{zhang.id} .lane-toggle")).to_have_attribute("aria-expanded", "false")
    state = context.storage_state()
    plain = browser.new_context(viewport={"width": LANDSCAPE[0], "height": LANDSCAPE[1]}, locale="zh-CN",
                                java_script_enabled=False, storage_state=state)
    bare = plain.new_page()
    bare.goto(live_server.url + "/board/")
    expect(bare.locator(f"#lane-user-{zhang.id}")).to_have_class("lane collapsed")
    expect(bare.locator(f"#lane-user-{zhang.id} .card").first).to_be_hidden()
    assert bare.locator(".lane.collapsed").count() == 1
    plain.close()

    page.locator(f"#lane-user-{zhang.id} .lane-toggle").click()
    page.reload()
    expect(page.locator(f"#lane-user-{zhang.id} .card").first).to_be_visible()
    context.close()
