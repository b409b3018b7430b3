"""The board's use cases: create, edit, move, reassign, complete, reopen, comment; and its queries.

Positions are gapless integers per (column, assignee) for the open columns, renumbered in the same
transaction as the move. Every change writes a CardEvent; the largest event id versions the board.

Longer than 500 lines because the lanes' positions, the card's version and its history are one rule: every
use case here renumbers, versions and records in the same way, with the same lock, and the board's queries
read what they write. The workflows of other capabilities plug in through `register_workflow`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import (Row, Select, and_, bindparam, case, false, func, literal_column, null, or_, select, text, true,
                        union_all, update)
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from careboard import dates, policy
from careboard.dbtypes import utcnow
from careboard.lru import LruCache
from careboard.models import (CARE_ROLES, Card, CardEvent, CardKind, Column, EventKind, NoticeKind, Priority, Role,
                              SlaState, User)
from careboard.models.cards import BOARD_LOCK_ID, OPEN_COLUMNS, sla_state
from careboard.services import notifications
from careboard.services.errors import Conflict, DomainError, Forbidden
from careboard.services.settings import StoreSettings
from careboard.services.texts import is_visible

TITLE_LENGTH = Card.__table__.c.title.type.length       # 200: what a title, also a rule's, may hold
COMMENT_LENGTH = 4000
HISTORY_PAGE = 20                                         # events the drawer shows at a time, newest first


# ---------------------------------------------------------------- workflows of other capabilities
#
# Some kinds of card belong to another capability, which says how they are moved on and done: a callback
# by its outcome (callbacks.py), a 5S card through its check (checklist.py), a complaint's card through the
# complaint's steps (complaints.py). Each registers its `Workflow` when it is imported, so the board needs
# none of them; a card of a kind in OWNED_KINDS whose capability is not loaded is refused (fail closed),
# never moved past its workflow.


@dataclass(frozen=True)
class Workflow:
    completion: str                      # how the card is done, for the templates: see completion_mode
    check_move: Callable[[Session, Card, str | None], None] | None = None          # (card, to column; None: edit)
    check_done: Callable[[Session, Card, User, str | None], None] | None = None    # (card, actor, note)


OWNED_KINDS = frozenset({CardKind.CALLBACK, CardKind.INSPECTION, CardKind.RECTIFICATION, CardKind.COMPLAINT})
_workflows: dict[CardKind, Workflow] = {}


def register_workflow(kinds: Iterable[CardKind], workflow: Workflow) -> None:
    for kind in kinds:
        _workflows[CardKind(kind)] = workflow


def workflow_of(card: Card) -> Workflow | None:
    kind = CardKind(card.kind)
    flow = _workflows.get(kind)
    if flow is None and kind in OWNED_KINDS:
        raise RuntimeError(f"no workflow registered for {kind} cards: its service module is not imported")
    return flow


def completion_mode(card: Card) -> str:
    """How the card is done, asked by the templates: "outcome" (a callback's form), "checklist" (through its
    5S check), "complaint_steps" (through the complaint's steps) or "button" (the Done button). None is a
    card kind or a column, so a template never mistakes one for the other."""
    flow = workflow_of(card)
    return flow.completion if flow is not None else "button"


# ---------------------------------------------------------------- helpers


def _in_lane(column: str, assignee_id: int | None, role: str, exclude: int | None):
    """The open cards of one lane (column × assignee, or column × role for unassigned cards), but `exclude`."""
    where = [Card.column == column, Card.id != exclude if exclude is not None else true()]
    if assignee_id is None:
        return and_(*where, Card.assignee_id.is_(None), Card.role == role)
    return and_(*where, Card.assignee_id == assignee_id)


def _shift(session: Session, lane, *, at: int, by: int) -> None:
    """Move the cards of a lane from position `at` on by one place, in one UPDATE whatever the lane holds.
    Positions are bookkeeping, not a change of the cards: on purpose a bulk UPDATE, which leaves their
    versions alone (a drop elsewhere does not make another's open form stale). The session's loaded cards
    follow ("evaluate")."""
    session.execute(update(Card).where(lane, Card.position >= at).values(position=Card.position + by),
                    execution_options={"synchronize_session": "evaluate"})


def _place(session: Session, card: Card, column: str, assignee: User | None, position: int | None) -> None:
    """Take the card out of its lane and put it into (column, assignee) at position (None: the end).

    Positions stay gapless per lane: the cards after the one that leaves move up by one, those from its new
    place on move down by one, each a single UPDATE, so a drop costs the same on a board of any size. A new
    card is added to the session by its caller only after it has been placed."""
    old_column, old_assignee, old_position = card.column, card.assignee_id, card.position
    if card.id is not None and old_column in OPEN_COLUMNS:             # out (also within its lane), then in
        _shift(session, _in_lane(old_column, old_assignee, card.role, card.id), at=old_position + 1, by=-1)
    card.column = column
    card.assignee = assignee
    card.assignee_id = assignee.id if assignee else None
    if column not in OPEN_COLUMNS:
        card.position = 0
        return
    lane = _in_lane(column, card.assignee_id, card.role, card.id)
    size = session.scalar(select(func.count(Card.id)).where(lane))
    index = size if position is None or position < 0 else min(position, size)
    _shift(session, lane, at=index, by=1)
    card.position = index


def _event(session: Session, card: Card, actor: User | None, kind: EventKind, *, from_value: str | None = None,
           to_value: str | None = None, note: str | None = None) -> CardEvent:
    event = CardEvent(card_id=card.id, actor_id=actor.id if actor else None, kind=kind,
                      from_value=from_value, to_value=to_value, note=note, at=utcnow())
    session.add(event)
    return event


def _check_version(card: Card, seen_version: int | None) -> None:
    if seen_version is None or card.version != int(seen_version):
        raise Conflict(card)


def _lock_lanes(session: Session, card: Card | None = None) -> None:
    """One writer of lanes at a time, and the card changed only from the version this request loaded.

    Two drops that read a lane at once and both renumber it leave gaps or twice the same position; a drop
    that read the card before another drop moved it renumbers a lane the card has left. So every use case
    that places a card calls this before it reads a lane: it takes the board's lock, held until the
    transaction ends (a transaction-level advisory lock on PostgreSQL; on SQLite its one write lock, taken
    by BEGIN IMMEDIATE), and then bumps the card's version at once. The bump's UPDATE finds no row when
    someone changed the card since it was loaded — StaleDataError, a 409 — also for a drop that changes
    nothing."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": BOARD_LOCK_ID})
    elif connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    if card is not None and card.id is not None:
        flag_modified(card, "position")
        session.flush()


