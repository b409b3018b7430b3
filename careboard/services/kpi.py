"""The scorecard (考核): templates per role, the measured metrics (each one function over the board,
batched by person), the supervisor's entries, finalizing a month, and a person's or the team's scores.
The arithmetic is services/kpi_engine.py's; this module gathers the inputs and keeps the record."""
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from careboard import dates, policy
from careboard.dbtypes import utcnow
from careboard.models import (CallbackResult, Card, CardKind, Complaint, KpiEntry, KpiMonth, KpiMonthEvent, KpiScore,
                              KpiTemplate, Level, NoticeKind, User)
from careboard.services import checklist, complaints, kpi_engine, notifications
from careboard.services.errors import Conflict, DomainError, Forbidden, MonthClosed, TemplateError
from careboard.services.kpi_templates import DEFAULT_TEMPLATES
from careboard.services.settings import StoreSettings

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
GREETINGS = ("birthday", "holiday")
OPEN, FINALIZED = "open", "finalized"


# ---------------------------------------------------------------- templates


def template_row(session: Session, role: str) -> KpiTemplate | None:
    return session.scalar(select(KpiTemplate).where(KpiTemplate.role == role))


def template_data(session: Session, role: str) -> dict | None:
    """The role's template as saved by the director, else the seeded default, else None."""
    row = template_row(session, role)
    if row is not None:
        return copy.deepcopy(row.definition)
    default = DEFAULT_TEMPLATES.get(role)
    return copy.deepcopy(default) if default else None


def template_for(session: Session, role: str) -> kpi_engine.Template | None:
    data = template_data(session, role)
    return kpi_engine.validate_template(data) if data else None


def save_template(session: Session, *, actor: User, role: str, data: dict, seen_version: int | None) -> KpiTemplate:
    """Validated before anything is stored; a stale form (another director's save in between) is refused."""
    if not policy.can_edit_kpi(actor):
        raise Forbidden("kpi template")
    if not isinstance(data, dict) or data.get("role") != role:
        raise TemplateError(_("The template's role must be %(role)s.", role=role))
    template = kpi_engine.validate_template(data)
    row = template_row(session, role)
    if row is None:
        row = KpiTemplate(role=role, definition=template.to_dict(), updated_by_id=actor.id)
        session.add(row)
    else:
        if seen_version is not None and row.version != seen_version:
            raise Conflict(row)
        row.definition = template.to_dict()
        row.updated_at = utcnow()
        row.updated_by_id = actor.id
    session.flush()
    return row


# ---------------------------------------------------------------- measured metrics


@dataclass
class Measure:
    """A measured value with how it was measured: done of total, and the cards behind it."""

    code: str
    done: int = 0
    total: int = 0
    card_ids: list[int] = field(default_factory=list)

    @property
    def value(self) -> Decimal:
        """done / total; a month with nothing due counts as complete (nothing was missed)."""
        return Decimal(self.done) / Decimal(self.total) if self.total else Decimal(1)

    def as_dict(self) -> dict:
        return {"code": self.code, "done": self.done, "total": self.total, "value": float(self.value),
                "definition": str(DEFINITIONS[self.code]), "cards": self.card_ids}


DEFINITIONS = {
    "callback_completion": _l("Callback cards due this month (every attempt) done by their due time / due."),
    "callback_success": _l("Callbacks due this month whose customer was reached, on the first call or a "
                           "retry / callbacks due (first attempts)."),
    "greeting_rate": _l("Birthday and holiday greeting cards due this month done by their due time / due."),
    "reminders_sent": _l("Reminder cards (maintenance, warranty, inspection, insurance) due this month done "
                         "by their due time / due."),
    "complaint_response": _l("Complaints received this month answered within the response SLA / received "
                             "(the department's)."),
    "complaint_handoff": _l("Complaints received this month handed to the department within the hand-off SLA "
                            "/ received (the department's)."),
    "complaint_closure": _l("Complaints received this month closed / received (the department's)."),
    "checklist_completion": _l("5S checks of this month's days, with the person as inspector, submitted on "
                               "their day / checks."),
    "rectification_on_time": _l("Rectification cards of the person due this month sent for verification by "
                                "their deadline / due (cards not yet due and not yet done are left out)."),
}


