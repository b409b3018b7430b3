"""Cards on the board and their history."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, event, insert, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels
from careboard.models.users import Role, User


class CardKind(Labelled, enum.StrEnum):
    INSPECTION = "inspection"
    CALLBACK = "callback"
    COMPLAINT = "complaint"
    REMINDER = "reminder"
    RECTIFICATION = "rectification"
    TASK = "task"


KIND_LABELS = {
    CardKind.INSPECTION: _l("Inspection"),
    CardKind.CALLBACK: _l("Callback"),
    CardKind.COMPLAINT: _l("Complaint"),
    CardKind.REMINDER: _l("Reminder"),
    CardKind.RECTIFICATION: _l("Rectification"),
    CardKind.TASK: _l("Task"),
}
labels(CardKind, KIND_LABELS)


class Column(Labelled, enum.StrEnum):
    TODO = "todo"
    DOING = "doing"
    WAITING = "waiting"
    DONE = "done"


COLUMN_LABELS = {
    Column.TODO: _l("To do"),
    Column.DOING: _l("Doing"),
    Column.WAITING: _l("Waiting"),
    Column.DONE: _lp("state", "Done"),    # the column; a button "Done" is the verb
}
labels(Column, COLUMN_LABELS)
OPEN_COLUMNS = (Column.TODO, Column.DOING, Column.WAITING)


class Priority(Labelled, enum.IntEnum):
    HIGH = 1
    NORMAL = 2
    LOW = 3


PRIORITY_LABELS = {Priority.HIGH: _l("High"), Priority.NORMAL: _l("Normal"), Priority.LOW: _l("Low")}
labels(Priority, PRIORITY_LABELS)


class SlaState(Labelled, enum.StrEnum):
    NONE = "none"
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"


    @property
    def icon(self) -> str:
        return SLA_ICONS[self]


SLA_LABELS = {
    SlaState.NONE: _l("No due time"),
    SlaState.ON_TIME: _l("On time"),
    SlaState.DUE_SOON: _l("Due soon"),
    SlaState.OVERDUE: _l("Overdue"),
    SlaState.DONE_ON_TIME: _l("Done on time"),
    SlaState.DONE_LATE: _l("Done late"),
}
labels(SlaState, SLA_LABELS)
SLA_ICONS = {SlaState.NONE: "·", SlaState.ON_TIME: "✓", SlaState.DUE_SOON: "⏰", SlaState.OVERDUE: "⚠",
             SlaState.DONE_ON_TIME: "✔", SlaState.DONE_LATE: "✔"}


class CallbackResult(Labelled, enum.StrEnum):
    REACHED = "reached"
    NOT_REACHED = "not_reached"          # retried the next day
    FAILED = "failed"                    # not reached at the last attempt


labels(CallbackResult, {
    CallbackResult.REACHED: _l("Reached"),
    CallbackResult.NOT_REACHED: _l("Not reached, will retry"),
    CallbackResult.FAILED: _l("Not reached after every attempt"),
})


class Card(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CardKind] = mapped_column(str_enum(CardKind, 20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, 30))             # the lane
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    column: Mapped[Column] = mapped_column(str_enum(Column, 20))
    position: Mapped[int] = mapped_column(Integer, default=0)          # 0..n-1 within (column, assignee)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.NORMAL)
    source: Mapped[str] = mapped_column(String(40), default="manual")  # "manual" or the rule's name
    rule_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    outcome_note: Mapped[str | None] = mapped_column(Text)             # comments; the note of any card
    # A callback's outcome (回访结果): reached, satisfaction 1–10, problems found; attempts and retries.
    callback_result: Mapped[CallbackResult | None] = mapped_column(str_enum(CallbackResult, 20))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    complaint_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # dissatisfied: open a complaint
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise_on_sql")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id], lazy="raise_on_sql")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_card_lane", "column", "assignee_id", "position"),
        Index("ix_card_role_column", "role", "column"),
        Index("ix_card_assignee_open", "assignee_id", "column", "due_at"),
        Index("ix_card_due", "column", "due_at"),
        Index("ix_card_completed", "completed_at"),
        Index("ix_card_column_completed", "column", "completed_at"),            # the board's "done today"
        Index("ix_card_assignee_kind_due", "assignee_id", "kind", "due_at"),     # the scorecard's measures
    )

    @property
    def is_open(self) -> bool:
        return self.column != Column.DONE

    @property
    def is_todo(self) -> bool:
        return self.column == Column.TODO

    @property
    def is_waiting(self) -> bool:
        return self.column == Column.WAITING

    @property
    def is_done(self) -> bool:
        return self.column == Column.DONE

    @property
    def is_callback(self) -> bool:
        return self.kind == CardKind.CALLBACK

    @property
    def is_checklist_work(self) -> bool:
        """An inspection or a rectification: worked on the checklist's pages, not closed from the board."""
        return self.kind in (CardKind.INSPECTION, CardKind.RECTIFICATION)

    def sla_state(self, now: datetime, due_soon: timedelta) -> SlaState:
        return sla_state(self.due_at, self.column, self.completed_at, now, due_soon)