def _check_follows_workflow(session: Session, card: Card, to_column: str | None) -> None:
    """A change of column (`to_column`; None: an edit) that the card's workflow may refuse: a complaint's card
    goes only where the complaint's step puts it. A move within its column (another place, another person)
    is free."""
    if to_column == card.column:
        return
    flow = workflow_of(card)
    if flow is not None and flow.check_move is not None:
        flow.check_move(session, card, to_column)


def _name(user: User | None) -> str:
    return user.display_name if user else _("Unassigned")


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise DomainError(_("A card needs a title."))
    if not is_visible(title):
        raise DomainError(_("The title has no visible characters: write what the card is about."))
    if len(title) > TITLE_LENGTH:
        raise DomainError(_("The title is too long (at most 200 characters)."))
    return title


def _tell_new_owner(session: Session, card: Card, actor: User | None, to_assignee: User | None) -> None:
    """The bell of the person a card was given to by someone else (a rule's card rings no bell: the tick makes
    dozens each morning, and "my cards" lists them; a claim or a card given to oneself is one's own action)."""
    if actor is None or to_assignee is None:
        return
    notifications.notify(session, user_id=to_assignee.id, kind=NoticeKind.CARD_ASSIGNED, actor_id=actor.id,
                         card_id=card.id, link=notifications.path("board.show_card", card_id=card.id),
                         params={"actor": actor.display_name, "title": card.title})


# ---------------------------------------------------------------- use cases


def create_card(session: Session, *, actor: User | None, kind: CardKind | str, title: str, role: Role | str,
                assignee: User | None = None, details: str = "", due_at: datetime | None = None,
                priority: int = Priority.NORMAL, source: str = "manual", rule_key: str | None = None,
                customer_id: int | None = None) -> Card:
    """A new card at the end of To do in its lane. `actor` None means a rule made it."""
    kind = CardKind(kind)
    role = Role(role)
    if actor is not None and not policy.can_create_kind(actor, kind):
        raise Forbidden(kind)
    if actor is not None and assignee is not None and assignee.id != actor.id and not policy.can_reassign(actor):
        raise Forbidden("assign to another person")
    if assignee is not None and not assignee.active:
        raise DomainError(_("%(name)s is deactivated and cannot take cards.", name=assignee.display_name))
    card = Card(kind=kind, title=_clean_title(title), details=(details or "").strip(), role=role,
                column=Column.TODO, position=0, due_at=due_at, priority=int(Priority(priority)),
                source=source, rule_key=rule_key, customer_id=customer_id,
                created_by_id=actor.id if actor else None)
    _lock_lanes(session)
    _place(session, card, Column.TODO, assignee, None)
    session.add(card)
    session.flush()
    _event(session, card, actor, EventKind.CREATED, to_value=Column.TODO)
    _tell_new_owner(session, card, actor, assignee)
    return card


def edit_card(session: Session, card: Card, *, actor: User, seen_version: int, title: str, details: str,
              due_at: datetime | None, priority: int) -> Card:
    _check_version(card, seen_version)
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    _check_follows_workflow(session, card, None)
    changes = []
    title = _clean_title(title)
    for name, value in (("title", title), ("details", (details or "").strip()), ("due_at", due_at),
                        ("priority", int(Priority(priority)))):
        if getattr(card, name) != value:
            changes.append(name)
            setattr(card, name, value)
    if changes:
        _event(session, card, actor, EventKind.EDITED, to_value=", ".join(changes))
    return card


