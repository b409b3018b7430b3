"""Complaints: intake, the workflow with its SLA clock, escalation, the second callback, reopening,
and the figures the scorecard and the weekly review share.

received → responded → handed_off → solution_proposed → resolved → (second callback) → closed,
or back to handed_off when the second callback finds the customer still unhappy.
Deadlines (settings, defaults from the seeds): respond within 30 min of receipt; hand to the department
within 2 h of receipt (1 h for after-sales); a solution within 24 h of the hand-off; resolved within 24 h
of the solution; the second callback within 24 h of the resolution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from careboard import policy
from careboard.models import (Card, CardKind, Column, Complaint, ComplaintStatus, ComplaintStep, Customer, Department,
                              NoticeKind, Role, Topic, User, Vehicle)
from careboard.services import board as board_service
from careboard.services import customers, notifications, robots
from careboard.services.assigner import open_load
from careboard.services.errors import Conflict, DomainError, FieldError, FollowsComplaint, Forbidden, IllegalStep
from careboard.services.settings import StoreSettings
from careboard.services.texts import is_visible

S = ComplaintStatus
NEXT = {                                   # the ordinary forward steps
    S.RECEIVED: S.RESPONDED,
    S.RESPONDED: S.HANDED_OFF,
    S.HANDED_OFF: S.SOLUTION_PROPOSED,
    S.SOLUTION_PROPOSED: S.RESOLVED,
}
STAMP = {S.RESPONDED: "responded_at", S.HANDED_OFF: "handed_off_at", S.SOLUTION_PROPOSED: "solution_at",
         S.RESOLVED: "resolved_at", S.CLOSED: "closed_at"}
BOARD_COLUMN = {S.RECEIVED: Column.TODO, S.RESPONDED: Column.DOING, S.HANDED_OFF: Column.DOING,
                S.SOLUTION_PROPOSED: Column.DOING, S.RESOLVED: Column.WAITING}


# ---------------------------------------------------------------- the clock


def deadline(complaint: Complaint, s: StoreSettings) -> datetime | None:
    """When the current step is due; None once closed. A supervisor's override wins. Each limit counts
    opening minutes or calendar time as its clock setting says (StoreSettings.limit_end): by default the
    response and the hand-off stop while the store is closed, the 24-hour limits run day and night."""
    status = complaint.status
    if status is S.CLOSED:
        return None
    if complaint.deadline_override is not None:
        return complaint.deadline_override
    start, minutes, clock = _limit(complaint, s)
    return s.limit_end(start, minutes=minutes, clock=clock)


def _limit(complaint: Complaint, s: StoreSettings) -> tuple[datetime, int, str]:
    """The current step's clock: when it started, its length in minutes, and its clock setting."""
    status = complaint.status
    if status is S.RECEIVED:
        return complaint.received_at, s.complaint_response_minutes, "clock_complaint_response"
    if status is S.RESPONDED:
        hours = s.complaint_handoff_aftersales_hours if complaint.department == Department.AFTERSALES \
            else s.complaint_handoff_hours
        return complaint.received_at, hours * 60, "clock_complaint_handoff"
    if status is S.HANDED_OFF:
        return complaint.handed_off_at, s.complaint_solution_hours * 60, "clock_complaint_solution"
    if status is S.SOLUTION_PROPOSED:
        return complaint.solution_at, s.complaint_resolve_hours * 60, "clock_complaint_resolve"
    return complaint.resolved_at, s.complaint_second_callback_hours * 60, "clock_complaint_second_callback"


def counts_opening_hours(complaint: Complaint, s: StoreSettings) -> bool | None:
    """Whether the current step's limit counts only opening hours (shown beside the due time); None when no
    limit counts: closed, or a deadline a supervisor set."""
    if complaint.status is S.CLOSED or complaint.deadline_override is not None:
        return None
    return s.counts_opening(_limit(complaint, s)[2])


def is_overdue(complaint: Complaint, now: datetime, s: StoreSettings) -> bool:
    due = deadline(complaint, s)
    return due is not None and now > due


