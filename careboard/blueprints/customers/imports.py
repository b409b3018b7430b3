"""The DMS import pages: upload an export, follow its check, read the report, confirm it, follow the import.

The upload is kept under instance/imports/ by a random token (never by its own name) with an import job
(services/import_jobs.py), which runs outside the request: the job's page shows a progress bar (htmx polls
it; without JavaScript a link reloads it) and, when done, the report. A job belongs to its uploader: for
anyone else its page and its confirmation do not exist (404). A checked file left unconfirmed expires
after a day.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from careboard.fields import AppForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms.validators import ValidationError

from careboard import policy
from careboard.blueprints.customers import bp
from careboard.blueprints.transaction import change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import ImportJob, JobPhase, JobStatus
from careboard.services import customer_import, import_jobs
from careboard.services.errors import DomainError
from careboard.templating import render

EXTENSIONS = ("csv", "xlsx")
CHANGES = {customer_import.NEW: _l("new"), customer_import.UPDATED: _l("updated"),
           customer_import.UNCHANGED: _l("unchanged")}


def plain_file_name(form, field) -> None:
    name = field.data.filename or ""
    if any(part in name for part in ("/", "\\", "..", "\x00")):
        raise ValidationError(_l("Upload the file itself: its name must not contain a folder or “..”."))


class ImportForm(AppForm):
    file = FileField(_l("Export from the dealer system (CSV or XLSX)"), validators=[
        FileRequired(_l("Choose the exported file.")),
        FileAllowed(EXTENSIONS, _l("Only CSV and XLSX files can be imported.")),
        plain_file_name,
    ])


class ConfirmForm(AppForm):
    """The confirmation button: carries the CSRF token."""


def load_job_or_404(token: str) -> ImportJob:
    """The current user's job with this token; 404 for any other (another supervisor's upload included)."""
    job = import_jobs.job_of(db.session, token, current_user) if len(token) == 32 else None
    if job is None:
        abort(404)
    return job


def run_queued_jobs() -> None:
    import_jobs.start(current_app._get_current_object(), lambda: db.session)


# ---------------------------------------------------------------- pages


def columns():
    return [(customer_import.FIELD_LABELS[name], aliases) for name, aliases in customer_import.FIELDS.items()]


def upload_page(form: ImportForm):
    jobs = db.session.scalars(import_jobs.recent_jobs(current_user)).all()
    return render_template("customers/import.html", form=form, columns=columns(), jobs=jobs, statuses=JobStatus,
                           phases=JobPhase)


@bp.route("/import", methods=["GET", "POST"])
@policy.supervisor
def import_upload():
    form = ImportForm()
    if not form.validate_on_submit():
        return upload_page(form), 422 if form.errors else 200
    import_jobs.remove_expired_uploads()
    upload = form.file.data
    job = import_jobs.new_job(db.session, uploader=current_user, file_name=upload.filename,
                              extension=upload.filename.rsplit(".", 1)[-1].lower())
    upload.save(import_jobs.upload_path(job))
    db.session.commit()
    token = job.token
    run_queued_jobs()
    return redirect(url_for("customers.show_import", token=token), code=303)


@bp.get("/import/<token>")
@policy.supervisor
def show_import(token: str):
    """The job's page: progress while it runs (the #import-job region is polled), then its report."""
    job = load_job_or_404(token)
    now = utcnow()
    rows_done, lines, stalled = import_jobs.progress(job, now)
    report = customer_import.ImportReport.from_json(job.report) if job.report else None
    failure = import_jobs.stopped_message() if stalled else job.failure
    total_rows = max(lines - 1, 1) if lines else None            # the header is a line, not a row
    return render("customers/import_job.html", fragments={"import-job": "job"}, job=job, report=report,
                  rows_done=rows_done, total_rows=total_rows, failure=failure, pending=job.pending and not stalled,
                  awaiting=import_jobs.awaiting_confirmation(job, now), confirm_form=ConfirmForm(formdata=None),
                  changes=CHANGES, columns=columns(), preview_limit=customer_import.PREVIEW_ROWS,
                  phases=JobPhase, statuses=JobStatus, filename=job.file_name, token=job.token)


@bp.post("/import/<token>")
@policy.supervisor
def import_confirm(token: str):
    job = load_job_or_404(token)
    form = ConfirmForm()
    with change() as outcome:
        if not form.validate_on_submit() or not import_jobs.confirm(db.session, job, now=utcnow()):
            raise DomainError(_("This import is not waiting any more: it was confirmed already or it expired. "
                                "Upload the file again."))
    if outcome.refused:
        flash(outcome.refusal.text, "error")
        return redirect(url_for("customers.import_upload"), code=303)
    run_queued_jobs()
    return redirect(url_for("customers.show_import", token=token), code=303)
