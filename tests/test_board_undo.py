"""Undo of Done, a move and a reassignment (the toast's "Undo"), and how a change is answered over HTTP:
into the card's host (drawer or page) with a toast, a toast alone for a drag, a flash without JavaScript."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from careboard.models import Card, CardEvent
from careboard.services import board
from careboard.services.errors import Conflict, DomainError
from tests.factories import make_card

HX_PAGE = {"HX-Request": "true", "HX-Target": "card-page"}
HX_DRAWER = {"HX-Request": "true", "HX-Target": "drawer"}
HX_TOAST = {"HX-Request": "true"}                          # the toast's undo form: its target has no id


def reload(session, card):
    session.expire_all()
    return session.get(Card, card.id)


def last_event(session, card) -> CardEvent:
    return session.scalars(select(CardEvent).where(CardEvent.card_id == card.id).order_by(CardEvent.id.desc())).first()


def count_events(session, card) -> int:
    return len(session.scalars(select(CardEvent).where(CardEvent.card_id == card.id)).all())


@pytest.fixture
def lane(session, people):
    """Three cards in sales1's To do: A (0), B (1), C (2)."""
    s1 = people["sales1"]
    cards = [make_card(session, assignee=s1, title=t) for t in "ABC"]
    session.commit()
    return cards


# ---------------------------------------------------------------- the service


def test_undo_done_reopens_into_the_column_and_place_it_came_from(session, people, lane):
    s1, b = people["sales1"], lane[1]
    board.move_card(session, b, actor=s1, to_column="doing", to_assignee=s1, position=None, seen_version=b.version)
    board.complete_card(session, b, actor=s1, seen_version=b.version, note=None)
    assert b.column == "done" and b.completed_at is not None
    board.undo_done(session, b, actor=s1, seen_version=b.version, to_column="doing", position=0)
    assert (b.column, b.position, b.completed_at, b.completed_by_id) == ("doing", 0, None, None)
    event = last_event(session, b)
    assert (event.kind, event.from_value, event.to_value, event.note, event.actor_id) == \
        ("reopened", "done", "doing", "已撤销", s1.id)


def test_undo_is_refused_when_someone_changed_the_card_since(session, people, lane):
    s1, boss, b = people["sales1"], people["supervisor"], lane[1]
    board.complete_card(session, b, actor=s1, seen_version=b.version, note=None)
    seen = b.version
    board.reopen_card(session, b, actor=boss, seen_version=b.version)           # someone else, meanwhile
    board.complete_card(session, b, actor=boss, seen_version=b.version, note="checked")
    events = count_events(session, b)
    with pytest.raises(Conflict):
        board.undo_done(session, b, actor=s1, seen_version=seen, to_column="todo", position=1)
    assert b.column == "done" and b.completed_by_id == boss.id                   # not overwritten
    assert count_events(session, b) == events
    with pytest.raises(Conflict):
        board.undo_move(session, b, actor=s1, seen_version=seen, to_column="todo", to_assignee=s1)
    with pytest.raises(Conflict):
        board.undo_reassign(session, b, actor=boss, seen_version=seen, to_assignee=s1)


def test_undo_done_of_a_card_that_is_open_again_or_to_a_closed_column_is_refused(session, people, lane):
    s1, a = people["sales1"], lane[0]
    with pytest.raises(DomainError, match="无需撤销"):
        board.undo_done(session, a, actor=s1, seen_version=a.version, to_column="todo")
    board.complete_card(session, a, actor=s1, seen_version=a.version, note=None)
    with pytest.raises(DomainError, match="未完成的列"):
        board.undo_done(session, a, actor=s1, seen_version=a.version, to_column="done")


def test_undo_move_puts_the_card_back_in_its_column_lane_and_place(session, people, lane):
    boss, s1, s2, a = people["supervisor"], people["sales1"], people["sales2"], lane[0]
    board.move_card(session, a, actor=boss, to_column="doing", to_assignee=s2, position=None, seen_version=a.version)
    assert [c.position for c in lane[1:]] == [0, 1]
    board.undo_move(session, a, actor=boss, seen_version=a.version, to_column="todo", to_assignee=s1, position=0)
    assert (a.column, a.assignee_id) == ("todo", s1.id)
    assert [c.position for c in lane] == [0, 1, 2]
    kinds = [(e.kind, e.note) for e in session.scalars(select(CardEvent).where(CardEvent.card_id == a.id)
                                                      .order_by(CardEvent.id.desc())).all()[:2]]
    assert sorted(kinds) == [("moved", "已撤销"), ("reassigned", "已撤销")]


