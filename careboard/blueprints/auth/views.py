"""Log in, log out, the language switch and one's own account."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from careboard import auth_session, policy
from careboard.blueprints.auth import bp
from careboard.blueprints.auth.forms import LanguageForm, LoginForm, PasswordForm
from careboard.blueprints.transaction import change
from careboard.extensions import db, limiter
from careboard.services import accounts
from careboard.urls import local_url


def _login_key() -> str:
    return f"{request.remote_addr}|{(request.form.get('username') or '').strip().lower()}"


def _too_many(_limit):
    form = LoginForm()
    error = _("Too many failed log-ins for this account. Please wait a minute and try again.")
    return current_app.make_response((render_template("auth/login.html", form=form, error=error), 429))


@bp.route("/login", methods=["GET", "POST"])
@policy.public
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 401, on_breach=_too_many)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"], methods=["POST"],
               on_breach=_too_many)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            return render_template("auth/login.html", form=form,
                                   error=_("Wrong user name or password, or the account is deactivated.")), 401
        auth_session.sign_in(user)
        db.session.commit()
        session["language"] = user.language
        return redirect(local_url(request.args.get("next")) or url_for("main.home"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@policy.staff
def logout():
    auth_session.sign_out()
    db.session.commit()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/language")
@policy.public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            current_user.language = form.language.data
            db.session.commit()
    return redirect(local_url(request.form.get("next")) or url_for("main.home"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@policy.staff
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        with change() as outcome:
            accounts.change_own_password(db.session, current_user, current=form.current.data, new=form.new.data)
            auth_session.renew()                      # every other browser of the account is logged out
        if outcome.refused:
            form.current.errors.append(outcome.refusal.text)
        else:
            flash(_("Your password was changed. Every other device was logged out."), "success")
            return redirect(url_for("auth.account"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/account.html", form=form), status
