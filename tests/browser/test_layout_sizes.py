"""Every page at the three sizes people hold (issue 17): a landscape tablet (1024×768), an upright one (768×1024)
and a phone (390×844), as each level (sales1, service1, supervisor, director, admin), in both languages.

On every page: no sideways scroll (`scrollWidth ≤ innerWidth`); the header within its budget (tablets: 110px,
a phone: 64px with the menu closed); every visible tap target at least 44×44px — links, buttons, inputs,
selects, textareas, summaries, and for a checkbox or a radio button the label that carries it. One exception,
WCAG 2.5.8's "inline" one: a link inside running text (an inline <a> in a <p>, <td>, <li> or <dd> that holds
other text besides it) may be as tall as its line. On a phone, every table either becomes stacked rows
(`.stacked`) or fits: none scrolls inside itself. Each failure names the page, the size, the element's text
and its size.

Every page's whole length is saved at each size under tests/artifacts/layout/ (<level>-<size>-<page>.png, the
Chinese pages; CI keeps tests/artifacts). The other tests: the phone's menu without JavaScript and from the
keyboard, the board's column heads sticking while scrolling at each size, the upright tablet's board readable
(scrolling sideways inside the board only), lanes in the department's order and folded as left, also without
JavaScript.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import (Level,
                              User)
from careboard.services import import_jobs
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.pages import pages_for as url_map_pages

SHOTS = ARTIFACTS / "layout"
LANDSCAPE, PORTRAIT, PHONE = (1024, 768), (768, 1024), (390, 844)
SIZES = {"landscape": LANDSCAPE, "portrait": PORTRAIT, "phone": PHONE}
HEADER_BUDGET = {"landscape": 110, "portrait": 110, "phone": 64}
TAP = 44
LEVELS = ["sales1", "service1", "supervisor", "director", "admin"]

IMPORT_CSV = ("客户姓名,手机,车牌号,VIN,车型,交车日期\n"
              "韩梅梅,13912340001,沪A12345,LSVAB4BR1JN000001,明锐,2026-11-20\n")


def checked_import(username: str) -> str:
    """A customer import this person uploaded and the check ran on (its page is the uploader's only): its token.
    Runs in the app's context, as the background thread would."""
    user = db.session.scalar(select(User).where(User.username == username))
    job = import_jobs.new_job(db.session, uploader=user, file_name="dms-export.csv", extension="csv")
    import_jobs.upload_path(job).write_text(IMPORT_CSV, encoding="utf-8")
    db.session.commit()
    token = job.token
    import_jobs.run_job(lambda: db.session, job.id)
    return token


def pages_for(server, username: str) -> list[str]:
    """Every page this person opens (tests/browser/pages.py, built from the URL map), with a checked customer
    import of their own first for those who may import, so its page is among them."""
    with server.app.app_context():
        level = db.session.scalar(select(User.level).where(User.username == username))
        if level >= Level.SUPERVISOR:
            checked_import(username)
    return url_map_pages(server.app, username)


def db_user_id(server, username: str) -> int:
    with server.app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def slug(path: str) -> str:
    """A file name for the page: /board/cards/12 → board-cards-12; an import's token → job."""
    return re.sub(r"[^A-Za-z0-9]+", "-", re.sub(r"[0-9a-f]{32}", "job", path)).strip("-") or "home"


# The app's header, or meeting mode's own bar (a TV's page: two rows on a phone, kept within the tablets' 110px).
MEASURE = """() => {
  const bar = document.querySelector('header.topbar') || document.querySelector('header.meeting-bar');
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          header: bar.getBoundingClientRect().height, meeting: bar.classList.contains('meeting-bar')};
}"""
MEETING_BUDGET = 110

# Visible tap targets under 44×44px, as "<tag> 'text' WxH". A checkbox or radio button counts by its label; a
# link in running text (inline, in a p/td/li/dd with other text) is WCAG 2.5.8's inline exception.
SMALL_TARGETS = r"""(tap) => {
  const visible = e => e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length > 0;
  const box = e => e.getBoundingClientRect();
  const tiny = r => r.width <= 1 || r.height <= 1;                   // visually hidden (the skip link, labels' inputs)
  const offscreen = r => r.right <= 0 || r.bottom <= 0;
  const text = e => (e.innerText || e.value || e.getAttribute('aria-label') || e.name || '')
    .trim().replace(/\s+/g, ' ').slice(0, 40);
  const inline = e => {
    if (e.tagName !== 'A' || getComputedStyle(e).display !== 'inline') return false;
    const flow = e.parentElement.closest('p, td, li, dd');
    return flow !== null && flow.innerText.replace(/\s+/g, '').length > e.innerText.replace(/\s+/g, '').length;
  };
  const targets = new Set();
  for (const e of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (e.matches('input[type=checkbox], input[type=radio]')) {
      const label = e.closest('label') || (e.id && document.querySelector(`label[for="${CSS.escape(e.id)}"]`));
      targets.add(label || e);
    } else {
      targets.add(e);
    }
  }
  const small = [];
  for (const e of targets) {
    if (!visible(e)) continue;
    const r = box(e);
    if (tiny(r) || offscreen(r) || inline(e)) continue;
    if (r.width < tap - 0.5 || r.height < tap - 0.5) {
      const classes = String(e.className).trim().split(/\s+/).filter(Boolean).map(c => '.' + c).join('');
      small.push(`<${e.tagName.toLowerCase()}${classes}> '${text(e)}' ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""

# Tables (or their wrappers) that scroll sideways inside the page, or stick out of it.
SCROLLING_TABLES = r"""() => {
  const out = [];
  for (const t of document.querySelectorAll('table')) {
    if (!t.checkVisibility() || t.getClientRects().length === 0) continue;
    const r = t.getBoundingClientRect();
    let scrolls = r.right > window.innerWidth + 0.5 || r.left < -0.5;
    for (let e = t; e && e !== document.body && !scrolls; e = e.parentElement) {
      const x = getComputedStyle(e).overflowX;
      if (x !== 'visible' && x !== 'clip' && e.scrollWidth > e.clientWidth + 1) scrolls = true;
    }
    if (scrolls) {
      const head = t.querySelector('th');
      const name = (t.id ? '#' + t.id : '') + [...t.classList].map(c => '.' + c).join('');
      out.push(`table${name} (${head ? head.innerText.trim() : ''}…) ${Math.round(t.scrollWidth)}px wide`);
    }
  }
  return out;
}"""


def save(page, name: str, *, full_page: bool = True) -> None:
    """The page's whole length; a state while scrolling (full_page=False) as the screen shows it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def set_language(page, language: str) -> None:
    page.locator(f"button[name=language][value={language}]").click()       # in the phone's menu: not needed here
    page.wait_for_load_state()


@pytest.mark.parametrize("username", LEVELS)
def test_every_page_at_three_sizes_fits_keeps_its_header_and_has_tap_targets(browser, live_server, username):
    pages = pages_for(live_server, username)
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, username)
    problems = []
    for language in ("zh_CN", "en"):
        page.set_viewport_size({"width": 1024, "height": 768})
        set_language(page, language)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            for path in pages:
                response = page.goto(live_server.url + path)
                assert response.status == 200, (path, response.status)
                m = page.evaluate(MEASURE)
                where = f"{username} {language} {size} {path}"
                if m["scrollWidth"] > m["innerWidth"]:
                    problems.append(f"{where}: {m['scrollWidth']}px wide in {m['innerWidth']}px")
                budget = MEETING_BUDGET if m["meeting"] else HEADER_BUDGET[size]
                if m["header"] > budget:
                    problems.append(f"{where}: header {m['header']}px > {budget}px")
                if small := page.evaluate(SMALL_TARGETS, TAP):
                    problems.append(f"{where}: tap targets under {TAP}px: {small}")
                if size == "phone" and (tables := page.evaluate(SCROLLING_TABLES)):
                    problems.append(f"{where}: tables scrolling sideways on a phone: {tables}")
                if language == "zh_CN":
                    save(page, f"{username}-{size}-{slug(path)}")
    context.close()
    assert problems == [], "\n".join(problems)


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
    save(page, "phone-menu-open", full_page=False)
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


