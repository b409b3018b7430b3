"""Complaints: intake, the list with its filters, one complaint's page (its steps, clock and the
printable handling form), and the actions on it."""
from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from careboard import dates, policy
from careboard.blueprints.complaints import bp
from careboard.blueprints.complaints.forms import DeadlineForm, IntakeForm, ReadForm, SecondCallbackForm, StepForm
from careboard.blueprints.transaction import attempt, change, say
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import (CallbackResult, Card, Category, Channel, Column, Complaint, ComplaintStatus, Department,
                              NoticeKind, Notification)
from careboard.services import board, complaints, customers, notifications
from careboard.services.errors import FieldError, Forbidden
from careboard.templating import localtime


def load_complaint_or_404(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        abort(404)
    return complaint


@bp.get("/")
@policy.staff
def index():
    args = request.args
    filters = complaints.ComplaintFilters(
        state=args.get("state") if args.get("state") in ("open", "overdue", "closed") else None,
        department=args.get("department") if args.get("department") in {d.value for d in Department} else None,
        category=args.get("category") if args.get("category") in {c.value for c in Category} else None,
        month=dates.parse_month(args.get("month")))
    rows = complaints.list_complaints(db.session, filters, now=utcnow(), s=store())
    notices = db.session.scalars(notifications.unread_notifications(current_user, NoticeKind.COMPLAINT_ESCALATED)
                                 ).all() if policy.can_close_complaint(current_user) else []
    return render_template("complaints/index.html", rows=rows, filters=filters, notices=notices,
                           Department=Department, Category=Category, ComplaintStatus=ComplaintStatus,
                           read_form=ReadForm())


@bp.route("/new", methods=["GET", "POST"])
@policy.staff
def new_complaint():
    form = IntakeForm()
    if form.validate_on_submit():
        with change() as outcome:
            customer = complaints.resolve_customer(db.session, form.lookup.data, form.name.data)
            complaint = complaints.log_complaint(
                db.session, actor=current_user, channel=form.channel.data, category=form.category.data,
                department=form.department.data, description=form.description.data, severity=form.severity.data,
                customer_id=customer.id if customer else None,
                received_at=dates.local_to_utc(form.received_at.data, store().zone) or utcnow(), s=store())
        if outcome.refused:
            error = outcome.refusal.error
            field = form.description
            if isinstance(error, FieldError):
                field = form.name if error.field == "name" else form.lookup
            field.errors.append(outcome.refusal.text)
        else:
            flash(_("Complaint #%(id)d logged; it is on the board now.", id=complaint.id), "success")
            return redirect(url_for("complaints.show_complaint", complaint_id=complaint.id), code=303)
    preview = complaints.preview_lookup(db.session, form.lookup.data) if form.lookup.data else None
    return render_template("complaints/new.html", form=form, preview=preview, **display_helpers()), \
        422 if form.errors else 200


@bp.get("/lookup")
@policy.staff
def lookup_preview():
    """The intake's preview of whom the lookup finds, while the operator types (htmx). It reads nothing
    that customers.search would not show the same viewer: a whole number or plate, the number masked."""
    preview = complaints.preview_lookup(db.session, request.args.get("lookup", "")[:40])
    return render_template("complaints/_lookup.html", preview=preview, **display_helpers())


def display_helpers() -> dict:
    """A phone number as the viewer may see it (masked for roles that do not phone customers), a plate
    with its dot."""
    return {"phone": partial(customers.shown_mobile, current_user._get_current_object()),
            "plate": customers.format_plate}


@bp.get("/<int:complaint_id>")
@policy.staff
def show_complaint(complaint_id: int, *, error: str | None = None, status: int = 200):
    complaint = load_complaint_or_404(complaint_id)
    card = board.get_card(db.session, complaint.card_id)
    current = complaint.status
    nxt = complaints.NEXT.get(current)
    context = dict(
        complaint=complaint, card=card, steps=complaints.steps_of(db.session, complaint),
        due=complaints.deadline(complaint, store()), overdue=complaints.is_overdue(complaint, utcnow(), store()),
        opening_clock=complaints.counts_opening_hours(complaint, store()), current=current, next_status=nxt,
        error=error,
        may_move=policy.can_move_complaint(current_user, card), may_close=policy.can_close_complaint(current_user),
        step_form=StepForm(data={"to": nxt.value if nxt else "", "version": complaint.version}, formdata=None),
        callback_form=SecondCallbackForm(data={"version": complaint.version}, formdata=None),
        deadline_form=DeadlineForm(data={"version": complaint.version}, formdata=None),
        customer=customers.summary(db.session, complaint.customer_id) if complaint.customer_id else None,
        CallbackResult=CallbackResult, Column=Column, **display_helpers(),
        Department=Department, Category=Category, Channel=Channel, ComplaintStatus=ComplaintStatus)
    return render_template("complaints/detail.html", **context), status


def _act(complaint: Complaint, change, form, said):
    """One step of the complaint; `said(complaint)` answers it (a toast on the page it comes back to)."""
    if not form.validate_on_submit():
        return show_complaint(complaint.id, error="; ".join(e for es in form.errors.values() for e in es), status=422)
    refusal = attempt(change)
    if refusal is not None and refusal.conflict:
        return show_complaint(complaint.id, status=409, error=_(
            "Someone else changed this complaint in the meantime. Below is how it is now; nothing was overwritten."))
    if refusal is not None:
        return show_complaint(complaint.id, error=refusal.message, status=422)
    say(said(load_complaint_or_404(complaint.id)))
    return redirect(url_for("complaints.show_complaint", complaint_id=complaint.id), code=303)


@bp.post("/<int:complaint_id>/step")
@policy.staff
def advance_complaint(complaint_id: int):
    complaint = load_complaint_or_404(complaint_id)
    form = StepForm()
    return _act(complaint, lambda: complaints.advance(
        db.session, complaint, actor=current_user, to=form.to.data, seen_version=form.version.data, now=utcnow(),
        s=store(), note=form.note.data, solution=form.solution.data), form, step_message)


@bp.post("/<int:complaint_id>/second-callback")
@policy.staff
def second_callback(complaint_id: int):
    complaint = load_complaint_or_404(complaint_id)
    form = SecondCallbackForm()
    return _act(complaint, lambda: complaints.second_callback(
        db.session, complaint, actor=current_user, satisfied=form.satisfied.data == "yes",
        seen_version=form.version.data, now=utcnow(), s=store(), note=form.note.data), form, callback_message)


@bp.post("/<int:complaint_id>/deadline")
@policy.supervisor
def change_deadline(complaint_id: int):
    complaint = load_complaint_or_404(complaint_id)
    form = DeadlineForm()
    return _act(complaint, lambda: complaints.change_deadline(
        db.session, complaint, actor=current_user, due=dates.local_to_utc(form.due.data, store().zone),
        seen_version=form.version.data), form,
        lambda c: _("Complaint #%(id)d: the deadline is now %(due)s.", id=c.id, due=localtime(c.deadline_override)))


def step_message(complaint: Complaint) -> str:
    """What a step did, by the step it left the complaint at."""
    return _("Complaint #%(id)d: %(status)s.", id=complaint.id, status=complaint.status.label)


def callback_message(complaint: Complaint) -> str:
    """The second callback closed the complaint, or reopened it."""
    if complaint.status == ComplaintStatus.CLOSED:
        return _("Complaint #%(id)d closed: the customer is satisfied.", id=complaint.id)
    return _("Complaint #%(id)d reopened: back to the department.", id=complaint.id)


@bp.post("/notifications/<int:notification_id>/read")
@policy.supervisor
def read_notification(notification_id: int):
    notice = db.session.get(Notification, notification_id)
    if notice is None:
        abort(404)
    try:
        notifications.mark_read(db.session, notice, user=current_user, now=utcnow())
    except Forbidden:
        abort(403)
    db.session.commit()
    return redirect(url_for("complaints.index"), code=303)


def complaint_of_card(card: Card) -> Complaint | None:
    return db.session.scalar(select(Complaint).where(Complaint.card_id == card.id))
