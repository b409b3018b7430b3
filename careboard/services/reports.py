"""The reports (DESIGN.md, "Reports"): the weekly report every Monday for the week before, the monthly report
before the 5th for the month before. Each is made once per period by the tick, or again on demand by a
supervisor, and kept with its figures (JSON) and its workbook (XLSX).

Every figure comes from the functions the pages use: the weekly report from `review.build_review`, the
monthly one from the complaint, checklist and scorecard services, so a report and the page of its period
never disagree."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from careboard import dates
from careboard.models import Column, NoticeKind, Role, User
from careboard.models.reports import KINDS, MONTHLY, WEEKLY, Report
from careboard.services import checklist, complaints, kpi, notifications, review, workbooks
from careboard.services.errors import DomainError
from careboard.services.settings import StoreSettings

# ---------------------------------------------------------------- periods


def check_period(kind: str, period: str, *, s: StoreSettings, now: datetime) -> None:
    """A report covers a finished ISO week (2026-W47) or month (2026-10): raises DomainError otherwise.
    A period still running is refused, so a half-week report never stands in for the Monday report."""
    if kind not in KINDS:
        raise DomainError(_("Choose a weekly or a monthly report."))
    try:
        if kind == WEEKLY:
            _start, end = dates.week_bounds(period, s.zone)
        else:
            dates.require_month(period)
            _start, end = dates.month_bounds(period, s.zone)
    except (ValueError, OverflowError):
        raise DomainError(_("There is no period %(period)s.", period=period)) from None
    if end > now:
        raise DomainError(_("%(period)s is not over yet: a report covers a finished week or month.",
                            period=period))


def due_periods(*, now: datetime, s: StoreSettings) -> list[tuple[str, str]]:
    """What the reports of `now` are: the week before the current one (from Monday 00:00 store time) and the
    month before the current one (from the 1st, which is before the 5th)."""
    today = dates.local_date(now, s.zone)
    return [(WEEKLY, dates.shift_week(dates.week_of(today), -1)),
            (MONTHLY, dates.previous_months(dates.month_of(today), 2)[0])]


# ---------------------------------------------------------------- figures


def _rate(value) -> float | None:
    return None if value is None else float(value)


def _person(user: User) -> dict:
    return {"id": user.id, "name": user.display_name, "username": user.username, "role": user.role}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _action(card) -> dict:
    return {"id": card.id, "title": card.title, "owner": card.assignee.display_name if card.assignee else None,
            "due_at": _iso(card.due_at), "state": card.column, "done": card.completed_at is not None,
            "completed_at": _iso(card.completed_at)}


def _scores(ranked: list[tuple[int, kpi.Scorecard]]) -> list[dict]:
    return [{"rank": rank, **_person(card.person), "total": float(card.total),
             "complete": bool(card.computation.get("complete")), "finalized": card.finalized}
            for rank, card in ranked]


def weekly_figures(session: Session, week: str, *, s: StoreSettings, now: datetime) -> dict:
    """The weekly review of `week` as plain values: cards per person and in all, callbacks, complaints,
    5S areas, open rectifications, the improvement cards of this week's and last week's review, and the
    month-to-date scores."""
    r = review.build_review(session, week, s=s, now=now)

    def counts(row: review.PersonWeek) -> dict:
        return {"due": row.due, "on_time": row.on_time, "late": row.late, "open_overdue": row.open_overdue,
                "on_time_rate": _rate(row.on_time_rate)}

    cb = r.callbacks
    names = {u.id: u.display_name for u in session.scalars(
        select(User).where(User.id.in_({c.assignee_id for c in cb.problems if c.assignee_id})))} \
        if cb.problems else {}
    return {
        "kind": WEEKLY, "period": week,
        "first_day": r.start.date().isoformat(), "last_day": (r.end - timedelta(days=1)).date().isoformat(),
        "as_of": _iso(min(now, r.end)),
        "people": [{**_person(row.person), **counts(row)} for row in r.people],
        "totals": counts(r.totals),
        "callbacks": {"due": cb.due, "done": cb.done, "reached": cb.reached, "success_rate": _rate(cb.success_rate),
                      "average_satisfaction": _rate(cb.average_satisfaction),
                      "problems": [{"card_id": c.id, "title": c.title, "person": names.get(c.assignee_id),
                                    "problems": c.problems.strip()} for c in cb.problems]},
        "complaints": {"received": r.complaints.received, "closed": r.complaints.closed,
                       "overdue": len(r.complaints.overdue)},
        "areas": [{"name": a.name, "runs": a.runs, "passed": a.passed, "failed": a.failed,
                   "pass_rate": _rate(a.pass_rate)} for a in r.areas],
        "rectifications_open": len(r.rectifications),
        "actions": [_action(c) for c in r.actions],
        "last_actions": [_action(c) for c in r.last_actions],
        "month": r.month,
        "scores": _scores(r.scores),
    }


def monthly_figures(session: Session, month: str, *, s: StoreSettings, now: datetime) -> dict:
    """The month's complaints, 5S checks and rectifications, callbacks of everyone with a scorecard, and
    the ranked scorecards (frozen if the month is finalized)."""
    start, end = dates.month_bounds(month, s.zone)
    first, last = dates.month_days(month)
    c = complaints.figures(session, start=start, end=end, s=s)
    checks = checklist.checklist_completion(session, start=first, end=last, s=s)
    rectified = checklist.rectification_on_time(session, start=start, end=end, now=now)
    people = kpi.scorable_people(session)
    ids = [p.id for p in people]
    success = kpi.callback_success(session, ids, start, end) if ids else {}
    completion = kpi.callback_completion(session, ids, start, end) if ids else {}
    rows = [{**_person(p), "due": success[p.id].total, "reached": success[p.id].done,
             "success_rate": _rate(success[p.id].done / success[p.id].total) if success[p.id].total else None,
             "cards_due": completion[p.id].total, "cards_on_time": completion[p.id].done,
             "completion_rate": (_rate(completion[p.id].done / completion[p.id].total)
                                 if completion[p.id].total else None)}
            for p in people if success[p.id].total or completion[p.id].total]
    due, reached = sum(r["due"] for r in rows), sum(r["reached"] for r in rows)
    cards_due, on_time = sum(r["cards_due"] for r in rows), sum(r["cards_on_time"] for r in rows)
    return {
        "kind": MONTHLY, "period": month, "first_day": first.isoformat(), "last_day": last.isoformat(),
        "as_of": _iso(min(now, end)),
        "complaints": {"received": c.received, "responded_in_time_rate": _rate(c.responded_in_time_rate),
                       "handed_off_in_time_rate": _rate(c.handed_off_in_time_rate),
                       "closure_rate": _rate(c.closure_rate), "average_resolve_hours": _rate(c.average_resolve_hours),
                       "p90_resolve_hours": _rate(c.p90_resolve_hours), "reopen_rate": _rate(c.reopen_rate)},
        "checklist": {"done": checks.done, "total": checks.total, "rate": _rate(checks.rate)},
        "rectifications": {"done": rectified.done, "total": rectified.total, "rate": _rate(rectified.rate)},
        "callbacks": {"due": due, "reached": reached, "success_rate": reached / due if due else None,
                      "cards_due": cards_due, "cards_on_time": on_time,
                      "completion_rate": on_time / cards_due if cards_due else None, "people": rows},
        "scores": _scores(kpi.ranked(kpi.scorecards(session, people, month, s=s))),
    }


def figures_of(session: Session, kind: str, period: str, *, s: StoreSettings, now: datetime) -> dict:
    return (weekly_figures if kind == WEEKLY else monthly_figures)(session, period, s=s, now=now)


# ---------------------------------------------------------------- the workbook


_pct = workbooks.percent


def _role(code: str) -> str:
    try:
        return str(Role(code).label)
    except ValueError:
        return code


def _state(code: str) -> str:
    try:
        return str(Column(code).label)
    except ValueError:
        return code


def _pairs(sheet, rows: list[tuple[str, object]]) -> None:
    for label, value in rows:
        sheet.append([label, value])


def _scores_sheet(book, scores: list[dict]) -> None:
    sheet = book.sheet(_("Scores"), [_("Rank"), _("Name"), _("Account"), _("Role"), _("Total"), _("Complete"),
                                     _("Finalized")])
    for row in scores:
        sheet.append([row["rank"], row["name"], row["username"], _role(row["role"]), row["total"],
                      _("yes") if row["complete"] else _("no"), _("yes") if row["finalized"] else _("no")])


def _weekly_book(book, f: dict) -> None:
    t, cb, c = f["totals"], f["callbacks"], f["complaints"]
    summary = book.sheet(_("Summary"), [_("Weekly report"), f["period"]])
    _pairs(summary, [
        (_("First day"), f["first_day"]), (_("Last day"), f["last_day"]),
        (_("Cards due"), t["due"]), (_("Done on time"), t["on_time"]), (_("Done late"), t["late"]),
        (_("Open and overdue"), t["open_overdue"]), (_("On-time rate"), _pct(t["on_time_rate"])),
        (_("Callbacks due"), cb["due"]), (_("Callbacks done"), cb["done"]),
        (_("Customers reached"), cb["reached"]), (_("Callback success rate"), _pct(cb["success_rate"])),
        (_("Average satisfaction"), cb["average_satisfaction"]),
        (_("Complaints received"), c["received"]), (_("Complaints closed"), c["closed"]),
        (_("Complaints overdue"), c["overdue"]),
        (_("Open rectifications"), f["rectifications_open"]),
        (_("Scores of the month"), f["month"]),
    ])
    people = book.sheet(_("People"), [_("Name"), _("Account"), _("Role"), _("Due"), _("On time"), _("Late"),
                                      _("Open, overdue"), _("On-time rate")])
    for row in f["people"]:
        people.append([row["name"], row["username"], _role(row["role"]), row["due"], row["on_time"], row["late"],
                       row["open_overdue"], _pct(row["on_time_rate"])])
    people.append([_("Total"), None, None, t["due"], t["on_time"], t["late"], t["open_overdue"],
                   _pct(t["on_time_rate"])])
    problems = book.sheet(_("Callback problems"), [_("Card"), _("Title"), _("Person"), _("Problems")])
    for row in cb["problems"]:
        problems.append([row["card_id"], row["title"], row["person"], row["problems"]])
    areas = book.sheet(_("5S areas"), [_("Area"), _("Checks"), _("Passed"), _("Failed"), _("Pass rate")])
    for row in f["areas"]:
        areas.append([row["name"], row["runs"], row["passed"], row["failed"], _pct(row["pass_rate"])])
    actions = book.sheet(_("Improvement cards"), [_("Review week"), _("Card"), _("Title"), _("Owner"), _("Due"),
                                                  _("State")])
    for label, rows in ((_("This week"), f["actions"]), (_("Last week"), f["last_actions"])):
        for row in rows:
            actions.append([label, row["id"], row["title"], row["owner"], row["due_at"], _state(row["state"])])
    _scores_sheet(book, f["scores"])


def _monthly_book(book, f: dict) -> None:
    c, cb = f["complaints"], f["callbacks"]
    summary = book.sheet(_("Summary"), [_("Monthly report"), f["period"]])
    _pairs(summary, [
        (_("First day"), f["first_day"]), (_("Last day"), f["last_day"]),
        (_("Complaints received"), c["received"]),
        (_("Responded in time"), _pct(c["responded_in_time_rate"])),
        (_("Handed off in time"), _pct(c["handed_off_in_time_rate"])),
        (_("Closure rate"), _pct(c["closure_rate"])),
        (_("Average hours to resolve"), c["average_resolve_hours"]),
        (_("Resolved within (hours, 90th percentile)"), c["p90_resolve_hours"]),
        (_("Reopen rate"), _pct(c["reopen_rate"])),
        (_("5S checks"), f["checklist"]["total"]), (_("Submitted on their day"), f["checklist"]["done"]),
        (_("5S completion rate"), _pct(f["checklist"]["rate"])),
        (_("Rectifications due"), f["rectifications"]["total"]),
        (_("Rectified on time"), f["rectifications"]["done"]),
        (_("Rectification on-time rate"), _pct(f["rectifications"]["rate"])),
        (_("Callbacks due"), cb["due"]), (_("Customers reached"), cb["reached"]),
        (_("Callback success rate"), _pct(cb["success_rate"])),
        (_("Callback cards due"), cb["cards_due"]), (_("Done on time"), cb["cards_on_time"]),
        (_("Callback completion rate"), _pct(cb["completion_rate"])),
    ])
    people = book.sheet(_("Callbacks"), [_("Name"), _("Account"), _("Role"), _("Callbacks due"),
                                         _("Customers reached"), _("Callback success rate"),
                                         _("Callback cards due"), _("Done on time"),
                                         _("Callback completion rate")])
    for row in cb["people"]:
        people.append([row["name"], row["username"], _role(row["role"]), row["due"], row["reached"],
                       _pct(row["success_rate"]), row["cards_due"], row["cards_on_time"],
                       _pct(row["completion_rate"])])
    _scores_sheet(book, f["scores"])


def workbook(kind: str, period: str, figures: dict) -> bytes:
    """The report as an XLSX workbook: a summary sheet, then one sheet per section; numbers stay numbers
    (rates as fractions with a percent format), and what people wrote stays text (`workbooks`)."""
    book = workbooks.Book()
    (_weekly_book if kind == WEEKLY else _monthly_book)(book, figures)
    return book.save()


def scorecard_workbook(session: Session, month: str, *, s: StoreSettings) -> bytes:
    """The month's scorecards for HR as an XLSX workbook: the ranking, then one sheet per role with each
    metric's value and score. Names and metric names stay text (`workbooks`)."""
    cards = kpi.scorecards(session, kpi.scorable_people(session), month, s=s)
    book = workbooks.Book()
    summary = book.sheet(_("Ranking"), [_("Rank"), _("Name"), _("Account"), _("Role"), _("Total"), _("Complete"),
                                        _("Coefficients"), _("Finalized")])
    for rank, card in kpi.ranked(cards):
        coefficients = "; ".join(f"{c['name']} ×{c['factor']}" for c in card.computation["coefficients"]
                                 if c["factor"] is not None)
        summary.append([rank, card.person.display_name, card.person.username, card.person.role.label,
                        card.total, _("yes") if card.computation["complete"] else _("no"), coefficients,
                        _("yes") if card.finalized else _("no")])
    by_role: dict[str, list[kpi.Scorecard]] = {}
    for card in cards:
        by_role.setdefault(card.person.role, []).append(card)
    for role, members in by_role.items():
        metrics = members[0].computation["metrics"]
        header = [_("Name"), _("Account")]
        for m in metrics:
            header += [f"{m['name']} ({_('value')})", f"{m['name']} ({_('score')})"]
        sheet = book.sheet(Role(role).label, header + [_("Total")])
        for card in members:
            row = [card.person.display_name, card.person.username]
            for m in card.computation["metrics"]:
                raw = m["raw"]
                row += [json.dumps(raw, ensure_ascii=False) if isinstance(raw, (dict, list)) else raw,
                        m["score_rounded"]]
            sheet.append(row + [card.total])
    return book.save()


