"""Which month the scorecard opens on (the store's entry day), and the confirmation before a month is finalized:
what it freezes is shown first, and nothing changes before the POST."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from careboard.models import KpiMonth, KpiMonthEvent, KpiScore, Setting
from careboard.services import kpi, settings
from careboard.services.errors import DomainError

MONTH = "2026-10"


@pytest.mark.parametrize("today,entry_day,month", [
    (date(2026, 12, 1), 25, "2026-11"),          # one day old: the last finished month
    (date(2026, 12, 24), 25, "2026-11"),
    (date(2026, 12, 25), 25, "2026-12"),         # from the entry day on: the current month
    (date(2026, 12, 31), 25, "2026-12"),
    (date(2027, 1, 3), 25, "2026-12"),           # across the year
    (date(2026, 12, 1), 1, "2026-12"),           # 1: always the current month
])
def test_default_month(app, session, today, entry_day, month):
    s = settings.load(session)
    s = dataclasses.replace(s, scorecard_entry_day=entry_day)
    assert kpi.default_month(today, s) == month


def _opens_on(client, auth, when: str, username: str = "director", url: str = "/scorecard/"):
    """Log in at `when` (sessions are checked against the clock) and open the scorecard."""
    with time_machine.travel(when, tick=False):
        auth.login(username)
        response = client.get(url)
        auth.logout()
    return response


def test_the_scorecard_opens_on_the_last_finished_month_until_the_entry_day(client, auth, people, session):
    page = _opens_on(client, auth, "2026-12-01 09:00 +0800").get_data(as_text=True)
    assert "<small>2026-11</small>" in page and '<option value="2026-11" selected>' in page
    staff = _opens_on(client, auth, "2026-12-01 09:00 +0800", "sales1")      # sent to their own, same month
    assert staff.headers["Location"].endswith("/scorecard/sales1/2026-11")
    assert "<small>2026-12</small>" in _opens_on(client, auth, "2026-12-25 09:00 +0800").get_data(as_text=True)
    # The store's day, not UTC's: 2026-12-24 23:30 in Shanghai is before the 25th.
    assert "<small>2026-11</small>" in _opens_on(client, auth, "2026-12-24 23:30 +0800").get_data(as_text=True)
    chosen = _opens_on(client, auth, "2026-12-10 09:00 +0800", url="/scorecard/?month=2026-10")
    assert "<small>2026-10</small>" in chosen.get_data(as_text=True)


def test_the_entry_day_is_a_setting_from_1_to_28(client, auth, people, session):
    from tests.test_admin_views import SETTINGS
    admin = people["admin"]
    for bad in (0, 29, -1):
        with pytest.raises(DomainError):
            settings.save(session, actor=admin, scorecard_entry_day=bad)
    session.rollback()
    auth.login("admin")
    form = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="scorecard_entry_day"' in form and 'value="25"' in form
    base = {**SETTINGS, "store_name": "X", "timezone": "Asia/Shanghai"}
    refused = client.post("/admin/settings", data={**base, "scorecard_entry_day": 29})
    assert refused.status_code == 422 and session.get(Setting, "scorecard_entry_day") is None
    assert client.post("/admin/settings", data={**base, "scorecard_entry_day": 1}).status_code == 303
    session.expire_all()
    assert settings.load(session).scorecard_entry_day == 1
    auth.logout()
    assert "<small>2026-12</small>" in _opens_on(client, auth, "2026-12-01 09:00 +0800").get_data(as_text=True)


def _frozen(session) -> tuple[int, int, int]:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(KpiMonth)),
            session.scalar(select(func.count()).select_from(KpiScore)),
            session.scalar(select(func.count()).select_from(KpiMonthEvent)))


def test_finalizing_asks_first_and_says_what_it_freezes(client, auth, people, session):
    with time_machine.travel("2026-10-20 09:00 +0800", tick=False):
        auth.login("director")
        index = client.get(f"/scorecard/?month={MONTH}").get_data(as_text=True)
        assert f'href="/scorecard/months/{MONTH}/finalize"' in index
        assert f'action="/scorecard/months/{MONTH}/finalize"' not in index      # no one-tap finalize
        confirm = client.get(f"/scorecard/months/{MONTH}/finalize")
        assert confirm.status_code == 200
        page = confirm.get_data(as_text=True)
        scorable = len(kpi.scorable_people(session))
        assert f"{scorable} 份" in page and 'data-warning="running"' in page and 'data-warning="incomplete"' in page
        for username in ("sales1", "sales2", "supervisor", "director"):
            assert f'data-person="{username}"' in page
        assert 'data-person="admin"' not in page                # no template for the administrator's role
        assert f'action="/scorecard/months/{MONTH}/finalize"' in page and 'name="csrf_token"' in page
        assert _frozen(session) == (0, 0, 0)                                     # looking changes nothing
        auth.logout()
    with time_machine.travel("2026-11-02 09:00 +0800", tick=False):
        auth.login("director")
        page = client.get(f"/scorecard/months/{MONTH}/finalize").get_data(as_text=True)
        assert 'data-warning="running"' not in page                              # the month is over
        done = client.post(f"/scorecard/months/{MONTH}/finalize", data={"note": "十月定稿"})
        assert done.status_code == 303
        assert _frozen(session) == (1, scorable, 1)
        again = client.get(f"/scorecard/months/{MONTH}/finalize")
        assert again.status_code == 303 and again.headers["Location"].endswith(f"/scorecard/?month={MONTH}")


def test_the_confirmation_is_the_directors_and_the_post_needs_the_csrf_token(app, client, auth, people, session):
    auth.login("supervisor")
    assert client.get(f"/scorecard/months/{MONTH}/finalize").status_code == 403
    auth.logout()
    auth.login("director")
    assert client.get("/scorecard/months/2026-13/finalize").status_code == 404
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/scorecard/months/{MONTH}/finalize", data={"note": ""})
        assert refused.status_code == 400 and _frozen(session) == (0, 0, 0)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
