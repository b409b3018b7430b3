"""The weekly review (每周例会): one screen for the Monday meeting, a meeting mode for the TV, and the
improvement cards (PDCA) made from it."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from careboard import dates, policy
from careboard.blueprints.review import bp
from careboard.blueprints.review.forms import ActionForm
from careboard.blueprints.transaction import change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import CallbackResult, Column, Role, SlaState, User
from careboard.services import review
from careboard.services.errors import DomainError
from careboard.templating import render

BAR_W = 240
# The review's sections in order (their element ids); meeting mode shows one per screen, ?section=N (from 1).
SECTIONS = ("work", "overdue", "callbacks", "complaints", "five-s", "scores", "actions")


def this_week() -> str:
    return dates.week_of(dates.local_date(utcnow(), store().zone))


def week_or_404(text: str | None) -> str:
    try:
        dates.require_week(text or "")
    except DomainError:
        abort(404)
    return text


def bars(rows: list[tuple[str, float | None]]) -> list[dict]:
    """Horizontal bars (0–100%) for a server-rendered SVG; the numbers are printed beside each bar."""
    return [{"label": label, "value": value, "width": round(BAR_W * (value or 0), 1), "y": 8 + i * 30}
            for i, (label, value) in enumerate(rows)]


def section_arg() -> int:
    """?section=N of meeting mode, kept within 1..len(SECTIONS): a stale or mistyped link opens the nearest
    section instead of an empty screen."""
    number = request.args.get("section", 1, type=int)
    return min(max(number, 1), len(SECTIONS))


def _people() -> list[User]:
    return db.session.scalars(select(User).where(User.active.is_(True), User.does_care_work())
                              .order_by(User.role, User.display_name)).all()


@bp.get("/")
@policy.supervisor
def index():
    """The review; ?mode=meeting is the TV's meeting mode: its own bar instead of the app's, one section per
    screen (?section=N, so previous and next work without JavaScript too)."""
    week = week_or_404(request.args.get("week") or this_week())
    data = review.build_review(db.session, week, s=store(), now=utcnow())
    return render("review/index.html", r=data, week=week, previous=dates.shift_week(week, -1),
                  following=dates.shift_week(week, 1), meeting=request.args.get("mode") == "meeting",
                  sections=SECTIONS, section=section_arg(),
                  area_bars=bars([(a.name, a.pass_rate) for a in data.areas]),
                  people_bars=bars([(p.person.display_name, p.on_time_rate) for p in data.people]),
                  action_form=ActionForm(people=_people()), Role=Role, Column=Column, SlaState=SlaState,
                  CallbackResult=CallbackResult, BAR_W=BAR_W)


def back_to_actions(week: str):
    """After the action form: its section of the review, still in meeting mode when it was sent from there."""
    if request.form.get("mode") == "meeting":
        url = url_for("review.index", week=week, mode="meeting", section=SECTIONS.index("actions") + 1)
    else:
        url = url_for("review.index", week=week, _anchor="actions")
    return redirect(url, code=303)


@bp.post("/actions")
@policy.supervisor
def create_action():
    form = ActionForm(people=_people())
    week = week_or_404(request.form.get("week"))
    if not form.validate_on_submit():
        flash("; ".join(e for es in form.errors.values() for e in es), "error")
        return back_to_actions(week)
    owner = db.session.get(User, form.owner.data) if form.owner.data else None
    with change() as outcome:
        review.create_action(db.session, actor=current_user, week=week, title=form.title.data, owner=owner,
                             due_at=dates.local_to_utc(form.due_at.data, store().zone), details=form.details.data or "")
    if outcome.refused:
        flash(outcome.refusal.text, "error")
        return back_to_actions(week)
    flash(_("Improvement card made; it is on the board and on next week's review."), "success")
    return back_to_actions(week)