def _empty(code: str, user_ids: Iterable[int]) -> dict[int, Measure]:
    return {uid: Measure(code) for uid in user_ids}


def _on_time_cards(session: Session, code: str, user_ids: list[int], start: datetime, end: datetime,
                   *conditions) -> dict[int, Measure]:
    found = _empty(code, user_ids)
    rows = session.execute(select(Card.id, Card.assignee_id, Card.due_at, Card.completed_at)
                           .where(Card.assignee_id.in_(user_ids), Card.due_at >= start, Card.due_at < end,
                                  *conditions).order_by(Card.due_at, Card.id))
    for card_id, assignee_id, due, completed in rows:
        m = found[assignee_id]
        m.total += 1
        m.done += completed is not None and completed <= due
        m.card_ids.append(card_id)
    return found


def callback_completion(session: Session, user_ids: list[int], start: datetime, end: datetime, **_kw):
    return _on_time_cards(session, "callback_completion", user_ids, start, end,
                          Card.kind == CardKind.CALLBACK)


def greeting_rate(session: Session, user_ids: list[int], start: datetime, end: datetime, **_kw):
    return _on_time_cards(session, "greeting_rate", user_ids, start, end, Card.kind == CardKind.REMINDER,
                          Card.source.in_(GREETINGS))


def reminders_sent(session: Session, user_ids: list[int], start: datetime, end: datetime, **_kw):
    return _on_time_cards(session, "reminders_sent", user_ids, start, end, Card.kind == CardKind.REMINDER,
                          Card.source.not_in(GREETINGS))


def callback_success(session: Session, user_ids: list[int], start: datetime, end: datetime, **_kw):
    """First attempts due in the month; reached if that call or one of its retries reached the customer."""
    found = _empty("callback_success", user_ids)
    firsts = session.execute(select(Card.id, Card.assignee_id, Card.callback_result)
                             .where(Card.assignee_id.in_(user_ids), Card.kind == CardKind.CALLBACK,
                                    Card.attempt == 1, Card.due_at >= start, Card.due_at < end)
                             .order_by(Card.due_at, Card.id)).all()
    if not firsts:
        return found
    # Follow each unreached call to its retry ("retry:<id>") through the unique rule_key index, a level at a
    # time, instead of reading every retry of the store.
    retries: dict[int, tuple[int, str | None]] = {}          # parent card id -> (retry id, result)
    frontier = [card_id for card_id, _a, result in firsts if result != CallbackResult.REACHED]
    for _level in range(20):
        if not frontier:
            break
        found_now = []
        for i in range(0, len(frontier), 500):
            keys = [f"retry:{parent}" for parent in frontier[i:i + 500]]
            for card_id, key, result in session.execute(select(Card.id, Card.rule_key, Card.callback_result)
                                                        .where(Card.rule_key.in_(keys))):
                retries[int(key.split(":", 1)[1])] = (card_id, result)
                if result != CallbackResult.REACHED:
                    found_now.append(card_id)
        frontier = found_now
    for card_id, assignee_id, result in firsts:
        m = found[assignee_id]
        m.total += 1
        m.card_ids.append(card_id)
        current, seen = card_id, 0
        while result != CallbackResult.REACHED and current in retries and seen < 20:
            current, result = retries[current]
            seen += 1
        m.done += result == CallbackResult.REACHED
    return found


def _complaint_measure(code: str):
    def measure(session: Session, user_ids: list[int], start: datetime, end: datetime, *, s: StoreSettings,
                cache: dict, **_kw) -> dict[int, Measure]:
        if "complaints" not in cache:
            rows = session.execute(select(Complaint.id, Complaint.card_id).where(
                Complaint.received_at >= start, Complaint.received_at < end)).all()
            cache["complaints"] = (complaints.figures(session, start=start, end=end, s=s), [r.card_id for r in rows])
        figures, card_ids = cache["complaints"]
        rate = {"complaint_response": figures.responded_in_time_rate, "complaint_handoff":
                figures.handed_off_in_time_rate, "complaint_closure": figures.closure_rate}[code]
        done = round((rate or 0) * figures.received)
        return {uid: Measure(code, done=done, total=figures.received, card_ids=list(card_ids)) for uid in user_ids}
    return measure


