"""The intake previews whom the lookup finds while the operator types, refuses an unknown number without a
name (nothing saved), and the complaint page shows the customer beside it, masked for a showroom
receptionist (issue 17, item 6). Phone, tablet portrait and landscape; no horizontal scroll."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from careboard.extensions import db
from careboard.models import Complaint, Customer
from tests.browser.conftest import log_in

SIZES = {"390x844": {"width": 390, "height": 844}, "768x1024": {"width": 768, "height": 1024},
         "1024x768": {"width": 1024, "height": 768}}
SHOTS = Path("/tmp/shots/complaints")


def no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_lookup_preview_the_refusal_and_the_customer_beside_the_complaint(browser, live_server, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server.app.app_context():
        customer = db.session.scalars(select(Customer).join(Customer.vehicles).options(selectinload(Customer.vehicles))
                                      .order_by(Customer.id)).first()
        mobile, name = customer.mobile, customer.name
        masked = f"{mobile[:3]}****{mobile[-4:]}"
        complaints_before = db.session.scalar(select(func.count(Complaint.id)))
    page = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(page, live_server, "phone1")
    page.goto(f"{live_server.url}/complaints/new")
    lookup = page.get_by_label("客户手机号或车牌号")
    lookup.press_sequentially(mobile, delay=20)
    preview = page.locator("#lookup-preview")
    expect(preview).to_contain_text(name)
    expect(preview).to_contain_text(mobile)                          # phone reception sees the whole number
    page.screenshot(path=str(SHOTS / f"intake-preview-{size}.png"), full_page=True)
    no_horizontal_scroll(page)

    lookup.fill("13900001111")
    expect(preview).to_contain_text("新客户")
    page.get_by_label("客户投诉内容").fill("来电：保养后发动机灯亮")
    page.get_by_role("button", name="登记投诉").click()
    expect(page.get_by_role("alert").filter(has_text="还没有客户使用这个号码")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"intake-refused-{size}.png"), full_page=True)
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count(Complaint.id))) == complaints_before
        assert db.session.scalar(select(Customer).where(Customer.mobile == "13900001111")) is None

    page.get_by_label("客户手机号或车牌号").fill(mobile)
    page.get_by_role("button", name="登记投诉").click()
    expect(page.get_by_role("heading", name="投诉处理单")).to_be_visible()
    expect(page.locator(".complaint-customer")).to_contain_text(name)
    expect(page.locator(".complaint-customer")).to_contain_text(mobile)
    page.screenshot(path=str(SHOTS / f"complaint-{size}.png"), full_page=True)
    no_horizontal_scroll(page)
    url = page.url

    reception = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(reception, live_server, "reception1")
    reception.goto(url)
    expect(reception.locator(".complaint-customer")).to_contain_text(masked)
    expect(reception.locator("main")).not_to_contain_text(mobile)
    reception.screenshot(path=str(SHOTS / f"complaint-masked-{size}.png"), full_page=True)
    no_horizontal_scroll(reception)
    page.context.close()
    reception.context.close()
