"""The customer pages in Chromium on a tablet: create a customer and a vehicle through the forms, record a
delivery and a visit, find the customer with the live search, open them. Fields are found by their ids
(the form field names), so the test does not depend on the wording of the labels."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Customer, Sale, ServiceVisit, Vehicle
from tests.browser.conftest import log_in

PORTRAIT = {"width": 768, "height": 1024}


def customer_in_db(server, name: str) -> tuple[Customer, list[Vehicle], int, int]:
    with server.app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.name == name))
        vehicles = db.session.scalars(select(Vehicle).where(Vehicle.customer_id == customer.id)).all()
        sales = len(db.session.scalars(select(Sale).where(Sale.customer_id == customer.id)).all())
        visits = len(db.session.scalars(select(ServiceVisit).where(ServiceVisit.customer_id == customer.id)).all())
        db.session.expunge_all()
        return customer, vehicles, sales, visits


def top_shot(shot, page, name: str):
    """A full-page screenshot from the top, so the sticky header is drawn where it belongs."""
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def submit(page, form_selector: str = "main form[method=post]"):
    page.locator(form_selector).locator("button[type=submit]").first.click()


def test_supervisor_creates_finds_and_opens_a_customer(page, live_server, shot):
    log_in(page, live_server, "supervisor")
    page.locator("nav a[href='/customers/']").click()
    expect(page).to_have_url(re.compile(r"/customers/$"))
    page.locator("a[href='/customers/new']").click()

    # The customer: a bad number first, then the right one.
    page.locator("#name").fill("浏览器测试客户")
    page.locator("#mobile").fill("1391234567")
    page.locator("#birthday").fill("1990-05-20")
    page.locator("#sales_care").select_option(index=1)
    submit(page)
    expect(page.locator(".field.has-error #mobile")).to_be_visible()
    top_shot(shot, page, "customer-form-error-1024x768")
    page.locator("#mobile").fill("139 1234 5678")
    submit(page)
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator(".phone")).to_have_text("13912345678")      # a supervisor sees the whole number

    # Its vehicle.
    page.locator("main a[href$='/vehicles/new']").first.click()
    page.locator("#vin").fill("lsvxy12345f000042")
    page.locator("#plate").fill("沪A·E2468")
    page.locator("#model").fill("Octavia Pro")
    page.locator("#delivery_date").fill("2026-11-20")
    page.locator("#warranty_end").fill("2029-11-20")
    page.locator("#insurance_expiry").fill("2027-11-19")
    page.locator("#next_inspection").fill("2032-11-20")
    page.locator("#first_maintenance_due").fill("2027-05-20")
    top_shot(shot, page, "customer-vehicle-form-1024x768")
    submit(page)
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    vehicle = page.locator("article.vehicle")
    expect(vehicle.locator(".plate")).to_have_text("沪A·E2468")
    expect(vehicle.locator(".vin")).to_have_text("LSVXY12345F000042")
    expect(vehicle).to_contain_text("2029-11-20")

    # A delivery and a service visit, on the timeline.
    page.locator("details.record-form").nth(0).locator("summary").click()
    page.locator("#sale-delivered_on").fill("2026-11-20")
    submit(page, "form[action$='/sales']")
    expect(page.locator(".timeline .entry-sale")).to_have_count(1)
    page.locator("details.record-form").nth(1).locator("summary").click()
    page.locator("#visit-visited_on").fill("2026-11-23")
    page.locator("#visit-work_order").fill("WO-BROWSER-1")
    page.locator("#visit-description").fill("首保")
    top_shot(shot, page, "customer-record-visit-1024x768")
    submit(page, "form[action$='/visits']")
    expect(page.locator(".timeline .entry-visit")).to_contain_text("WO-BROWSER-1")
    expect(vehicle).to_contain_text("2026-11-23")                       # the last service visit
    top_shot(shot, page, "customer-1024x768")

    customer, vehicles, sales, visits = customer_in_db(live_server, "浏览器测试客户")
    assert customer.mobile == "13912345678" and customer.sales_care_id is not None
    assert [(v.plate, v.vin) for v in vehicles] == [("沪AE2468", "LSVXY12345F000042")]
    assert (sales, visits) == (1, 1)

    # The live search finds it by the last digits of the plate, without a page load.
    page.locator("nav a[href='/customers/']").click()
    page.evaluate("window.__samePage = true")
    page.locator("input[name=q]").press_sequentially("E2468", delay=50)
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("浏览器测试客户")
    expect(results).to_contain_text("沪A·E2468")
    expect(page).to_have_url(re.compile(r"q=E2468"))
    assert page.evaluate("window.__samePage === true")                 # htmx swapped the results only
    shot(page, "customers-search-1024x768")
    results.get_by_role("link", name="浏览器测试客户").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.id}$"))
    expect(page.locator("h1")).to_have_text("浏览器测试客户")


def make_known_customer(server) -> int:
    """A customer with a vehicle, a delivery, a visit and a callback card of the rules engine."""
    from datetime import date

    from careboard.models import Role, User
    from careboard.services import board, customers
    with server.app.app_context():
        care = db.session.scalar(select(User).where(User.role == Role.SALES_CARE.value).limit(1))
        customer = customers.create_customer(db.session, name="竖屏测试客户", mobile="13700009999", sales_care=care)
        vehicle = customers.save_vehicle(db.session, customer, vin="LSVXY12345F000043", plate="沪C·77777",
                                         model="Kodiaq", warranty_end=date(2029, 6, 1))
        customers.record_sale(db.session, vehicle, date(2026, 6, 1))
        customers.record_visit(db.session, vehicle, date(2026, 9, 1), work_order="WO-PORTRAIT",
                               description="更换雨刮")
        card = board.create_card(db.session, actor=None, kind="callback", title="交车3天回访：竖屏测试客户",
                                 role=Role.SALES_CARE, assignee=care, due_at=None)
        card.customer_id = customer.id
        db.session.commit()
        return customer.id


def test_customer_page_in_portrait(browser, live_server, shot):
    customer_id = make_known_customer(live_server)
    page = browser.new_context(viewport=PORTRAIT, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("#results tbody tr", has_text="竖屏测试客户")).to_be_visible()
    shot(page, "customers-768x1024")
    page.locator("#results").get_by_role("link", name="竖屏测试客户").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer_id}$"))
    timeline = page.locator(".timeline")
    expect(timeline.locator(".entry-card a")).to_have_text("交车3天回访：竖屏测试客户")
    expect(timeline.locator(".entry-visit")).to_contain_text("WO-PORTRAIT")
    expect(timeline.locator(".entry-sale")).to_contain_text("2026-06-01")
    top_shot(shot, page, "customer-768x1024")
    timeline.locator(".entry-card a").click()
    expect(page).to_have_url(re.compile(r"/board/cards/\d+$"))
    page.context.close()
