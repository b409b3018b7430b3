"""The daily 5S showroom checklist: areas and their items (the template), the day's runs with their
answers (a copy of the items, so editing the template never alters a past run), and photos."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels
from careboard.models.users import Role, User


class FiveS(Labelled, enum.StrEnum):
    """The five S: 整理 sort, 整顿 set in order, 清扫 shine, 清洁 standardize, 素养 sustain."""

    SORT = "sort"
    SET_IN_ORDER = "set_in_order"
    SHINE = "shine"
    STANDARDIZE = "standardize"
    SUSTAIN = "sustain"


labels(FiveS, {
    FiveS.SORT: _l("Sort (整理)"),
    FiveS.SET_IN_ORDER: _l("Set in order (整顿)"),
    FiveS.SHINE: _l("Shine (清扫)"),
    FiveS.STANDARDIZE: _l("Standardize (清洁)"),
    FiveS.SUSTAIN: _l("Sustain (素养)"),
})


class Result(Labelled, enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "na"


labels(Result, {Result.PASS: _l("Pass"), Result.FAIL: _l("Fail"), Result.NA: _l("N/A")})


class RunStatus(Labelled, enum.StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"


labels(RunStatus, {RunStatus.OPEN: _l("In progress"), RunStatus.SUBMITTED: _l("Submitted")})


class PhotoStage(Labelled, enum.StrEnum):
    BEFORE = "before"          # taken by the inspector on a failed item
    AFTER = "after"            # taken by the responsible person when the rectification is done


labels(PhotoStage, {PhotoStage.BEFORE: _l("Before"), PhotoStage.AFTER: _l("After")})


class ChecklistArea(db.Model):
    """An area of the showroom checked every morning: who keeps it in order and who inspects it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    responsible_role: Mapped[Role] = mapped_column(str_enum(Role, 30))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    inspector_role: Mapped[Role] = mapped_column(str_enum(Role, 30))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id], lazy="raise_on_sql")
    inspector: Mapped[User | None] = relationship(foreign_keys=[inspector_id], lazy="raise_on_sql")
    items: Mapped[list[ChecklistItem]] = relationship(back_populates="area", order_by="ChecklistItem.position",
                                                      lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version}


class ChecklistItem(db.Model):
    """One standard of an area ("展车表面无灰尘、无手印"), with its 5S category."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("checklist_area.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
    category: Mapped[FiveS] = mapped_column(str_enum(FiveS, 20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    area: Mapped[ChecklistArea] = relationship(back_populates="items", lazy="raise_on_sql")


class ChecklistRun(db.Model):
    """One area's check on one day, opened from its inspection card."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("checklist_area.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    area_name: Mapped[str] = mapped_column(String(80))                       # as it was that day
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"), unique=True)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, 20), default=RunStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    answers: Mapped[list[RunAnswer]] = relationship(back_populates="run", order_by="RunAnswer.position",
                                                    lazy="raise_on_sql")
    submitted_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    __table_args__ = (UniqueConstraint("area_id", "day"),)

    @property
    def is_submitted(self) -> bool:
        return self.status == RunStatus.SUBMITTED


class RunAnswer(db.Model):
    """An item of a run: a copy of the item's text and category, the answer, and what followed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("checklist_run.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300))
    category: Mapped[FiveS] = mapped_column(str_enum(FiveS, 20))
    result: Mapped[Result | None] = mapped_column(str_enum(Result, 10))
    note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    rectification_card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"), unique=True)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)       # "after" sent for verification

    run: Mapped[ChecklistRun] = relationship(back_populates="answers", lazy="raise_on_sql")

    @property
    def failed(self) -> bool:
        return self.result == Result.FAIL


class Photo(db.Model):
    """A re-encoded photo, stored once under instance/uploads/ by the hash of its content."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)                               # bytes of the stored JPEG
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class PhotoLink(db.Model):
    """A photo attached to a failed item (before) or to its rectification (after)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id"), index=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("run_answer.id"), index=True)
    stage: Mapped[PhotoStage] = mapped_column(str_enum(PhotoStage, 10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    photo: Mapped[Photo] = relationship(lazy="raise_on_sql")

    __table_args__ = (UniqueConstraint("answer_id", "photo_id", "stage"),)
