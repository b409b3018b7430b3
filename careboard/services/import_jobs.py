"""The customer import as a background job: the upload returns at once, the check (dry run) and, once
confirmed, the import run outside the request, and the supervisor follows a progress bar that they may
leave and come back to. Only the uploader sees or confirms their job.

Why a thread and the database, not a job library. The app already does its one kind of background work
this way: the care rules' tick runs in a daemon thread started from a request (runner.maybe_tick)
and from `flask tick` by cron. An import is the same shape: a few a month, one at a time, minutes long, on
the one server that also keeps the upload (instance/imports/). A job library (RQ, Celery, Dramatiq, Huey)
would add a broker or a worker process to install, run and watch on the dealership's single box for that.
So the `import_job` table is the queue: the upload saves the file and a QUEUED row, commits, and starts a
daemon thread (with its own app context and session) that claims queued jobs one at a time and runs them
(`run_pending`); `flask import-jobs` (cron or the systemd timer, next to `flask tick`) runs what a restart
left waiting. The runner is a plain function (`run_job(session_factory, job_id)`), which tests call directly;
with IMPORT_IN_BACKGROUND = False the upload runs it inline.

Progress is not written to the database: the import is all or nothing, so it is one transaction, and on
SQLite that transaction holds the database's only write lock for as long as it runs. The runner writes
"rows_done lines_total" every PROGRESS_ROWS rows to a small file next to the upload instead (any worker
process on the box reads it); its modification time is the job's heartbeat. A job still RUNNING whose
heartbeat is older than STALE_SECONDS stopped with its process (a restart, a crash): it shows as failed
and `sweep` marks it so; nothing was imported, as its transaction ended with the process.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import ImportJob, JobPhase, JobStatus, NoticeKind, User
from careboard.services import customer_import, notifications
from careboard.services.errors import ImportRefused

STALE_SECONDS = 5 * 60          # a running job without a heartbeat for this long has stopped
KEEP_SECONDS = 24 * 3600        # a checked upload not confirmed within a day expires
_one_at_a_time = threading.Lock()  # in this process; across processes the claim below decides


def upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(job: ImportJob) -> Path:
    return upload_folder() / job.stored_name


def progress_path(job: ImportJob) -> Path:
    return upload_folder() / f"{job.token}.progress"


# ---------------------------------------------------------------- the uploader's side


def new_job(session: Session, *, uploader: User, file_name: str, extension: str) -> ImportJob:
    """A QUEUED check of an upload; the caller saves the file at upload_path(job) and commits."""
    job = ImportJob(token=secrets.token_hex(16), uploader_id=uploader.id, file_name=file_name[:255],
                    extension=extension, phase=JobPhase.CHECK, status=JobStatus.QUEUED, rows_done=0)
    session.add(job)
    session.flush()
    return job


def job_of(session: Session, token: str, user: User) -> ImportJob | None:
    """The job with this token if `user` uploaded it; None otherwise (another's job does not exist for them)."""
    return session.scalar(select(ImportJob).where(ImportJob.token == token, ImportJob.uploader_id == user.id))


def recent_jobs(user: User, limit: int = 5):
    return select(ImportJob).where(ImportJob.uploader_id == user.id).order_by(ImportJob.id.desc()).limit(limit)


def awaiting_confirmation(job: ImportJob, now: datetime) -> bool:
    """A check that ended without errors less than a day ago, whose upload is still there."""
    if (job.phase, job.status) != (JobPhase.CHECK, JobStatus.DONE) or job.finished_at is None:
        return False
    if now - job.finished_at > timedelta(seconds=KEEP_SECONDS) or not upload_path(job).is_file():
        return False
    return job.report is not None and customer_import.ImportReport.from_json(job.report).ok


def confirm(session: Session, job: ImportJob, *, now: datetime) -> bool:
    """Queue the import of a checked upload. False when it is not awaiting confirmation (confirmed already,
    expired, refused). A conditional UPDATE, so two clicks queue it once. The caller commits."""
    if not awaiting_confirmation(job, now):
        return False
    queued = session.execute(
        update(ImportJob).where(ImportJob.id == job.id, ImportJob.phase == JobPhase.CHECK,
                                ImportJob.status == JobStatus.DONE)
        .values(phase=JobPhase.IMPORT, status=JobStatus.QUEUED, rows_done=0, started_at=None,
                finished_at=None)).rowcount
    session.expire(job)
    return queued == 1


def progress(job: ImportJob, now: datetime) -> tuple[int, int | None, bool]:
    """(rows done, lines of the file or None, stalled) as the job stands: a running job's progress file,
    else its row. `stalled`: running without a heartbeat for STALE_SECONDS (its process stopped)."""
    if job.status != JobStatus.RUNNING:
        return job.rows_done, job.rows_total, False
    path = progress_path(job)
    try:
        done, total = path.read_text().split()
        beat = path.stat().st_mtime
        lines = None if total == "-" else int(total)
        rows = int(done)
    except (OSError, ValueError):              # not written yet (the job has just started)
        rows, lines, beat = job.rows_done, job.rows_total, (job.started_at or now).timestamp()
    return rows, lines, now.timestamp() - beat > STALE_SECONDS


# ---------------------------------------------------------------- running


def start(app: Flask, session_factory: Callable[[], Session]) -> None:
    """Run the queued jobs: in a daemon thread, or here and now when IMPORT_IN_BACKGROUND is False."""
    if app.config.get("IMPORT_IN_BACKGROUND", True):
        threading.Thread(target=_in_background, args=(app,), daemon=True, name="careboard-import").start()
    else:
        run_pending(session_factory)


def _in_background(app: Flask) -> None:
    with app.app_context():
        try:
            run_pending(lambda: db.session)
        finally:
            db.session.remove()


def run_pending(session_factory: Callable[[], Session]) -> int:
    """Claim and run queued jobs, oldest first, one at a time, until none is left; how many ran."""
    ran = 0
    with _one_at_a_time:
        session = session_factory()
        sweep(session, now=utcnow())
        session.commit()
        while True:
            job_id = session.scalar(select(ImportJob.id).where(ImportJob.status == JobStatus.QUEUED)
                                    .order_by(ImportJob.id).limit(1))
            session.rollback()
            if job_id is None or run_job(session_factory, job_id) is None:
                return ran
            ran += 1


def run_job(session_factory: Callable[[], Session], job_id: int) -> ImportJob | None:
    """Claim the QUEUED job and run its phase to the end; None when it was not queued (another runner has it).
    The check rolls back; the import commits its rows and the job's end in one transaction."""
    session = session_factory()
    now = utcnow()
    claimed = session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=now, rows_done=0)).rowcount
    session.commit()
    if claimed != 1:
        return None
    job = session.get(ImportJob, job_id)
    uploader = session.get(User, job.uploader_id)
    upload, beat = upload_path(job), _Heartbeat(progress_path(job))
    beat(0, None)
    try:
        with force_locale(uploader.language if uploader else current_app.config["BABEL_DEFAULT_LOCALE"]):
            _run_phase(session, job, upload, beat)
    except Exception:                     # noqa: BLE001 - a background job must end; the error is logged
        session.rollback()
        current_app.logger.exception("import job %s failed", job_id)
        job = session.get(ImportJob, job_id)
        with force_locale(uploader.language if uploader else current_app.config["BABEL_DEFAULT_LOCALE"]):
            _end(session, job, JobStatus.FAILED,
                 failure=_("The import stopped on an unexpected error; nothing was imported. "
                           "Try again, and tell the administrator if it happens again."))
        session.commit()
    if job.phase == JobPhase.IMPORT or job.status != JobStatus.DONE or \
            not customer_import.ImportReport.from_json(job.report).ok:
        upload.unlink(missing_ok=True)
    beat.path.unlink(missing_ok=True)
    return job


