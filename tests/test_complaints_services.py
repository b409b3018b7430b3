"""Complaints without HTTP: the SLA clock of every step, illegal steps, the reopen loop, escalation once per
step, permissions, and the month's figures computed by hand."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from careboard.models import Card, Complaint, ComplaintStep, Level, NoticeKind, Notification, Role
from careboard.services import complaints, notifications, settings
from careboard.services import tick as tick_service
from careboard.services.errors import Conflict, DomainError, Forbidden, IllegalStep
from tests.factories import make_user

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)          # 09:00 in Shanghai
S = complaints.S


@pytest.fixture
def team(session):
    people = {
        "director": make_user(session, "director", role=Role.CARE_DIRECTOR, level=Level.DIRECTOR),
        "supervisor": make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR),
        "phone1": make_user(session, "phone1", role=Role.PHONE_RECEPTION),
        "sales1": make_user(session, "sales1", role=Role.SALES_CARE),
    }
    session.commit()
    return people


def log(session, team, *, at=T0, department="sales", description="保养等待时间过长"):
    s = settings.load(session)
    complaint = complaints.log_complaint(session, actor=team["phone1"], channel="phone", category="service",
                                         department=department, description=description, received_at=at, s=s)
    session.commit()
    return complaint


def step(session, team, complaint, to, *, at, who="supervisor", **kw):
    complaints.advance(session, complaint, actor=team[who], to=to, seen_version=complaint.version, now=at,
                       s=settings.load(session), **kw)
    session.commit()


def test_intake_puts_a_card_on_the_board_with_the_response_deadline(session, team):
    complaint = log(session, team)
    card = session.get(Card, complaint.card_id)
    assert card.kind == "complaint" and card.role == "cs_supervisor" and card.assignee_id == team["supervisor"].id
    assert card.due_at == T0 + timedelta(minutes=30)
    assert complaint.status == "received"
    assert session.scalar(select(func.count(ComplaintStep.id))) == 1


@pytest.mark.parametrize("department,handoff", [("sales", timedelta(hours=2)), ("aftersales", timedelta(hours=1))])
def test_the_deadline_of_every_step(session, team, department, handoff):
    s = settings.load(session)
    c = log(session, team, department=department)
    assert complaints.deadline(c, s) == T0 + timedelta(minutes=30)
    step(session, team, c, S.RESPONDED, at=T0 + timedelta(minutes=20))
    assert complaints.deadline(c, s) == T0 + handoff                  # counted from receipt
    step(session, team, c, S.HANDED_OFF, at=T0 + timedelta(minutes=50))
    assert complaints.deadline(c, s) == T0 + timedelta(minutes=50, hours=24)
    step(session, team, c, S.SOLUTION_PROPOSED, at=T0 + timedelta(hours=5), solution="免费复检并赠送保养")
    assert complaints.deadline(c, s) == T0 + timedelta(hours=29)
    step(session, team, c, S.RESOLVED, at=T0 + timedelta(hours=8))
    assert complaints.deadline(c, s) == T0 + timedelta(hours=32)
    second = session.scalar(select(Card).where(Card.source == "complaint_second_callback"))
    assert second.due_at == T0 + timedelta(hours=32) and second.kind == "callback"
    assert session.get(Card, c.card_id).due_at == T0 + timedelta(hours=32)
    assert session.get(Card, c.card_id).column == "waiting"


@pytest.mark.parametrize("to", [S.HANDED_OFF, S.RESOLVED, S.CLOSED, S.RECEIVED])
def test_an_illegal_step_is_refused_and_changes_nothing(session, team, to):
    c = log(session, team)
    with pytest.raises(IllegalStep):
        complaints.advance(session, c, actor=team["supervisor"], to=to, seen_version=c.version, now=T0,
                           s=settings.load(session))
    session.rollback()
    fresh = session.get(Complaint, c.id)
    assert fresh.status == "received" and fresh.responded_at is None
    assert session.scalar(select(func.count(ComplaintStep.id))) == 1


def test_a_solution_must_be_written(session, team):
    c = log(session, team)
    step(session, team, c, S.RESPONDED, at=T0)
    step(session, team, c, S.HANDED_OFF, at=T0)
    with pytest.raises(DomainError):
        complaints.advance(session, c, actor=team["supervisor"], to=S.SOLUTION_PROPOSED, seen_version=c.version,
                           now=T0, s=settings.load(session), solution=" ")


def _resolved(session, team):
    c = log(session, team)
    for to in (S.RESPONDED, S.HANDED_OFF):
        step(session, team, c, to, at=T0 + timedelta(minutes=10))
    step(session, team, c, S.SOLUTION_PROPOSED, at=T0 + timedelta(hours=1), solution="道歉并返还工时费")
    step(session, team, c, S.RESOLVED, at=T0 + timedelta(hours=3))
    return c


def test_the_reopen_loop(session, team):
    s = settings.load(session)
    c = _resolved(session, team)
    complaints.second_callback(session, c, actor=team["supervisor"], satisfied=False, seen_version=c.version,
                               now=T0 + timedelta(hours=20), s=s, note="客户仍不满意")
    session.commit()
    assert c.status == "handed_off" and c.reopen_count == 1
    assert complaints.deadline(c, s) == T0 + timedelta(hours=44)         # a new solution within 24 h
    step(session, team, c, S.SOLUTION_PROPOSED, at=T0 + timedelta(hours=22), solution="更换零件")
    step(session, team, c, S.RESOLVED, at=T0 + timedelta(hours=23))
    assert session.scalar(select(func.count(Card.id)).where(Card.source == "complaint_second_callback")) == 2
    complaints.second_callback(session, c, actor=team["supervisor"], satisfied=True, seen_version=c.version,
                               now=T0 + timedelta(hours=30), s=s)
    session.commit()
    assert c.status == "closed" and c.closed_at == T0 + timedelta(hours=30)
    assert session.get(Card, c.card_id).column == "done"
    steps = session.scalars(select(ComplaintStep.to_status).where(ComplaintStep.complaint_id == c.id)
                            .order_by(ComplaintStep.id)).all()
    assert steps == ["received", "responded", "handed_off", "solution_proposed", "resolved", "handed_off",
                     "solution_proposed", "resolved", "closed"]


def test_only_supervisors_close_and_strangers_do_not_move(session, team):
    s = settings.load(session)
    c = _resolved(session, team)
    with pytest.raises(Forbidden):
        complaints.second_callback(session, c, actor=team["phone1"], satisfied=True, seen_version=c.version,
                                   now=T0, s=s)
    other = log(session, team)
    with pytest.raises(Forbidden):
        complaints.advance(session, other, actor=team["sales1"], to=S.RESPONDED, seen_version=other.version,
                           now=T0, s=s)
    with pytest.raises(Forbidden):
        complaints.change_deadline(session, other, actor=team["phone1"], due=T0, seen_version=other.version)
    session.rollback()
    assert session.get(Complaint, c.id).status == "resolved" and session.get(Complaint, other.id).status == "received"


def test_a_stale_version_is_a_conflict(session, team):
    c = log(session, team)
    seen = c.version
    step(session, team, c, S.RESPONDED, at=T0)
    with pytest.raises(Conflict):
        complaints.advance(session, c, actor=team["supervisor"], to=S.HANDED_OFF, seen_version=seen, now=T0,
                           s=settings.load(session))


def test_escalation_is_raised_once_per_step_by_tick(session, team):
    c = log(session, team)
    report = tick_service.tick(session, now=T0 + timedelta(minutes=10))
    session.commit()
    assert report.escalated == []
    report = tick_service.tick(session, now=T0 + timedelta(minutes=31))
    session.commit()
    assert [x.id for x in report.escalated] == [c.id]
    assert "escalated 1 overdue complaints" in report.lines()
    escalations = select(Notification).where(Notification.kind == NoticeKind.COMPLAINT_ESCALATED)
    notices = session.scalars(escalations).all()
    assert sorted(n.user_id for n in notices) == sorted([team["director"].id, team["supervisor"].id])
    assert tick_service.tick(session, now=T0 + timedelta(minutes=45)).escalated == []      # not again
    session.commit()
    step(session, team, c, S.RESPONDED, at=T0 + timedelta(minutes=50))
    assert tick_service.tick(session, now=T0 + timedelta(hours=3)).escalated == [c]        # the next step, once
    session.commit()
    assert len(session.scalars(escalations).all()) == 4


def test_a_changed_deadline_moves_the_clock(session, team):
    s = settings.load(session)
    c = log(session, team)
    complaints.change_deadline(session, c, actor=team["supervisor"], due=T0 + timedelta(hours=4),
                               seen_version=c.version)
    session.commit()
    assert complaints.deadline(c, s) == T0 + timedelta(hours=4)
    assert not complaints.is_overdue(c, T0 + timedelta(hours=1), s)
    assert session.get(Card, c.card_id).due_at == T0 + timedelta(hours=4)


def test_notifications_are_read_per_person(session, team):
    c = log(session, team)
    tick_service.tick(session, now=T0 + timedelta(hours=1))
    session.commit()
    mine = session.scalars(notifications.unread_notifications(team["supervisor"], NoticeKind.COMPLAINT_ESCALATED)).all()
    assert len(mine) == 1 and mine[0].complaint_id == c.id
    with pytest.raises(Forbidden):
        notifications.mark_read(session, mine[0], user=team["director"], now=T0)
    notifications.mark_read(session, mine[0], user=team["supervisor"], now=T0 + timedelta(hours=2))
    session.commit()
    escalated = NoticeKind.COMPLAINT_ESCALATED
    assert session.scalars(notifications.unread_notifications(team["supervisor"], escalated)).all() == []
    assert len(session.scalars(notifications.unread_notifications(team["director"], escalated)).all()) == 1


def test_the_months_figures_computed_by_hand(session, team):
    """Four complaints in November (and one in October, not counted):
    A responded in 20 min, handed off in 1 h 30, resolved after 10 h, closed.
    B (after-sales) responded in 40 min (late), handed off at 1 h 10 (late: 1 h), resolved after 30 h, reopened.
    C responded in 10 min, handed off in 2 h (on time), not resolved.
    D received only.
    Response in time 2/4, hand-off in time 2/4, closure 1/4, resolve hours [10, 30]: mean 20, p90 30,
    reopen 1/4."""
    s = settings.load(session)
    a, b, c = log(session, team), log(session, team, department="aftersales"), log(session, team)
    log(session, team)
    log(session, team, at=datetime(2026, 10, 30, tzinfo=UTC))
    step(session, team, a, S.RESPONDED, at=T0 + timedelta(minutes=20))
    step(session, team, a, S.HANDED_OFF, at=T0 + timedelta(minutes=90))
    step(session, team, a, S.SOLUTION_PROPOSED, at=T0 + timedelta(hours=5), solution="x")
    step(session, team, a, S.RESOLVED, at=T0 + timedelta(hours=10))
    complaints.second_callback(session, a, actor=team["supervisor"], satisfied=True, seen_version=a.version,
                               now=T0 + timedelta(hours=12), s=s)
    step(session, team, b, S.RESPONDED, at=T0 + timedelta(minutes=40))
    step(session, team, b, S.HANDED_OFF, at=T0 + timedelta(minutes=70))
    step(session, team, b, S.SOLUTION_PROPOSED, at=T0 + timedelta(hours=20), solution="y")
    step(session, team, b, S.RESOLVED, at=T0 + timedelta(hours=30))
    complaints.second_callback(session, b, actor=team["supervisor"], satisfied=False, seen_version=b.version,
                               now=T0 + timedelta(hours=31), s=s)
    step(session, team, c, S.RESPONDED, at=T0 + timedelta(minutes=10))
    step(session, team, c, S.HANDED_OFF, at=T0 + timedelta(hours=2))
    session.commit()
    got = complaints.figures(session, start=datetime(2026, 11, 1, tzinfo=UTC),
                             end=datetime(2026, 12, 1, tzinfo=UTC), s=s)
    assert got == complaints.ComplaintFigures(received=4, responded_in_time_rate=0.5, handed_off_in_time_rate=0.5,
                                              closure_rate=0.25, average_resolve_hours=20.0, p90_resolve_hours=30.0,
                                              reopen_rate=0.25)


def test_figures_of_an_empty_month_are_none_not_zero(session, team):
    got = complaints.figures(session, start=T0, end=T0 + timedelta(days=1), s=settings.load(session))
    assert got.received == 0 and got.closure_rate is None and got.p90_resolve_hours is None
