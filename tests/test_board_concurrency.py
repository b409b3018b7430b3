"""Drops that race (issue 15, finding 14): a stale drop is a 409, and lanes stay gapless.

Twenty browsers drop the same card at once, all from the same version of the board: some put it back in
its place, some into another column. Exactly one drop wins; every other is refused as stale, also the
drops that would change nothing; every lane's positions are 0..n-1 afterwards. Each thread has its own
test client (its own app context and database session, tests/conftest.py), so the requests really run in
parallel against the database — a SQLite file in WAL mode, or PostgreSQL.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from careboard.models import Card
from tests.factories import make_card, make_user

THREADS = 20
HX = {"HX-Request": "true"}


def clients_logged_in_as(app, username: str, n: int) -> list:
    """n clients sharing one login (logging in twenty times would hit the login rate limit)."""
    first = app.test_client()
    first.post("/login", data={"username": username, "password": "test-password-1"})
    cookie = first.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    clients = [first]
    for _ in range(n - 1):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path, secure=cookie.secure)
        clients.append(other)
    return clients


def lanes(session) -> dict[tuple, list[int]]:
    session.expire_all()
    positions = defaultdict(list)
    for card in session.scalars(select(Card).where(Card.column != "done").order_by(Card.position)):
        positions[(card.column, card.assignee_id, card.role if card.assignee_id is None else None)].append(
            card.position)
    return dict(positions)


def assert_gapless(session) -> None:
    for lane, positions in lanes(session).items():
        assert positions == list(range(len(positions))), (lane, positions)


def test_parallel_drops_of_one_card_one_wins_the_rest_are_409_and_lanes_stay_gapless(app, session, people):
    sales1 = people["sales1"]
    todo = [make_card(session, assignee=sales1, title=f"todo {i}") for i in range(6)]
    for i in range(3):
        make_card(session, assignee=sales1, title=f"doing {i}", column="doing")
    session.commit()
    card_id, seen, sales1_id = todo[2].id, todo[2].version, sales1.id       # read here: the threads have no session
    clients = clients_logged_in_as(app, "supervisor", THREADS)
    start = threading.Barrier(THREADS)

    def drop(i: int) -> int:
        back_in_place = i % 2 == 0
        data = {"card": card_id, "column": "todo" if back_in_place else "doing", "assignee": sales1_id,
                "position": 2 if back_in_place else i % 4, "version": seen}
        start.wait()
        return clients[i].post("/board/drop", data=data, headers={**HX, "HX-Target": f"card-{card_id}"}).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(drop, range(THREADS)))
    assert sorted(statuses) == [200] + [409] * (THREADS - 1), statuses
    assert_gapless(session)
    counts = {lane[0]: len(positions) for lane, positions in lanes(session).items()}
    assert counts["todo"] + counts["doing"] == 9


def test_parallel_drops_of_different_cards_into_one_lane_keep_it_gapless(app, session, people):
    """The renumbering itself is serialized: drops of different cards (each one current, each alone in its
    lane so that no drop renumbers another's card) into the same lane at the top all go through, without
    two cards at one position."""
    sales1 = people["sales1"]
    for i in range(4):
        make_card(session, assignee=sales1, title=f"target {i}")
    movers = [make_card(session, assignee=make_user(session, f"owner{i}"), title=f"mover {i}") for i in range(10)]
    session.commit()
    movers = [(c.id, c.version) for c in movers]              # read here: the threads have no session
    target = sales1.id
    clients = clients_logged_in_as(app, "supervisor", len(movers))
    start = threading.Barrier(len(movers))

    def drop(i: int) -> int:
        mover, version = movers[i]
        start.wait()
        return clients[i].post("/board/drop", headers={**HX, "HX-Target": f"card-{mover}"}, data={
            "card": mover, "column": "todo", "assignee": target, "position": 0, "version": version}).status_code

    with ThreadPoolExecutor(len(movers)) as pool:
        statuses = list(pool.map(drop, range(len(movers))))
    assert statuses == [200] * len(movers)
    assert_gapless(session)
    assert lanes(session)[("todo", target, None)] == list(range(14))

