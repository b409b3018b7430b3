"""The customer import in the browser: the check and the import run in the background thread while the
page's progress region polls itself, at the three sizes the store's devices have."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

SIZES = [(1024, 768), (768, 1024), (390, 844)]

CSV = ("客户姓名,手机,车牌号,VIN,车型,交车日期\n"
       "韩梅梅,13912340001,沪A12345,LSVAB4BR1JN000001,明锐,2026-11-20\n"
       "李雷,13912340002,沪B54321,LSVAB4BR1JN000002,速派,2026-11-21\n")


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width} px"


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_supervisor_checks_and_imports_a_file_in_the_background(browser, live_server, shot, tmp_path,
                                                                  width, height):
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN",
                            timezone_id="Asia/Shanghai")
    upload = tmp_path / "dms-export.csv"
    upload.write_text(CSV, encoding="utf-8")
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/customers/import")
    no_sideways_scroll(page)
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="检查文件").click()

    # The job's page: the background thread checks the file, the region polls until the report is there.
    expect(page.get_by_role("heading", name="可以导入")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-preview")).to_contain_text("韩梅梅")
    no_sideways_scroll(page)
    shot(page, f"import-checked-{width}x{height}")

    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("heading", name="已导入")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-job")).to_contain_text("新增 2 位")
    no_sideways_scroll(page)
    shot(page, f"import-done-{width}x{height}")

    # Leave and come back: the upload page lists the job, and its link opens the result again.
    page.goto(f"{live_server.url}/customers/import")
    page.locator("#import-jobs").get_by_role("link", name="dms-export.csv").first.click()
    expect(page.get_by_role("heading", name="已导入")).to_be_visible()
    page.close()
