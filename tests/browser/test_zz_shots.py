import pytest
from playwright.sync_api import expect
from tests.browser.conftest import log_in
from tests.browser.test_card_page_browser import SIZES, card_in_db, toast

OUT = "/tmp/shots/cardpage"


@pytest.mark.parametrize("size", ["tablet", "portrait", "phone"])
def test_shots(browser, live_server, size):
    live_server.expect_csp_reports = True
    vp = SIZES[size]
    tag = f"{vp['width']}x{vp['height']}"
    page = browser.new_context(viewport=vp, locale="zh-CN").new_page()
    log_in(page, live_server, "sales1")
    page.locator(".mine-card", has_text="王先生").get_by_role("link", name="填写回访结果").click()
    d = page.locator("#drawer")
    d.get_by_label("已接通").check()
    d.get_by_role("button", name="标记完成").click()
    expect(d.locator(".has-error .error")).to_be_visible()
    page.screenshot(path=f"{OUT}/drawer-error-{tag}.png")
    d.get_by_label("满意度（1–10）").select_option("3")
    d.get_by_role("button", name="标记完成").click()
    expect(toast(page)).to_be_visible()
    page.screenshot(path=f"{OUT}/drawer-outcome-toast-{tag}.png")
    card = card_in_db(live_server, "试驾车预约确认")
    page.goto(f"{live_server.url}/board/cards/{card.id}")
    page.locator("#card-page").get_by_role("button", name="标记完成").click()
    expect(toast(page)).to_be_visible()
    page.screenshot(path=f"{OUT}/card-page-done-toast-{tag}.png")
    page.context.close()
    page = browser.new_context(viewport=vp, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/board/?role=sales_care")
    page.locator(".card", has_text="整理本周交车档案").get_by_role("link").click()
    expect(page.locator("#drawer .reassign-form")).to_be_visible()
    page.locator("#drawer").get_by_placeholder("输入姓名筛选").fill("张")
    page.screenshot(path=f"{OUT}/board-drawer-reassign-{tag}.png")
    page.locator("#drawer").get_by_role("button", name="⇄ 转派").click()
    expect(toast(page)).to_be_visible()
    page.screenshot(path=f"{OUT}/board-drawer-reassigned-{tag}.png")
    page.context.close()
