"""One way to write a change in a view (issue 16, item 5): `change()` commits a block that went through,
rolls back a refused one and keeps the refusal for the view; `attempt()` is the same for one call; no view
writes a rollback of its own."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden as Http403

from careboard.blueprints.transaction import Refusal, attempt, change
from careboard.errors import MESSAGES
from careboard.models import Card, User
from careboard.services.errors import Conflict, DomainError, Forbidden
from tests.factories import make_card, make_user

BLUEPRINTS = Path(__file__).parent.parent / "careboard" / "blueprints"


def stored(session, username: str) -> bool:
    session.remove()                                   # a fresh session: only what was committed
    return session.scalar(select(User.id).where(User.username == username)) is not None


def test_a_change_that_goes_through_is_committed(session):
    with change() as outcome:
        user = make_user(session, "kept")
    assert not outcome.refused and outcome.refusal is None
    assert user.id is not None
    assert stored(session, "kept")


def test_a_refused_change_is_rolled_back_and_its_refusal_kept(session):
    refusal = DomainError("Not like this.")
    with change() as outcome:
        make_user(session, "dropped")
        raise refusal
    assert outcome.refused
    assert outcome.refusal == Refusal(422, "Not like this.")
    assert outcome.refusal.error is refusal and outcome.refusal.text == "Not like this."
    assert not stored(session, "dropped")


def test_a_stale_page_is_a_409_with_the_general_message(session, people):
    card = make_card(session, assignee=people["sales1"])
    with change() as outcome:
        make_user(session, "stale")
        raise Conflict(card)
    assert outcome.refusal.conflict and outcome.refusal.status == 409
    assert outcome.refusal.text == str(MESSAGES[409][1])
    assert not stored(session, "stale")


def test_a_version_check_failing_on_the_flush_is_a_409(session, people):
    card = make_card(session, assignee=people["sales1"], title="Before")
    session.commit()
    card_id = card.id
    table = Card.__table__
    session.connection().execute(table.update().where(table.c.id == card.id).values(version=card.version + 1))
    with change() as outcome:
        card.title = "Mine"                           # flushed inside the block: the row's version moved on
    assert outcome.refusal == Refusal(409)
    session.remove()
    assert session.get(Card, card_id).title == "Before"


def test_a_change_the_user_may_not_make_is_rolled_back_and_403(session):
    with pytest.raises(Http403):
        with change():
            make_user(session, "forbidden")
            raise Forbidden("x")
    assert not stored(session, "forbidden")


def test_any_other_error_is_not_swallowed(session):
    with pytest.raises(ZeroDivisionError):
        with change():
            1 / 0   # noqa: B018


def test_attempt_is_change_for_one_call(session):
    assert attempt(lambda: make_user(session, "one")) is None
    assert stored(session, "one")

    def refused():
        make_user(session, "two")
        raise DomainError("No.")
    assert attempt(refused) == Refusal(422, "No.")
    assert not stored(session, "two")


def test_no_view_writes_a_rollback_of_its_own():
    """Every view changes through transaction.py; a rollback left in a blueprint says why on its line."""
    bare = []
    for path in sorted(BLUEPRINTS.rglob("*.py")):
        if path.name == "transaction.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.rollback\(\)", line) and "#" not in line:
                bare.append(f"{path.relative_to(BLUEPRINTS)}:{number}: {line.strip()}")
    assert bare == []
