"""The board at any size (issue 18): the first screen first, lanes as they scroll into view, and a drag or a
refresh that costs what it changed, not what the board holds."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from careboard.extensions import db
from careboard.models import BoardChange, Card
from careboard.services import board, board_sync, tick
from tests.conftest import PASSWORD
from tests.factories import make_card, make_user

HX = {"HX-Request": "true", "X-CareBoard-Poll": "1"}
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)          # 10:00 in the store


def fill(session, people, n, due=None):
    """n open cards over sales1 and sales2, a third in each open column."""
    for i in range(n):
        person = people["sales1"] if i % 2 else people["sales2"]
        make_card(session, assignee=person, title=f"card {i}", column=("todo", "doing", "waiting")[i % 3],
                  due_at=due)
    session.commit()


def sync_url(html: str) -> str:
    """The refresh's URL as the page gives it (with its token), as board.js would send it."""
    return re.search(r'id="board-sync"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def cells_in(html: str) -> list[str]:
    return re.findall(r'<div class="cell[^"]*" id="cell-([\w-]+)"[^>]*hx-swap-oob="true"', html)


def test_an_unchanged_board_answers_204_and_a_drop_elsewhere_brings_its_two_cells_only(client, auth, people,
                                                                                       session, app):
    fill(session, people, 6)
    auth.login("supervisor")
    page = client.get("/board/").get_data(as_text=True)
    url = sync_url(page)
    assert client.get(url, headers=HX).status_code == 204

    other = app.test_client()
    other.post("/login", data={"username": "director", "password": PASSWORD})
    card = session.scalars(select(Card).where(Card.assignee_id == people["sales1"].id, Card.column == "todo")).first()
    dropped = other.post("/board/drop", data={"card": card.id, "column": "doing", "assignee": people["sales2"].id,
                                              "position": 0, "version": card.version},
                         headers={"HX-Request": "true", "HX-Target": "toasts", "HX-Current-URL": "http://x/board/"})
    assert dropped.status_code == 200
    s1, s2 = people["sales1"].id, people["sales2"].id
    # The drop's own answer: its toast, the card in its new version (the dragging tablet shows it in its new
    # place already), the two lanes' heads and the columns' counts; not the cells, and nothing else.
    answer = dropped.get_data(as_text=True)
    session.expire_all()
    version = session.get(Card, card.id).version
    assert cells_in(answer) == [] and "toast" in answer
    assert re.findall(r'<li id="card-(\d+)"[^>]*data-version="(\d+)" hx-swap-oob="true"', answer) == [
        (str(card.id), str(version))]
    assert sorted(re.findall(r'<header class="lane-head" id="head-user-(\d+)" hx-swap-oob="true"', answer)) == \
        sorted([str(s1), str(s2)])
    assert 'id="count-doing" hx-swap-oob="true"' in answer and 'id="board"' not in answer

    refresh = client.get(url, headers=HX)
    html = refresh.get_data(as_text=True)
    assert refresh.status_code == 200
    assert sorted(cells_in(html)) == sorted([f"user-{s1}-todo", f"user-{s2}-doing"])
    assert re.search(rf'<header class="lane-head" id="head-user-{s1}" hx-swap-oob="true"', html)
    assert 'id="count-doing" hx-swap-oob="true"' in html
    assert 'id="board"' not in html                                   # not the whole board
    moved = re.search(rf'id="cell-user-{s2}-doing".*?</ol>', html, re.S).group(0)
    session.expire_all()
    assert re.search(rf'id="card-{card.id}"[^>]*data-version="{session.get(Card, card.id).version}"', moved)
    again = sync_url(html)                                            # the refresh comes with its new token
    assert again != url and client.get(again, headers=HX).status_code == 204
    session.expire_all()
    # The drawer's move form (the card has not moved on that screen): the two cells themselves.
    version = session.get(Card, card.id).version
    form = other.post(f"/board/cards/{card.id}/move", data={"column": "todo", "assignee": s2, "version": version},
                      headers={"HX-Request": "true", "HX-Target": "toasts", "HX-Current-URL": "http://x/board/"})
    assert sorted(cells_in(form.get_data(as_text=True))) == sorted([f"user-{s2}-doing", f"user-{s2}-todo"])


def test_a_refresh_draws_the_cells_of_loaded_lanes_and_the_heads_of_the_others(client, auth, people, session):
    fill(session, people, 4)
    auth.login("supervisor")
    url = sync_url(client.get("/board/").get_data(as_text=True))
    card = session.scalars(select(Card).where(Card.assignee_id == people["sales1"].id)).first()
    board.add_comment(session, card, actor=people["sales1"], body="x")      # a comment: no cell changes
    session.commit()
    assert client.get(url, headers=HX).status_code == 204
    board.edit_card(session, card, actor=people["supervisor"], seen_version=card.version, title="改了",
                    details="", due_at=None, priority=1)
    session.commit()
    s1 = people["sales1"].id
    lanes = ".".join(f"user-{p.id}" for p in people.values())
    html = client.get(f"{url}&lanes={lanes}&loaded=", headers=HX).get_data(as_text=True)
    assert cells_in(html) == [] and f'id="head-user-{s1}" hx-swap-oob="true"' in html
    html = client.get(f"{url}&lanes={lanes}&loaded=user-{s1}", headers=HX).get_data(as_text=True)
    assert cells_in(html) == [f"user-{s1}-{card.column}"] and "改了" in html


def test_a_drop_that_empties_a_lane_draws_its_head_with_no_cards(client, auth, people, session):
    """The lanes' heads come with their counts; a person left without cards is read from the accounts."""
    card = make_card(session, assignee=people["sales1"], title="the only one", column="todo")
    make_card(session, assignee=people["sales2"], title="another", column="todo")
    session.commit()
    auth.login("supervisor")
    s1, s2 = people["sales1"].id, people["sales2"].id
    headers = {"HX-Request": "true", "HX-Target": "toasts", "HX-Current-URL": "http://x/board/"}
    answer = client.post("/board/drop", data={"card": card.id, "column": "doing", "assignee": s2, "position": 0,
                                              "version": card.version}, headers=headers).get_data(as_text=True)
    assert cells_in(answer) == [] and f'<li id="card-{card.id}"' in answer        # a drag: the card, not the cells
    head = re.search(rf'<header class="lane-head" id="head-user-{s1}".*?</header>', answer, re.S).group(0)
    assert "Sales1" in head and "0" in re.search(r'class="count">([^<]*)<', head).group(1)
    other = re.search(rf'<header class="lane-head" id="head-user-{s2}".*?</header>', answer, re.S).group(0)
    assert "2" in re.search(r'class="count">([^<]*)<', other).group(1)


def test_the_whole_board_when_more_than_cells_changed(client, auth, people, session):
    fill(session, people, 2)
    auth.login("supervisor")
    url = sync_url(client.get("/board/").get_data(as_text=True))
    for token in ("nonsense", "1.2", "99999999.1.x"):
        html = client.get(re.sub(r"since=[^&]+", f"since={token}", url), headers=HX).get_data(as_text=True)
        assert re.search(r'<div id="board" class="board" hx-swap-oob="true"', html), token
    make_user(session, "newcomer")                                    # a new lane
    session.commit()
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'id="board" class="board" hx-swap-oob="true"' in html and "newcomer" in html.lower()

    lanes = ".".join(re.findall(r'data-lane-key="([\w-]+)"', client.get("/board/").get_data(as_text=True)))
    url = sync_url(client.get("/board/").get_data(as_text=True))
    make_card(session, title="nobody's")                              # a role's first unassigned card: a new lane
    session.commit()
    html = client.get(f"{url}&lanes={lanes}&loaded={lanes}", headers=HX).get_data(as_text=True)
    assert 'id="board" class="board" hx-swap-oob="true"' in html and "nobody&#39;s" in html


def test_a_card_passing_its_due_time_is_redrawn_without_any_write(client, auth, people, session):
    with time_machine.travel(NOW, tick=False):
        fill(session, people, 1, due=NOW + timedelta(minutes=12))    # due soon already: overdue at +12 min
        auth.login("supervisor")
        url = sync_url(client.get("/board/").get_data(as_text=True))
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert client.get(url, headers=HX).status_code == 204
    with time_machine.travel(NOW + timedelta(minutes=13), tick=False):
        html = client.get(url, headers=HX).get_data(as_text=True)
    assert cells_in(html) == [f"user-{people['sales2'].id}-todo"] and "sla-overdue" in html


def test_a_drop_and_a_refresh_cost_the_same_statements_at_10_and_at_500_cards(client, auth, people, session,
                                                                             statements, app):
    auth.login("supervisor")
    headers = {"HX-Request": "true", "HX-Target": "toasts", "HX-Current-URL": "http://x/board/"}

    def drop_and_refresh():
        url = sync_url(client.get("/board/").get_data(as_text=True))
        card = session.scalars(select(Card).where(Card.column == "todo").order_by(Card.id)).first()
        statements["n"] = 0
        assert client.post("/board/drop", data={"card": card.id, "column": "doing", "position": 0,
                                                "assignee": card.assignee_id, "version": card.version},
                           headers=headers).status_code == 200
        dropped = statements["n"]
        statements["n"] = 0
        assert client.get(url, headers=HX).status_code == 200
        return dropped, statements["n"]

    fill(session, people, 10)
    small = drop_and_refresh()
    fill(session, people, 490)
    assert drop_and_refresh() == small
    assert client.get(sync_url(client.get("/board/").get_data(as_text=True)), headers=HX).status_code == 204


def test_the_first_answer_holds_the_first_screen_and_each_lane_loads_once(client, auth, people, session):
    for i in range(6):
        make_user(session, f"staff{i}")
    session.commit()
    crowd = list(session.scalars(select(board.User).where(board.User.username.like("staff%"))))
    for person in [people["sales1"], people["sales2"], *crowd]:
        for i in range(40):
            make_card(session, assignee=person, title=f"{person.username} {i}")
    session.commit()
    auth.login("supervisor")
    html = client.get("/board/").get_data(as_text=True)
    pending = re.findall(r'<section class="lane pending" id="lane-([\w-]+)"[^>]*hx-trigger="revealed"', html)
    loaded_cards = len(re.findall(r'<li id="card-', html))
    assert pending and loaded_cards <= board.FIRST_SCREEN_CARDS + 40
    key = f"user-{crowd[-1].id}"
    assert key in pending
    lane = client.get(f"/board/lanes/{key}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert lane.count('<li id="card-') == 40 and "hx-trigger" not in lane.split("</header>")[0].split(">")[0]
    assert 'class="lane"' in lane
    everything = client.get("/board/?all=1").get_data(as_text=True)
    assert everything.count('<li id="card-') == 8 * 40 and "pending" not in everything
    assert client.get("/board/lanes/user-x").status_code == 404
    assert client.get("/board/lanes/role-nonsense").status_code == 404


def test_the_board_parts_need_login(client, people):
    for url in ("/board/changes?since=1.1.x", f"/board/lanes/user-{people['sales1'].id}"):
        assert client.get(url).status_code == 302


def test_every_saved_card_change_logs_its_cells_and_the_tick_forgets_them_after_a_day(app, session, people):
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        card = make_card(session, assignee=people["sales1"])
        session.commit()
    assert session.scalar(select(func.count(BoardChange.id))) >= 1
    with time_machine.travel(NOW, tick=False):
        before = session.scalar(select(func.max(BoardChange.id)))
        board.move_card(session, card, actor=people["supervisor"], to_column="doing", to_assignee=people["sales2"],
                        position=None, seen_version=card.version)
        session.commit()
        logged = session.execute(select(BoardChange.column, BoardChange.assignee_id)
                                 .where(BoardChange.id > before)).all()
        assert {(str(c), a) for c, a in logged} == {("todo", people["sales1"].id), ("doing", people["sales2"].id)}
        tick.tick(session, now=NOW)
        session.commit()
        assert session.scalar(select(func.min(BoardChange.id))) > before
        assert board_sync.prune(session, NOW) == 0
    db.session.remove()


def test_a_refresh_keeps_the_boards_filters(client, auth, people, session):
    """The refresh reads the board's filters from its URL as the page did: a card the filters leave out stays
    out of the cells it draws; a value that is no choice is ignored, as the page ignores it."""
    callback = make_card(session, assignee=people["sales1"], title="回访 王", kind="callback")
    task = make_card(session, assignee=people["sales1"], title="任务 李")
    session.commit()
    auth.login("supervisor")
    url = sync_url(client.get("/board/?kind=callback&due=nonsense").get_data(as_text=True))
    assert "kind=callback" in url
    for card in (task, callback):
        board.move_card(session, card, actor=people["supervisor"], to_column="doing", to_assignee=card.assignee,
                        position=None, seen_version=card.version)
    session.commit()
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert cells_in(html) and "回访 王" in html and "任务 李" not in html