def set_due(session: Session, card: Card, *, actor: User | None, due_at: datetime | None) -> None:
    """A due time set by another workflow (a complaint's next step or its changed deadline), recorded in the
    card's history like an edit: every change of a card writes an event, which the boards' ETags rely on."""
    if card.due_at != due_at:
        card.due_at = due_at
        _event(session, card, actor, EventKind.EDITED, to_value="due_at")


def move_card(session: Session, card: Card, *, actor: User, to_column: Column | str, to_assignee: User | None,
              position: int | None, seen_version: int, note: str | None = None, undo: bool = False) -> Card:
    """Drag and drop: another column, another person (supervisors), another place in the lane. `note` goes
    into the events written (an undo says so). A new person is told (the bell), except when `undo` takes a
    change back: then the notice the change gave is taken back instead."""
    _check_version(card, seen_version)
    to_column = Column(to_column)
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    reassigning = (to_assignee.id if to_assignee else None) != card.assignee_id
    if reassigning and not policy.can_reassign(actor) and not _is_claim(actor, card, to_assignee):
        raise Forbidden("reassign")
    if to_assignee is not None and not to_assignee.active:
        raise DomainError(_("%(name)s is deactivated and cannot take cards.", name=to_assignee.display_name))
    _check_follows_workflow(session, card, to_column)
    _lock_lanes(session, card)
    if to_column == Column.DONE and card.column != Column.DONE:
        _check_done(session, card, actor, card.outcome_note)
    if card.column == Column.DONE and to_column != Column.DONE:
        return _reopen(session, card, actor, to_column=to_column, to_assignee=to_assignee, position=position,
                       note=note, undo=undo)
    from_column, from_assignee = card.column, card.assignee
    _place(session, card, to_column, to_assignee, position)
    if reassigning:
        _event(session, card, actor, EventKind.REASSIGNED, from_value=_name(from_assignee), to_value=_name(to_assignee),
               note=note)
        _tell_reassigned(session, card, actor, from_assignee, to_assignee, undo)
    if from_column != to_column:
        if to_column == Column.DONE:
            _mark_done(session, card, actor, card.outcome_note)
        else:
            _event(session, card, actor, EventKind.MOVED, from_value=from_column, to_value=to_column, note=note)
    return card


def _tell_reassigned(session: Session, card: Card, actor: User, from_assignee: User | None,
                     to_assignee: User | None, undo: bool) -> None:
    if undo:
        if from_assignee is not None:
            notifications.retract(session, user_id=from_assignee.id, kind=NoticeKind.CARD_ASSIGNED, card_id=card.id)
    else:
        _tell_new_owner(session, card, actor, to_assignee)


def _is_claim(actor: User, card: Card, to_assignee: User | None) -> bool:
    """Staff may take an unassigned card of their own role."""
    return card.assignee_id is None and to_assignee is not None and to_assignee.id == actor.id \
        and card.role == actor.role


def reassign_card(session: Session, card: Card, *, actor: User, to_assignee: User | None,
                  seen_version: int) -> Card:
    """The no-drag alternative: same column, the end of the new person's lane."""
    return move_card(session, card, actor=actor, to_column=card.column, to_assignee=to_assignee, position=None,
                     seen_version=seen_version)


def bulk_reassign(session: Session, *, actor: User, from_user: User, to_user: User) -> int:
    """All open cards of one person to another, for when someone is absent. Returns how many moved."""
    if not policy.can_reassign(actor):
        raise Forbidden("bulk reassign")
    if from_user.id == to_user.id:
        raise DomainError(_("Choose two different people."))
    if not to_user.active:
        raise DomainError(_("%(name)s is deactivated and cannot take cards.", name=to_user.display_name))
    _lock_lanes(session)
    cards = session.scalars(select(Card).where(Card.assignee_id == from_user.id, Card.column.in_(OPEN_COLUMNS))
                            .order_by(Card.column, Card.position)).all()
    for card in cards:
        _place(session, card, card.column, to_user, None)
        _event(session, card, actor, EventKind.REASSIGNED, from_value=from_user.display_name,
               to_value=to_user.display_name, note=_("Bulk reassignment"))
    if cards:                                           # one notice for the lot, not one per card
        notifications.notify(session, user_id=to_user.id, kind=NoticeKind.CARD_ASSIGNED, actor_id=actor.id,
                             link=notifications.path("board.mine"),
                             params={"variant": "bulk", "actor": actor.display_name, "count": len(cards),
                                     "from": from_user.display_name})
    return len(cards)


def _check_done(session: Session, card: Card, actor: User, note: str | None) -> None:
    """What the card's workflow needs before it is done: a callback its outcome, a checklist card its
    submitted run or its supervisor's verification."""
    flow = workflow_of(card)
    if flow is not None and flow.check_done is not None:
        flow.check_done(session, card, actor, note)


