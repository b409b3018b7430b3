"""Logging in and out, the rate limit, deactivated accounts, the idle logout, CSRF."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from flask_login import current_user

from careboard.models import User
from tests.factories import PASSWORD


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "登录 CareBoard" in html and 'lang="zh-CN"' in html


def test_login_success_opens_a_session(client, auth, people, session):
    response = auth.login("sales1")
    assert response.status_code == 303
    with client:
        client.get("/account")
        assert current_user.username == "sales1"
    assert session.get(User, people["sales1"].id).last_login_at is not None


def test_login_redirects_to_a_local_next_only(client, people):
    ok = client.post("/login?next=/account", data={"username": "sales1", "password": PASSWORD})
    assert ok.headers["Location"] == "/account"
    client.post("/logout")
    evil = client.post("/login?next=https://evil.example/x", data={"username": "sales1", "password": PASSWORD})
    assert evil.headers["Location"] == "/"


@pytest.mark.parametrize("username,password", [
    ("sales1", "wrong-password"), ("nobody", PASSWORD), ("SALES1 ", "wrong")])
def test_login_failure_says_so_and_opens_nothing(client, people, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302          # still anonymous


def test_user_name_is_case_insensitive(client, people):
    assert client.post("/login", data={"username": " Sales1", "password": PASSWORD}).status_code == 303


def test_empty_login_form_is_refused(client, people):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 422


def test_failed_logins_are_rate_limited_with_a_clear_message(client, people):
    for _ in range(5):
        assert client.post("/login", data={"username": "sales1", "password": "nope"}).status_code == 401
    limited = client.post("/login", data={"username": "sales1", "password": PASSWORD})
    assert limited.status_code == 429
    assert "登录失败次数过多" in limited.get_data(as_text=True)
    assert client.get("/account").status_code == 302          # the right password did not get in
    # Another person on the same tablet is not locked out by it.
    assert client.post("/login", data={"username": "sales2", "password": PASSWORD}).status_code == 303


def test_successful_logins_do_not_count_against_the_limit(client, people):
    for _ in range(8):
        assert client.post("/login", data={"username": "sales1", "password": PASSWORD}).status_code in (302, 303)
        client.post("/logout")


def test_deactivated_user_cannot_log_in(client, people, session):
    people["sales1"].active = False
    session.commit()
    response = client.post("/login", data={"username": "sales1", "password": PASSWORD})
    assert response.status_code == 401


def test_deactivation_ends_an_open_session(client, auth, people, session):
    auth.login("sales1")
    assert client.get("/account").status_code == 200
    people["sales1"].active = False
    session.commit()
    assert client.get("/account").status_code == 302


def test_idle_logout(client, auth, people, app):
    with time_machine.travel("2026-11-25 09:00 +0800", tick=False) as traveller:
        auth.login("sales1")
        assert client.get("/account").status_code == 200
        traveller.shift(timedelta(minutes=app.config["IDLE_LOGOUT_MINUTES"] - 1))
        assert client.get("/account").status_code == 200        # activity restarts the clock
        traveller.shift(timedelta(minutes=app.config["IDLE_LOGOUT_MINUTES"] + 1))
        response = client.get("/account")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        page = client.get("/login").get_data(as_text=True)
        assert "无操作，已自动退出登录" in page
        assert client.get("/account").status_code == 302


def test_idle_logout_answers_htmx_with_a_redirect_header(client, auth, people, app):
    with time_machine.travel("2026-11-25 09:00 +0800", tick=False) as traveller:
        auth.login("sales1")
        client.get("/account")
        traveller.shift(timedelta(minutes=app.config["IDLE_LOGOUT_MINUTES"] + 1))
        response = client.get("/account", headers={"HX-Request": "true"})
        assert response.headers["HX-Redirect"] == "/login"


def test_logout(client, auth, people):
    auth.login("sales1")
    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/account").status_code == 302


def test_own_password_change(client, auth, people):
    auth.login("sales1")
    bad = client.post("/account", data={"current": "wrong", "new": "brand-new-pw", "confirm": "brand-new-pw"})
    assert bad.status_code == 422 and "当前密码不正确" in bad.get_data(as_text=True)
    ok = client.post("/account", data={"current": PASSWORD, "new": "brand-new-pw", "confirm": "brand-new-pw"})
    assert ok.status_code == 303
    auth.logout()
    assert auth.login("sales1", "brand-new-pw").status_code == 303


@pytest.fixture
def csrf_app_config(app_config):
    return type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True})


@pytest.fixture
def csrf_client(csrf_app_config):
    from careboard import create_app
    app = create_app(csrf_app_config)
    with app.app_context():
        yield app.test_client()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def test_csrf_refuses_a_write_without_token(csrf_client, people):
    response = csrf_client.post("/login", data={"username": "sales1", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert csrf_client.get("/account").status_code == 302


def test_csrf_token_from_the_form_and_from_the_htmx_header(csrf_client, people):
    token = _token(csrf_client.get("/login").get_data(as_text=True))
    logged_in = csrf_client.post("/login", data={"username": "sales1", "password": PASSWORD, "csrf_token": token})
    assert logged_in.status_code == 303
    page = csrf_client.get("/account").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    # A logout without the token is refused and changes nothing.
    assert csrf_client.post("/logout", headers={"HX-Request": "true"}).status_code == 400
    assert csrf_client.get("/account").status_code == 200
    # With the header htmx sends, it goes through.
    response = csrf_client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert response.status_code == 303
    assert csrf_client.get("/account").status_code == 302


def test_background_polls_do_not_count_as_activity(client, auth, people, app):
    idle = app.config["IDLE_LOGOUT_MINUTES"]
    with time_machine.travel("2026-11-25 09:00 +0800", tick=False) as traveller:
        auth.login("sales1")
        client.get("/account")
        for _ in range(3):                                   # the board polls on its own while nobody looks
            traveller.shift(timedelta(minutes=idle / 2))
            response = client.get("/board/mine", headers={"HX-Request": "true", "X-CareBoard-Poll": "1"})
        assert response.status_code == 200 and "HX-Redirect" in response.headers
