"""The board at scale in Chromium (issue 18): a drag redraws the two cells it changed and nothing else; lanes
below the first screen load once as they scroll into view; a folded lane stays folded after a reload."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import User
from careboard.services import board
from tests.browser.conftest import drag, log_in


def add_cards(server, per_person: int = 40) -> None:
    """A few hundred cards: `per_person` more in To do for every sales care specialist."""
    with server.app.app_context():
        people = db.session.scalars(select(User).where(User.role == "sales_care", User.active.is_(True))).all()
        for person in people:
            for i in range(per_person):
                board.create_card(db.session, actor=None, kind="task", title=f"{person.display_name} 跟进 {i}",
                                  role=person.role, assignee=person)
        db.session.commit()


MARKED = "document.querySelectorAll('#board li.card').forEach(li => li.dataset.mark = 'kept')"
REPLACED = """() => [...document.querySelectorAll('#board li.card')]
    .filter(li => li.dataset.mark !== 'kept').map(li => li.closest('.cell').id)"""
KEPT_ELSEWHERE = """cells => [...document.querySelectorAll('#board li.card')]
    .filter(li => !cells.includes(li.closest('.cell').id)).every(li => li.dataset.mark === 'kept')"""


def test_a_drag_redraws_only_its_two_cells_here_and_on_the_other_tablets(browser, live_server):
    """One supervisor drags on a board of a few hundred cards; on their tablet and on another one, where a
    drawer is open with a comment half typed, only the two cells the drag changed are drawn again."""
    from careboard.services import settings
    add_cards(live_server, per_person=100)
    with live_server.app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        settings.save(db.session, actor=admin, poll_seconds=5)
        db.session.commit()
    url = f"{live_server.url}/board/?role=sales_care&all=1"
    pages = []
    for who in ("supervisor", "director"):
        page = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN").new_page()
        log_in(page, live_server, who)
        page.goto(url)
        pages.append(page)
    dragger, watcher = pages
    assert dragger.locator("#board li.card").count() > 200
    # The watcher has a card of another lane open, a comment half typed.
    watcher.locator("section.lane", has=watcher.get_by_text("张丽", exact=True)) \
        .locator("ol[data-column='doing'] .card-link").first.click()
    comment = watcher.locator("#drawer").get_by_label("备注")
    comment.fill("写了一半的备注")
    for page in pages:
        page.evaluate(MARKED)

    lane = lambda person: dragger.locator("section.lane", has=dragger.get_by_text(person, exact=True))  # noqa: E731
    source_cell, target_cell = lane("陈晨").locator(".cell").nth(0), lane("陈晨").locator(".cell").nth(1)
    cells = [source_cell.get_attribute("id"), target_cell.get_attribute("id")]
    card = source_cell.locator(".card").first
    card_id = card.get_attribute("id")
    card.scroll_into_view_if_needed()
    dragger.evaluate("dy => window.scrollBy(0, dy)", card.bounding_box()["y"] - 768 / 3)
    with dragger.expect_response(lambda r: "/board/drop" in r.url) as answer:
        drag(dragger, card, target_cell.locator("ol"))
    assert answer.value.status == 200
    expect(dragger.locator("#toasts .toast-success")).to_be_visible()
    expect(watcher.locator(f"#{cells[1]} #{card_id}")).to_be_visible(timeout=15_000)
    for page in pages:
        replaced = page.evaluate(REPLACED)
        assert replaced and set(replaced) <= set(cells)
        assert page.evaluate(KEPT_ELSEWHERE, cells)
    expect(comment).to_have_value("写了一半的备注")
    assert dragger.locator(f"#{cells[0]} #{card_id}").count() == 0


def test_lanes_load_once_as_they_scroll_into_view_and_stay_folded(browser, live_server):
    add_cards(live_server, per_person=30)
    page = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    lane_requests = []
    page.on("request", lambda r: lane_requests.append(r.url) if "/board/lanes/" in r.url else None)
    page.goto(f"{live_server.url}/board/")
    pending = page.locator("#board section.lane.pending")
    assert pending.count() > 0
    last = page.locator("#board section.lane").last
    key = last.get_attribute("data-lane-key")
    for _ in range(3):                                 # down to the bottom, up, and down again
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(400)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(200)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(page.locator(f"#lane-{key}")).not_to_have_class("lane pending")
    assert sum(1 for url in lane_requests if f"/board/lanes/{key}" in url) == 1

    # A lane folded stays folded after a reload, and comes with its head only; unfolded, its cards come.
    first = page.locator("#board section.lane").nth(2)
    first_key = first.get_attribute("data-lane-key")
    first.locator(".lane-toggle").click()
    page.reload()
    folded = page.locator(f"#lane-{first_key}")
    expect(folded).to_have_class("lane collapsed pending")
    assert folded.locator("li.card").count() == 0
    folded.locator(".lane-toggle").click()
    expect(page.locator(f"#lane-{first_key}")).to_have_class("lane")
