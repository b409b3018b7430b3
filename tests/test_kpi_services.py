"""The scorecard's service layer: every measured metric on fixture cards computed by hand, the entries
(all or nothing, judged values in range), templates, finalizing and reopening with its record."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from careboard import dates
from careboard.models import Card, KpiEntry, KpiMonthEvent, KpiScore, KpiTemplate, Level, NoticeKind, Notification, Role
from careboard.services import board, checklist, complaints, kpi, settings
from careboard.services import tick as tick_service
from careboard.services.errors import Conflict, DomainError, Forbidden, InputError, MonthClosed, TemplateError
from careboard.services.kpi_templates import default_template
from tests.factories import at, make_card, make_user

MONTH = "2026-10"


@pytest.fixture
def team(session):
    people = {
        "director": make_user(session, "director", role=Role.CARE_DIRECTOR, level=Level.DIRECTOR),
        "supervisor": make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR),
        "sales1": make_user(session, "sales1", role=Role.SALES_CARE),
        "sales2": make_user(session, "sales2", role=Role.SALES_CARE),
        "after1": make_user(session, "after1", role=Role.AFTERSALES_CARE),
    }
    session.commit()
    return people


def card(session, person, *, kind="callback", due: str, done: str | None = None, source="sale_3d",
         result: str | None = None, title="卡片"):
    c = make_card(session, assignee=person, kind=kind, title=title, due_at=at(due))
    c.source = source
    if done:
        board.complete_card(session, c, actor=person, seen_version=c.version, note="已完成")
        c.completed_at = at(done)
    c.callback_result = result
    session.flush()
    return c


def measured(session, code, person, s=None):
    return kpi.measure(session, code, [person.id], MONTH, s=s or settings.load(session),
                       now=at("2026-11-15T12:00"))[person.id]


def test_callback_completion_counts_every_attempt_done_by_its_due_time(session, team):
    p = team["sales1"]
    card(session, p, due="2026-10-05T23:59", done="2026-10-05T10:00")            # on time
    card(session, p, due="2026-10-06T23:59", done="2026-10-08T10:00")            # late
    card(session, p, due="2026-10-31T23:59")                                      # not done
    card(session, p, due="2026-11-01T10:00", done="2026-11-01T09:00")            # next month: not counted
    card(session, p, kind="reminder", source="maintenance", due="2026-10-05T23:59", done="2026-10-05T10:00")
    card(session, team["sales2"], due="2026-10-05T23:59", done="2026-10-05T10:00")   # someone else's
    m = measured(session, "callback_completion", p)
    assert (m.done, m.total, float(m.value)) == (1, 3, pytest.approx(1 / 3))


def test_callback_success_follows_the_retries(session, team):
    p = team["sales1"]
    reached = card(session, p, due="2026-10-03T23:59", done="2026-10-03T10:00", result="reached")
    first = card(session, p, due="2026-10-10T23:59", done="2026-10-10T10:00", result="not_reached")
    retry = card(session, p, due="2026-10-11T23:59", done="2026-10-11T10:00", result="reached")
    retry.rule_key, retry.attempt = f"retry:{first.id}", 2
    failed = card(session, p, due="2026-10-20T23:59", done="2026-10-20T10:00", result="not_reached")
    again = card(session, p, due="2026-10-21T23:59", done="2026-10-21T10:00", result="failed")
    again.rule_key, again.attempt = f"retry:{failed.id}", 2
    session.flush()
    m = measured(session, "callback_success", p)
    assert (m.done, m.total) == (2, 3)                  # reached, reached on the retry; failed
    assert m.card_ids == [reached.id, first.id, failed.id]


def test_greetings_and_reminders_are_measured_apart(session, team):
    p = team["sales1"]
    card(session, p, kind="reminder", source="birthday", due="2026-10-02T23:59", done="2026-10-02T09:00")
    card(session, p, kind="reminder", source="holiday", due="2026-10-01T23:59")
    card(session, p, kind="reminder", source="warranty", due="2026-10-12T23:59", done="2026-10-12T09:00")
    card(session, p, kind="reminder", source="maintenance", due="2026-10-13T23:59", done="2026-10-12T09:00")
    card(session, p, kind="reminder", source="insurance", due="2026-10-14T23:59", done="2026-10-20T09:00")
    greet, remind = measured(session, "greeting_rate", p), measured(session, "reminders_sent", p)
    assert (greet.done, greet.total) == (1, 2)
    assert (remind.done, remind.total) == (2, 3)


def test_nothing_due_counts_as_complete(session, team):
    m = measured(session, "callback_completion", team["sales2"])
    assert (m.done, m.total, m.value) == (0, 0, 1)


def test_complaint_rates_are_the_departments(session, team):
    s = settings.load(session)
    made = []
    for hours in (0, 1, 2, 3):
        made.append(complaints.log_complaint(session, actor=team["supervisor"], channel="phone", category="service",
                                             department="sales", description="x", s=s,
                                             received_at=at("2026-10-10T09:00") + timedelta(hours=hours)))
    made[0].responded_at = made[0].received_at + timedelta(minutes=10)          # within 30 min
    made[1].responded_at = made[1].received_at + timedelta(minutes=45)          # late
    made[0].handed_off_at = made[0].received_at + timedelta(hours=1)            # within 2 h
    made[0].status = made[1].status = made[2].status = "closed"
    session.flush()
    for code, expected in (("complaint_response", (1, 4)), ("complaint_handoff", (1, 4)),
                           ("complaint_closure", (3, 4))):
        m = measured(session, code, team["sales1"], s)
        assert (m.done, m.total) == expected, code
        assert len(m.card_ids) == 4


def test_checklist_measures_per_person(session, team):
    checklist.ensure_default_areas(session)
    session.commit()
    tick_service.tick(session, now=at("2026-10-12T07:30"))
    mine = [r for r in session.scalars(select(checklist.ChecklistRun))
            if session.get(Card, r.card_id).assignee_id == team["sales1"].id]
    assert mine
    run = checklist.get_run(session, mine[0].id)
    for answer in run.answers:
        checklist.answer_item(session, run, answer, actor=team["sales1"], result="pass", note=None)
    checklist.submit_run(session, run, actor=team["sales1"], s=settings.load(session))
    run.submitted_at = at("2026-10-12T10:00")
    session.flush()
    m = measured(session, "checklist_completion", team["sales1"])
    assert (m.done, m.total) == (1, len(mine))
    r = measured(session, "rectification_on_time", team["sales1"])
    assert (r.done, r.total) == (0, 0)


def _fill_supervisor(session, team, month=MONTH):
    kpi.save_entries(session, actor=team["director"], person=team["supervisor"], month=month, values={
        "insurance": {"renewal": 0.9, "new_insurance": 0.5}, "care_activities": {"band": "good", "value": 8},
        "sales": {"sales_completion": 1.0, "referral": 0.3}, "satisfaction": 10,
        "improvement": {"band": "some", "value": 7}})


def test_the_supervisors_month_with_the_measured_closure_rate(session, team):
    """The design's worked example, with the closure rate measured from four complaints (3 closed: 75%):
    8.2 + 8 + 16.5 + 27.5 + 7.5 + 7 = 74.7."""
    s = settings.load(session)
    for i in range(4):
        c = complaints.log_complaint(session, actor=team["supervisor"], channel="phone", category="service",
                                     department="sales", description="x", s=s,
                                     received_at=at("2026-10-10T09:00") + timedelta(hours=i))
        c.status = "closed" if i < 3 else c.status
    _fill_supervisor(session, team)
    [scored] = kpi.compute_live(session, [team["supervisor"]], MONTH, s=s)
    scores = {m["code"]: m["score_rounded"] for m in scored.computation["metrics"]}
    assert scores == {"insurance": 8.2, "care_activities": 8, "sales": 16.5, "satisfaction": 27.5,
                      "complaint_closure": 7.5, "improvement": 7}
    assert scored.total == 74.7 and scored.computation["complete"]
    assert scored.measures["complaint_closure"]["done"] == 3


def test_a_judged_value_out_of_range_is_refused_and_nothing_is_stored(session, team):
    with pytest.raises(InputError, match="7"):
        kpi.save_entries(session, actor=team["director"], person=team["supervisor"], month=MONTH, values={
            "insurance": {"renewal": 0.9, "new_insurance": 0.5}, "improvement": {"band": "clear", "value": 7}})
    session.rollback()
    assert session.scalar(select(func.count(KpiEntry.id))) == 0


def test_entries_need_a_supervisor_and_an_entered_metric(session, team):
    with pytest.raises(Forbidden):
        kpi.save_entries(session, actor=team["sales1"], person=team["sales1"], month=MONTH, values={"archiving": 1})
    with pytest.raises(DomainError, match="sales_callback"):
        kpi.save_entries(session, actor=team["supervisor"], person=team["sales1"], month=MONTH,
                         values={"sales_callback": 1})


def test_an_empty_value_removes_the_entry(session, team):
    kpi.save_entries(session, actor=team["supervisor"], person=team["sales1"], month=MONTH, values={"archiving": 0.8})
    kpi.save_entries(session, actor=team["supervisor"], person=team["sales1"], month=MONTH, values={"archiving": None})
    assert session.scalar(select(func.count(KpiEntry.id))) == 0


def test_finalize_freezes_and_reopen_is_recorded(session, team):
    s = settings.load(session)
    _fill_supervisor(session, team)
    with pytest.raises(Forbidden):
        kpi.finalize(session, actor=team["supervisor"], month=MONTH, s=s)
    n = kpi.finalize(session, actor=team["director"], month=MONTH, s=s, note="十月考核")
    session.commit()
    assert n == len(kpi.scorable_people(session)) == 5
    frozen = session.scalar(select(KpiScore).where(KpiScore.user_id == team["supervisor"].id))
    before = frozen.total
    with pytest.raises(MonthClosed):
        _fill_supervisor(session, team)
    session.rollback()
    # The board changes after finalizing: a finalized month keeps its frozen score.
    card(session, team["sales1"], due="2026-10-05T23:59")
    session.commit()
    [sales] = kpi.scorecards(session, [team["sales1"]], MONTH, s=s)
    assert sales.finalized and sales.measures["sales_callback"]["total"] == 0
    with pytest.raises(DomainError, match="为什么|why|原因"):
        kpi.reopen(session, actor=team["director"], month=MONTH, reason=" ")
    kpi.reopen(session, actor=team["director"], month=MONTH, reason="客服主管的满意度排名更正")
    session.commit()
    [sales] = kpi.scorecards(session, [team["sales1"]], MONTH, s=s)
    assert not sales.finalized and sales.measures["sales_callback"]["total"] == 1
    kpi.save_entries(session, actor=team["director"], person=team["supervisor"], month=MONTH,
                     values={"satisfaction": 30})
    kpi.finalize(session, actor=team["director"], month=MONTH, s=s)
    session.commit()
    events = [(e.action, e.actor_id, e.note) for e in kpi.month_events(session, MONTH)]
    assert events == [("finalized", team["director"].id, "十月考核"),
                      ("reopened", team["director"].id, "客服主管的满意度排名更正"),
                      ("finalized", team["director"].id, None)]
    refrozen = session.scalar(select(KpiScore).where(KpiScore.user_id == team["supervisor"].id))
    assert refrozen.total < before and session.scalar(select(func.count(KpiScore.id))) == 5
    assert session.scalar(select(func.count(KpiMonthEvent.id))) == 3


def test_templates_are_validated_before_they_are_saved(session, team):
    data = default_template("sales_care")
    data["metrics"][0]["points"] = 25                                   # 95 in all
    with pytest.raises(TemplateError, match="95"):
        kpi.save_template(session, actor=team["director"], role="sales_care", data=data, seen_version=None)
    session.rollback()
    assert session.scalar(select(func.count(KpiTemplate.id))) == 0
    with pytest.raises(Forbidden):
        kpi.save_template(session, actor=team["supervisor"], role="sales_care", data=default_template("sales_care"),
                          seen_version=None)
    data = default_template("sales_care")
    data["metrics"][0]["points"], data["metrics"][1]["points"] = 35, 10
    row = kpi.save_template(session, actor=team["director"], role="sales_care", data=data, seen_version=None)
    session.commit()
    assert kpi.template_for(session, "sales_care").metrics[0].points == 35
    with pytest.raises(Conflict):
        kpi.save_template(session, actor=team["director"], role="sales_care", data=data,
                          seen_version=row.version - 1)


def test_ranking_shares_a_rank_on_equal_totals(session, team):
    cards = kpi.compute_live(session, [team["sales1"], team["sales2"], team["after1"]], MONTH,
                             s=settings.load(session))
    ranks = kpi.ranked(cards)
    assert ranks[0][0] == ranks[1][0] == 1 and {r[1].person.role for r in ranks[:2]} == {"sales_care"}
    assert ranks[2][0] == 3


def test_trend_has_twelve_months_ending_with_the_month(session, team):
    points = kpi.trend(session, team["sales1"], "2026-11", s=settings.load(session))
    assert [m for m, _t in points] == [f"2025-{n:02d}" for n in (12,)] + [f"2026-{n:02d}" for n in range(1, 12)]
    assert all(t is None for _m, t in points)                          # nothing entered, nothing due
    card(session, team["sales1"], due="2026-10-05T23:59", done="2026-10-05T10:00")
    kpi.save_entries(session, actor=team["supervisor"], person=team["sales1"], month="2026-09",
                     values={"archiving": 1})
    points = dict(kpi.trend(session, team["sales1"], "2026-11", s=settings.load(session)))
    assert points["2026-10"] is not None and points["2026-09"] is not None and points["2026-08"] is None


@pytest.mark.parametrize("text", ["2026-13", "26-01", "", "2026-1"])
def test_bad_months_are_refused(text):
    with pytest.raises(DomainError):
        dates.require_month(text)


def test_month_bounds_are_in_the_store_time_zone(session):
    start, end = dates.month_bounds("2026-12", settings.load(session).zone)
    assert start == at("2026-12-01T00:00") and end == at("2027-01-01T00:00")
    assert dates.month_days("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


def test_finalizing_and_reopening_ring_the_people_scored(session, team):
    s = settings.load(session)
    kpi.finalize(session, actor=team["director"], month=MONTH, s=s)
    kpi.reopen(session, actor=team["director"], month=MONTH, reason="排名更正")
    session.commit()
    def told(kind):
        return sorted(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))
    scored = sorted(p.id for p in kpi.scorable_people(session) if p.id != team["director"].id)
    assert told(NoticeKind.SCORECARD_FINALIZED) == told(NoticeKind.SCORECARD_REOPENED) == scored
    notice = session.scalar(select(Notification).where(Notification.user_id == team["sales1"].id,
                                                       Notification.kind == NoticeKind.SCORECARD_REOPENED))
    assert notice.link == f"/scorecard/sales1/{MONTH}" and notice.params["excerpt"] == "排名更正"
