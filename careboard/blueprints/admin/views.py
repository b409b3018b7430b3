"""Accounts and store settings, for administrators."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from careboard import auth_session, policy
from careboard.blueprints.admin import bp
from careboard.blueprints.admin.forms import ActiveForm, NewUserForm, ResetPasswordForm, SettingsForm, UserForm
from careboard.blueprints.transaction import change
from careboard.dates import DEFAULT_HOLIDAYS, FIRST, LAST, local_date
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import User
from careboard.services import accounts, settings


def load_user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users")
@policy.admin
def list_users():
    people = db.session.scalars(accounts.list_users()).all()
    return render_template("admin/users.html", users=people)


@bp.route("/users/new", methods=["GET", "POST"])
@policy.admin
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        with change() as outcome:
            user = accounts.create_user(db.session, username=form.username.data,
                                        display_name=form.display_name.data, role=form.role.data,
                                        level=form.level.data, password=form.password.data,
                                        language=form.language.data)
        if outcome.refused:
            form.username.errors.append(outcome.refusal.text)
        else:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.list_users"), code=303)
    return render_template("admin/user_form.html", form=form, user=None), 422 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@policy.admin
def edit_user(user_id: int):
    user = load_user_or_404(user_id)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        with change() as outcome:
            accounts.update_user(db.session, user, actor=current_user, display_name=form.display_name.data,
                                 role=form.role.data, level=form.level.data, language=form.language.data)
        if outcome.refused:
            form.level.errors.append(outcome.refusal.text)
        else:
            flash(_("Account %(name)s saved.", name=user.username), "success")
            return redirect(url_for("admin.list_users"), code=303)
    return render_template("admin/user_form.html", form=form, user=user,
                           password_form=ResetPasswordForm(), active_form=ActiveForm()), \
        422 if form.errors else 200


@bp.post("/users/<int:user_id>/active")
@policy.admin
def set_user_active(user_id: int):
    user = load_user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit() or form.active.data not in ("0", "1"):
        flash(_("The request was incomplete; nothing was changed."), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id), code=303)
    with change() as outcome:
        accounts.set_active(db.session, user, actor=current_user, active=form.active.data == "1")
    if outcome.refused:
        flash(outcome.refusal.text, "error")
    else:
        flash(_("Account %(name)s activated.", name=user.username) if user.active
              else _("Account %(name)s deactivated. Its cards and history are kept.", name=user.username),
              "success")
    return redirect(url_for("admin.edit_user", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/password")
@policy.admin
def reset_password(user_id: int):
    user = load_user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with change() as outcome:
            accounts.reset_password(db.session, user, password=form.password.data)   # ends its sessions
            if user.id == current_user.id:
                auth_session.renew()                  # the administrator's own browser stays signed in
        if outcome.refused:
            flash(outcome.refusal.text, "error")
        else:
            flash(_("The password of %(name)s was reset.", name=user.username), "success")
    else:
        flash(_("The password must have at least %(n)d characters.", n=accounts.MIN_PASSWORD), "error")
    return redirect(url_for("admin.edit_user", user_id=user.id), code=303)


@bp.route("/settings", methods=["GET", "POST"])
@policy.admin
def edit_settings():
    current = store()
    form = SettingsForm(data={name: getattr(current, name) for name in SettingsForm.SETTINGS})
    form.timezone.choices = [SelectChoice(zone, zone) for zone in settings.common_timezones()]
    if form.validate_on_submit():
        with change() as outcome:
            settings.save(db.session, actor=current_user, **form.values())
        if outcome.refused:
            form.store_name.errors.append(outcome.refusal.text)
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.edit_settings"), code=303)
    now = utcnow()
    year = request.args.get("year", type=int) or local_date(now, current.zone).year
    year = min(max(year, FIRST.year), LAST.year)
    return render_template("admin/settings.html", form=form, default_holidays=DEFAULT_HOLIDAYS, year=year,
                           months=settings.calendar_year(current, year),
                           unknown_year=settings.unknown_coming_year(current, now)), \
        422 if form.errors else 200