# ---------------------------------------------------------------- intake


def log_complaint(session: Session, *, actor: User, channel: str, category: str, department: str,
                  description: str, received_at: datetime, severity: int = 2, customer_id: int | None = None,
                  callback_card: Card | None = None, title: str | None = None, s: StoreSettings) -> Complaint:
    """Anyone in the department logs a complaint; it goes on the board for a customer-service supervisor."""
    description = (description or "").strip()
    if not is_visible(description):
        raise DomainError(_("Describe the complaint."))
    handler = _least_loaded_supervisor(session)
    card = board_service.create_card(
        session, actor=None, kind=CardKind.COMPLAINT, role=Role.CS_SUPERVISOR, assignee=handler,
        title=(title or next(line for line in description.splitlines() if is_visible(line)))[:200],
        details=description,
        priority=1 if severity == 1 else 2, source="complaint", customer_id=customer_id)
    card.created_by_id = actor.id
    complaint = Complaint(card_id=card.id, customer_id=customer_id,
                          callback_card_id=callback_card.id if callback_card else None, channel=channel,
                          category=category, department=department, description=description, severity=severity,
                          status=S.RECEIVED, received_at=received_at, created_by_id=actor.id)
    session.add(complaint)
    session.flush()
    session.add(ComplaintStep(complaint_id=complaint.id, actor_id=actor.id, to_status=S.RECEIVED,
                              at=received_at))
    card.due_at = deadline(complaint, s)
    return complaint


def _least_loaded_supervisor(session: Session) -> User | None:
    load = open_load(session, Role.CS_SUPERVISOR)
    return session.get(User, min(load, key=lambda uid: (load[uid], uid))) if load else None


# ---------------------------------------------------------------- the steps


def card_column(complaint: Complaint) -> Column:
    """Where the complaint's card belongs on the board at the complaint's step."""
    status = complaint.status
    return Column.DONE if status is S.CLOSED else BOARD_COLUMN[status]


def check_card_change(session: Session, card: Card, *, to_column: str | None) -> None:
    """The board asks before it changes a complaint's card other than by a move within its column: the
    card goes only where the complaint's step puts it (which is where _move takes it), and its title, due
    time and priority are the complaint's (`to_column` None: an edit). A card of kind complaint that no
    complaint owns (a supervisor's own) is a card like any other."""
    complaint = session.scalar(select(Complaint).where(Complaint.card_id == card.id))
    if complaint is None:
        return
    if to_column is None or to_column != card_column(complaint):
        raise FollowsComplaint(complaint.id)


board_service.register_workflow((CardKind.COMPLAINT,), board_service.Workflow(
    completion="complaint_steps", check_move=lambda session, card, to_column: check_card_change(session, card,
                                                                                          to_column=to_column)))


def _card(session: Session, complaint: Complaint) -> Card:
    return board_service.get_card(session, complaint.card_id)


def _check(complaint: Complaint, seen_version: int) -> None:
    if seen_version is None or complaint.version != int(seen_version):
        raise Conflict(complaint)


def _move(session: Session, complaint: Complaint, card: Card, *, actor: User, to: ComplaintStatus, now: datetime,
          note: str | None, s: StoreSettings) -> None:
    session.add(ComplaintStep(complaint_id=complaint.id, actor_id=actor.id, from_status=complaint.status,
                              to_status=to, note=(note or "").strip() or None, at=now))
    complaint.status = to
    if to in STAMP:
        setattr(complaint, STAMP[to], now)
    complaint.deadline_override = None
    complaint.escalated_status = None                       # the new step gets its own escalation
    if to is not S.CLOSED:
        column = BOARD_COLUMN[to]
        if card.column != column:
            board_service.move_card(session, card, actor=actor, to_column=column, to_assignee=card.assignee,
                                    position=None, seen_version=card.version)
        board_service.set_due(session, card, actor=actor, due_at=deadline(complaint, s))


