"""In-app notifications (the bell): one row per person and event, read per person, and each person's choice
of which kinds they get. A notice keeps its kind, its parameters and a link inside the app, so the page draws
it in the reader's language, and a later sender (a chat robot's digest) can pick the same rows up."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels


class NoticeKind(Labelled, enum.StrEnum):
    CARD_ASSIGNED = "card_assigned"              # a card assigned or reassigned to you by someone else
    CARD_COMMENTED = "card_commented"            # someone else commented on your card
    RECTIFICATION_SENT_BACK = "rectification_sent_back"
    RECTIFICATION_VERIFIED = "rectification_verified"
    COMPLAINT_ESCALATED = "complaint_escalated"  # supervisors and the director
    ROWS_SKIPPED = "rows_skipped"                # the tick left out rows with impossible dates (supervisors)
    SCORECARD_FINALIZED = "scorecard_finalized"
    SCORECARD_REOPENED = "scorecard_reopened"
    IMPORT_FINISHED = "import_finished"          # to the uploader
    REPORT_READY = "report_ready"                # the weekly (and monthly) report, to supervisors and the director


labels(NoticeKind, {
    NoticeKind.CARD_ASSIGNED: _l("A card is assigned to me"),
    NoticeKind.CARD_COMMENTED: _l("A comment on my card"),
    NoticeKind.RECTIFICATION_SENT_BACK: _l("My rectification is sent back"),
    NoticeKind.RECTIFICATION_VERIFIED: _l("My rectification is verified"),
    NoticeKind.COMPLAINT_ESCALATED: _l("A complaint is escalated"),
    NoticeKind.ROWS_SKIPPED: _l("The care rules left out rows"),
    NoticeKind.SCORECARD_FINALIZED: _l("My month's scorecard is finalized"),
    NoticeKind.SCORECARD_REOPENED: _l("My month's scorecard is reopened"),
    NoticeKind.IMPORT_FINISHED: _l("My import has finished"),
    NoticeKind.REPORT_READY: _l("The weekly or monthly report is ready"),
})


class Notification(db.Model):
    """A notice for one person; marked read by that person. `text` is the notice in the store's default
    language when it was made (for old rows, a digest, and kinds drawn from it); `params` are what the page
    fills into the kind's sentence in the reader's language."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, 30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id", ondelete="SET NULL"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    link: Mapped[str | None] = mapped_column(String(300))               # a path inside the app
    params: Mapped[dict | None] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notification_unread", "user_id", "read_at"),)


class NotificationPreference(db.Model):
    """A person's choice for one kind; no row means on (every kind is on by default)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, 30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