def _from_rates(code: str, user_ids: list[int], rates: dict[int, checklist.Rate]) -> dict[int, Measure]:
    found = _empty(code, user_ids)
    for uid, rate in rates.items():
        found[uid].done, found[uid].total = rate.done, rate.total
    return found


def checklist_completion(session: Session, user_ids: list[int], start: datetime, end: datetime, *,
                         s: StoreSettings, **_kw) -> dict[int, Measure]:
    first, last = start.date(), (end - timedelta(days=1)).date()
    rates = checklist.checklist_completion_by_person(session, start=first, end=last, s=s, person_ids=user_ids)
    return _from_rates("checklist_completion", user_ids, rates)


def rectification_on_time(session: Session, user_ids: list[int], start: datetime, end: datetime, *,
                          now: datetime, **_kw) -> dict[int, Measure]:
    rates = checklist.rectification_on_time_by_person(session, start=start, end=end, now=now, person_ids=user_ids)
    return _from_rates("rectification_on_time", user_ids, rates)


MEASURE_FUNCTIONS: dict[str, Callable[..., dict[int, Measure]]] = {
    "callback_completion": callback_completion,
    "callback_success": callback_success,
    "greeting_rate": greeting_rate,
    "reminders_sent": reminders_sent,
    "complaint_response": _complaint_measure("complaint_response"),
    "complaint_handoff": _complaint_measure("complaint_handoff"),
    "complaint_closure": _complaint_measure("complaint_closure"),
    "checklist_completion": checklist_completion,
    "rectification_on_time": rectification_on_time,
}
assert set(MEASURE_FUNCTIONS) == set(kpi_engine.MEASURES)


def measure(session: Session, code: str, user_ids: list[int], month: str, *, s: StoreSettings,
            now: datetime | None = None, cache: dict | None = None) -> dict[int, Measure]:
    """One measured metric for some people and a month: the one function each metric has."""
    start, end = dates.month_bounds(month, s.zone)
    return MEASURE_FUNCTIONS[code](session, list(user_ids), start, end, s=s, now=now or utcnow(),
                                   cache={} if cache is None else cache)


# ---------------------------------------------------------------- entries


def entries_of(session: Session, user_ids: list[int], month: str) -> dict[int, dict[str, object]]:
    found: dict[int, dict[str, object]] = {uid: {} for uid in user_ids}
    for entry in session.scalars(select(KpiEntry).where(KpiEntry.user_id.in_(user_ids), KpiEntry.month == month)):
        found[entry.user_id][entry.metric] = entry.value
    return found


def default_month(today: date, s: StoreSettings) -> str:
    """The month the scorecard opens on: the current one from the store's entry day on, else the last finished
    one (early in a month there is too little to rank people on)."""
    month = dates.month_of(today)
    return month if today.day >= s.scorecard_entry_day else dates.previous_months(month, 2)[0]


@dataclass
class FinalizePreview:
    """What finalizing a month freezes, shown before the director confirms."""
    month: str
    ranked: list[tuple[int, Scorecard]]
    incomplete: int                         # scorecards with figures still to be entered
    month_running: bool                     # the month has not ended: later work will not count


def finalize_preview(session: Session, month: str, *, s: StoreSettings, now: datetime | None = None
                     ) -> FinalizePreview:
    dates.require_month(month)
    now = now or utcnow()
    cards = compute_live(session, scorable_people(session), month, s=s, now=now)
    _start, end = dates.month_bounds(month, s.zone)
    return FinalizePreview(month=month, ranked=ranked(cards),
                           incomplete=sum(1 for c in cards if not c.computation["complete"]),
                           month_running=now < end)


def month_row(session: Session, month: str) -> KpiMonth | None:
    return session.scalar(select(KpiMonth).where(KpiMonth.month == month))


