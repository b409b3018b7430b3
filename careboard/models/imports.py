"""Import jobs: one uploaded DMS export, checked (the dry run) and then, once confirmed, imported.

The work runs outside the web request (services/import_jobs.py); the row records where it stands and,
when done, the report as JSON text. Only its uploader may see or confirm it.
"""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels


class JobStatus(Labelled, enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"              # the phase ran to its end: the report says whether the file was refused
    FAILED = "failed"          # stopped by an error or a restart; nothing was imported


labels(JobStatus, {JobStatus.QUEUED: _lp("import job", "Waiting"), JobStatus.RUNNING: _l("Running"),
                   JobStatus.DONE: _lp("state", "Done"), JobStatus.FAILED: _lp("import job", "Failed")})


class JobPhase(Labelled, enum.StrEnum):
    CHECK = "check"            # the dry run: writes nothing
    IMPORT = "import"          # confirmed: all rows or none


labels(JobPhase, {JobPhase.CHECK: _l("Check"), JobPhase.IMPORT: _l("Import")})


class ImportJob(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)          # in URLs and the upload's file name
    uploader_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))                  # as uploaded; shown, never a path
    extension: Mapped[str] = mapped_column(String(8))                    # csv or xlsx
    phase: Mapped[JobPhase] = mapped_column(str_enum(JobPhase, 10), default=JobPhase.CHECK)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, 10), default=JobStatus.QUEUED, index=True)
    rows_total: Mapped[int | None]                                       # lines of the file, as estimated
    rows_done: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text)                     # ImportReport.to_json() when done
    failure: Mapped[str | None] = mapped_column(String(500))             # why it failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def pending(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def stored_name(self) -> str:
        return f"{self.token}.{self.extension}"