def test_board_column_heads_stay_below_the_header_while_scrolling(browser, live_server):
    width, height = LANDSCAPE
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
    save(page, "board-scrolled-landscape", full_page=False)
    context.close()


def test_upright_tablet_board_reads_in_wide_columns_scrolling_sideways_inside_itself(browser, live_server):
    """768×1024: four columns side by side left a card's title ~7 characters a line. The board is a region of
    its own: wide columns, about two and a half in view, sideways a column at a time (scroll-snap) inside the
    region while the page never scrolls sideways; up and down under its column heads and the lane's name."""
    context = browser.new_context(viewport={"width": PORTRAIT[0], "height": PORTRAIT[1]}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + "/board/")
    board = page.locator("#board")
    region = board.evaluate("b => ({scrollWidth: b.scrollWidth, clientWidth: b.clientWidth, "
                            "snap: getComputedStyle(b).scrollSnapType})")
    assert region["scrollWidth"] > region["clientWidth"] and region["snap"] == "x mandatory"
    assert page.evaluate("document.documentElement.scrollWidth") <= PORTRAIT[0]
    title = board.locator(".card-title").first
    assert title.bounding_box()["width"] >= 230                               # 13 characters or more a line
    lines = title.evaluate("t => Math.round(t.getBoundingClientRect().height / "
                           "parseFloat(getComputedStyle(t).lineHeight))")
    assert lines <= 2, title.inner_text()

    # The page scrolled down, the region fills the screen below the header; scrolled inside, its heads stay.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    header = page.locator("header.topbar").bounding_box()
    below_header = header["y"] + header["height"]
    assert abs(board.bounding_box()["y"] - below_header) <= 1
    page.mouse.move(PORTRAIT[0] / 2, PORTRAIT[1] / 2)
    page.mouse.wheel(0, 3000)
    page.wait_for_function("b => b.scrollTop > 2000", arg=board.element_handle())
    heads = page.locator(".board-columns").bounding_box()
    assert abs(heads["y"] - below_header) <= 1
    pinned = [h for h in page.locator(".lane-head").all()
              if abs(h.bounding_box()["y"] - (heads["y"] + heads["height"])) <= 1]
    assert len(pinned) == 1                                                    # whose cards these are

    # Sideways inside the region: the last column comes into view under its head, the lane's name stays.
    done = page.locator(".column-head").nth(3)
    expect(done).not_to_be_in_viewport(ratio=1)
    page.mouse.wheel(2000, 0)
    page.wait_for_function("b => b.scrollLeft >= b.scrollWidth - b.clientWidth - 1", arg=board.element_handle())
    expect(done).to_be_in_viewport(ratio=1)
    expect(pinned[0].locator(".lane-toggle strong")).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollX") == 0
    save(page, "board-scrolled-portrait", full_page=False)
    context.close()


