"""The morning 5S check on a tablet (768×1024): the inspector opens the checklist from the board, taps
every item, photographs a failed one; the responsible person finds the rectification card, puts it right
with an "after" photo; the supervisor verifies it with both photos in view."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Card, ChecklistRun, RunAnswer
from careboard.services import board
from tests.browser.conftest import log_in
from tests.photos import jpeg

TABLET = {"width": 768, "height": 1024}


def test_a_full_run_with_a_photo_and_its_rectification(browser, live_server, shot, tmp_path):
    before_photo, after_photo = tmp_path / "before.jpg", tmp_path / "after.jpg"
    before_photo.write_bytes(jpeg(size=(640, 480), color=(180, 60, 60)))
    after_photo.write_bytes(jpeg(size=(640, 480), color=(60, 170, 90)))

    with live_server.app.app_context():                                     # today's run, made by the tick
        today = db.session.scalar(select(ChecklistRun).where(ChecklistRun.area_name == "展车",
                                                             ChecklistRun.status == "open"))
        who = board.get_card(db.session, today.card_id).assignee.username
    inspector = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(inspector, live_server, who)
    inspector.goto(f"{live_server.url}/board/mine")
    inspector.locator(".mine-card", has_text="5S日检：展车").locator(".card-link").click()
    inspector.get_by_role("link", name="打开检查表").click()
    expect(inspector.get_by_role("heading", name="5S日检：展车")).to_be_visible()
    items = inspector.locator(".run-item")
    count = items.count()
    assert count >= 5
    first = items.nth(0)
    first.locator("label.tri-fail").click()
    expect(first.locator(".photo-box")).to_be_visible()                      # the camera appears with the fail
    first.get_by_placeholder("可选：看到的情况").fill("左前轮毂有灰尘")
    first.locator('input[type="file"]').set_input_files(str(before_photo))
    expect(first.locator(".thumbs img")).to_have_count(1)
    for i in range(1, count):
        items.nth(i).locator("label.tri-pass").click()
        expect(items.nth(i)).to_have_class("run-item result-pass")           # saved: the server's fragment
    shot(inspector, "checklist-run-768x1024")
    inspector.get_by_role("button", name="提交检查").click()
    expect(inspector.get_by_text("已向责任人发出 1 张限时整改卡")).to_be_visible()

    with live_server.app.app_context():
        answer = db.session.scalar(select(RunAnswer).where(RunAnswer.run_id == today.id, RunAnswer.result == "fail"))
        assert answer.note == "左前轮毂有灰尘"
        card = board.get_card(db.session, answer.rectification_card_id)
        assert card.assignee.username == "delivery1"
        title = card.title

    fixer = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(fixer, live_server, "delivery1")
    fixer.goto(f"{live_server.url}/board/mine")
    fixer.locator(".mine-card", has_text=title[:20]).first.locator(".card-link").click()
    fixer.get_by_role("link", name="整改前后照片").click()
    expect(fixer.locator(".before-after img")).to_have_count(1)
    fixer.get_by_label("整改后的照片").set_input_files(str(after_photo))
    fixer.get_by_role("button", name="上传照片").click()
    expect(fixer.locator(".before-after img")).to_have_count(2)
    fixer.get_by_label("整改情况").fill("已用专用清洁剂擦净")
    fixer.get_by_role("button", name="已整改：提交验收").click()
    expect(fixer.get_by_text("提交验收时间")).to_be_visible()
    shot(fixer, "checklist-rectification-768x1024")

    boss = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(boss, live_server, "supervisor")
    boss.goto(f"{live_server.url}/checklist/")
    boss.get_by_role("link", name=title).click()
    expect(boss.locator(".before-after img")).to_have_count(2)              # before and after side by side
    shot(boss, "checklist-verify-768x1024")
    boss.get_by_role("button", name="验收通过：完成").click()
    expect(boss.locator(".rectification .heading-row .tag")).to_have_text("已完成")
    with live_server.app.app_context():
        assert db.session.get(Card, card.id).column == "done"
    for page in (inspector, fixer, boss):
        page.context.close()


def test_a_tap_that_cannot_be_saved_offers_a_retry_and_is_saved_by_it(browser, live_server, shot):
    with live_server.app.app_context():
        run = db.session.scalar(select(ChecklistRun).where(ChecklistRun.area_name == "洽谈区",
                                                           ChecklistRun.status == "open"))
        who = board.get_card(db.session, run.card_id).assignee.username
    page = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(page, live_server, who)
    page.goto(f"{live_server.url}/checklist/runs/{run.id}")
    item = page.locator(".run-item").nth(0)
    page.context.set_offline(True)                                           # the showroom Wi-Fi drops
    item.locator("label.tri-na").click()
    expect(item.get_by_text("未保存：网络连接失败。")).to_be_visible()
    expect(item.locator("[data-retry]")).to_be_visible()
    shot(page, "checklist-retry-768x1024")
    with live_server.app.app_context():
        assert db.session.scalar(select(RunAnswer.result).where(RunAnswer.run_id == run.id)
                                 .order_by(RunAnswer.position)) is None
    page.context.set_offline(False)
    item.locator("[data-retry]").click()
    expect(page.locator(".run-item").nth(0)).to_have_class("run-item result-na")
    with live_server.app.app_context():
        assert db.session.scalar(select(RunAnswer.result).where(RunAnswer.run_id == run.id)
                                 .order_by(RunAnswer.position)) == "na"
    page.context.close()
