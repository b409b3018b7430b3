"""The working calendar's settings: opening hours, the store's days, hand-entered holidays; the year's grid on
the settings page; the notice about an unknown coming year (2027 is not in chinesecalendar 1.11)."""
from __future__ import annotations

from datetime import date, time

import pytest
import time_machine
from sqlalchemy import select

from careboard.models import Setting
from careboard.services import settings
from careboard.services.errors import DomainError
from careboard.workcal import DayKind
from tests.test_admin_views import SETTINGS

BASE = {**SETTINGS, "store_name": "X", "timezone": "Asia/Shanghai"}


def stored(session) -> dict[str, str]:
    session.expire_all()
    return {s.key: s.value for s in session.scalars(select(Setting))}


def test_the_defaults_open_every_day_and_follow_the_official_calendar(app, session):
    cal = settings.load(session).calendar
    assert all(cal.day(date(2026, 12, d)).hours == (time(8, 30), time(18)) for d in range(7, 14))
    assert cal.day(date(2026, 10, 1)).kind == DayKind.HOLIDAY


def test_saving_the_calendar(app, session, people):
    settings.save(session, actor=people["admin"], hours_sat="9:00-17:00", hours_sun="休息",
                  store_closed_days="2026-12-31 盘点", store_open_days="2026-10-03",
                  official_holidays="2027-02-06 春节", official_workdays="2027-02-20 春节")
    store = settings.load(session)
    assert store.hours_sat == "09:00-17:00" and store.hours_sun == "closed"
    cal = store.calendar
    assert cal.day(date(2026, 12, 12)).hours == (time(9), time(17))
    assert cal.day(date(2026, 12, 13)).kind == DayKind.WEEKLY_CLOSED
    assert cal.day(date(2026, 12, 31)).kind == DayKind.STORE_CLOSED
    assert cal.day(date(2026, 10, 3)).kind == DayKind.STORE_OPEN
    assert cal.day(date(2027, 2, 6)).kind == DayKind.HOLIDAY
    assert cal.day(date(2027, 2, 20)).kind == DayKind.WORKDAY          # a Saturday, with Saturday's hours
    assert cal.day(date(2027, 2, 20)).hours == (time(9), time(17))


@pytest.mark.parametrize("changes, message", [
    ({"hours_mon": "8-18"}, "08:30-18:00"),
    ({"hours_mon": "18:00-08:30"}, "after it opens"),
    ({"hours_mon": "25:00-26:00"}, "08:30-18:00"),
    (dict.fromkeys(settings.HOURS_KEYS, "closed"), "at least one weekday"),
    ({"store_closed_days": "2026-12-31 盘点\n31/12/2026"}, "Line 2"),
    ({"official_holidays": "2026-10-01 国庆"}, "2026 is already known"),
    ({"official_workdays": "3000-01-01"}, "Line 1"),
])
def test_bad_calendar_values_are_refused_and_nothing_is_saved(app, english, session, people, changes, message):
    with pytest.raises(DomainError, match=message):
        settings.save(session, actor=people["admin"], store_name="Y", **changes)
    session.rollback()
    assert stored(session) == {}


@pytest.mark.parametrize("field, value, chinese", [
    ("hours_tue", "nine to six", "营业时间请写作 08:30-18:00"),
    ("store_open_days", "十月三日", "第 1 行"),
    ("official_holidays", "2026-10-01", "2026 年的官方日历已收录"),
])
def test_the_settings_page_refuses_bad_calendar_values_in_chinese(client, auth, people, session, field, value,
                                                                  chinese):
    auth.login("admin")
    response = client.post("/admin/settings", data={**BASE, field: value})
    assert response.status_code == 422 and chinese in response.get_data(as_text=True)
    assert stored(session) == {}


def test_the_settings_page_saves_the_calendar_and_shows_the_year(client, auth, people, session):
    auth.login("admin")
    response = client.post("/admin/settings", data={**BASE, "hours_sun": "closed",
                                                    "store_closed_days": "2026-12-31 盘点"})
    assert response.status_code == 303
    assert stored(session)["hours_sun"] == "closed"
    page = client.get("/admin/settings?year=2026").get_data(as_text=True)
    assert '<td class="day holiday" data-date="2026-02-17"' in page
    assert '<td class="day workday" data-date="2026-02-14"' in page
    assert '<td class="day workday" data-date="2026-09-20"' in page
    assert '<td class="day store_closed" data-date="2026-12-31"' in page
    assert '<td class="day weekly_closed" data-date="2026-12-27"' in page
    assert "2026 年本店日历" in page


def test_the_coming_year_unknown_is_said_from_december_on(client, auth, people, session):
    with time_machine.travel("2026-12-07 09:00 +0800", tick=False):
        auth.login("supervisor")
        assert "2027 年的法定节假日尚未收录" in client.get("/board/").get_data(as_text=True)
        auth.logout()
        auth.login("admin")
        assert 'id="calendar-unknown"' in client.get("/admin/settings").get_data(as_text=True)
    with time_machine.travel("2026-11-30 09:00 +0800", tick=False):
        auth.login("admin")
        assert 'id="calendar-unknown"' not in client.get("/admin/settings").get_data(as_text=True)


def test_staff_do_not_see_the_notice_and_entering_the_year_ends_it(client, auth, people, session):
    with time_machine.travel("2026-12-07 09:00 +0800", tick=False):
        auth.login("sales1")
        assert "尚未收录" not in client.get("/board/").get_data(as_text=True)
        settings.save(session, actor=people["admin"], official_holidays="2027-01-01 元旦")
        session.commit()
        auth.logout()
        auth.login("supervisor")
        assert "尚未收录" not in client.get("/board/").get_data(as_text=True)


def test_a_week_without_opening_hours_is_refused_on_the_page(client, auth, people, session):
    auth.login("admin")
    response = client.post("/admin/settings", data={**BASE, **dict.fromkeys(settings.HOURS_KEYS, "休息")})
    assert response.status_code == 422 and "本店每周至少要营业一天" in response.get_data(as_text=True)
    assert stored(session) == {}