def is_finalized(session: Session, month: str) -> bool:
    row = month_row(session, month)
    return row is not None and row.status == FINALIZED


def save_entries(session: Session, *, actor: User, person: User, month: str, values: dict[str, object]) -> None:
    """The supervisor's figures for one person's month, all or nothing: every value is checked by the
    engine (a judged value outside its band's range is refused) before any is stored."""
    if not policy.can_enter_kpi(actor, person):
        raise Forbidden("kpi entries")
    dates.require_month(month)
    if is_finalized(session, month):
        raise MonthClosed(_("%(month)s is finalized: reopen it before changing its figures.", month=month))
    template = template_for(session, person.role)
    if template is None:
        raise DomainError(_("There is no KPI template for this role."))
    entered = {m.code for m in template.metrics if m.source == "entered"}
    unknown = set(values) - entered
    if unknown:
        raise DomainError(_("%(codes)s cannot be entered for this role.", codes=", ".join(sorted(unknown))))
    current = entries_of(session, [person.id], month)[person.id]
    merged = {**current, **values}
    kpi_engine.compute(template, {k: v for k, v in merged.items() if k in entered})   # raises InputError
    rows = {e.metric: e for e in session.scalars(select(KpiEntry).where(KpiEntry.user_id == person.id,
                                                                       KpiEntry.month == month))}
    for code, value in values.items():
        row = rows.get(code)
        if value is None or value == "" or value == {}:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            session.add(KpiEntry(user_id=person.id, month=month, metric=code, value=value, entered_by_id=actor.id))
        else:
            row.value, row.entered_by_id, row.entered_at = value, actor.id, utcnow()
    session.flush()


# ---------------------------------------------------------------- scorecards


@dataclass
class Scorecard:
    person: User
    month: str
    computation: dict                       # Computation.as_dict()
    measures: dict[str, dict]               # metric code -> Measure.as_dict()
    finalized: bool
    has_data: bool = True                   # False: nothing entered and nothing was due (an empty month)

    @property
    def total(self) -> float:
        return self.computation["total"]


def scorable_people(session: Session) -> list[User]:
    """Active people whose role has a template (saved or default)."""
    roles = set(DEFAULT_TEMPLATES) | set(session.scalars(select(KpiTemplate.role)))
    return session.scalars(select(User).where(User.active.is_(True), User.role.in_(roles))
                           .order_by(User.role, User.display_name)).all()


def compute_live(session: Session, people: list[User], month: str, *, s: StoreSettings,
                 now: datetime | None = None) -> list[Scorecard]:
    """Scorecards computed from the board and the entries as they are now; measures batched per metric."""
    by_role: dict[str, list[User]] = {}
    for person in people:
        by_role.setdefault(person.role, []).append(person)
    entries = entries_of(session, [p.id for p in people], month)
    cache: dict = {}
    cards = []
    for role, members in by_role.items():
        template = template_for(session, role)
        if template is None:
            continue
        ids = [p.id for p in members]
        measured = {}
        for metric in template.metrics:
            if metric.source == "measured" and metric.measure:
                measured[metric.code] = measure(session, metric.measure, ids, month, s=s, now=now, cache=cache)
        for person in members:
            inputs = dict(entries[person.id])
            inputs.update({code: values[person.id].value for code, values in measured.items()})
            result = kpi_engine.compute(template, inputs)
            cards.append(Scorecard(person=person, month=month, computation=result.as_dict(),
                                   measures={code: values[person.id].as_dict() for code, values in measured.items()},
                                   finalized=False, has_data=bool(entries[person.id]) or any(
                                       values[person.id].total for values in measured.values())))
    return cards


def scorecards(session: Session, people: list[User], month: str, *, s: StoreSettings) -> list[Scorecard]:
    """A finalized month from its frozen scores; an open one computed live."""
    if is_finalized(session, month):
        frozen = {k.user_id: k for k in session.scalars(select(KpiScore).where(
            KpiScore.month == month, KpiScore.user_id.in_([p.id for p in people])))}
        return [Scorecard(person=p, month=month, computation=frozen[p.id].result["computation"],
                          measures=frozen[p.id].result["measures"], finalized=True)
                for p in people if p.id in frozen]
    return compute_live(session, people, month, s=s)