def test_undo_reassign_gives_the_card_back(session, people, lane):
    boss, s1, s2, c = people["supervisor"], people["sales1"], people["sales2"], lane[2]
    board.reassign_card(session, c, actor=boss, to_assignee=s2, seen_version=c.version)
    board.undo_reassign(session, c, actor=boss, seen_version=c.version, to_assignee=s1, position=2)
    assert (c.assignee_id, c.column, c.position) == (s1.id, "todo", 2)
    event = last_event(session, c)
    assert (event.kind, event.from_value, event.to_value, event.note) == \
        ("reassigned", s2.display_name, s1.display_name, "已撤销")


def test_people_load_counts_open_and_overdue_cards(session, people, lane):
    now = datetime.now(UTC)
    lane[0].due_at = now - timedelta(hours=1)
    board.complete_card(session, lane[2], actor=people["sales1"], seen_version=lane[2].version, note=None)
    load = board.people_load(session, now)
    assert load[people["sales1"].id] == board.Load(open=2, overdue=1)
    assert people["sales2"].id not in load


# ---------------------------------------------------------------- over HTTP


def undo_form_of(html: str) -> dict:
    """The fields of the toast's undo form, as a browser without JavaScript would post them."""
    form = re.search(r'<form class="toast-undo" method="post" action="([^"]+)".*?</form>', html, re.S)
    assert form, "no undo form in the toast"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(0)))
    return {"url": form.group(1), **fields}


def toasts_of(html: str) -> str:
    return html[html.index('id="toasts"'):]


def test_without_javascript_a_change_redirects_back_with_a_message(client, auth, session, lane):
    auth.login("sales1")
    a = lane[0]
    moved = client.post(f"/board/cards/{a.id}/move", data={"column": "doing", "version": a.version})
    assert moved.status_code == 303 and moved.headers["Location"] == f"/board/cards/{a.id}"
    page = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "toast-success" in toasts_of(page) and "已移到进行中：A" in toasts_of(page)     # a toast with the page
    assert "已移到进行中：A" not in client.get(moved.headers["Location"]).get_data(as_text=True)   # once
    done = client.post(f"/board/cards/{a.id}/complete",
                       data={"version": reload(session, a).version, "next": "/board/mine"})
    assert done.status_code == 303 and done.headers["Location"] == "/board/mine"
    assert "已完成：A" in toasts_of(client.get("/board/mine").get_data(as_text=True))
    assert reload(session, a).column == "done"
    commented = client.post(f"/board/cards/{a.id}/comments", data={"body": "已致电"})
    assert commented.status_code == 303
    page = client.get(commented.headers["Location"]).get_data(as_text=True)
    assert "备注已添加" in toasts_of(page) and "toast-undo" not in page              # a comment has no undo


@pytest.mark.parametrize("what", ["done", "move", "reassign"])
def test_without_javascript_the_toast_carries_a_working_undo(client, auth, session, people, lane, what):
    """No JavaScript: the page the 303 leads to shows the toast with its undo form (CSRF token, the card's
    place before and its version after); posting it takes the change back and comes back to that page."""
    b = lane[1]
    auth.login("supervisor" if what == "reassign" else "sales1")
    url, data = {"done": (f"/board/cards/{b.id}/complete", {}),
                 "move": (f"/board/cards/{b.id}/move", {"column": "waiting"}),
                 "reassign": (f"/board/cards/{b.id}/reassign", {"assignee": people["sales2"].id})}[what]
    changed = client.post(url, data={**data, "version": b.version, "next": "/board/mine"})
    assert changed.status_code == 303 and changed.headers["Location"] == "/board/mine"
    page = client.get("/board/mine").get_data(as_text=True)
    fields = undo_form_of(toasts_of(page))
    assert 'name="csrf_token"' in toasts_of(page)
    assert (fields["url"], fields["what"], fields["column"], fields["position"], fields["next"]) == \
        (f"/board/cards/{b.id}/undo", what, "todo", "1", "/board/mine")
    assert fields["assignee"] == str(people["sales1"].id) and fields["version"] == str(reload(session, b).version)
    undone = client.post(fields.pop("url"), data=fields)
    assert undone.status_code == 303 and undone.headers["Location"] == "/board/mine"
    back = reload(session, b)
    assert (back.column, back.assignee_id, back.position, back.completed_at) == ("todo", people["sales1"].id, 1, None)
    assert "已撤销：B" in toasts_of(client.get("/board/mine").get_data(as_text=True))
    assert last_event(session, b).note == "已撤销"