def _mark_done(session: Session, card: Card, actor: User, note: str | None) -> None:
    card.completed_at = utcnow()
    card.completed_by = actor
    card.completed_by_id = actor.id
    _event(session, card, actor, EventKind.COMPLETED, to_value=Column.DONE, note=note or None)


def complete_card(session: Session, card: Card, *, actor: User, seen_version: int, note: str | None) -> Card:
    _check_version(card, seen_version)
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    if card.column == Column.DONE:
        raise DomainError(_("This card is already done."))
    _check_follows_workflow(session, card, Column.DONE)
    note = (note or "").strip()
    note = note if is_visible(note) else None
    _check_done(session, card, actor, note)
    _lock_lanes(session, card)
    if note:
        card.outcome_note = note
    _place(session, card, Column.DONE, card.assignee, None)
    _mark_done(session, card, actor, note)
    return card


def reopen_card(session: Session, card: Card, *, actor: User, seen_version: int) -> Card:
    _check_version(card, seen_version)
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    if card.column != Column.DONE:
        raise DomainError(_("Only a done card can be reopened."))
    _check_follows_workflow(session, card, Column.TODO)
    _lock_lanes(session, card)
    return _reopen(session, card, actor, to_column=Column.TODO, to_assignee=card.assignee, position=None)


def _reopen(session: Session, card: Card, actor: User, *, to_column: str, to_assignee: User | None,
            position: int | None, note: str | None = None, undo: bool = False) -> Card:
    from_assignee = card.assignee
    card.completed_at = None
    card.completed_by = None
    card.completed_by_id = None
    _place(session, card, to_column, to_assignee, position)
    _event(session, card, actor, EventKind.REOPENED, from_value=Column.DONE, to_value=to_column, note=note)
    if (to_assignee.id if to_assignee else None) != (from_assignee.id if from_assignee else None):
        _event(session, card, actor, EventKind.REASSIGNED, from_value=_name(from_assignee), to_value=_name(to_assignee),
               note=note)
        _tell_reassigned(session, card, actor, from_assignee, to_assignee, undo)
    return card


# ---------------------------------------------------------------- undo
#
# The toast after Done, a move or a reassignment offers to undo it for a few seconds. An undo is a change
# like any other: it carries the version the change left the card at, so it is refused (Conflict, 409) when
# someone changed the card since, and it writes its events, marked "Undone".


def _undo_note() -> str:
    return _("Undone")


def undo_done(session: Session, card: Card, *, actor: User, seen_version: int, to_column: Column | str,
              position: int | None = None) -> Card:
    """Take back a Done: the card goes back to the open column (and place) it was done from."""
    _check_version(card, seen_version)
    to_column = Column(to_column).value
    if card.column != Column.DONE:
        raise DomainError(_("This card is not done any more; there is nothing to undo."))
    if to_column not in OPEN_COLUMNS:
        raise DomainError(_("A card can only go back to an open column."))
    return move_card(session, card, actor=actor, to_column=to_column, to_assignee=card.assignee, position=position,
                     seen_version=seen_version, note=_undo_note())


def undo_move(session: Session, card: Card, *, actor: User, seen_version: int, to_column: Column | str,
              to_assignee: User | None, position: int | None = None) -> Card:
    """Take back a move (a drag may also have changed the person): back to the column, lane and place."""
    _check_version(card, seen_version)
    if card.column == Column.DONE:
        raise DomainError(_("This card is done; reopen it instead."))
    return move_card(session, card, actor=actor, to_column=to_column, to_assignee=to_assignee, position=position,
                     seen_version=seen_version, note=_undo_note(), undo=True)


def undo_reassign(session: Session, card: Card, *, actor: User, seen_version: int, to_assignee: User | None,
                  position: int | None = None) -> Card:
    """Take back a reassignment: back to the person (and place in their lane) it came from."""
    _check_version(card, seen_version)
    return move_card(session, card, actor=actor, to_column=card.column, to_assignee=to_assignee, position=position,
                     seen_version=seen_version, note=_undo_note(), undo=True)


def add_comment(session: Session, card: Card, *, actor: User, body: str, tell_owner: bool = True) -> CardEvent:
    """Anyone who can see the card may comment; comments never change the card's version. The card's person
    is told (the bell) unless it is their own comment, or `tell_owner` is False: a workflow whose comment
    comes with a notice of its own (a rectification sent back)."""
    body = (body or "").strip()
    if not body:
        raise DomainError(_("The comment is empty."))
    if not is_visible(body):
        raise DomainError(_("The comment has no visible characters."))
    if len(body) > COMMENT_LENGTH:
        raise DomainError(_("The comment is too long (at most 4000 characters)."))
    event = _event(session, card, actor, EventKind.COMMENTED, note=body)
    if tell_owner:
        notifications.notify(session, user_id=card.assignee_id, kind=NoticeKind.CARD_COMMENTED, actor_id=actor.id,
                             card_id=card.id, link=notifications.path("board.show_card", card_id=card.id),
                             params={"actor": actor.display_name, "title": card.title,
                                     "excerpt": notifications.excerpt(body)})
    return event


# ---------------------------------------------------------------- queries and views


