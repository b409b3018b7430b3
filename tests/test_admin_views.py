"""Accounts and settings: administrators only; every change validated; nothing deleted."""
from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import func, select

from careboard.models import Level, Role, Setting, User
from tests.factories import PASSWORD

SETTINGS = {"due_soon_hours": 2, "poll_seconds": 20, "wip_limit_todo": 0, "wip_limit_doing": 3,
            "wip_limit_waiting": 0, "callback_lead_days": 1, "backfill_days": 7, "first_maintenance_lead_days": 7,
            "maintenance_interval_months": 5, "maintenance_lead_days": 7, "warranty_lead_days": 30,
            "inspection_lead_days": 30, "insurance_lead_days": 45, "birthday_lead_days": 1, "holiday_lead_days": 3,
            "reminder_due_days": 3, "winback_months": 6, "callback_attempts": 3, "satisfaction_threshold": 6,
            "rectification_days": 1, "scorecard_entry_day": 25, "holidays": "",
            "complaint_response_minutes": 30, "complaint_handoff_hours": 2, "complaint_handoff_aftersales_hours": 1,
            "complaint_solution_hours": 24, "complaint_resolve_hours": 24, "complaint_second_callback_hours": 24,
            "clock_complaint_response": "opening", "clock_complaint_handoff": "opening",
            "clock_complaint_solution": "calendar", "clock_complaint_resolve": "calendar",
            "clock_complaint_second_callback": "calendar", "clock_rectification": "opening",
            "clock_care_cards": "opening"}
ADMIN_GETS = ["/admin/users", "/admin/users/new", "/admin/users/1", "/admin/settings", "/admin/robots",
              "/admin/robots/1"]
ADMIN_POSTS = ["/admin/users/new", "/admin/users/1", "/admin/users/1/active", "/admin/users/1/password",
               "/admin/settings", "/admin/robots", "/admin/robots/1", "/admin/robots/1/test", "/admin/robots/1/retry",
               "/admin/robots/1/delete"]


def _admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


def test_the_lists_above_cover_every_admin_route(app):
    covered = {p.replace("/users/1", "/users/<int:user_id>").replace("/robots/1", "/robots/<int:robot_id>")
               for p in ADMIN_GETS + ADMIN_POSTS}
    assert {r.rule for r in _admin_rules(app)} == covered


@pytest.mark.parametrize("username", ["sales1", "supervisor", "director"])
def test_non_admins_are_refused_every_admin_route(client, auth, people, session, username):
    auth.login(username)
    before = session.scalar(select(func.count()).select_from(User))
    for url in ADMIN_GETS:
        assert client.get(url).status_code == 403, url
    for url in ADMIN_POSTS:
        response = client.post(url, data={"username": "x1", "display_name": "X", "role": "sales_care",
                                          "level": 40, "password": "long-enough", "active": "0",
                                          "store_name": "Hijacked", "timezone": "UTC", "language": "en"})
        assert response.status_code == 403, url
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(User)) == before
    assert session.get(User, 1).active and session.get(User, 1).level == Level.ADMIN
    assert session.get(Setting, "store_name") is None


def test_anonymous_is_sent_to_login(client, people):
    for url in ADMIN_GETS:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_creates_an_account_that_can_log_in(client, auth, people, session):
    auth.login("admin")
    response = client.post("/admin/users/new", data={
        "username": "phone2", "display_name": "孙二", "role": "phone_reception", "level": 10,
        "password": "initial-pw", "language": "zh_CN"})
    assert response.status_code == 303
    user = session.scalar(select(User).where(User.username == "phone2"))
    assert user.role == Role.PHONE_RECEPTION and user.level == Level.STAFF
    auth.logout()
    assert auth.login("phone2", "initial-pw").status_code == 303


@pytest.mark.parametrize("data,message", [
    ({"username": "Bad Name!"}, "用户名为 2 到 40 个小写字母"),
    ({"username": "sales1"}, "已被使用"),
    ({"password": "short"}, "字段长度必须介于 8 到 200 个字符之间"),
    ({"role": "janitor"}, "不是有效的选择"),
    ({"display_name": ""}, "该字段是必填字段"),
])
def test_bad_account_input_is_refused_and_creates_nothing(client, auth, people, session, data, message):
    auth.login("admin")
    before = session.scalar(select(func.count()).select_from(User))
    form = {"username": "newbie", "display_name": "New", "role": "sales_care", "level": 10,
            "password": "initial-pw", "language": "zh_CN", **data}
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_edit_role_and_level(client, auth, people, session):
    auth.login("admin")
    uid = people["sales2"].id
    response = client.post(f"/admin/users/{uid}", data={
        "display_name": "Sales Two", "role": "aftersales_care", "level": 20, "language": "en"})
    assert response.status_code == 303
    session.expire_all()
    user = session.get(User, uid)
    assert (user.display_name, user.role, user.level, user.language) == \
        ("Sales Two", "aftersales_care", Level.SUPERVISOR, "en")


