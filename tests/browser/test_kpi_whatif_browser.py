"""The director's what-if in Chromium (issue 17, item 9): the form built from the template's metrics answers
every change with the new total, a bad figure with its message beside the field, at a landscape tablet's, an
upright tablet's and a phone's size, without scrolling sideways; without JavaScript the Compute button does the same."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

SIZES = {"tablet": {"width": 1024, "height": 768}, "portrait": {"width": 768, "height": 1024},
         "phone": {"width": 390, "height": 844}}
PAGE = "/scorecard/templates/cs_supervisor"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", ["tablet", "portrait", "phone"])
def test_changing_a_figure_updates_the_total(browser, live_server, shot, size):
    page = browser.new_context(viewport=SIZES[size], locale="zh-CN").new_page()
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{PAGE}")
    total = page.locator("#whatif-result .whatif-total")
    expect(total).to_have_text("结果：90 / 100")                  # the targets: all but 10 of insurance's 20
    assert no_horizontal_scroll(page)
    small = page.evaluate("""[...document.querySelectorAll('.template-form input:not([type=hidden]), '
        + '.template-form select, .template-form button')].filter(e => e.getBoundingClientRect().height < 44)
        .map(e => e.name || e.textContent)""")
    assert small == []                                              # every tap target 44 px high

    rank = page.get_by_label("数值 (%)").first                     # 满意度: the regional rank percentile
    expect(page.locator("#m-satisfaction")).to_have_value("0")
    page.locator("#m-satisfaction").fill("10")
    expect(total).to_have_text("结果：87.5 / 100")                 # 30 → 27.5 (10 in the 0–20 band)
    expect(page.locator("#whatif-result")).to_contain_text("27.5")

    page.locator("#m-improvement-band").select_option("some")
    page.locator("#m-improvement-value").fill("7")
    expect(total).to_have_text("结果：84.5 / 100")                 # 10 → 7

    page.locator("#m-satisfaction").fill("120")
    expect(page.locator("#err-m-satisfaction")).to_have_text("请输入 0 到 100 之间的数字。")
    expect(page.locator("#m-satisfaction")).to_have_attribute("aria-invalid", "true")
    expect(total).to_have_count(0)                                  # nothing computed from a bad figure
    expect(page.locator("#whatif-result")).to_contain_text("以上标出的数字改正后才会计算。")
    assert rank.count() == 1
    page.locator("#m-satisfaction").fill("10")
    expect(total).to_have_text("结果：84.5 / 100")
    expect(page.locator("#err-m-satisfaction")).to_have_text("")
    expect(page.locator("#m-satisfaction")).not_to_have_attribute("aria-invalid", "true")
    assert no_horizontal_scroll(page)
    shot(page, f"kpi-whatif-{size}")


def test_without_javascript_the_compute_button_answers(browser, live_server):
    page = browser.new_context(viewport=SIZES["tablet"], locale="zh-CN", java_script_enabled=False).new_page()
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{PAGE}")
    page.locator("#m-satisfaction").fill("10")
    page.get_by_role("button", name="计算", exact=True).click()
    expect(page.locator("#whatif-result .whatif-total")).to_have_text("结果：87.5 / 100")
    expect(page.locator("#m-satisfaction")).to_have_value("10")
    page.locator("#m-satisfaction").fill("-3")
    page.get_by_role("button", name="计算", exact=True).click()
    expect(page.locator("#err-m-satisfaction")).to_have_text("请输入 0 到 100 之间的数字。")
    expect(page.locator("#m-satisfaction")).to_have_attribute("aria-invalid", "true")