@dataclass(frozen=True)
class BoardFilters:
    role: str | None = None
    person: int | None = None
    kind: str | None = None
    due: str | None = None              # "today" | "overdue"
    q: str | None = None
    lanes: str = "person"               # "person" | "role"

    def key(self) -> str:
        return "|".join(str(v) for v in (self.role, self.person, self.kind, self.due, self.q, self.lanes))


@dataclass
class CardView:
    card: Card | Row          # the board uses light rows (BOARD_FIELDS); other pages Card objects
    sla: SlaState
    may_change: bool


@dataclass
class Lane:
    key: str
    title: str
    subtitle: str
    assignee_id: int | None
    role: str | None
    cells: dict[str, list[CardView]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)       # cards per column, also of a lane not loaded
    over_limit: dict[str, bool] = field(default_factory=dict)
    loaded: bool = True                # its cards are in the view; else its head and counts only

    @property
    def open_count(self) -> int:
        return sum(self.counts.get(c, 0) for c in OPEN_COLUMNS)

    @property
    def card_count(self) -> int:
        return sum(self.counts.values())


@dataclass
class BoardView:
    lanes: list[Lane]
    column_counts: dict[str, int]
    overdue: int
    filters: BoardFilters
    badge: int | None = None         # a redraw's header badge (overdue_count), read with its counts


def _filtered(query: Select, filters: BoardFilters, now: datetime, settings: StoreSettings) -> Select:
    if filters.role:
        query = query.where(Card.role == filters.role)
    if filters.person:
        query = query.where(Card.assignee_id == filters.person)
    if filters.kind:
        query = query.where(Card.kind == filters.kind)
    if filters.due == "overdue":
        query = query.where(Card.due_at < now)
    elif filters.due == "today":
        _, end = dates.day_bounds(dates.local_date(now, settings.zone), settings.zone)
        query = query.where(Card.due_at < end)
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        query = query.where(or_(Card.title.ilike(pattern), Card.details.ilike(pattern)))
    return query


# What a card on the board shows, with its assignee's name and role: rows, not ORM objects, because a
# board shows thousands of cards (bench/README.md).
BOARD_FIELDS = (Card.id, Card.kind, Card.title, Card.role, Card.assignee_id, Card.column, Card.position,
                Card.due_at, Card.priority, Card.version, Card.completed_at,
                User.display_name.label("assignee_name"), User.role.label("assignee_role"))
# The fields that say which lane a card is in, with the lane's title (the assignee's name and role).
LANE_FIELDS = (Card.assignee_id, Card.role, Card.column, User.display_name.label("assignee_name"),
               User.role.label("assignee_role"))


def _on_board(fields, filters: BoardFilters, now: datetime, settings: StoreSettings, where=None, *,
              assignee: bool = True) -> tuple:
    """The board's two queries over `fields`: its open cards matching the filters, and the cards done today
    (whatever their due time), both limited by `where` (some lanes or cells) when given. Without `assignee`
    the assignee is not joined: the columns' counts then read an index alone, not every card's row."""
    start, _end = dates.day_bounds(dates.local_date(now, settings.zone), settings.zone)
    base = select(*fields).select_from(Card)
    if assignee:                     # the fields show the assignee's name and role
        base = base.outerjoin(User, Card.assignee_id == User.id)
    if where is not None:
        base = base.where(where)
    open_q = _filtered(base.where(Card.column.in_(OPEN_COLUMNS)), filters, now, settings)
    done_q = base.where(Card.column == Column.DONE, Card.completed_at >= start)
    return open_q, _filtered(done_q, BoardFilters(**{**filters.__dict__, "due": None}), now, settings)


def board_cards(session: Session, filters: BoardFilters, now: datetime, settings: StoreSettings,
                where=None) -> list[Row]:
    """Open cards matching the filters (by position), then the cards done today (newest first); only those
    `where` selects, if given. One statement: the two parts' UNION ALL, put in order here (SQLite orders a
    compound SELECT only by its result columns)."""
    rows = session.execute(union_all(*_on_board(BOARD_FIELDS, filters, now, settings, where))).all()
    done = [row for row in rows if row.column == Column.DONE]
    done.sort(key=lambda row: (row.completed_at, row.id), reverse=True)
    return sorted((row for row in rows if row.column != Column.DONE), key=lambda row: (row.position, row.id)) + done


def lane_counts(session: Session, filters: BoardFilters, now: datetime, settings: StoreSettings,
                where=None) -> list[Row]:
    """How many cards each (assignee, role, column) holds on the board, and how many of them are overdue:
    the lanes' heads and the columns' counts without loading a card. One statement of two grouped parts."""
    fields = (*LANE_FIELDS, func.count(Card.id).label("n"),
              func.sum(case((Card.due_at < now, 1), else_=0)).label("overdue"))
    return session.execute(union_all(*(query.group_by(*LANE_FIELDS)
                                       for query in _on_board(fields, filters, now, settings, where)))).all()


LANE_PART, COLUMN_PART, BADGE_PART = (literal_column(str(n)).label("part") for n in range(3))