def sla_state(due_at: datetime | None, column: Column, completed_at: datetime | None, now: datetime,
              due_soon: timedelta) -> SlaState:
    """On time / due soon / overdue for an open card; done on time or late for a done one."""
    if due_at is None:
        return SlaState.NONE
    if column == Column.DONE:
        return SlaState.DONE_ON_TIME if (completed_at or now) <= due_at else SlaState.DONE_LATE
    if now > due_at:
        return SlaState.OVERDUE
    if now + due_soon >= due_at:
        return SlaState.DUE_SOON
    return SlaState.ON_TIME


class EventKind(Labelled, enum.StrEnum):
    CREATED = "created"
    MOVED = "moved"
    REASSIGNED = "reassigned"
    EDITED = "edited"
    COMMENTED = "commented"
    COMPLETED = "completed"
    REOPENED = "reopened"


EVENT_LABELS = {
    EventKind.CREATED: _l("created"),
    EventKind.MOVED: _l("moved"),
    EventKind.REASSIGNED: _l("reassigned"),
    EventKind.EDITED: _l("edited"),
    EventKind.COMMENTED: _l("commented"),
    EventKind.COMPLETED: _l("completed"),
    EventKind.REOPENED: _l("reopened"),
}
labels(EventKind, EVENT_LABELS)


class CardEvent(db.Model):
    """The card's history: written once, never edited or deleted. Its id also versions the board."""

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 20))
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(lazy="raise_on_sql")

    @property
    def is_column_change(self) -> bool:
        """A move between columns: from_value and to_value (when there is one) are Column values."""
        return self.kind in (EventKind.MOVED, EventKind.REOPENED, EventKind.CREATED, EventKind.COMPLETED) \
            and bool(self.to_value)

    @property
    def is_reassignment(self) -> bool:
        return self.kind == EventKind.REASSIGNED

    @property
    def is_edit(self) -> bool:
        return self.kind == EventKind.EDITED


class BoardChange(db.Model):
    """A board cell (column × person, or column × role for unassigned cards) that a saved change of a card
    touched: where the card was and where it is now. The tablets' refresh asks for the cells changed since the
    newest id it saw and gets those cells alone (services.board.board_changes), so a drag costs what it changed,
    not what the board holds. Written by the flush hook below, for every way a card is saved; the tick deletes
    the rows older than a day (a board that old loads whole)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    column: Mapped[Column] = mapped_column(str_enum(Column, 20))
    assignee_id: Mapped[int | None] = mapped_column(Integer)           # no foreign key: a log, kept a day
    role: Mapped[Role] = mapped_column(str_enum(Role, 30))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _cells_touched(card: Card) -> set[tuple]:
    """The cells a card's pending change touches: the one it is in now, and the one it left."""
    now = (card.column, card.assignee_id, card.role)
    cells = {now}
    state = sa_inspect(card)
    if state.persistent or state.deleted:
        old = []
        for name in ("column", "assignee_id", "role"):
            history = state.attrs[name].history
            old.append(history.deleted[0] if history.deleted else getattr(card, name))
        cells.add(tuple(old))
    return cells


BOARD_LOCK_ID = 0x43424C4E        # PostgreSQL advisory lock key ("CBLN"): the board's writers, one at a time


@event.listens_for(Session, "before_flush")
def _log_board_changes(session: Session, _context, _instances) -> None:
    """Log the cells the cards about to be saved touch, each once per transaction. On PostgreSQL the board's
    lock is taken first (services.board._lock_lanes takes the same): the log's ids are then given in the
    order the transactions commit, so a tablet that saw id n has seen every change up to n."""
    cells: set[tuple] = set()
    for card in (*session.new, *session.dirty, *session.deleted):
        if isinstance(card, Card) and (card in session.new or card in session.deleted
                                       or session.is_modified(card, include_collections=False)):
            cells |= _cells_touched(card)
    logged = session.info.setdefault("board_cells_logged", set())
    cells = {cell for cell in cells - logged if cell[0] is not None and cell[2] is not None}
    if not cells:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": BOARD_LOCK_ID})
    logged |= cells
    at = utcnow()
    # One executemany, not an ORM object each (which SQLite inserts one statement at a time, RETURNING its id).
    connection.execute(insert(BoardChange), [{"column": column, "assignee_id": assignee_id, "role": role, "at": at}
                                             for column, assignee_id, role in cells])


@event.listens_for(Session, "after_transaction_end")
def _forget_logged_cells(session: Session, _transaction) -> None:
    """A transaction or savepoint ended: a savepoint rolled back took its log rows with it, so log afresh
    (at worst a cell twice)."""
    session.info.pop("board_cells_logged", None)
