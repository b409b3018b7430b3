"""Notifications: the bell's count (polled), its panel, the list, opening and marking notices read, and each
person's choice of kinds. A person only ever sees and marks their own notices: another person's id is a 404."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from careboard import policy
from careboard.blueprints.notifications import bp
from careboard.blueprints.notifications.forms import ButtonForm, PreferencesForm
from careboard.blueprints.transaction import say
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Notification
from careboard.services import notifications
from careboard.templating import render


def load_notice_or_404(notification_id: int) -> Notification:
    notice = notifications.own_notice(db.session, notification_id, current_user)
    if notice is None:
        abort(404)
    return notice


@bp.get("/")
@policy.staff
def index():
    limit = notifications.PANEL_LENGTH if request.htmx else notifications.LIST_LENGTH
    notices = db.session.scalars(notifications.notices_of(current_user).limit(limit)).all()
    return render("notifications/index.html", fragments={"notice-panel": "panel"}, notices=notices,
                  unread=notifications.unread_count(db.session, current_user), form=ButtonForm())


@bp.get("/bell")
@policy.staff
def bell():
    """The header's bell alone, for its poll: one COUNT."""
    return render_template("notifications/_bell.html", count=notifications.unread_count(db.session, current_user),
                           poll_seconds=current_app.config["NOTIFICATION_POLL_SECONDS"])


def _back():
    return redirect(url_for("notifications.index"), code=303)


@bp.post("/<int:notification_id>/open")
@policy.staff
def open_notice(notification_id: int):
    """Follow a notice's link, marking it read."""
    notice = load_notice_or_404(notification_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    notifications.mark_read(db.session, notice, user=current_user, now=utcnow())
    link = notifications.safe_link(notice)
    db.session.commit()
    return redirect(request.script_root + link, code=303) if link else _back()


@bp.post("/<int:notification_id>/read")
@policy.staff
def read_notice(notification_id: int):
    notice = load_notice_or_404(notification_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    notifications.mark_read(db.session, notice, user=current_user, now=utcnow())
    db.session.commit()
    return _back()


@bp.post("/read-all")
@policy.staff
def read_all():
    if not ButtonForm().validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(db.session, user=current_user, now=utcnow())
    db.session.commit()
    say(_("Notifications marked read: %(count)d.", count=count))
    return _back()


@bp.route("/preferences", methods=["GET", "POST"])
@policy.staff
def preferences():
    chosen = notifications.preferences(db.session, current_user)
    form = PreferencesForm()
    form.kinds.choices = [(kind.value, kind.label) for kind in chosen]
    if request.method == "GET":
        form.kinds.data = [kind.value for kind, on in chosen.items() if on]
    if form.validate_on_submit():
        notifications.save_preferences(db.session, user=current_user, enabled=form.kinds.data or [])
        db.session.commit()
        say(_("Your notification choices are saved."))
        return redirect(url_for("notifications.preferences"), code=303)
    return render_template("notifications/preferences.html", form=form), 422 if form.errors else 200