def redraw_counts(session: Session, filters: BoardFilters, now: datetime, settings: StoreSettings, where,
                  viewer: User) -> tuple[list[Row], Counter, int]:
    """What a redraw of some lanes counts, in one statement instead of three: those lanes' counts (as
    lane_counts), the whole board's column counts (its columns' heads) and the header's overdue badge (as
    overdue_count), told apart by a `part` column."""
    lanes = (LANE_PART, *LANE_FIELDS, func.count(Card.id).label("n"),
             func.sum(case((Card.due_at < now, 1), else_=0)).label("overdue"))
    blank = [null()] * len(LANE_FIELDS)
    column = (COLUMN_PART, *blank[:2], Card.column, *blank[3:], func.count(Card.id), null())
    lane_parts = [query.group_by(*LANE_FIELDS) for query in _on_board(lanes, filters, now, settings, where)]
    column_parts = [query.group_by(Card.column)
                    for query in _on_board(column, filters, now, settings, assignee=False)]
    badge = _overdue_query(viewer, now).with_only_columns(BADGE_PART, *blank, func.count(Card.id), null())
    counts, overdue, rows = Counter(), 0, []
    for row in session.execute(union_all(*lane_parts, *column_parts, badge)):
        if row.part == 0:
            rows.append(row)
        elif row.part == 1:
            counts[row.column] += row.n
        else:
            overdue = row.n
    return rows, counts, overdue


# The department's order of roles: as DESIGN.md and the seeds' job descriptions list them, which is the order in
# which Role declares them (director, supervisor, sales care, after-sales care, ...). A role no longer declared
# (older data) comes last.
ROLE_RANK = {role.value: rank for rank, role in enumerate(Role)}
COLLAPSED_COOKIE = "careboard_lanes_"     # + the person's id: the lanes they folded, keys joined by "."
# The board's first answer holds the lanes that fit a screen or two: lanes are loaded, in order, until they
# hold this many cards; the lanes after them come as they scroll into view (GET /board/lanes/<key>).
FIRST_SCREEN_CARDS = 100


def lane_order(lane: Lane) -> tuple:
    """The board's lanes in the department's order: by role, then by name; a role's unassigned cards right
    after its people (those who can take them), never sorted by the role's English code."""
    return (ROLE_RANK.get(lane.role or "", len(ROLE_RANK)), lane.assignee_id is None, lane.title.casefold(), lane.key)


def lane_key(filters: BoardFilters, assignee_id: int | None, role: str) -> str:
    """The lane a card (or a cell) belongs to: its role's with lanes by role; else its assignee's, or its
    role's unassigned cards."""
    if filters.lanes == "role":
        return f"role-{role}"
    return f"user-{assignee_id}" if assignee_id is not None else f"unassigned-{role}"


def lane_where(key: str):
    """The cards of a lane, by its key; ValueError for a key that names no lane."""
    kind, _, value = key.partition("-")
    if kind == "user":
        return Card.assignee_id == int(value)
    if kind in ("unassigned", "role"):
        role = Role(value)
        return and_(Card.assignee_id.is_(None), Card.role == role) if kind == "unassigned" else Card.role == role
    raise ValueError(key)


def add_people_lanes(session: Session, filters: BoardFilters, lane_for, ids: list[int] | None = None) -> None:
    """A lane for each active person doing care work who matches the filters (of those `ids`, if given),
    cards or not."""
    people = select(User).where(User.active.is_(True), User.does_care_work())
    if ids is not None:
        people = people.where(User.id.in_(ids))
    if filters.role:
        people = people.where(User.role == filters.role)
    if filters.person:
        people = people.where(User.id == filters.person)
    for person in session.scalars(people):
        lane_for(f"user-{person.id}", title=person.display_name, subtitle=person.role.label,
                 assignee_id=person.id, role=person.role)