# ---------------------------------------------------------------- the archive


def reports_query():
    """The archive, newest period first; the figures and the workbook stay unloaded."""
    return select(Report).options(selectinload(Report.created_by)).order_by(Report.kind.desc(),
                                                                            Report.period.desc())


def get_report(session: Session, kind: str, period: str) -> Report | None:
    return session.scalar(select(Report).where(Report.kind == kind, Report.period == period))


def _insert(session: Session, report: Report) -> bool:
    """Insert in a savepoint; False when a concurrent tick made the period's report first."""
    try:
        with session.begin_nested():
            session.add(report)
            session.flush()
        return True
    except IntegrityError:
        return False


def _build(session: Session, kind: str, period: str, *, s: StoreSettings, now: datetime) -> tuple[dict, bytes]:
    figures = figures_of(session, kind, period, s=s, now=now)
    return figures, workbook(kind, period, figures)


def generate(session: Session, kind: str, period: str, *, s: StoreSettings, now: datetime,
             actor: User | None = None) -> Report:
    """The period's report made now, replacing the one kept (on demand; the tick only fills gaps)."""
    check_period(kind, period, s=s, now=now)
    figures, xlsx = _build(session, kind, period, s=s, now=now)
    report = get_report(session, kind, period)
    if report is None:
        report = Report(kind=kind, period=period, created_at=now, created_by_id=actor.id if actor else None,
                        data=figures, xlsx=xlsx)
        if _insert(session, report):
            return report
        report = get_report(session, kind, period)
    report.data, report.xlsx = figures, xlsx
    report.created_at, report.created_by_id = now, actor.id if actor else None
    session.flush()
    return report


def ensure_due_reports(session: Session, *, now: datetime, s: StoreSettings) -> list[Report]:
    """The reports due by `now` that are not kept yet (called by every tick; a period is made once)."""
    made = []
    for kind, period in due_periods(now=now, s=s):
        if session.scalar(select(Report.id).where(Report.kind == kind, Report.period == period)) is not None:
            continue
        figures, xlsx = _build(session, kind, period, s=s, now=now)
        report = Report(kind=kind, period=period, created_at=now, created_by_id=None, data=figures, xlsx=xlsx)
        if _insert(session, report):
            made.append(report)
    if made:                                     # the supervisors and the director hear of it (the bell)
        bosses = notifications.supervisors(session)
        for report in made:
            notifications.notify_all(session, user_ids=bosses, kind=NoticeKind.REPORT_READY, now=now,
                                     link=notifications.path("review.archive"),
                                     params={"variant": report.kind, "period": report.period})
    return made
