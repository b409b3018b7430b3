"""The board in Chromium at tablet sizes: tick a card off, drag a card to someone else, see a conflict."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Card, User
from careboard.services import board
from tests.browser.conftest import drag, log_in

PORTRAIT = {"width": 768, "height": 1024}


def card_in_db(server, title: str) -> Card:
    with server.app.app_context():
        card = db.session.scalar(select(Card).where(Card.title.like(f"{title}%")))
        db.session.expunge(card)
        return card


@pytest.mark.parametrize("viewport", [{"width": 1024, "height": 768}, PORTRAIT], ids=["landscape", "portrait"])
def test_staff_ticks_a_card_off(browser, live_server, shot, viewport):
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    size = f"{viewport['width']}x{viewport['height']}"
    log_in(page, live_server, "sales1")
    expect(page.get_by_role("heading", name="我的卡片")).to_be_visible()
    item = page.locator(".mine-card", has_text="试驾车预约确认")
    expect(item).to_be_visible()
    shot(page, f"mine-{size}")
    item.get_by_role("button", name="✔ 完成").click()              # the verb, not the column "已完成"
    toast = page.locator("#toasts .toast-success")
    expect(toast).to_contain_text("已完成：试驾车预约确认")                            # answered, with its undo
    expect(toast.get_by_role("button", name="撤销")).to_be_visible()
    expect(page.locator("#drawer")).to_be_empty()                                       # no drawer over the list
    expect(page.locator(".mine-card", has_text="试驾车预约确认")).to_have_count(0)      # the list refreshed
    shot(page, f"mine-ticked-off-{size}")
    assert card_in_db(live_server, "试驾车预约确认").column == "done"
    page.context.close()


def test_staff_records_a_callback_outcome(page, live_server):
    log_in(page, live_server, "sales1")
    page.locator(".mine-card", has_text="王先生").get_by_role("link", name="填写回访结果").click()
    drawer = page.locator("#drawer")
    expect(drawer.get_by_text("话术")).to_be_visible()
    drawer.get_by_label("已接通").check()
    drawer.get_by_label("满意度（1–10）").select_option("9")
    drawer.get_by_label("客户反馈").fill("客户满意，用车顺利。")
    drawer.get_by_role("button", name="标记完成").click()
    expect(page.locator("#toasts .toast-success")).to_contain_text("回访结果已记录：交车3天回访：王先生")
    # done: the drawer moves on to the next card of the list, and the done one leaves the list
    expect(drawer.locator(".card-detail")).to_be_visible()
    expect(drawer.get_by_role("heading", name="交车3天回访：王先生")).to_have_count(0)
    expect(page.locator(".mine-card", has_text="交车3天回访：王先生")).to_have_count(0)
    card = card_in_db(live_server, "交车3天回访：王先生")
    assert (card.outcome_note, card.satisfaction, card.callback_result) == ("客户满意，用车顺利。", 9, "reached")




@pytest.mark.parametrize("viewport", [{"width": 1024, "height": 768}, PORTRAIT], ids=["landscape", "portrait"])
def test_supervisor_drags_a_card_to_another_person(browser, live_server, shot, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/?role=sales_care")
    name = f"board-{viewport['width']}x{viewport['height']}"
    shot(page, name)
    lane = lambda person: page.locator("section.lane", has=page.get_by_text(person, exact=True))  # noqa: E731
    # The last card of 张丽's To do, dropped at the top of 陈晨's To do just below it.
    card = lane("张丽").locator("ol[data-column='todo'] > .card").last
    card_id = card.get_attribute("id")
    target = lane("陈晨").locator("ol[data-column='todo']")
    card.scroll_into_view_if_needed()
    # window.scrollBy is done when it returns (mouse.wheel is not: the boxes below would be taken mid-scroll).
    page.evaluate("dy => window.scrollBy(0, dy)", card.bounding_box()["y"] - viewport["height"] / 3)
    with page.expect_response(lambda r: r.url.endswith("/board/drop")) as answer:
        drag(page, card, target)
    assert answer.value.status == 200
    expect(target.locator(f"#{card_id}")).to_be_visible()
    expect(page.locator("#toasts .toast-success")).to_contain_text("已转派给陈晨")
    with live_server.app.app_context():
        moved = db.session.get(Card, int(card_id.split("-")[1]))
        assert db.session.get(User, moved.assignee_id).username == "sales2"
        title = moved.title
    shot(page, name + "-after-drag")
    # That person's own page shows it.
    other = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(other, live_server, "sales2")
    expect(other.locator(".mine-card", has_text=title)).to_be_visible()
    other.context.close()
    context.close()


def test_a_conflict_shows_its_message_in_the_drawer(page, live_server, shot):
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/?role=insurance_renewal")
    page.locator(".card", has_text="续保跟进：宋女士").get_by_role("link").click()
    drawer = page.locator("#drawer")
    expect(drawer.get_by_role("heading", name="续保跟进：宋女士 比价中")).to_be_visible()
    # Meanwhile the director reassigns the same card.
    with live_server.app.app_context():
        card = board.get_card(db.session, card_in_db(live_server, "续保跟进：宋女士").id)
        director = db.session.scalar(select(User).where(User.username == "director"))
        board.move_card(db.session, card, actor=director, to_column="waiting", to_assignee=card.assignee,
                        position=None, seen_version=card.version)
        db.session.commit()
    drawer.get_by_role("button", name="→ 进行中").click()
    expect(drawer.locator("[data-conflict='1']")).to_contain_text("刚刚被他人修改")
    expect(drawer.get_by_text("续保跟进：宋女士 比价中")).to_be_visible()
    shot(page, "conflict-1024x768")
    assert card_in_db(live_server, "续保跟进：宋女士").column == "waiting"       # nothing overwritten


def test_someone_elses_change_appears_without_losing_the_drawer(page, live_server, shot):
    from careboard.services import settings
    with live_server.app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        settings.save(db.session, actor=admin, poll_seconds=5)
        db.session.commit()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/?role=owners_club")
    page.locator(".card", has_text="会员生日关怀名单").get_by_role("link").click()
    comment = page.locator("#drawer").get_by_label("备注")
    comment.fill("写了一半的备注")
    other = card_in_db(live_server, "车友汇新会员入会登记")
    with live_server.app.app_context():
        card = board.get_card(db.session, other.id)
        board.move_card(db.session, card, actor=card.assignee, to_column="doing", to_assignee=card.assignee,
                        position=0, seen_version=card.version)
        db.session.commit()
    doing = page.locator("ol[data-column='doing']")
    expect(doing.locator(".card", has_text="车友汇新会员入会登记")).to_be_visible(timeout=12_000)
    expect(comment).to_have_value("写了一半的备注")
    shot(page, "live-refresh-with-open-drawer-1024x768")
