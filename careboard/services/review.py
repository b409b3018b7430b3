"""The weekly review (每周例会): one week's board, overdue work, callbacks, complaints, 5S and the month's
scores, gathered from the same service functions the scorecard uses. Weeks are ISO weeks from Monday 00:00
in the store's time zone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from careboard import dates
from careboard.models import (Card, CardKind, ChecklistArea, Column, Complaint, ComplaintStatus, ComplaintStep, Result,
                              RunAnswer, User)
from careboard.models.checklist import ChecklistRun
from careboard.services import board, checklist, complaints, kpi
from careboard.services.errors import DomainError
from careboard.services.settings import StoreSettings

# ---------------------------------------------------------------- the sections


@dataclass
class PersonWeek:
    person: User
    due: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass
class CallbackWeek:
    due: int = 0
    done: int = 0
    reached: int = 0
    satisfaction_sum: int = 0
    satisfaction_count: int = 0
    problems: list[Card] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        return self.reached / self.due if self.due else None

    @property
    def average_satisfaction(self) -> float | None:
        return self.satisfaction_sum / self.satisfaction_count if self.satisfaction_count else None


@dataclass
class ComplaintWeek:
    received: int = 0
    closed: int = 0
    overdue: list[Complaint] = field(default_factory=list)
    timeline: list[ComplaintStep] = field(default_factory=list)


@dataclass
class AreaWeek:
    name: str
    passed: int = 0
    failed: int = 0
    runs: int = 0

    @property
    def pass_rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None


@dataclass
class Review:
    week: str
    start: datetime
    end: datetime
    people: list[PersonWeek]
    overdue: list[Card]
    callbacks: CallbackWeek
    complaints: ComplaintWeek
    areas: list[AreaWeek]
    rectifications: list[tuple[Card, list]]             # open rectification cards with their before photos
    month: str
    scores: list[tuple[int, kpi.Scorecard]]
    actions: list[Card]                                 # improvement cards made at this week's review
    last_actions: list[Card]                            # and at last week's: what became of them

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def totals(self) -> PersonWeek:
        total = PersonWeek(person=None)
        for row in self.people:
            total.due += row.due
            total.on_time += row.on_time
            total.late += row.late
            total.open_overdue += row.open_overdue
        return total


def people_week(session: Session, start: datetime, end: datetime, now: datetime) -> list[PersonWeek]:
    """Per person: cards due in the week, done by their due time, done late, still open and overdue."""
    rows: dict[int, PersonWeek] = {}
    people = {u.id: u for u in session.scalars(select(User).where(User.active.is_(True), User.does_care_work()))}
    for assignee_id, due, completed in session.execute(
            select(Card.assignee_id, Card.due_at, Card.completed_at)
            .where(Card.due_at >= start, Card.due_at < end, Card.assignee_id.is_not(None))):
        if assignee_id not in people:
            continue
        row = rows.setdefault(assignee_id, PersonWeek(person=people[assignee_id]))
        row.due += 1
        if completed is not None:
            row.on_time += completed <= due
            row.late += completed > due
        elif due < now:
            row.open_overdue += 1
    return sorted(rows.values(), key=lambda r: (r.person.role, r.person.display_name))


def overdue_cards(session: Session, now: datetime, limit: int = 200) -> list[Card]:
    return session.scalars(select(Card).options(selectinload(Card.assignee))
                           .where(Card.completed_at.is_(None), Card.due_at < now, Card.column != Column.DONE)
                           .order_by(Card.due_at).limit(limit)).all()


def callbacks_week(session: Session, start: datetime, end: datetime) -> CallbackWeek:
    """Callbacks due in the week (first attempts): done, reached on the call or a retry, satisfaction, and
    the problems customers raised."""
    out = CallbackWeek()
    cards = session.scalars(select(Card).where(Card.kind == CardKind.CALLBACK, Card.due_at >= start,
                                               Card.due_at < end).order_by(Card.due_at)).all()
    firsts = [c for c in cards if c.attempt == 1]
    people = sorted({c.assignee_id for c in firsts if c.assignee_id})
    out.due = len(firsts)
    out.done = sum(1 for c in firsts if c.completed_at is not None)
    success = kpi.callback_success(session, people, start, end) if people else {}
    out.reached = sum(m.done for m in success.values())
    for c in cards:
        if c.satisfaction is not None:
            out.satisfaction_sum += c.satisfaction
            out.satisfaction_count += 1
        if (c.problems or "").strip():
            out.problems.append(c)
    return out


def complaints_week(session: Session, start: datetime, end: datetime, now: datetime,
                    s: StoreSettings) -> ComplaintWeek:
    out = ComplaintWeek()
    out.received = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.received_at >= start, Complaint.received_at < end)) or 0
    out.closed = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.closed_at >= start, Complaint.closed_at < end)) or 0
    open_ones = session.scalars(select(Complaint).where(Complaint.status != ComplaintStatus.CLOSED)).all()
    out.overdue = [c for c in open_ones if complaints.is_overdue(c, now, s)]
    out.timeline = session.scalars(select(ComplaintStep).options(selectinload(ComplaintStep.actor))
                                   .where(ComplaintStep.at >= start, ComplaintStep.at < end)
                                   .order_by(ComplaintStep.at)).all()
    return out


def areas_week(session: Session, monday: date) -> list[AreaWeek]:
    sunday = monday + timedelta(days=6)
    found: dict[int, AreaWeek] = {}
    for area in session.scalars(select(ChecklistArea).order_by(ChecklistArea.position, ChecklistArea.id)):
        found[area.id] = AreaWeek(name=area.name)
    for area_id, result, n in session.execute(
            select(ChecklistRun.area_id, RunAnswer.result, func.count())
            .join(RunAnswer, RunAnswer.run_id == ChecklistRun.id)
            .where(ChecklistRun.day.between(monday, sunday)).group_by(ChecklistRun.area_id, RunAnswer.result)):
        row = found.get(area_id)
        if row is not None:
            row.passed += n if result == Result.PASS else 0
            row.failed += n if result == Result.FAIL else 0
    for area_id, n in session.execute(select(ChecklistRun.area_id, func.count()).where(
            ChecklistRun.day.between(monday, sunday)).group_by(ChecklistRun.area_id)):
        if area_id in found:
            found[area_id].runs = n
    return [a for a in found.values() if a.runs]


def open_rectifications(session: Session) -> list[tuple[Card, list]]:
    cards = checklist.open_rectifications(session)
    answers = {a.rectification_card_id: a for a in session.scalars(
        select(RunAnswer).where(RunAnswer.rectification_card_id.in_([c.id for c in cards])))} if cards else {}
    photos = checklist.photos_of(session, [a.id for a in answers.values()])
    return [(c, photos.get(answers[c.id].id, []) if c.id in answers else []) for c in cards]


def action_source(week: str) -> str:
    return f"review:{week}"


def action_items(session: Session, week: str) -> list[Card]:
    return session.scalars(select(Card).options(selectinload(Card.assignee))
                           .where(Card.source == action_source(week)).order_by(Card.id)).all()


def create_action(session: Session, *, actor: User, week: str, title: str, owner: User | None,
                  due_at: datetime | None, details: str = "") -> Card:
    """An improvement card (PDCA) made at the review, for its owner; next week's review lists it again."""
    dates.require_week(week)
    if not (title or "").strip():
        raise DomainError(_("Say what is to be improved."))
    return board.create_card(session, actor=actor, kind=CardKind.TASK, title=title, role=(owner or actor).role,
                             assignee=owner, details=details, due_at=due_at, source=action_source(week))


def build_review(session: Session, week: str, *, s: StoreSettings, now: datetime) -> Review:
    start, end = dates.week_bounds(week, s.zone)
    as_of = min(now, end)
    month = dates.month_of((end - timedelta(days=1)).date())
    people = kpi.scorable_people(session)
    return Review(
        week=week, start=start, end=end,
        people=people_week(session, start, end, as_of),
        overdue=overdue_cards(session, now),
        callbacks=callbacks_week(session, start, end),
        complaints=complaints_week(session, start, end, now, s),
        areas=areas_week(session, dates.require_week(week)),
        rectifications=open_rectifications(session),
        month=month,
        scores=kpi.ranked(kpi.scorecards(session, people, month, s=s)),
        actions=action_items(session, week),
        last_actions=action_items(session, dates.shift_week(week, -1)))