def _run_phase(session: Session, job: ImportJob, upload: Path, beat: _Heartbeat) -> None:
    if job.phase == JobPhase.CHECK:
        report = customer_import.plan_import(session, upload, progress=beat)
        session.rollback()
        job = session.get(ImportJob, job.id)
        _end(session, job, JobStatus.DONE, report=report)
        session.commit()
        return
    try:
        report = customer_import.apply_import(session, upload, progress=beat)
    except ImportRefused as refused:          # changed since the check: nothing imported
        session.rollback()
        job = session.get(ImportJob, job.id)
        _end(session, job, JobStatus.DONE, report=refused.report)
    else:
        _end(session, job, JobStatus.DONE, report=report)              # in the import's own transaction
    session.commit()


def _end(session: Session, job: ImportJob, status: JobStatus, *, report: customer_import.ImportReport | None = None,
         failure: str | None = None) -> None:
    job.status = status
    job.finished_at = utcnow()
    if report is not None:
        job.report = report.to_json()
        job.rows_done = report.rows
    job.failure = failure
    _tell_uploader(session, job, report)


def _tell_uploader(session: Session, job: ImportJob, report: customer_import.ImportReport | None) -> None:
    """A long job's end rings its uploader's bell (they may have left its page); a short one they watched end."""
    started = job.started_at or job.finished_at
    if (job.finished_at - started).total_seconds() < current_app.config["CAREBOARD_NOTIFY_IMPORT_AFTER_SECONDS"]:
        return
    if job.status != JobStatus.DONE or (job.phase == JobPhase.IMPORT and report is not None and not report.ok):
        variant = "failed"
    else:
        variant = "checked" if job.phase == JobPhase.CHECK else "imported"
    notifications.notify(session, user_id=job.uploader_id, kind=NoticeKind.IMPORT_FINISHED,
                         link=notifications.path("customers.show_import", token=job.token),
                         params={"variant": variant, "file": job.file_name})


class _Heartbeat:
    """The progress callback: writes "rows_done lines_total" to the job's progress file (atomically)."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, rows: int, lines: int | None) -> None:
        temporary = self.path.with_suffix(".progress-new")
        temporary.write_text(f"{rows} {lines if lines is not None else '-'}")
        os.replace(temporary, self.path)


def sweep(session: Session, *, now: datetime) -> int:
    """Mark as failed the running jobs whose heartbeat stopped (their process ended); how many. The caller
    commits."""
    stalled = [job for job in session.scalars(select(ImportJob).where(ImportJob.status == JobStatus.RUNNING))
               if progress(job, now)[2]]
    for job in stalled:
        with force_locale(_language(session, job)):
            _end(session, job, JobStatus.FAILED, failure=stopped_message())
        upload_path(job).unlink(missing_ok=True)
        progress_path(job).unlink(missing_ok=True)
    return len(stalled)


def stopped_message() -> str:
    return _("The server stopped while this file was being read; nothing was imported. Upload it again.")


def _language(session: Session, job: ImportJob) -> str:
    user = session.get(User, job.uploader_id)
    return user.language if user else current_app.config["BABEL_DEFAULT_LOCALE"]


def remove_expired_uploads() -> None:
    """Uploads (and progress files) older than KEEP_SECONDS: never confirmed, or left by a stopped job."""
    limit = time.time() - KEEP_SECONDS
    for path in upload_folder().iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
