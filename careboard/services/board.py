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
from sqlalchemy import Row, Select, case, func, or_, select, text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from careboard import dates, policy
from careboard.dbtypes import utcnow
from careboard.models import CARE_ROLES, Card, CardEvent, CardKind, Column, EventKind, Priority, Role, SlaState, User
from careboard.models.cards import OPEN_COLUMNS, sla_state
from careboard.services.errors import Conflict, DomainError, Forbidden
from careboard.services.settings import StoreSettings
from careboard.services.texts import is_visible

TITLE_LENGTH = Card.__table__.c.title.type.length       # 200: what a title, also a rule's, may hold
COMMENT_LENGTH = 4000
HISTORY_PAGE = 20                                         # events the drawer shows at a time, newest first
BOARD_LOCK_ID = 0x43424C4E                                # PostgreSQL advisory lock key ("CBLN"): see _lock_lanes


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


def _lane(session: Session, column: str, assignee_id: int | None, role: str, exclude: int | None = None):
    query = select(Card).where(Card.column == column).order_by(Card.position, Card.id)
    if assignee_id is None:
        query = query.where(Card.assignee_id.is_(None), Card.role == role)
    else:
        query = query.where(Card.assignee_id == assignee_id)
    if exclude is not None:
        query = query.where(Card.id != exclude)
    return session.scalars(query).all()


def _renumber(cards: Iterable[Card]) -> None:
    for i, c in enumerate(cards):
        if c.position != i:
            c.position = i


def _place(session: Session, card: Card, column: str, assignee: User | None, position: int | None) -> None:
    """Take the card out of its lane and put it into (column, assignee) at position (None: the end).

    The lane queries autoflush, so earlier moves in the same transaction are seen; a new card is added
    to the session by its caller only after it has been placed."""
    old_column, old_assignee = card.column, card.assignee_id
    new_place = (column, assignee.id if assignee else None)
    if card.id is not None and old_column in OPEN_COLUMNS and (old_column, old_assignee) != new_place:
        _renumber(_lane(session, old_column, old_assignee, card.role, exclude=card.id))
    card.column = column
    card.assignee = assignee
    card.assignee_id = assignee.id if assignee else None
    if column not in OPEN_COLUMNS:
        card.position = 0
        return
    lane = list(_lane(session, column, card.assignee_id, card.role, exclude=card.id))
    index = len(lane) if position is None or position < 0 else min(position, len(lane))
    lane.insert(index, card)
    _renumber(lane)


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
              position: int | None, seen_version: int, note: str | None = None) -> Card:
    """Drag and drop: another column, another person (supervisors), another place in the lane. `note` goes
    into the events written (an undo says so)."""
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
                       note=note)
    from_column, from_assignee = card.column, card.assignee
    _place(session, card, to_column, to_assignee, position)
    if reassigning:
        _event(session, card, actor, EventKind.REASSIGNED, from_value=_name(from_assignee), to_value=_name(to_assignee),
               note=note)
    if from_column != to_column:
        if to_column == Column.DONE:
            _mark_done(session, card, actor, card.outcome_note)
        else:
            _event(session, card, actor, EventKind.MOVED, from_value=from_column, to_value=to_column, note=note)
    return card


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
            position: int | None, note: str | None = None) -> Card:
    from_assignee = card.assignee
    card.completed_at = None
    card.completed_by = None
    card.completed_by_id = None
    _place(session, card, to_column, to_assignee, position)
    _event(session, card, actor, EventKind.REOPENED, from_value=Column.DONE, to_value=to_column, note=note)
    if (to_assignee.id if to_assignee else None) != (from_assignee.id if from_assignee else None):
        _event(session, card, actor, EventKind.REASSIGNED, from_value=_name(from_assignee), to_value=_name(to_assignee),
               note=note)
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
                     seen_version=seen_version, note=_undo_note())


def undo_reassign(session: Session, card: Card, *, actor: User, seen_version: int, to_assignee: User | None,
                  position: int | None = None) -> Card:
    """Take back a reassignment: back to the person (and place in their lane) it came from."""
    _check_version(card, seen_version)
    return move_card(session, card, actor=actor, to_column=card.column, to_assignee=to_assignee, position=position,
                     seen_version=seen_version, note=_undo_note())


def add_comment(session: Session, card: Card, *, actor: User, body: str) -> CardEvent:
    """Anyone who can see the card may comment; comments never change the card's version."""
    body = (body or "").strip()
    if not body:
        raise DomainError(_("The comment is empty."))
    if not is_visible(body):
        raise DomainError(_("The comment has no visible characters."))
    if len(body) > COMMENT_LENGTH:
        raise DomainError(_("The comment is too long (at most 4000 characters)."))
    return _event(session, card, actor, EventKind.COMMENTED, note=body)


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
    over_limit: dict[str, bool] = field(default_factory=dict)

    @property
    def open_count(self) -> int:
        return sum(len(self.cells[c]) for c in OPEN_COLUMNS)


@dataclass
class BoardView:
    lanes: list[Lane]
    column_counts: dict[str, int]
    overdue: int
    filters: BoardFilters


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


