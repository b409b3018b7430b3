"""The DMS import pages: upload an export, read the dry run's report, confirm it.

The upload is kept under instance/imports/ by a random token (never by its own name) between the dry
run and the confirmation, and deleted once confirmed; a file left unconfirmed expires after a day.
"""
from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms.validators import ValidationError

from careboard import policy
from careboard.blueprints.customers import bp
from careboard.extensions import db
from careboard.services import customer_import

EXTENSIONS = ("csv", "xlsx")
TOKEN = re.compile(r"^[0-9a-f]{32}$")            # secrets.token_hex(16)
KEEP_SECONDS = 24 * 3600                         # an upload not confirmed within a day is deleted
CHANGES = {customer_import.NEW: _l("new"), customer_import.UPDATED: _l("updated"),
           customer_import.UNCHANGED: _l("unchanged")}


def plain_file_name(form, field) -> None:
    name = field.data.filename or ""
    if any(part in name for part in ("/", "\\", "..", "\x00")):
        raise ValidationError(_l("Upload the file itself: its name must not contain a folder or “..”."))


class ImportForm(FlaskForm):
    file = FileField(_l("Export from the dealer system (CSV or XLSX)"), validators=[
        FileRequired(_l("Choose the exported file.")),
        FileAllowed(EXTENSIONS, _l("Only CSV and XLSX files can be imported.")),
        plain_file_name,
    ])


class ConfirmForm(FlaskForm):
    """The confirmation button: carries the CSRF token."""


# ---------------------------------------------------------------- the uploads folder


def upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_expired_uploads() -> None:
    limit = time.time() - KEEP_SECONDS
    for path in upload_folder().iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def claim_upload(token: str) -> Path | None:
    """Take the token's file for this request (an atomic rename, so a double click imports once);
    None when the token is malformed, unknown or expired."""
    if not TOKEN.match(token):
        return None
    folder = upload_folder()
    for extension in EXTENSIONS:
        path = folder / f"{token}.{extension}"
        claimed = folder / f"{token}.working.{extension}"
        try:
            fresh = path.stat().st_mtime >= time.time() - KEEP_SECONDS
            path.rename(claimed)
        except FileNotFoundError:
            continue
        if fresh:
            return claimed
        claimed.unlink(missing_ok=True)
    return None


# ---------------------------------------------------------------- pages


def page(form: ImportForm, *, report=None, token: str | None = None, filename: str = ""):
    columns = [(customer_import.FIELD_LABELS[name], aliases) for name, aliases in customer_import.FIELDS.items()]
    return render_template("customers/import.html", form=form, report=report, token=token, filename=filename,
                           confirm_form=ConfirmForm(formdata=None), columns=columns, changes=CHANGES,
                           preview_limit=customer_import.PREVIEW_ROWS)


@bp.route("/import", methods=["GET", "POST"])
@policy.supervisor
def import_upload():
    form = ImportForm()
    if not form.validate_on_submit():
        return page(form), 422 if form.errors else 200
    remove_expired_uploads()
    upload = form.file.data
    token = secrets.token_hex(16)
    path = upload_folder() / f"{token}.{upload.filename.rsplit('.', 1)[-1].lower()}"
    upload.save(path)
    report = customer_import.plan_import(db.session, path)
    db.session.rollback()                        # the dry run wrote nothing; end the read transaction
    if not report.ok:
        path.unlink(missing_ok=True)
        return page(form, report=report, filename=upload.filename), 422
    return page(form, report=report, token=token, filename=upload.filename)


@bp.post("/import/<token>")
@policy.supervisor
def import_confirm(token: str):
    form = ConfirmForm()
    path = claim_upload(token) if form.validate_on_submit() else None
    if path is None:
        flash(_("This import is not waiting any more: it was confirmed already or it expired. "
                "Upload the file again."), "error")
        return redirect(url_for("customers.import_upload"), code=303)
    try:
        report = customer_import.apply_import(db.session, path)
    except customer_import.ImportRefused as refused:
        db.session.rollback()
        return page(ImportForm(formdata=None), report=refused.report), 422
    finally:
        path.unlink(missing_ok=True)
    db.session.commit()
    flash(_("Imported: %(customers)d new and %(updated)d updated customers, %(vehicles)d new vehicles, "
            "%(sales)d sales and %(visits)d service visits.", customers=report.customers_created,
            updated=report.customers_updated, vehicles=report.vehicles_created, sales=report.sales_created,
            visits=report.visits_created), "success")
    return redirect(url_for("customers.import_upload"), code=303)