def advance(session: Session, complaint: Complaint, *, actor: User, to: ComplaintStatus | str, seen_version: int,
            now: datetime, s: StoreSettings, note: str | None = None, solution: str | None = None) -> Complaint:
    """One forward step. Anything else — skipping, going back, closing here — is refused unchanged."""
    _check(complaint, seen_version)
    to = S(to)
    card = _card(session, complaint)
    if not policy.can_move_complaint(actor, card):
        raise Forbidden(complaint.id)
    if NEXT.get(complaint.status) is not to:
        raise IllegalStep(_("A complaint that is “%(now)s” cannot go to “%(to)s”.",
                            now=complaint.status.label, to=to.label))
    if to is S.SOLUTION_PROPOSED:
        if not is_visible(solution):
            raise DomainError(_("Write the proposed solution."))
        complaint.solution = solution.strip()
    _move(session, complaint, card, actor=actor, to=to, now=now, note=note, s=s)
    if to is S.RESOLVED:
        _second_callback_card(session, complaint, card, s)
    return complaint


def _second_callback_card(session: Session, complaint: Complaint, card: Card, s: StoreSettings) -> Card:
    return board_service.create_card(
        session, actor=None, kind=CardKind.CALLBACK, role=Role.CS_SUPERVISOR, assignee=card.assignee,
        title=_("Second callback: %(title)s", title=card.title)[:200], details=complaint.solution or "",
        due_at=deadline(complaint, s), priority=1,
        source="complaint_second_callback", customer_id=complaint.customer_id,
        rule_key=f"complaint:{complaint.id}:second_callback:{complaint.reopen_count}")


def second_callback(session: Session, complaint: Complaint, *, actor: User, satisfied: bool, seen_version: int,
                    now: datetime, s: StoreSettings, note: str | None = None) -> Complaint:
    """The second callback: satisfied closes the complaint (supervisor or director); still unhappy
    reopens it, back to the department."""
    _check(complaint, seen_version)
    card = _card(session, complaint)
    if complaint.status is not S.RESOLVED:
        raise IllegalStep(_("The second callback comes after the complaint is resolved."))
    if satisfied:
        if not policy.can_close_complaint(actor):
            raise Forbidden(complaint.id)
        _move(session, complaint, card, actor=actor, to=S.CLOSED, now=now, note=note, s=s)
        board_service.complete_card(session, card, actor=actor, seen_version=card.version,
                                    note=note or _("Closed after the second callback."))
    else:
        if not policy.can_move_complaint(actor, card):
            raise Forbidden(complaint.id)
        complaint.reopen_count += 1
        _move(session, complaint, card, actor=actor, to=S.HANDED_OFF, now=now,
              note=note or _("Reopened: the customer is still unhappy."), s=s)
    return complaint


def change_deadline(session: Session, complaint: Complaint, *, actor: User, due: datetime, seen_version: int) -> None:
    _check(complaint, seen_version)
    if not policy.can_close_complaint(actor):
        raise Forbidden(complaint.id)
    if complaint.status is S.CLOSED:
        raise IllegalStep(_("A closed complaint has no deadline."))
    complaint.deadline_override = due
    complaint.escalated_status = None
    board_service.set_due(session, _card(session, complaint), actor=actor, due_at=due)


# ---------------------------------------------------------------- escalation


def escalate(session: Session, *, now: datetime, s: StoreSettings) -> list[Complaint]:
    """Flag every complaint whose current step is past its deadline, once per step, and tell the
    supervisors and the director (one notification each, kind complaint_escalated)."""
    open_ = session.scalars(select(Complaint).where(Complaint.status != S.CLOSED)).all()
    late = [c for c in open_ if c.escalated_status != c.status and is_overdue(c, now, s)]
    if not late:
        return []
    bosses = notifications.supervisors(session)
    for complaint in late:
        complaint.escalated_status = complaint.status
        notifications.notify_all(session, user_ids=bosses, kind=NoticeKind.COMPLAINT_ESCALATED,
                                 complaint_id=complaint.id, card_id=complaint.card_id, now=now,
                                 link=notifications.path("complaints.show_complaint", complaint_id=complaint.id),
                                 params={"id": complaint.id, "status": complaint.status.value})
        robots.enqueue(session, topic=Topic.ESCALATION, text=_chat_text(session, complaint), now=now,
                       role=Role.CS_SUPERVISOR)
    return late


