"""A card's own page (/board/cards/<id>, linked from the review, the complaint page and others) in Chromium:
every action works there as in the drawer, and every change is answered where the person is looking."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Card, CardEvent, User
from tests.browser.conftest import log_in

SIZES = {"tablet": {"width": 1024, "height": 768}, "portrait": {"width": 768, "height": 1024},
         "phone": {"width": 390, "height": 844}}


def card_in_db(server, title: str) -> Card:
    with server.app.app_context():
        card = db.session.scalar(select(Card).where(Card.title.like(f"{title}%")))
        db.session.expunge(card)
        return card


def last_event(server, card_id: int) -> CardEvent:
    with server.app.app_context():
        event = db.session.scalar(select(CardEvent).where(CardEvent.card_id == card_id)
                                  .order_by(CardEvent.id.desc()))
        db.session.expunge(event)
        return event


def username_of(server, user_id: int | None) -> str | None:
    with server.app.app_context():
        return db.session.get(User, user_id).username if user_id else None


def toast(page):
    return page.locator("#toasts .toast-success").last


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_move_comment_edit_done_and_undo_on_the_card_page(browser, live_server, shot, size):
    page = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(page, live_server, "sales1")
    card = card_in_db(live_server, "试驾车预约确认")
    page.goto(f"{live_server.url}/board/cards/{card.id}")
    host = page.locator("#card-page")
    assert no_horizontal_scroll(page)

    host.get_by_role("button", name="→ 进行中").click()
    expect(toast(page)).to_contain_text("已移到进行中：试驾车预约确认")
    expect(host.locator(".card-kind")).to_contain_text("进行中")
    assert card_in_db(live_server, "试驾车预约确认").column == "doing"

    host.get_by_label("备注").fill("客户确认周六 10 点到店")
    host.get_by_role("button", name="添加备注").click()
    expect(toast(page)).to_contain_text("备注已添加")
    expect(host.locator(".events")).to_contain_text("客户确认周六 10 点到店")
    assert last_event(live_server, card.id).note == "客户确认周六 10 点到店"

    host.get_by_text("编辑", exact=False).first.click()
    host.get_by_label("标题").fill("试驾车预约确认：周六上午 4 组客户")
    host.get_by_role("button", name="保存").click()
    expect(toast(page)).to_contain_text("修改已保存")
    expect(host.get_by_role("heading", name="试驾车预约确认：周六上午 4 组客户")).to_be_visible()
    assert card_in_db(live_server, "试驾车预约确认").title == "试驾车预约确认：周六上午 4 组客户"

    host.get_by_role("button", name="标记完成").click()
    done = toast(page)
    expect(done).to_contain_text("已完成：试驾车预约确认")
    expect(host.get_by_role("button", name="↺ 重新打开")).to_be_visible()     # the page shows it done
    assert card_in_db(live_server, "试驾车预约确认").column == "done"
    assert no_horizontal_scroll(page)

    # Undo, within the toast: back to the column it was done from, the page shows it open again.
    done.get_by_role("button", name="撤销").click()
    expect(toast(page)).to_contain_text("已撤销")
    expect(host.get_by_role("button", name="标记完成")).to_be_visible()
    undone = card_in_db(live_server, "试驾车预约确认")
    assert (undone.column, undone.completed_at) == ("doing", None)
    event = last_event(live_server, card.id)
    assert (event.kind, event.to_value, event.note) == ("reopened", "doing", "已撤销")
    # Last: a full-page screenshot leaves style="" on elements, which htmx's settling would copy (CSP).
    shot(page, f"card-page-undone-{size}")
    page.context.close()


def test_callback_outcome_on_the_card_page(page, live_server, shot):
    log_in(page, live_server, "sales1")
    card = card_in_db(live_server, "交车3天回访：王先生")
    page.goto(f"{live_server.url}/board/cards/{card.id}")
    host = page.locator("#card-page")
    host.get_by_label("已接通").check()
    host.get_by_label("满意度（1–10）").select_option("9")
    host.get_by_label("客户反馈").fill("客户满意，用车顺利。")
    host.get_by_role("button", name="标记完成").click()
    expect(toast(page)).to_contain_text("回访结果已记录：交车3天回访：王先生")
    expect(host.locator(".facts")).to_contain_text("满意度 9/10")
    saved = card_in_db(live_server, "交车3天回访：王先生")
    assert (saved.column, saved.satisfaction, saved.outcome_note) == ("done", 9, "客户满意，用车顺利。")


@pytest.mark.parametrize("where", ["card-page", "drawer"])
def test_a_missing_satisfaction_is_shown_where_the_person_looks(page, live_server, shot, where):
    """1024×768, sales1: the outcome without satisfaction. The error is in the viewport and its field focused."""
    log_in(page, live_server, "sales1")
    card = card_in_db(live_server, "交车3天回访：王先生")
    if where == "drawer":
        page.locator(".mine-card", has_text="王先生").get_by_role("link", name="填写回访结果").click()
    else:
        page.goto(f"{live_server.url}/board/cards/{card.id}")
    host = page.locator(f"#{where}")
    host.get_by_label("已接通").check()
    host.get_by_label("客户反馈").fill("还行")
    host.get_by_role("button", name="标记完成").click()
    error = host.locator(".has-error .error")
    expect(error).to_have_text("请填写客户满意度（1–10 分）。")
    satisfaction = host.get_by_label("满意度（1–10）")
    expect(satisfaction).to_be_focused()
    box = error.bounding_box()
    height = page.evaluate("window.innerHeight")
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= height, (box, height)
    expect(host.get_by_label("客户反馈")).to_have_value("还行")            # what was typed is kept
    shot(page, f"callback-error-{where}-1024x768")
    assert card_in_db(live_server, "交车3天回访：王先生").column == "todo"


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_supervisor_reassigns_on_the_card_page_from_a_grouped_filtered_menu(browser, live_server, shot, size):
    page = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    card = card_in_db(live_server, "试驾车预约确认")
    page.goto(f"{live_server.url}/board/cards/{card.id}")
    host = page.locator("#card-page")
    menu = host.get_by_label("分派给")
    # near the top, grouped by role, each person with their open and overdue cards
    assert menu.bounding_box()["y"] < host.locator(".facts").bounding_box()["y"]      # above the card's facts
    assert host.locator("optgroup[label='销售关爱专员']").count() == 1
    option = menu.locator("option", has_text="陈晨")
    assert "未完成" in option.text_content() and "逾期" in option.text_content()
    host.get_by_placeholder("输入姓名筛选").fill("陈晨")
    visible = menu.evaluate("s => Array.from(s.options).filter(o => !o.hidden).map(o => o.text)")
    assert len(visible) == 1 and visible[0].startswith("陈晨")
    assert menu.evaluate("s => s.options[s.selectedIndex].text").startswith("陈晨")
    host.get_by_role("button", name="⇄ 转派").click()
    expect(toast(page)).to_contain_text("已转派给陈晨：试驾车预约确认")
    assert username_of(live_server, card_in_db(live_server, "试驾车预约确认").assignee_id) == "sales2"
    expect(host.locator(".facts")).to_contain_text("陈晨")
    assert no_horizontal_scroll(page)
    shot(page, f"card-page-reassigned-{size}")              # last: see the card page test
    page.context.close()
