"""KPI scoring (考核): each role's template, the figures a supervisor enters for a month, the month's
state (open or finalized, with the record of who finalized or reopened it) and the frozen scores."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.users import Role, User


class KpiTemplate(db.Model):
    """A role's template as the director saved it (the JSON of services/kpi_engine.py). A role without a
    row uses the seeded default."""

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 30), unique=True)
    definition: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class KpiEntry(db.Model):
    """One figure the board cannot know, entered by a supervisor for a person's month."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)                   # YYYY-MM
    metric: Mapped[str] = mapped_column(String(40))
    value: Mapped[object] = mapped_column(JSON)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    __table_args__ = (UniqueConstraint("user_id", "month", "metric"),)


class KpiMonth(db.Model):
    """A month is open until the director finalizes it; a finalized month is read-only until reopened."""

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class KpiMonthEvent(db.Model):
    """Who finalized or reopened a month, when and why: never edited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    action: Mapped[str] = mapped_column(String(20))                             # finalized / reopened
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(lazy="raise_on_sql")


class KpiScore(db.Model):
    """A person's scorecard of a finalized month, frozen as it was computed then (Computation.as_dict()
    plus how each measured value was measured)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    month: Mapped[str] = mapped_column(String(7), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 30))
    total: Mapped[float] = mapped_column(db.Float)
    result: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("user_id", "month"),)
