"""Logging a complaint during a phone call on a tablet; the card is on the board at once."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Customer
from tests.browser.conftest import log_in


def test_intake_on_a_tablet_puts_the_card_on_the_board(browser, live_server, shot):
    with live_server.app.app_context():
        customer = db.session.scalars(select(Customer).order_by(Customer.id)).first()
        mobile, name = customer.mobile, customer.name
    page = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN").new_page()
    log_in(page, live_server, "phone1")
    page.goto(f"{live_server.url}/complaints/new")
    page.get_by_label("客户手机号或车牌号").fill(mobile)
    page.get_by_label("客户投诉内容").fill("来电：保养后发动机灯亮，客户很着急")
    shot(page, "complaint-intake-768x1024")
    page.get_by_role("button", name="登记投诉").click()
    expect(page.get_by_role("heading", name="投诉处理单")).to_be_visible()
    expect(page.get_by_text("来电：保养后发动机灯亮，客户很着急").first).to_be_visible()
    shot(page, "complaint-form-768x1024")
    boss = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN").new_page()
    log_in(boss, live_server, "supervisor")
    boss.goto(f"{live_server.url}/board/?kind=complaint")
    expect(boss.locator(".card", has_text="来电：保养后发动机灯亮")).to_be_visible()
    shot(boss, "board-complaints-1024x768")
    with live_server.app.app_context():
        from careboard.models import Complaint
        complaint = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint.customer_id == customer.id and complaint.status == "received"
    assert name
    page.context.close()
    boss.context.close()
