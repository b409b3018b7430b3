"""The administrator sets a chat robot up in the browser (issue 19): adds it, sends a test message, and sees
what the background sender made of it — the robot's answer or its error — at three sizes."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from careboard.runner import send_robot_messages
from tests.browser.conftest import log_in
from tests.test_robots import RobotServer

SIZES = {"1024x768": {"width": 1024, "height": 768}, "768x1024": {"width": 768, "height": 1024},
         "390x844": {"width": 390, "height": 844}}


@pytest.fixture
def app_config(app_config):
    return type("Robots", (app_config,), {"CAREBOARD_ROBOT_HOSTS": "127.0.0.1",
                                          "CAREBOARD_ROBOT_TIMEOUT_SECONDS": 2})


@pytest.fixture
def server():
    robot_server = RobotServer()
    yield robot_server
    robot_server.close()


def test_an_admin_adds_a_robot_tests_it_and_sees_its_answer(browser, live_server, server, shot):
    page = browser.new_context(viewport=SIZES["1024x768"], locale="zh-CN").new_page()
    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/settings")
    page.get_by_role("link", name="群机器人（企业微信、钉钉） →").click()
    expect(page.get_by_role("heading", name="群机器人", exact=True)).to_be_visible()
    page.get_by_label("名称（例如群名）").fill("售后客服群")
    page.get_by_label("Webhook 地址").fill("https://example.com/cgi-bin/webhook/send?key=x")      # not the robot's
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("请粘贴机器人完整的 Webhook 地址")).to_be_visible()                   # refused, said
    page.get_by_label("Webhook 地址").fill(server.url("wecom"))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("机器人“售后客服群”已保存。")).to_be_visible()
    row = page.locator("tr", has_text="售后客服群")
    expect(row).to_contain_text("127.0.0.1 …5aaa")
    assert "693a91f6" not in page.content()                                        # the key is never shown
    row.get_by_role("button", name="发送测试消息").click()
    expect(page.get_by_text("测试消息已排队")).to_be_visible()
    assert server.requests == []                                                     # not inside the request
    server.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    assert send_robot_messages(live_server.app) == 1                                 # the background sender
    page.reload()
    expect(page.locator("tr", has_text="售后客服群")).to_contain_text("invalid webhook url")
    for name, size in SIZES.items():
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        shot(page, f"admin-robots-{name}")
    page.locator("tr", has_text="售后客服群").get_by_role("button", name="重发已放弃的消息").click()
    expect(page.get_by_text("已放弃的消息已重新排队。")).to_be_visible()
    page.context.close()
