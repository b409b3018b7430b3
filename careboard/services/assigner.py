"""Who gets a card nobody chose a person for: the customer's usual care person, else the least loaded."""
from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from careboard.models import Card, User
from careboard.models.cards import OPEN_COLUMNS


def open_load(session: Session, role: str) -> dict[int, int]:
    """Open cards per active person of a role (for rules that pick the least-loaded person)."""
    rows = session.execute(
        select(User.id, func.count(Card.id)).outerjoin(
            Card, and_(Card.assignee_id == User.id, Card.column.in_(OPEN_COLUMNS)))
        .where(User.role == role, User.active.is_(True)).group_by(User.id)).all()
    return dict(rows)


class Assigner:
    """The customer's usual care person if active, else the least-loaded active person of the role."""

    def __init__(self, session: Session):
        self.session = session
        self.load: dict[str, dict[int, int]] = {}
        self.active: dict[int, User] = {u.id: u for u in session.scalars(select(User).where(User.active.is_(True)))}

    def pick(self, role: str, preferred_id: int | None) -> User | None:
        if role not in self.load:
            self.load[role] = open_load(self.session, role)
        load = self.load[role]
        person = self.active.get(preferred_id) if preferred_id else None
        if person is None or person.role != role:
            if not load:
                return None
            person = self.active[min(load, key=lambda uid: (load[uid], uid))]
        load[person.id] = load.get(person.id, 0) + 1
        return person