def _chat_text(session: Session, complaint: Complaint) -> str:
    """The escalation as the department's chat reads it: a masked phone at most, and a link back."""
    customer = session.get(Customer, complaint.customer_id) if complaint.customer_id else None
    title = _card(session, complaint).title
    who = customers.mask_mobile(customer.mobile) if customer and customer.mobile else _("no customer given")
    return _("Complaint #%(id)d “%(title)s” is overdue at “%(step)s” · customer %(who)s · %(link)s",
             id=complaint.id, title=title[:80], step=complaint.status.label, who=who,
             link=robots.link(f"/complaints/{complaint.id}"))


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class ComplaintFigures:
    received: int
    responded_in_time_rate: float | None      # first response within the response SLA / received
    handed_off_in_time_rate: float | None     # handed to the department within its SLA / received
    closure_rate: float | None                # closed / received (投诉关闭率)
    average_resolve_hours: float | None
    p90_resolve_hours: float | None
    reopen_rate: float | None


def figures(session: Session, *, start: datetime, end: datetime, s: StoreSettings) -> ComplaintFigures:
    """The complaints received in [start, end): one function for the scorecard and the weekly review."""
    rows = session.scalars(select(Complaint).where(Complaint.received_at >= start, Complaint.received_at < end)).all()
    n = len(rows)

    def rate(count: int) -> float | None:
        return count / n if n else None

    # In time as the complaint's own clock counts: a 21:00 complaint answered at 08:50 was answered in time.
    def respond_by(c: Complaint) -> datetime:
        return s.limit_end(c.received_at, minutes=s.complaint_response_minutes, clock="clock_complaint_response")

    def handoff_by(c: Complaint) -> datetime:
        hours = s.complaint_handoff_aftersales_hours if c.department == Department.AFTERSALES \
            else s.complaint_handoff_hours
        return s.limit_end(c.received_at, minutes=hours * 60, clock="clock_complaint_handoff")

    responded = sum(1 for c in rows if c.responded_at and c.responded_at <= respond_by(c))
    handed = sum(1 for c in rows if c.handed_off_at and c.handed_off_at <= handoff_by(c))
    hours = sorted((c.resolved_at - c.received_at).total_seconds() / 3600 for c in rows if c.resolved_at)
    return ComplaintFigures(
        received=n, responded_in_time_rate=rate(responded), handed_off_in_time_rate=rate(handed),
        closure_rate=rate(sum(1 for c in rows if c.status == S.CLOSED)),
        average_resolve_hours=sum(hours) / len(hours) if hours else None,
        p90_resolve_hours=hours[max(0, math.ceil(0.9 * len(hours)) - 1)] if hours else None,
        reopen_rate=rate(sum(1 for c in rows if c.reopen_count)))


# ---------------------------------------------------------------- intake helpers and lists


def _parse_lookup(lookup: str) -> tuple[str, str]:
    """("mobile", 13800138000) for a phone, ("plate", 沪AD1234) for a plate. FieldError("lookup") for what
    is neither: only a whole number or a whole plate finds a customer, never part of a number (the rule of
    customers.search for a role that sees masked numbers)."""
    digits = "".join(ch for ch in lookup if ch.isdigit())
    try:
        if len(digits) >= 11 or lookup.startswith("+"):
            return "mobile", customers.normalize_mobile(lookup)
        return "plate", customers.normalize_plate(lookup)
    except FieldError as error:
        raise FieldError("lookup", str(error)) from None


def _find_customer(session: Session, kind: str, value: str) -> Customer | None:
    """The customer with exactly this mobile number, or the first owner of a vehicle with exactly this plate;
    with their vehicles loaded."""
    query = select(Customer).options(selectinload(Customer.vehicles))
    if kind == "mobile":
        return session.scalar(query.where(Customer.mobile == value))
    return session.scalar(query.where(Customer.id.in_(select(Vehicle.customer_id).where(Vehicle.plate == value)))
                          .order_by(Customer.id).limit(1))