def test_phone_board_stacks_columns_under_sticky_column_and_lane_heads(browser, live_server):
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
    scrolled = page.evaluate("window.scrollY")
    page.mouse.wheel(0, 300)
    page.wait_for_function("y => window.scrollY >= y", arg=scrolled + 299)
    bar = page.locator("header.topbar").bounding_box()
    heads = page.locator(".board-columns")
    expect(heads.get_by_text("进行中")).to_be_in_viewport()
    box = heads.bounding_box()
    assert abs(box["y"] - bar["height"]) <= 1                                 # the column heads stay
    assert box["height"] <= 56                                                # one compact row
    head = lane.locator(".lane-head").bounding_box()
    assert abs(head["y"] - (box["y"] + box["height"])) <= 1                   # the person stays named below them
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    save(page, "phone-board-scrolled", full_page=False)
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
    expect(bare.locator(f"#lane-user-{zhang.id}")).to_have_class("lane collapsed pending")
    expect(bare.locator(f"#lane-user-{zhang.id} .card").first).to_be_hidden()
    assert bare.locator(".lane.collapsed").count() == 1
    # Without JavaScript the button folds too: it posts, the board comes back at the lane, folded.
    with live_server.app.app_context():
        chen = db.session.scalar(select(User).where(User.username == "sales2"))
    bare.locator(f"#lane-user-{chen.id} .lane-toggle").click()
    expect(bare).to_have_url(f"{live_server.url}/board/#lane-user-{chen.id}")
    expect(bare.locator(f"#lane-user-{chen.id}")).to_have_class("lane collapsed pending")
    expect(bare.locator(f"#lane-user-{chen.id} .lane-toggle")).to_have_attribute("aria-expanded", "false")
    assert bare.locator(".lane.collapsed").count() == 2
    bare.locator(f"#lane-user-{zhang.id} .lane-toggle").click()
    expect(bare.locator(f"#lane-user-{zhang.id} .card").first).to_be_visible()
    assert bare.locator(".lane.collapsed").count() == 1
    kept = {c["name"]: c["value"] for c in plain.cookies()}
    supervisor_id = db_user_id(live_server, "supervisor")
    assert kept[f"careboard_lanes_{supervisor_id}"] == f"user-{chen.id}"     # the cookie board.js reads
    plain.close()

    page.locator(f"#lane-user-{zhang.id} .lane-toggle").click()
    page.reload()
    expect(page.locator(f"#lane-user-{zhang.id} .card").first).to_be_visible()
    context.close()


def test_the_scorecard_link_is_no_dead_end_for_a_role_without_a_template(browser, live_server):
    page = browser.new_context(viewport={"width": LANDSCAPE[0], "height": LANDSCAPE[1]}, locale="zh-CN").new_page()
    log_in(page, live_server, "service1")
    with page.expect_response(lambda r: "/scorecard/service1/" in r.url) as landed:
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="考核").click()
    assert landed.value.status == 200
    expect(page.locator("#no-template")).to_contain_text("没有考核模板")       # says why, not a 404
    page.context.close()