def board_cards(session: Session, filters: BoardFilters, now: datetime, settings: StoreSettings) -> list[Row]:
    """Open cards matching the filters, plus the cards done today."""
    start, _end = dates.day_bounds(dates.local_date(now, settings.zone), settings.zone)
    base = select(*BOARD_FIELDS).outerjoin(User, Card.assignee_id == User.id)
    open_q = _filtered(base.where(Card.column.in_(OPEN_COLUMNS)), filters, now, settings)
    done_q = base.where(Card.column == Column.DONE, Card.completed_at >= start)
    done_q = _filtered(done_q, BoardFilters(**{**filters.__dict__, "due": None}), now, settings)
    cards = session.execute(open_q.order_by(Card.position, Card.id)).all()
    return cards + session.execute(done_q.order_by(Card.completed_at.desc())).all()


# The department's order of roles: as DESIGN.md and the seeds' job descriptions list them, which is the order in
# which Role declares them (director, supervisor, sales care, after-sales care, ...). A role no longer declared
# (older data) comes last.
ROLE_RANK = {role.value: rank for rank, role in enumerate(Role)}
COLLAPSED_COOKIE = "careboard_lanes_"     # + the person's id: the lanes they folded, keys joined by "."


def lane_order(lane: Lane) -> tuple:
    """The board's lanes in the department's order: by role, then by name; a role's unassigned cards right
    after its people (those who can take them), never sorted by the role's English code."""
    return (ROLE_RANK.get(lane.role or "", len(ROLE_RANK)), lane.assignee_id is None, lane.title.casefold(), lane.key)


def build_board(session: Session, *, viewer: User, filters: BoardFilters, now: datetime,
                settings: StoreSettings) -> BoardView:
    cards = board_cards(session, filters, now, settings)
    soon = settings.due_soon
    lanes: dict[str, Lane] = {}
    columns = [c.value for c in Column]

    def lane_for(key: str, **kwargs) -> Lane:
        if key not in lanes:
            lanes[key] = Lane(key=key, cells={c: [] for c in columns}, **kwargs)
        return lanes[key]

    if filters.lanes == "role":
        for role in CARE_ROLES:
            if filters.role in (None, role.value):
                lane_for(f"role-{role.value}", title=role.label, subtitle="", assignee_id=None, role=role.value)
    else:
        people = select(User).where(User.active.is_(True), User.does_care_work())
        if filters.role:
            people = people.where(User.role == filters.role)
        if filters.person:
            people = people.where(User.id == filters.person)
        for person in session.scalars(people):
            lane_for(f"user-{person.id}", title=person.display_name, subtitle=person.role.label,
                     assignee_id=person.id, role=person.role)

    for card in cards:
        if filters.lanes == "role":
            key = f"role-{card.role}"
            lane = lanes.get(key) or lane_for(key, title=card.role.label, subtitle="", assignee_id=None,
                                              role=card.role)
        elif card.assignee_id is not None:
            key = f"user-{card.assignee_id}"
            lane = lanes.get(key) or lane_for(key, title=card.assignee_name,
                                              subtitle=card.assignee_role.label,
                                              assignee_id=card.assignee_id, role=card.assignee_role)
        else:
            key = f"unassigned-{card.role}"
            lane = lanes.get(key) or lane_for(key, title=_("Unassigned"), subtitle=card.role.label,
                                              assignee_id=None, role=card.role)
        lane.cells[card.column].append(CardView(
            card, sla_state(card.due_at, card.column, card.completed_at, now, soon),
            policy.can_change_card(viewer, card)))

    counts = Counter()
    overdue = 0
    for lane in lanes.values():
        for column, views in lane.cells.items():
            counts[column] += len(views)
            overdue += sum(1 for v in views if v.sla is SlaState.OVERDUE)
            limit = settings.wip_limit(column) if column in OPEN_COLUMNS else 0
            lane.over_limit[column] = bool(limit) and lane.assignee_id is not None and len(views) > limit
    ordered = sorted(lanes.values(), key=lane_order)
    return BoardView(lanes=ordered, column_counts={c: counts[c] for c in columns}, overdue=overdue,
                     filters=filters)


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


def get_card(session: Session, card_id: int) -> Card | None:
    return session.scalars(select(Card).where(Card.id == card_id).options(
        selectinload(Card.assignee), selectinload(Card.completed_by), selectinload(Card.created_by))).first()


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
    """A strong validator for the board's ETag: changes when any card changes (every change writes an
    event), when a card's SLA state changes with the clock, when an account changes, at midnight (Done
    shows today only), with the settings, and with the viewer and filters (scope). One query."""
    soon = now + settings.due_soon
    open_due = (Card.column.in_(OPEN_COLUMNS),)
    row = session.execute(select(
        select(func.max(CardEvent.id)).scalar_subquery(),
        select(func.max(User.updated_at)).scalar_subquery(),          # people: lanes and filters
        select(func.count(User.id)).scalar_subquery(),
        select(func.count(Card.id)).where(*open_due, Card.due_at < now).scalar_subquery(),
        select(func.count(Card.id)).where(*open_due, Card.due_at < soon).scalar_subquery(),
    )).one()
    return _etag(*row, dates.local_date(now, settings.zone).isoformat(), settings.fingerprint(), scope)


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


