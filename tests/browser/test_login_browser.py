"""Logging in on a tablet-sized screen, in Chinese, with the CSRF token a real browser carries."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_login_on_a_tablet(page, live_server, shot):
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("heading", name="登录 CareBoard")).to_be_visible()
    shot(page, "login-1024x768")
    log_in(page, live_server, "admin")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="账号管理")).to_be_visible()
    nav.get_by_role("link", name="账号管理").click()
    expect(page.get_by_role("heading", name="账号管理")).to_be_visible()
    expect(page.get_by_role("cell", name="sales1", exact=True)).to_be_visible()
    shot(page, "accounts-1024x768")


def test_wrong_password_shows_the_message(page, live_server):
    log_in(page, live_server, "sales1", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")


def test_language_switch_in_the_header(page, live_server, shot):
    log_in(page, live_server, "sales1")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    shot(page, "start-english-1024x768")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_staff_is_refused_admin_pages_in_the_browser(page, live_server):
    log_in(page, live_server, "sales1")
    response = page.goto(f"{live_server.url}/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", name="无权操作")).to_be_visible()