def resolve_customer(session: Session, lookup: str | None, name: str | None) -> Customer | None:
    """The customer a caller names by phone or plate; a new customer when a phone and a name are given
    and nobody has that phone; None when nothing is given. FieldError on "lookup" for a bad phone or plate,
    for an unknown phone without a name and for a plate nobody has: a complaint is never saved without
    the customer the operator typed."""
    lookup = (lookup or "").strip()
    if not lookup:
        return None
    kind, value = _parse_lookup(lookup)
    found = _find_customer(session, kind, value)
    if kind == "plate":
        if found is None:
            raise FieldError("lookup", _("No customer has the plate %(plate)s: type the caller's mobile number "
                                         "instead (with a name for a new customer), or leave the field empty.",
                                         plate=customers.format_plate(value)))
        return found
    if found is not None:
        return found
    if not (name or "").strip():
        raise FieldError("lookup", _("Nobody has this number yet: give the customer's name to create them, or "
                                     "leave the number empty."))
    try:
        return customers.create_customer(session, name=name, mobile=value)
    except FieldError as error:
        raise FieldError("name" if error.field == "name" else "lookup", str(error)) from None


@dataclass(frozen=True)
class LookupPreview:
    """What the intake's lookup finds while the operator types: `state` is "empty", "incomplete" (not yet
    a whole number or plate; `message` says why), "found" (`customer`, with its vehicles loaded), "new"
    (a whole number nobody has: a name creates the customer) or "unknown_plate"."""
    state: str
    customer: Customer | None = None
    message: str = ""


def preview_lookup(session: Session, lookup: str | None) -> LookupPreview:
    """The intake's lookup as resolve_customer will read it, without saving anything: the same rule (a
    whole number or a whole plate, never part of a number), so the preview tells no more than the search
    already tells a role that sees masked numbers."""
    lookup = (lookup or "").strip()
    if not lookup:
        return LookupPreview("empty")
    try:
        kind, value = _parse_lookup(lookup)
    except FieldError:
        return LookupPreview("incomplete", message=_("Type the whole mobile number (11 digits) or the whole plate."))
    found = _find_customer(session, kind, value)
    if found is None:
        return LookupPreview("unknown_plate" if kind == "plate" else "new")
    return LookupPreview("found", customer=found)


@dataclass(frozen=True)
class ComplaintFilters:
    state: str | None = None            # "open" | "overdue" | "closed"
    department: str | None = None
    category: str | None = None
    month: str | None = None            # "2026-11", in the store's time zone


@dataclass
class ComplaintRow:
    complaint: Complaint
    due: datetime | None
    overdue: bool


def list_complaints(session: Session, filters: ComplaintFilters, *, now: datetime,
                    s: StoreSettings) -> list[ComplaintRow]:
    query = select(Complaint).order_by(Complaint.received_at.desc())
    if filters.state in ("open", "overdue"):
        query = query.where(Complaint.status != S.CLOSED)
    elif filters.state == "closed":
        query = query.where(Complaint.status == S.CLOSED)
    if filters.department:
        query = query.where(Complaint.department == filters.department)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.month:
        year, month = (int(part) for part in filters.month.split("-"))
        start = datetime(year, month, 1, tzinfo=s.zone)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=s.zone)
        query = query.where(Complaint.received_at >= start, Complaint.received_at < end)
    rows = [ComplaintRow(c, deadline(c, s), is_overdue(c, now, s)) for c in session.scalars(query)]
    return [r for r in rows if r.overdue] if filters.state == "overdue" else rows


def steps_of(session: Session, complaint: Complaint) -> list[ComplaintStep]:
    return session.scalars(select(ComplaintStep).where(ComplaintStep.complaint_id == complaint.id)
                           .options(selectinload(ComplaintStep.actor)).order_by(ComplaintStep.id)).all()


def complaint_id_of_card(session: Session, card_id: int) -> int | None:
    return session.scalar(select(Complaint.id).where(Complaint.card_id == card_id))