def test_admin_cannot_demote_or_deactivate_themselves(client, auth, people, session):
    auth.login("admin")
    uid = people["admin"].id
    demote = client.post(f"/admin/users/{uid}", data={
        "display_name": "A", "role": "analyst", "level": 10, "language": "zh_CN"})
    assert demote.status_code == 422 and "不能降低自己的权限级别" in demote.get_data(as_text=True)
    client.post(f"/admin/users/{uid}/active", data={"active": "0"})
    session.expire_all()
    user = session.get(User, uid)
    assert user.level == Level.ADMIN and user.active


def test_deactivate_keeps_the_row_and_refuses_login_then_reactivate(client, auth, people, session):
    auth.login("admin")
    uid = people["sales1"].id
    assert client.post(f"/admin/users/{uid}/active", data={"active": "0"}).status_code == 303
    session.expire_all()
    assert session.get(User, uid) is not None and not session.get(User, uid).active
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "sales1" in listing and "已停用" in listing
    auth.logout()
    assert auth.login("sales1").status_code == 401
    auth.login("admin")
    client.post(f"/admin/users/{uid}/active", data={"active": "1"})
    auth.logout()
    assert auth.login("sales1").status_code == 303


def test_reset_password(client, auth, people):
    auth.login("admin")
    uid = people["sales1"].id
    assert client.post(f"/admin/users/{uid}/password", data={"password": "short"}).status_code == 303
    auth.logout()
    assert auth.login("sales1", PASSWORD).status_code == 303       # the short one was refused
    auth.logout()
    auth.login("admin")
    client.post(f"/admin/users/{uid}/password", data={"password": "reset-by-admin"})
    auth.logout()
    assert auth.login("sales1", "reset-by-admin").status_code == 303


def test_unknown_user_is_404(client, auth, people):
    auth.login("admin")
    assert client.get("/admin/users/9999").status_code == 404


def test_settings_store_name_and_timezone(client, auth, people, session):
    auth.login("admin")
    response = client.post("/admin/settings", data={**SETTINGS, "store_name": "东风 4S 店", "timezone": "Asia/Urumqi"})
    assert response.status_code == 303
    assert session.get(Setting, "store_name").value == "东风 4S 店"
    assert "东风 4S 店" in client.get("/admin/settings").get_data(as_text=True)


def test_settings_refuse_an_unknown_time_zone(client, auth, people, session):
    auth.login("admin")
    response = client.post("/admin/settings", data={**SETTINGS, "store_name": "X", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert session.get(Setting, "timezone") is None and session.get(Setting, "store_name") is None


def test_care_rule_settings_and_a_bad_holiday_line(client, auth, people, session):
    from careboard.services import settings
    auth.login("admin")
    ok = client.post("/admin/settings", data={**SETTINGS, "store_name": "X", "timezone": "Asia/Shanghai",
                                              "insurance_lead_days": 60, "holidays": "2026-10-01 国庆节"})
    assert ok.status_code == 303
    stored = settings.load(session)
    assert stored.insurance_lead_days == 60 and stored.holidays == "2026-10-01 国庆节"
    bad = client.post("/admin/settings", data={**SETTINGS, "store_name": "Y", "timezone": "Asia/Shanghai",
                                               "insurance_lead_days": 10, "holidays": "十月一日 国庆节"})
    assert bad.status_code == 422 and "第 1 行" in bad.get_data(as_text=True)
    session.expire_all()
    assert settings.load(session).insurance_lead_days == 60 and settings.load(session).store_name == "X"


def test_times_are_shown_in_the_store_time_zone(client, auth, people, session):
    from datetime import datetime
    people["sales1"].last_login_at = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    session.commit()
    auth.login("admin")
    client.post("/admin/settings", data={**SETTINGS, "store_name": "X", "timezone": "Asia/Shanghai"})
    # sales1 is listed with 09:30 Beijing time; the admin's own log-in is "now".
    assert "09:30" in client.get("/admin/users").get_data(as_text=True)
    client.post("/admin/settings", data={**SETTINGS, "store_name": "X", "timezone": "UTC"})
    assert "01:30" in client.get("/admin/users").get_data(as_text=True)
