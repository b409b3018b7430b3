"""The reports archive: the weekly and monthly reports kept by the tick, their workbooks, and a report
made again on demand."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from careboard.fields import AppForm
from sqlalchemy import select
from sqlalchemy.orm import undefer
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from careboard import policy
from careboard.blueprints.review import bp
from careboard.blueprints.transaction import change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models.reports import MONTHLY, WEEKLY, Report
from careboard.services import reports, workbooks
from careboard.templating import render


class GenerateForm(AppForm):
    """A report made (again) on demand: which kind, and the week or month it covers."""
    kind = SelectField(_l("Report"), choices=[SelectChoice(WEEKLY, _l("Weekly report")),
                                                SelectChoice(MONTHLY, _l("Monthly report"))])
    period = StringField(_l("Week or month"), validators=[DataRequired(), Length(max=10)],
                         render_kw={"placeholder": "2026-W47 / 2026-10"})


def archive_page(form: GenerateForm, status: int = 200):
    kept = db.session.scalars(reports.reports_query()).all()
    return render("review/archive.html", weekly=[r for r in kept if r.kind == WEEKLY],
                  monthly=[r for r in kept if r.kind == MONTHLY], form=form), status


@bp.get("/reports")
@policy.supervisor
def archive():
    return archive_page(GenerateForm())


@bp.get("/reports/<int:report_id>.xlsx")
@policy.supervisor
def download_report(report_id: int):
    report = db.session.scalar(select(Report).options(undefer(Report.xlsx)).where(Report.id == report_id))
    if report is None:
        abort(404)
    return send_file(io.BytesIO(report.xlsx), mimetype=workbooks.MIMETYPE, as_attachment=True,
                     download_name=report.filename)


@bp.post("/reports/generate")
@policy.supervisor
def generate_report():
    form = GenerateForm()
    if not form.validate_on_submit():
        return archive_page(form, 422)
    with change() as outcome:
        report = reports.generate(db.session, form.kind.data, form.period.data.strip(), s=store(), now=utcnow(),
                                  actor=current_user)
    if outcome.refused:
        form.period.errors = [*form.period.errors, outcome.refusal.text]
        return archive_page(form, 422)
    flash(_("The report of %(period)s is made.", period=report.period), "success")
    return redirect(url_for("review.archive"), code=303)