def build_board(session: Session, *, viewer: User, filters: BoardFilters, now: datetime,
                settings: StoreSettings, collapsed: frozenset[str] | set[str] = frozenset(),
                first_screen: int | None = None, only: str | None = None, cards_where=None,
                lanes_of: set[str] | None = None) -> BoardView:
    """The board's lanes in order with their counts. Every lane's cards are loaded, except: a collapsed lane
    (its head only), and with `first_screen` the lanes after those that hold that many cards; `only` builds
    one lane, loaded. A refresh: `lanes_of` builds only those lanes (with the whole board's column counts), and
    `cards_where` loads only the cards it selects (some cells), no lane whole."""
    soon = settings.due_soon
    lanes: dict[str, Lane] = {}
    columns = [c.value for c in Column]

    def lane_for(key: str, **kwargs) -> Lane:
        if key not in lanes:
            lanes[key] = Lane(key=key, cells={c: [] for c in columns}, counts=dict.fromkeys(columns, 0), **kwargs)
        return lanes[key]

    if filters.lanes == "role":
        for role in CARE_ROLES:
            if filters.role in (None, role.value):
                lane_for(f"role-{role.value}", title=role.label, subtitle="", assignee_id=None, role=role.value)
    elif lanes_of is None:
        add_people_lanes(session, filters, lane_for)

    def lane_of(row) -> Lane:
        key = lane_key(filters, row.assignee_id, row.role)
        if key in lanes:
            return lanes[key]
        if filters.lanes == "role":
            return lane_for(key, title=row.role.label, subtitle="", assignee_id=None, role=row.role)
        if row.assignee_id is not None:
            return lane_for(key, title=row.assignee_name, subtitle=row.assignee_role.label,
                            assignee_id=row.assignee_id, role=row.assignee_role)
        return lane_for(key, title=_("Unassigned"), subtitle=row.role.label, assignee_id=None, role=row.role)

    if lanes_of is not None:
        where = or_(*(lane_where(key) for key in lanes_of)) if lanes_of else false()
        for key in set(lanes) - lanes_of:
            del lanes[key]
    else:
        where = lane_where(only) if only else None
    badge = None
    if lanes_of is not None:           # the changed lanes' counts, the board's column counts, the header's badge
        rows, board_counts, badge = redraw_counts(session, filters, now, settings, where, viewer)
    else:
        rows = lane_counts(session, filters, now, settings, where)
    counts, overdue = Counter(), 0
    for row in rows:
        lane = lane_of(row)
        lane.counts[row.column] += row.n
        counts[row.column] += row.n
        overdue += int(row.overdue or 0) if row.column in OPEN_COLUMNS else 0
    if lanes_of is not None:
        # Lanes of people left without cards there (a person's last card dragged away): their heads, from their
        # accounts; the others came with their counts, so a drop within lanes that hold cards asks for nobody.
        missing = [int(key[5:]) for key in lanes_of - set(lanes) if key.startswith("user-")]
        if missing and filters.lanes != "role":
            add_people_lanes(session, filters, lane_for, ids=missing)
        counts = board_counts
    ordered = ([lanes[only]] if only in lanes else []) if only else sorted(lanes.values(), key=lane_order)
    loading, budget = [], first_screen
    for lane in ordered:
        lane.loaded = cards_where is None and (only is not None or lane.key not in collapsed) \
            and (budget is None or budget > 0)
        if lane.loaded:
            loading.append(lane.key)
            budget = None if budget is None else budget - lane.card_count
        for column in columns:
            limit = settings.wip_limit(column) if column in OPEN_COLUMNS else 0
            lane.over_limit[column] = bool(limit) and lane.assignee_id is not None and lane.counts[column] > limit
    if loading:
        everything = len(loading) == len(lanes) and not only
        cards_where = None if everything else or_(*(lane_where(key) for key in loading))
    if loading or cards_where is not None:
        for card in board_cards(session, filters, now, settings, cards_where):
            lane_of(card).cells[card.column].append(CardView(
                card, sla_state(card.due_at, card.column, card.completed_at, now, soon),
                policy.can_change_card(viewer, card)))
    return BoardView(lanes=ordered, column_counts={c: counts[c] for c in columns}, overdue=overdue,
                     filters=filters, badge=badge)


def urgency_order():
    """Overdue and soonest first, cards without a due time last; then priority."""
    return (case((Card.due_at.is_(None), 1), else_=0), Card.due_at, Card.priority, Card.id)


def my_open_cards(session: Session, user: User, now: datetime, settings: StoreSettings) -> list[CardView]:
    query = (select(Card).where(Card.assignee_id == user.id, Card.column.in_(OPEN_COLUMNS))
             .options(selectinload(Card.assignee)).order_by(*urgency_order()))
    return [CardView(c, c.sla_state(now, settings.due_soon), True) for c in session.scalars(query)]


def archive_query(filters: BoardFilters, now: datetime, settings: StoreSettings) -> Select:
    query = select(Card).where(Card.column == Column.DONE)
    query = _filtered(query, BoardFilters(**{**filters.__dict__, "due": None}), now, settings)
    return query.options(selectinload(Card.assignee), selectinload(Card.completed_by)) \
        .order_by(Card.completed_at.desc(), Card.id.desc())


# Built once, the id bound per call: a drop reads the card twice (before and after the change).
CARD_WITH_PEOPLE = select(Card).where(Card.id == bindparam("card_id")).options(
    joinedload(Card.assignee), joinedload(Card.completed_by), joinedload(Card.created_by))


def get_card(session: Session, card_id: int) -> Card | None:
    """The card with its people, in one statement."""
    return session.scalars(CARD_WITH_PEOPLE, {"card_id": card_id}).first()


@dataclass
class HistoryPage:
    events: list[CardEvent]          # newest first
    older: int | None                # `before` for the next, older page; None when these are the oldest


def card_history(session: Session, card: Card, *, before: int | None = None,
                 limit: int = HISTORY_PAGE) -> HistoryPage:
    """A page of the card's history and comments, newest first: the drawer stays small and quick however
    long the discussion grows; older events come a page at a time (`before`: the oldest id shown)."""
    query = select(CardEvent).where(CardEvent.card_id == card.id)
    if before is not None:
        query = query.where(CardEvent.id < before)
    rows = session.scalars(query.options(selectinload(CardEvent.actor))
                           .order_by(CardEvent.id.desc()).limit(limit + 1)).all()
    events = list(rows[:limit])
    return HistoryPage(events, events[-1].id if len(rows) > limit else None)