def test_on_the_card_page_a_change_answers_with_the_card_and_a_toast(client, auth, session, lane):
    auth.login("sales1")
    a = lane[0]
    response = client.post(f"/board/cards/{a.id}/complete", headers=HX_PAGE, data={"version": a.version})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "board-changed"
    assert "<html" not in html and f'id="card-detail-{a.id}"' in html             # the page's card, done
    assert 'hx-swap-oob="beforeend:#toasts"' in html and "已完成：A" in html
    undo = re.search(r'<form class="toast-undo".*?</form>', html, re.S).group(0)
    assert 'name="what" value="done"' in undo and 'name="column" value="todo"' in undo
    assert f'name="version" value="{reload(session, a).version}"' in undo


def test_done_in_the_drawer_closes_it_and_says_so(client, auth, session, lane):
    auth.login("sales1")
    a = lane[0]
    response = client.post(f"/board/cards/{a.id}/complete", headers=HX_DRAWER, data={"version": a.version})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.startswith('<div hx-swap-oob="beforeend:#toasts">')
    assert "card-detail" not in html and html.endswith("</div>")                  # nothing left for the drawer
    # board.js opens the next card of the list on card-done; the list follows board-changed
    assert json.loads(response.headers["HX-Trigger"]) == {"board-changed": None, "card-done": {"card": a.id}}


def test_the_toasts_undo_takes_done_back_and_refreshes_the_card(client, auth, session, lane):
    auth.login("sales1")
    a = lane[0]
    client.post(f"/board/cards/{a.id}/complete", headers=HX_PAGE, data={"version": a.version})
    undo = client.post(f"/board/cards/{a.id}/undo", headers=HX_TOAST,
                       data={"what": "done", "column": "todo", "assignee": a.assignee_id, "position": 0,
                             "version": reload(session, a).version})
    html = undo.get_data(as_text=True)
    assert undo.status_code == 200 and undo.headers["HX-Trigger"] == "board-changed"
    assert "已撤销：A" in html
    assert f'id="card-detail-{a.id}"' in html and 'hx-swap-oob="outerHTML"' in html
    assert (reload(session, a).column, reload(session, a).position) == ("todo", 0)
    # A second undo of the same change finds the card changed: refused, as a toast, nothing changed.
    again = client.post(f"/board/cards/{a.id}/undo", headers=HX_TOAST,
                        data={"what": "done", "column": "todo", "assignee": a.assignee_id, "position": 0,
                              "version": reload(session, a).version - 1})
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#toasts"
    assert reload(session, a).column == "todo"


def test_staff_may_not_undo_a_reassignment(client, auth, session, people, lane):
    auth.login("sales1")
    a = lane[0]
    refused = client.post(f"/board/cards/{a.id}/undo", headers=HX_TOAST,
                          data={"what": "reassign", "column": "todo", "assignee": people["sales2"].id,
                                "version": a.version})
    assert refused.status_code == 403 and reload(session, a).assignee_id == people["sales1"].id


def test_a_callback_without_satisfaction_is_refused_at_its_field(client, auth, session, people):
    card = make_card(session, assignee=people["sales1"], title="王先生 交车回访", kind="callback")
    session.commit()
    auth.login("sales1")
    response = client.post(f"/board/cards/{card.id}/complete", headers=HX_PAGE,
                           data={"version": card.version, "reached": "yes", "note": "还行"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = re.search(r'<div class="field has-error">.*?</div>', html, re.S).group(0)
    assert 'name="satisfaction"' in field and "请填写客户满意度（1–10 分）。" in field
    assert "还行</textarea>" in html                                              # what was typed is kept
    assert reload(session, card).column == "todo"


def test_the_reassign_menu_groups_people_by_role_with_their_load(client, auth, session, people, lane):
    auth.login("supervisor")
    html = client.get(f"/board/cards/{lane[0].id}", headers=HX_DRAWER).get_data(as_text=True)
    assert '<optgroup label="销售关爱专员">' in html
    assert f"{people['sales1'].display_name} · 未完成 3 · 逾期 0" in html
    assert html.index("reassign-form") < html.index('class="facts"')              # near the top
