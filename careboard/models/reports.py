"""The reports archive: the weekly report (every Monday, for the week before) and the monthly report
(before the 5th, for the month before), each kept once per period with its figures and its workbook."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, utcnow
from careboard.extensions import db
from careboard.models.users import User

WEEKLY, MONTHLY = "weekly", "monthly"
KINDS = (WEEKLY, MONTHLY)


class Report(db.Model):
    """One period's report. Made by the tick (created_by None) or on demand by a supervisor, who replaces
    the period's report; the unique (kind, period) keeps a second tick from making another."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))                               # weekly / monthly
    period: Mapped[str] = mapped_column(String(10))                             # 2026-W47 / 2026-10
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    data: Mapped[dict] = mapped_column(JSON, deferred=True)                     # the figures, JSON-safe
    xlsx: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)             # the workbook

    created_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    __table_args__ = (UniqueConstraint("kind", "period"),)

    @property
    def filename(self) -> str:
        return f"careboard-{self.kind}-{self.period}.xlsx"
