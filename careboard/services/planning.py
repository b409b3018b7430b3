"""Cards the rules want, and their making: each once (its `rule_key`), at the end of its person's To do.

The care rules (care_rules.py) and the 5S planning (checklist.py) say what they want as `Planned` cards;
`create_planned` makes those that do not exist yet, in batches, each batch in a savepoint so that a tick
running at the same moment elsewhere costs a retry card by card, not a failure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careboard.dates import due_at
from careboard.dbtypes import utcnow
from careboard.models import Card, CardEvent, Column, EventKind, Priority
from careboard.services.assigner import Assigner
from careboard.services.settings import StoreSettings
from careboard.workcal import WorkCalendar


@dataclass(frozen=True)
class Planned:
    """A card a rule wants, on `create_on` (local date), due by the end of `due_on`."""

    rule: str
    key: str
    role: str
    kind: str
    title: str
    create_on: date
    due_on: date
    customer_id: int | None = None
    vehicle_id: int | None = None
    preferred_id: int | None = None          # the customer's usual care person for this role
    details: str = ""
    priority: int = Priority.NORMAL
    # A callback due on a day the store is closed falls due on its next open day (careboard/workcal.py);
    # greetings and the 5S inspections stay on their own day. The key keeps the rule's own day.
    open_days_only: bool = False


def due_moment(p: Planned, s: StoreSettings, calendar: WorkCalendar):
    """When a planned card is due: the end of its due day, or of the next open day for `open_days_only` while
    care cards count opening days (clock_care_cards)."""
    day = calendar.next_open_day(p.due_on) if p.open_days_only and s.counts_opening("clock_care_cards") \
        else p.due_on
    return due_at(day, s.zone)


def chunks(items: list, size: int):
    """`items` in slices of at most `size` (for IN lists and insert batches)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def create_planned(session: Session, planned: list[Planned], s: StoreSettings) -> list[Card]:
    """Make the planned cards that do not exist yet, at the end of their person's To do."""
    unique = {p.key: p for p in planned}
    if not unique:
        return []
    existing: set[str] = set()
    for chunk in chunks(list(unique), 500):
        existing.update(session.scalars(select(Card.rule_key).where(Card.rule_key.in_(chunk))))
    todo = sorted((p for key, p in unique.items() if key not in existing), key=lambda p: (p.due_on, p.key))
    if not todo:
        return []
    assigner = Assigner(session)
    calendar = s.calendar
    # The next free position of every To do lane: a person's, or the unassigned cards of a role.
    ends: dict[object, int] = {}
    for assignee_id, role, count in session.execute(
            select(Card.assignee_id, Card.role, func.count()).where(Card.column == Column.TODO)
            .group_by(Card.assignee_id, Card.role)):
        lane_key = assignee_id or f"role:{role}"
        ends[lane_key] = ends.get(lane_key, 0) + count
    created = []
    for batch in chunks(todo, 200):
        cards = []
        for p in batch:
            person = assigner.pick(p.role, p.preferred_id)
            lane = person.id if person else None
            lane_key = lane or f"role:{p.role}"
            position = ends.get(lane_key, 0)
            ends[lane_key] = position + 1
            cards.append(Card(kind=p.kind, title=p.title[:200], details=p.details, role=p.role,
                              assignee_id=lane, assignee=person, column=Column.TODO, position=position,
                              due_at=due_moment(p, s, calendar), priority=int(p.priority), source=p.rule,
                              rule_key=p.key, customer_id=p.customer_id, vehicle_id=p.vehicle_id))
        created += _insert(session, cards)
    return created


def _insert(session: Session, cards: list[Card]) -> list[Card]:
    """Insert a batch in a savepoint; if a concurrent tick made one of them, go card by card."""
    try:
        with session.begin_nested():
            session.add_all(cards)
            session.flush()
            session.add_all([_created_event(c) for c in cards])
            session.flush()
        return cards
    except IntegrityError:
        made = []
        for card in cards:
            fresh = Card(**{k: getattr(card, k) for k in CARD_COPY})
            fresh.assignee = card.assignee
            try:
                with session.begin_nested():
                    session.add(fresh)
                    session.flush()
                    session.add(_created_event(fresh))
                    session.flush()
                made.append(fresh)
            except IntegrityError:
                continue                                  # made by the other tick: fine
        return made


CARD_COPY = ("kind", "title", "details", "role", "assignee_id", "column", "position", "due_at", "priority",
             "source", "rule_key", "customer_id", "vehicle_id")


def _created_event(card: Card) -> CardEvent:
    return CardEvent(card_id=card.id, actor_id=None, kind=EventKind.CREATED, to_value=Column.TODO,
                     at=utcnow())

