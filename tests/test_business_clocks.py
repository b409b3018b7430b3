"""Time limits on the store's working calendar (issue 19): each limit counts opening hours or calendar time as
its clock setting says. A complaint logged at 21:00 is due 30 opening minutes after the store opens the next
morning and is escalated then, not overnight; the 24-hour limits run day and night; a rectification counts open
days; a callback due on a closed day moves to the next open day unless the store says otherwise."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from careboard.dates import due_at
from careboard.models import Card, CardKind, Complaint, Level, NoticeKind, Notification, Role, Setting
from careboard.services import checklist, complaints, settings
from careboard.services import tick as tick_service
from careboard.services.errors import DomainError
from careboard.services.planning import Planned, due_moment
from tests.factories import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = complaints.S


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def team(session):
    people = {
        "admin": make_user(session, "admin", role=Role.NONE, level=Level.ADMIN),
        "director": make_user(session, "director", role=Role.CARE_DIRECTOR, level=Level.DIRECTOR),
        "supervisor": make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR),
        "phone1": make_user(session, "phone1", role=Role.PHONE_RECEPTION),
    }
    session.commit()
    return people


def log(session, team, at, *, department="sales") -> Complaint:
    complaint = complaints.log_complaint(session, actor=team["phone1"], channel="phone", category="service",
                                         department=department, description="晚上来电投诉", received_at=at,
                                         s=settings.load(session))
    session.commit()
    return complaint


def step(session, team, complaint, to, *, at, **kw) -> None:
    complaints.advance(session, complaint, actor=team["supervisor"], to=to, seen_version=complaint.version, now=at,
                       s=settings.load(session), **kw)
    session.commit()


def escalations(session) -> int:
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == NoticeKind.COMPLAINT_ESCALATED))


def test_a_complaint_at_21_00_is_due_30_opening_minutes_after_the_next_opening_and_escalated_then(session, team):
    complaint = log(session, team, local(2026, 12, 8, 21, 0))
    due = local(2026, 12, 9, 9, 0)                                       # opens 08:30, + 30 minutes
    assert complaints.deadline(complaint, settings.load(session)) == due
    assert session.get(Card, complaint.card_id).due_at == due
    for night in (local(2026, 12, 8, 21, 31), local(2026, 12, 9, 3, 0), local(2026, 12, 9, 8, 59)):
        tick_service.tick(session, now=night)
        session.commit()
        assert escalations(session) == 0, night                           # not overnight
        assert not complaints.is_overdue(complaint, night, settings.load(session))
    tick_service.tick(session, now=local(2026, 12, 9, 9, 1))
    session.commit()
    session.refresh(complaint)
    assert complaint.escalated_status is S.RECEIVED
    assert escalations(session) == 2                                     # the supervisor and the director


def test_the_hand_off_stops_at_closing_and_runs_on_at_opening(session, team):
    complaint = log(session, team, local(2026, 12, 8, 17, 30), department="aftersales")
    step(session, team, complaint, S.RESPONDED, at=local(2026, 12, 8, 17, 40))
    # One hour to after-sales: 30 minutes until 18:00, the other 30 from 08:30.
    assert complaints.deadline(complaint, settings.load(session)) == local(2026, 12, 9, 9, 0)


def test_the_24_hour_limits_run_day_and_night_by_default(session, team):
    complaint = log(session, team, local(2026, 12, 8, 9, 0))
    step(session, team, complaint, S.RESPONDED, at=local(2026, 12, 8, 9, 10))
    step(session, team, complaint, S.HANDED_OFF, at=local(2026, 12, 8, 17, 0))
    s = settings.load(session)
    assert complaints.deadline(complaint, s) == local(2026, 12, 9, 17, 0)
    assert complaints.counts_opening_hours(complaint, s) is False
    step(session, team, complaint, S.SOLUTION_PROPOSED, at=local(2026, 12, 8, 20, 0), solution="免费保养一次")
    step(session, team, complaint, S.RESOLVED, at=local(2026, 12, 9, 19, 0))
    second = session.scalar(select(Card).where(Card.kind == CardKind.CALLBACK,
                                               Card.source == "complaint_second_callback"))
    assert second.due_at == local(2026, 12, 10, 19, 0) == complaints.deadline(complaint, settings.load(session))


def test_a_limit_set_to_calendar_time_runs_overnight(session, team):
    settings.save(session, actor=team["admin"], clock_complaint_response="calendar")
    session.commit()
    complaint = log(session, team, local(2026, 12, 8, 21, 0))
    s = settings.load(session)
    assert complaints.deadline(complaint, s) == local(2026, 12, 8, 21, 30)
    assert complaints.counts_opening_hours(complaint, s) is False
    assert complaints.is_overdue(complaint, local(2026, 12, 8, 21, 31), s)


def test_a_limit_set_to_opening_hours_stops_over_a_closed_night(session, team):
    settings.save(session, actor=team["admin"], clock_complaint_solution="opening")
    session.commit()
    complaint = log(session, team, local(2026, 12, 8, 9, 0))
    step(session, team, complaint, S.RESPONDED, at=local(2026, 12, 8, 9, 10))
    step(session, team, complaint, S.HANDED_OFF, at=local(2026, 12, 8, 17, 0))
    # 24 opening hours at 9 h 30 a day: 1 h on the 8th, 9.5 h on the 9th and on the 10th, 4 h on the 11th.
    assert complaints.deadline(complaint, settings.load(session)) == local(2026, 12, 11, 12, 30)


def test_the_clock_sleeps_through_the_spring_festival_and_counts_its_adjusted_working_day(session, team):
    # 2026: the holiday runs Feb 15-23 (closed); Saturday Feb 14 is a 调休 working day (open).
    complaint = log(session, team, local(2026, 2, 14, 17, 50))
    assert complaints.deadline(complaint, settings.load(session)) == local(2026, 2, 24, 8, 50)


def test_a_supervisors_deadline_counts_no_clock(session, team):
    complaint = log(session, team, local(2026, 12, 8, 21, 0))
    complaints.change_deadline(session, complaint, actor=team["supervisor"], due=local(2026, 12, 8, 22, 0),
                               seen_version=complaint.version)
    session.commit()
    s = settings.load(session)
    assert complaints.deadline(complaint, s) == local(2026, 12, 8, 22, 0)
    assert complaints.counts_opening_hours(complaint, s) is None


def test_the_response_figure_counts_in_time_as_the_clock_does(session, team):
    late_evening = log(session, team, local(2026, 12, 8, 21, 0))
    step(session, team, late_evening, S.RESPONDED, at=local(2026, 12, 9, 8, 50))      # before 09:00: in time
    daytime = log(session, team, local(2026, 12, 9, 10, 0))
    step(session, team, daytime, S.RESPONDED, at=local(2026, 12, 9, 10, 45))          # 45 minutes: late
    figures = complaints.figures(session, start=local(2026, 12, 1, 0, 0), end=local(2026, 12, 31, 0, 0),
                                 s=settings.load(session))
    assert figures.received == 2 and figures.responded_in_time_rate == 0.5


def test_a_bad_clock_is_refused_and_nothing_is_written(session, team):
    with pytest.raises(DomainError):
        settings.save(session, actor=team["admin"], clock_complaint_response="sometimes", complaint_solution_hours=12)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Setting)) == 0
    assert settings.load(session).clock_complaint_response is settings.Clock.OPENING


def test_a_stored_clock_that_is_not_one_falls_back_to_its_default(session, team):
    session.add(Setting(key="clock_complaint_solution", value="sundial"))
    session.commit()
    assert settings.load(session).clock_complaint_solution is settings.Clock.CALENDAR


@pytest.mark.parametrize("clock,due_day", [("opening", date(2026, 12, 10)), ("calendar", date(2026, 12, 9))])
def test_a_rectification_counts_open_days_or_every_day(session, team, clock, due_day):
    settings.save(session, actor=team["admin"], clock_rectification=clock, store_closed_days="2026-12-09 盘点")
    session.commit()
    s = settings.load(session)
    assert checklist.rectification_due(date(2026, 12, 8), s) == due_at(due_day, SHANGHAI)


def test_a_rectification_of_zero_days_stays_on_the_check_s_day(session, team):
    settings.save(session, actor=team["admin"], rectification_days=0, store_closed_days="2026-12-09 盘点")
    session.commit()
    assert checklist.rectification_due(date(2026, 12, 8), settings.load(session)) == due_at(date(2026, 12, 8), SHANGHAI)


@pytest.mark.parametrize("clock,due_day", [("opening", date(2026, 12, 10)), ("calendar", date(2026, 12, 9))])
def test_a_callback_on_a_closed_day_moves_only_while_care_cards_count_open_days(session, team, clock, due_day):
    settings.save(session, actor=team["admin"], clock_care_cards=clock, store_closed_days="2026-12-09 盘点")
    session.commit()
    s = settings.load(session)
    callback = Planned(key="k", rule="sales_3d", role="sales_care", kind="callback", title="回访",
                       create_on=date(2026, 12, 8), due_on=date(2026, 12, 9), open_days_only=True)
    greeting = Planned(key="g", rule="birthday", role="sales_care", kind="greeting", title="生日",
                       create_on=date(2026, 12, 8), due_on=date(2026, 12, 9))
    assert due_moment(callback, s, s.calendar) == due_at(due_day, SHANGHAI)
    assert due_moment(greeting, s, s.calendar) == due_at(date(2026, 12, 9), SHANGHAI)       # on its own day


def test_the_calendar_is_built_once_per_loaded_settings(session, team):
    s = settings.load(session)
    assert s.calendar is s.calendar


def test_the_settings_page_sets_each_limit_and_its_clock(client, auth, people, session):
    from tests.test_admin_views import SETTINGS
    base = {**SETTINGS, "store_name": "X", "timezone": "Asia/Shanghai"}
    auth.login("admin")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="clock_complaint_response"' in page and 'name="complaint_response_minutes"' in page
    assert page.count('<option selected value="opening">') + page.count('<option value="opening" selected>') >= 1
    refused = client.post("/admin/settings", data={**base, "clock_complaint_response": "sundial",
                                                   "complaint_response_minutes": 45})
    assert refused.status_code == 422
    session.expire_all()
    assert session.get(Setting, "complaint_response_minutes") is None           # nothing of it written
    saved = client.post("/admin/settings", data={**base, "clock_complaint_response": "calendar",
                                                 "complaint_response_minutes": 45})
    assert saved.status_code == 303
    s = settings.load(session)
    assert s.clock_complaint_response is settings.Clock.CALENDAR and s.complaint_response_minutes == 45


def test_the_complaint_page_says_how_its_step_is_counted(client, auth, people, session):
    people["phone1"] = make_user(session, "phone1", role=Role.PHONE_RECEPTION)
    session.commit()
    complaint = log(session, people, local(2026, 12, 8, 21, 0))
    auth.login("supervisor")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "按营业时间计" in page and "2026/12/9 09:00" in page