def _overdue_query(user: User, now: datetime) -> Select:
    """The header badge's count: the department's overdue cards for supervisors, one's own for staff."""
    query = select(func.count(Card.id)).where(Card.column.in_(OPEN_COLUMNS), Card.due_at < now)
    if not policy.can_see_department(user):
        query = query.where(Card.assignee_id == user.id)
    return query


@dataclass(frozen=True)
class Load:
    open: int = 0
    overdue: int = 0


def people_load(session: Session, now: datetime) -> dict[int, Load]:
    """Each person's open and overdue cards (the reassign menu shows them). One query."""
    rows = session.execute(select(Card.assignee_id, func.count(Card.id),
                                  func.sum(case((Card.due_at < now, 1), else_=0)))
                           .where(Card.column.in_(OPEN_COLUMNS), Card.assignee_id.is_not(None))
                           .group_by(Card.assignee_id)).all()
    return {user_id: Load(count, int(overdue or 0)) for user_id, count, overdue in rows}


def overdue_count(session: Session, user: User, now: datetime) -> int:
    return session.scalar(_overdue_query(user, now)) or 0


def _etag(*parts) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:20]


def board_version(session: Session, *, now: datetime, settings: StoreSettings, scope: str) -> str:
    """The board's ETag (sent weak, the same for every encoding: board/views.py not_modified): changes when
    any card changes (every change writes an event), when a card's SLA state changes with the clock, when an
    account changes as the board shows it, at midnight (Done shows today only), with the settings, and with
    the viewer and filters (scope). One query, whose cost does not grow with the cards: the clock's part is
    the next due time to be passed (for "overdue" and for "due soon"), an index seek, not a count of the cards
    already past it."""
    newest, next_due, next_soon, *stamp = session.execute(select(
        select(func.max(CardEvent.id)).scalar_subquery(),
        _next_due(now).scalar_subquery(),
        _next_due(now + settings.due_soon).scalar_subquery(),
        *people_stamp(),
    )).one()
    return _etag(newest, next_due, next_soon, people_version(session, stamp),
                 dates.local_date(now, settings.zone).isoformat(), settings.fingerprint(), scope)


def people_stamp() -> tuple:
    """Two scalar subqueries that change whenever an account does (its newest change, how many there are):
    the key of people_version's answer."""
    return select(func.max(User.updated_at)).scalar_subquery(), select(func.count(User.id)).scalar_subquery()


_people_versions = LruCache(16)


def people_version(session: Session, stamp) -> str:
    """The accounts as a board shows them (its lanes and filters): who, named how, in which role and level,
    active or not. A login changes an account's stamp but not this: the tablets' boards are not drawn again
    because someone logged in. Read once per process and stamp (people_stamp's values)."""
    key = tuple(stamp)
    version = _people_versions.get(key)
    if version is None:
        rows = session.execute(select(User.id, User.display_name, User.role, User.level, User.active)
                               .order_by(User.id)).all()
        version = _etag(*(tuple(row) for row in rows))
        _people_versions.put(key, version)
    return version


def _next_due(after: datetime) -> Select:
    """The first due time of an open card still ahead of `after`: when the clock passes it, a card's SLA
    state changes (ix_card_due)."""
    return select(func.min(Card.due_at)).where(Card.column.in_(OPEN_COLUMNS), Card.due_at >= after)


def mine_version(session: Session, *, viewer: User, now: datetime, settings: StoreSettings, scope: str) -> str:
    """The ETag of one person's "My cards", so that a tablet's poll is a 304 while a supervisor drags other
    people's cards. It changes when one of the person's open cards changes (its version rises, also when a
    drag elsewhere renumbers it) or a card comes (every change writes an event, the newest of all) or goes
    (the count falls), when one of their cards' SLA state changes with the clock, when the header's overdue
    badge changes (the department's count for supervisors), at midnight, with the settings, and with the
    viewer (scope). One query."""
    soon = now + settings.due_soon
    own = (Card.assignee_id == viewer.id, Card.column.in_(OPEN_COLUMNS))
    row = session.execute(select(
        select(func.max(CardEvent.id)).join(Card, Card.id == CardEvent.card_id).where(*own).scalar_subquery(),
        select(func.count(Card.id)).where(*own).scalar_subquery(),
        select(func.sum(Card.version)).where(*own).scalar_subquery(),
        select(func.count(Card.id)).where(*own, Card.due_at < now).scalar_subquery(),
        select(func.count(Card.id)).where(*own, Card.due_at < soon).scalar_subquery(),
        _overdue_query(viewer, now).scalar_subquery(),
    )).one()
    return _etag("mine", *row, dates.local_date(now, settings.zone).isoformat(), settings.fingerprint(), scope)


