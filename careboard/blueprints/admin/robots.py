"""The department's chat robots (enterprise WeChat, DingTalk), for administrators: add, change, test, retry,
delete. Nothing is sent from here: messages wait in the outbox for the background sender (services/robots.py)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from careboard import policy
from careboard.blueprints.admin import bp
from careboard.blueprints.admin.forms import RobotActionForm, RobotForm
from careboard.blueprints.transaction import change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import Robot
from careboard.services import robots
from careboard.services.errors import FieldError


def _page(form: RobotForm, robot: Robot | None, status: int = 200):
    listed = db.session.query(Robot).order_by(Robot.id).all()
    return render_template("admin/robots.html", form=form, robot=robot, robots=listed,
                           pending=robots.pending_counts(db.session), action_form=RobotActionForm()), status


@bp.get("/robots")
@policy.admin
def list_robots():
    return _page(RobotForm(formdata=None), None)


@bp.get("/robots/<int:robot_id>")
@policy.admin
def edit_robot(robot_id: int):
    robot = db.get_or_404(Robot, robot_id)
    form = RobotForm(formdata=None, obj=robot, data={"role": robot.role.value if robot.role else "",
                                                     "kind": robot.kind.value, "version": robot.version})
    return _page(form, robot)


@bp.post("/robots")
@bp.post("/robots/<int:robot_id>")
@policy.admin
def save_robot(robot_id: int | None = None):
    robot = db.get_or_404(Robot, robot_id) if robot_id is not None else None
    form = RobotForm()
    if not form.validate_on_submit():
        return _page(form, robot, 422)
    values = robots.RobotValues(
        name=form.name.data, kind=form.kind.data, webhook=form.webhook.data, secret=form.secret.data,
        role=form.role.data or None, send_escalations=form.send_escalations.data, send_digest=form.send_digest.data,
        send_weekly=form.send_weekly.data, active=form.active.data, clear_secret=form.clear_secret.data)
    with change() as outcome:
        saved = robots.save_robot(db.session, actor=current_user, values=values, robot=robot,
                                  seen_version=form.version.data or None)
    if outcome.refused:
        error = outcome.refusal.error
        field = getattr(form, error.field, None) if isinstance(error, FieldError) else None
        (field or form.name).errors.append(outcome.refusal.text)
        return _page(form, robot, outcome.refusal.status)
    flash(_("Robot “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("admin.list_robots"), code=303)


def _action(robot_id: int, run, said: str):
    robot = db.get_or_404(Robot, robot_id)
    form = RobotActionForm()
    if not form.validate_on_submit():
        flash(_("The request was incomplete; nothing was changed."), "error")
        return redirect(url_for("admin.list_robots"), code=303)
    with change() as outcome:
        run(robot, form.version.data)
    flash(outcome.refusal.text if outcome.refused else said, "error" if outcome.refused else "success")
    return redirect(url_for("admin.list_robots"), code=303)


@bp.post("/robots/<int:robot_id>/test")
@policy.admin
def test_robot(robot_id: int):
    return _action(robot_id, lambda robot, _v: robots.send_test(db.session, robot, actor=current_user,
                                                                now=utcnow(), s=store()),
                   _("A test message is waiting to be sent: it reaches the chat within a few minutes."))


@bp.post("/robots/<int:robot_id>/retry")
@policy.admin
def retry_robot(robot_id: int):
    return _action(robot_id, lambda robot, _v: robots.retry_failed(db.session, robot, actor=current_user,
                                                                   now=utcnow()),
                   _("The messages given up are queued again."))


@bp.post("/robots/<int:robot_id>/delete")
@policy.admin
def delete_robot(robot_id: int):
    return _action(robot_id, lambda robot, version: robots.delete_robot(
        db.session, robot, actor=current_user, seen_version=int(version or -1)), _("Robot deleted."))
