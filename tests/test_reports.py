"""The reports: the weekly figures from the review counted by hand and found again in the workbook, the
monthly figures, one report per period however often the tick runs, the week boundary at Monday 00:00
Shanghai, and the archive's permissions, download and on-demand generation."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from careboard.models import Report
from careboard.services import board, complaints, kpi, reports, review, settings
from careboard.services import tick as tick_service
from careboard.services.errors import DomainError
from tests.factories import at, make_card

WEEK = "2026-W47"                                       # Monday 16 to Sunday 22 November 2026
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def card(session, person, *, due: str, done: str | None = None, kind="task", result=None, satisfaction=None,
         problems=None):
    c = make_card(session, assignee=person, kind=kind, title=f"{kind} {due}", due_at=at(due))
    if done:
        board.complete_card(session, c, actor=person, seen_version=c.version, note="已完成")
        c.completed_at = at(done)
    c.callback_result, c.satisfaction, c.problems = result, satisfaction, problems
    session.flush()
    return c


@pytest.fixture
def week(session, people):
    """sales1: 3 cards due in the week (1 on time, 1 late, 1 open) and one due the next Monday; sales2: two
    callbacks (one reached, satisfaction 9, a problem); two complaints (one closed); one improvement card."""
    s = settings.load(session)
    p1, p2 = people["sales1"], people["sales2"]
    card(session, p1, due="2026-11-17T18:00", done="2026-11-17T10:00")
    card(session, p1, due="2026-11-18T18:00", done="2026-11-19T10:00")
    card(session, p1, due="2026-11-19T18:00")
    card(session, p1, due="2026-11-23T09:00")
    card(session, p2, kind="callback", due="2026-11-18T23:59", done="2026-11-18T15:00", result="reached",
         satisfaction=9, problems="车门异响")
    card(session, p2, kind="callback", due="2026-11-20T23:59", done="2026-11-20T15:00", result="not_reached")
    made = [complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                     department="sales", description="等待时间太长", s=s, received_at=at(when))
            for when in ("2026-11-17T10:00", "2026-11-18T10:00")]
    made[0].status, made[0].closed_at = "closed", at("2026-11-19T10:00")
    review.create_action(session, actor=people["supervisor"], week=WEEK, title="改进回访话术", owner=p1,
                         due_at=at("2026-11-27T18:00"))
    session.commit()
    return s


def rows_of(book, index: int) -> list[tuple]:
    return list(book.worksheets[index].iter_rows(values_only=True))


def test_weekly_figures_are_the_reviews_counted_by_hand(session, people, week):
    now = at("2026-11-23T08:00")
    f = reports.weekly_figures(session, WEEK, s=week, now=now)
    by_name = {row["username"]: row for row in f["people"]}
    assert {k: by_name["sales1"][k] for k in ("due", "on_time", "late", "open_overdue")} == \
        {"due": 3, "on_time": 1, "late": 1, "open_overdue": 1}
    assert by_name["sales1"]["on_time_rate"] == pytest.approx(1 / 3)
    assert (by_name["sales2"]["due"], by_name["sales2"]["on_time"]) == (2, 2)
    for key in ("due", "on_time", "late", "open_overdue"):
        assert f["totals"][key] == sum(row[key] for row in f["people"])
    cb = f["callbacks"]
    assert (cb["due"], cb["done"], cb["reached"], cb["success_rate"], cb["average_satisfaction"]) == (2, 2, 1, 0.5, 9)
    assert [(p["person"], p["problems"]) for p in cb["problems"]] == [("Sales2", "车门异响")]
    assert f["complaints"] == {"received": 2, "closed": 1, "overdue": 1}
    assert (f["first_day"], f["last_day"], f["month"]) == ("2026-11-16", "2026-11-22", "2026-11")
    assert [(a["title"], a["owner"], a["state"], a["done"]) for a in f["actions"]] == \
        [("改进回访话术", "Sales1", "todo", False)]
    assert f["last_actions"] == [] and f["areas"] == [] and f["rectifications_open"] == 0
    expected = kpi.ranked(kpi.scorecards(session, kpi.scorable_people(session), "2026-11", s=week))
    assert [(r["rank"], r["username"], r["total"]) for r in f["scores"]] == \
        [(rank, c.person.username, c.total) for rank, c in expected]
    assert f["scores"]


def test_the_weekly_workbook_holds_the_same_figures(session, people, week):
    f = reports.weekly_figures(session, WEEK, s=week, now=at("2026-11-23T08:00"))
    book = load_workbook(io.BytesIO(reports.workbook("weekly", WEEK, f)))
    assert len(book.worksheets) == 6
    summary = rows_of(book, 0)
    t, cb, c = f["totals"], f["callbacks"], f["complaints"]
    assert summary[0][1] == WEEK
    assert [row[1] for row in summary[1:]] == [
        "2026-11-16", "2026-11-22", t["due"], t["on_time"], t["late"], t["open_overdue"],
        pytest.approx(t["on_time_rate"]), cb["due"], cb["done"], cb["reached"], cb["success_rate"],
        cb["average_satisfaction"], c["received"], c["closed"], c["overdue"], f["rectifications_open"], f["month"]]
    assert [row[1] for row in summary[8:17]] == [2, 2, 1, 0.5, 9, 2, 1, 1, 0]           # and as counted by hand
    people_rows = rows_of(book, 1)
    body = {row[1]: row for row in people_rows[1:-1]}
    assert body["sales1"][3:] == (3, 1, 1, 1, pytest.approx(1 / 3))
    for row in f["people"]:
        assert body[row["username"]][3:7] == (row["due"], row["on_time"], row["late"], row["open_overdue"])
    assert people_rows[-1][3:7] == (t["due"], t["on_time"], t["late"], t["open_overdue"])
    sales1_rate = next(r for r in book.worksheets[1].iter_rows(min_row=2) if r[1].value == "sales1")[7]
    assert sales1_rate.number_format == "0.0%" and isinstance(sales1_rate.value, float)
    assert [row[3] for row in rows_of(book, 2)[1:]] == ["车门异响"]
    assert [row[2] for row in rows_of(book, 4)[1:]] == ["改进回访话术"]
    assert [(row[0], row[2], row[4]) for row in rows_of(book, 5)[1:]] == \
        [(r["rank"], r["username"], r["total"]) for r in f["scores"]]


def test_monthly_figures_and_workbook(session, people, week):
    f = reports.monthly_figures(session, "2026-11", s=week, now=at("2026-12-01T08:00"))
    assert f["complaints"]["received"] == 2 and f["complaints"]["closure_rate"] == 0.5
    cb = f["callbacks"]
    assert (cb["due"], cb["reached"], cb["success_rate"]) == (2, 1, 0.5)
    assert (cb["cards_due"], cb["cards_on_time"]) == (2, 2)
    assert [(r["username"], r["due"], r["reached"]) for r in cb["people"]] == [("sales2", 2, 1)]
    assert f["checklist"] == {"done": 0, "total": 0, "rate": None}
    assert [r["rank"] for r in f["scores"]] == sorted(r["rank"] for r in f["scores"])
    book = load_workbook(io.BytesIO(reports.workbook("monthly", "2026-11", f)))
    assert len(book.worksheets) == 3
    summary = rows_of(book, 0)
    assert summary[0][1] == "2026-11" and summary[3][1] == 2 and summary[6][1] == 0.5      # received, closure
    [sales2] = rows_of(book, 1)[1:]
    assert (sales2[1], sales2[3], sales2[4], sales2[5], sales2[6], sales2[7]) == ("sales2", 2, 1, 0.5, 2, 2)
    assert [row[4] for row in rows_of(book, 2)[1:]] == [r["total"] for r in f["scores"]]


def periods(session) -> list[tuple[str, str, int | None]]:
    session.expire_all()
    return session.execute(select(Report.kind, Report.period, Report.created_by_id)
                           .order_by(Report.kind, Report.period)).all()


def test_each_report_is_made_once_however_often_the_tick_runs(session, people):
    for _n in range(3):
        tick_service.tick(session, now=at("2026-11-23T07:00"))             # a Monday
        session.commit()
    assert periods(session) == [("monthly", "2026-10", None), ("weekly", "2026-W47", None)]
    for _n in range(3):
        tick_service.tick(session, now=at("2026-12-02T07:00"))             # the 2nd of a month
        session.commit()
    assert periods(session) == [("monthly", "2026-10", None), ("monthly", "2026-11", None),
                                ("weekly", "2026-W47", None), ("weekly", "2026-W48", None)]
    report = session.scalar(select(Report).where(Report.period == "2026-W47"))
    assert report.data["period"] == "2026-W47"
    assert load_workbook(io.BytesIO(report.xlsx)).worksheets[0].cell(1, 2).value == "2026-W47"


def test_a_concurrent_tick_that_made_the_report_first_does_not_fail_the_tick(session, people):
    s = settings.load(session)
    now = at("2026-11-23T07:00")
    reports.ensure_due_reports(session, now=now, s=s)
    session.commit()
    # As if the other tick's row appeared between our check and our insert: the insert fails in its savepoint.
    assert reports._insert(session, Report(kind="weekly", period="2026-W47", data={}, xlsx=b"")) is False
    session.commit()
    assert len(periods(session)) == 2


def test_the_tick_makes_the_weekly_report_from_monday_0000_shanghai(session, people):
    tick_service.tick(session, now=at("2026-11-22T23:59"))                 # Sunday night: W47 is still running
    session.commit()
    assert ("weekly", "2026-W46", None) in periods(session)
    assert not any(p == "2026-W47" for _k, p, _a in periods(session))
    tick_service.tick(session, now=at("2026-11-23T00:00"))                 # Sunday 16:00 UTC
    session.commit()
    assert ("weekly", "2026-W47", None) in periods(session)


def test_the_week_ends_at_monday_0000_shanghai(session, people):
    s = settings.load(session)
    p = people["sales1"]
    card(session, p, due="2026-11-22T23:59")
    card(session, p, due="2026-11-23T00:00")
    session.commit()
    now = at("2026-12-01T08:00")
    for week, expected in (("2026-W47", 1), ("2026-W48", 1)):
        f = reports.weekly_figures(session, week, s=s, now=now)
        assert {r["username"]: r["due"] for r in f["people"]} == {"sales1": expected}
    assert reports.weekly_figures(session, "2026-W47", s=s, now=now)["last_day"] == "2026-11-22"


def test_generating_on_demand_replaces_the_periods_report(session, people, week):
    now = at("2026-11-23T07:00")
    [weekly, _monthly] = reports.ensure_due_reports(session, now=now, s=week)
    session.commit()
    again = reports.generate(session, "weekly", WEEK, s=week, now=now + timedelta(days=2), actor=people["supervisor"])
    session.commit()
    assert again.id == weekly.id and again.created_by_id == people["supervisor"].id
    assert session.scalar(select(func.count(Report.id)).where(Report.kind == "weekly")) == 1


@pytest.mark.parametrize("kind,period", [
    ("weekly", "2026-47"), ("weekly", "2025-W53"), ("weekly", "2999-W01"), ("monthly", "2026-13"),
    ("monthly", "2026-W47"), ("monthly", "2999-01"), ("yearly", "2026"),
])
def test_a_bad_period_is_refused_by_the_service(session, people, kind, period):
    with pytest.raises(DomainError):
        reports.generate(session, kind, period, s=settings.load(session), now=at("2026-11-25T12:00"))
    assert session.scalar(select(func.count(Report.id))) == 0


# ---------------------------------------------------------------- the archive


def test_the_archive_is_for_supervisors(client, auth, people, session):
    auth.login("sales1")
    assert client.get("/review/reports").status_code == 403
    auth.logout()
    auth.login("supervisor")
    page = client.get("/review/reports")
    assert page.status_code == 200
    assert 'action="/review/reports/generate"' in page.get_data(as_text=True)


def test_the_archive_lists_and_downloads_a_report(client, auth, people, session):
    s = settings.load(session)
    report = reports.generate(session, "weekly", "2025-W10", s=s, now=at("2025-03-20T08:00"))
    session.commit()
    auth.login("sales1")
    assert client.get(f"/review/reports/{report.id}.xlsx").status_code == 403
    auth.logout()
    auth.login("supervisor")
    page = client.get("/review/reports").get_data(as_text=True)
    assert "2025-W10" in page and f"/review/reports/{report.id}.xlsx" in page
    got = client.get(f"/review/reports/{report.id}.xlsx")
    assert got.status_code == 200 and got.mimetype == XLSX
    assert "careboard-weekly-2025-W10.xlsx" in got.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(got.data)).worksheets[0].cell(1, 2).value == "2025-W10"
    assert client.get(f"/review/reports/{report.id + 1}.xlsx").status_code == 404


def test_a_report_is_made_on_demand(client, auth, people, session):
    auth.login("supervisor")
    response = client.post("/review/reports/generate", data={"kind": "monthly", "period": "2025-03"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/review/reports")
    assert periods(session) == [("monthly", "2025-03", people["supervisor"].id)]
    client.post("/review/reports/generate", data={"kind": "monthly", "period": "2025-03"})
    assert len(periods(session)) == 1


@pytest.mark.parametrize("kind,period", [
    ("weekly", "2025-W99"), ("weekly", "2025-03"), ("monthly", "2025-W10"), ("monthly", "2999-01"),
    ("weekly", ""), ("yearly", "2025"),
])
def test_a_bad_period_is_refused_on_demand_and_nothing_is_made(client, auth, people, session, kind, period):
    auth.login("supervisor")
    response = client.post("/review/reports/generate", data={"kind": kind, "period": period})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert periods(session) == []