def ranked(cards: list[Scorecard]) -> list[tuple[int, Scorecard]]:
    """Highest total first; equal totals share a rank."""
    ordered = sorted(cards, key=lambda c: (-c.total, c.person.display_name))
    out, rank, last = [], 0, None
    for i, card in enumerate(ordered, start=1):
        if card.total != last:
            rank, last = i, card.total
        out.append((rank, card))
    return out


def trend(session: Session, person: User, month: str, *, s: StoreSettings,
          months: int = 12) -> list[tuple[str, float | None]]:
    """The person's total for each of the `months` months ending with `month`; None for a month with
    nothing entered and nothing due (before the person started, or before CareBoard)."""
    points = []
    for m in dates.previous_months(month, months):
        [card] = scorecards(session, [person], m, s=s) or [None]
        points.append((m, card.total if card and card.has_data else None))
    return points


# ---------------------------------------------------------------- finalize and reopen


def finalize(session: Session, *, actor: User, month: str, s: StoreSettings, note: str | None = None) -> int:
    """Freeze the month's scorecards and record who did it. Returns how many were frozen."""
    if not policy.can_finalize_kpi(actor):
        raise Forbidden("finalize")
    dates.require_month(month)
    row = month_row(session, month)
    if row is not None and row.status == FINALIZED:
        raise DomainError(_("%(month)s is finalized already.", month=month))
    cards = compute_live(session, scorable_people(session), month, s=s)
    session.execute(KpiScore.__table__.delete().where(KpiScore.month == month))
    for card in cards:
        session.add(KpiScore(user_id=card.person.id, month=month, role=card.person.role, total=card.total,
                             result={"computation": card.computation, "measures": card.measures}))
    if row is None:
        row = KpiMonth(month=month)
        session.add(row)
    row.status, row.finalized_at, row.finalized_by_id = FINALIZED, utcnow(), actor.id
    session.add(KpiMonthEvent(month=month, action="finalized", actor_id=actor.id, note=(note or "").strip() or None))
    for card in cards:
        _tell_person(session, card.person, actor, month, NoticeKind.SCORECARD_FINALIZED)
    session.flush()
    return len(cards)


def _tell_person(session: Session, person: User, actor: User, month: str, kind: NoticeKind, reason: str = "") -> None:
    params = {"actor": actor.display_name, "month": month}
    if reason:
        params["excerpt"] = notifications.excerpt(reason)
    notifications.notify(session, user_id=person.id, kind=kind, actor_id=actor.id, params=params,
                         link=notifications.path("scorecard.show_person", username=person.username, month=month))


def reopen(session: Session, *, actor: User, month: str, reason: str) -> None:
    if not policy.can_finalize_kpi(actor):
        raise Forbidden("reopen")
    row = month_row(session, month)
    if row is None or row.status != FINALIZED:
        raise DomainError(_("%(month)s is not finalized.", month=month))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the month is reopened; it is kept in the record."))
    row.status = OPEN
    session.add(KpiMonthEvent(month=month, action="reopened", actor_id=actor.id, note=reason))
    scored = session.scalars(select(User).join(KpiScore, KpiScore.user_id == User.id)
                             .where(KpiScore.month == month, User.active.is_(True))).all()
    for person in scored:
        _tell_person(session, person, actor, month, NoticeKind.SCORECARD_REOPENED, reason)
    session.flush()


def month_events(session: Session, month: str) -> list[KpiMonthEvent]:
    return session.scalars(select(KpiMonthEvent).options(selectinload(KpiMonthEvent.actor))
                           .where(KpiMonthEvent.month == month).order_by(KpiMonthEvent.at, KpiMonthEvent.id)).all()


def may_see(viewer: User, person: User) -> bool:
    """Staff see their own scorecard; supervisors and the director everyone's (one department)."""
    return viewer.id == person.id or viewer.level >= Level.SUPERVISOR
