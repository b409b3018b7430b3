"""A photo the server refuses shows the server's one message, never the network-failure note, which is for
a save that did not reach the server (issue 17, item 12): a file that is not a picture (422, the message on
the item) after an earlier attempt failed offline, and an upload larger than the server takes (413, a toast)."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from careboard.extensions import db
from careboard.models import ChecklistRun, PhotoLink, RunAnswer
from careboard.services import board
from tests.browser.conftest import log_in
from tests.photos import jpeg

PHONE = {"width": 390, "height": 844}


def test_a_refused_photo_shows_exactly_one_message_the_servers(browser, live_server, shot, tmp_path):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_bytes(b"this is a text file, not a JPEG\n" * 20)
    offline_photo = tmp_path / "offline.jpg"
    offline_photo.write_bytes(jpeg(size=(320, 240), color=(60, 60, 180)))
    big_photo = tmp_path / "big.jpg"
    big_photo.write_bytes(jpeg(size=(640, 480), color=(180, 60, 60)))
    with live_server.app.app_context():
        run = db.session.scalar(select(ChecklistRun).where(ChecklistRun.area_name == "洽谈区",
                                                           ChecklistRun.status == "open"))
        who = board.get_card(db.session, run.card_id).assignee.username
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    log_in(page, live_server, who)
    page.goto(f"{live_server.url}/checklist/runs/{run.id}")
    item = page.locator(".run-item").nth(0)
    # The tap's save is answered and swapped in before the connection drops: its answer redraws the item (and
    # would take away the note of the failure that follows, on a slow machine). The response event comes with
    # the headers, before htmx swaps, so the test waits until the old item is gone from the page and htmx has
    # settled, not only for the response (the item may show its photo box from before).
    item.evaluate("li => { li.dataset.beforeTap = '1'; }")
    with page.expect_response(lambda r: "/answers/" in r.url and r.request.method == "POST") as saved:
        item.locator("label.tri-fail").click()
    assert saved.value.status == 200
    expect(page.locator(".run-item[data-before-tap]")).to_have_count(0)
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
    expect(item.locator(".photo-box")).to_be_visible()
    page.context.set_offline(True)                                      # a first try without a connection
    item.locator('input[type="file"]').set_input_files(str(offline_photo))
    expect(item.get_by_text("未保存：网络连接失败。")).to_be_visible()          # true then
    page.context.set_offline(False)
    item.locator('input[type="file"]').set_input_files(str(not_a_photo))   # the server answers: not a photo
    expect(item.get_by_text("不是可识别的照片", exact=False)).to_be_visible()
    expect(item.locator("[role=alert]:visible")).to_have_count(1)
    expect(page.locator(".save-failed-note:visible")).to_have_count(0)
    expect(page.locator(".run-item.save-failed")).to_have_count(0)
    expect(page.locator("#toasts .toast")).to_have_count(0)
    shot(page, "checklist-photo-refused-390x844")

    live_server.app.config["MAX_CONTENT_LENGTH"] = len(big_photo.read_bytes()) // 2     # refused with 413
    item.locator('input[type="file"]').set_input_files(str(big_photo))
    expect(page.locator("#toasts .toast")).to_have_count(1)
    expect(page.locator("#toasts .toast")).to_contain_text("文件")
    expect(page.locator(".save-failed-note:visible")).to_have_count(0)
    expect(page.locator(".run-item.save-failed")).to_have_count(0)
    shot(page, "checklist-photo-too-large-390x844")
    with live_server.app.app_context():
        answer = db.session.scalar(select(RunAnswer).where(RunAnswer.run_id == run.id).order_by(RunAnswer.position))
        assert answer.result == "fail"
        assert db.session.scalar(select(func.count()).select_from(PhotoLink)
                                 .where(PhotoLink.answer_id == answer.id)) == 0
    page.context.close()
