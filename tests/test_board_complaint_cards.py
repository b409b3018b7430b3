"""A complaint's card moves only through the complaint's steps (issue 15, finding 16).

Every write route of the board against a complaint's card: what would take it to another column, mark it
done, reopen it or edit it is refused with a message pointing to the complaint, and nothing changes;
moving it within its column (another place, another supervisor) and commenting stay allowed. The
complaint's own steps still move it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careboard.dbtypes import utcnow
from careboard.models import Card, CardEvent, Complaint, Level, Role
from careboard.services import board, complaints, settings
from tests.factories import make_user

HX_DRAWER = {"HX-Request": "true", "HX-Target": "drawer"}


@pytest.fixture
def complaint(session, people):
    people["boss2"] = make_user(session, "boss2", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR)
    made = complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                    department="aftersales", description="保养等了三个小时", received_at=utcnow(),
                                    s=settings.load(session))
    session.commit()
    return made


def state(session, complaint: Complaint) -> tuple:
    session.expire_all()
    card = session.get(Card, complaint.card_id)
    events = session.scalar(select(func.count(CardEvent.id)).where(CardEvent.card_id == card.id))
    return (card.column, card.position, card.assignee_id, card.title, card.due_at, card.version, events,
            session.get(Complaint, complaint.id).status)


def version(session, complaint: Complaint) -> int:
    session.expire_all()
    return session.get(Card, complaint.card_id).version


def refusal_text(complaint: Complaint) -> str:
    return f"#{complaint.id}"


@pytest.mark.parametrize("url,data,headers", [
    ("/board/cards/{card}/move", {"column": "doing"}, HX_DRAWER),                       # Start
    ("/board/cards/{card}/move", {"column": "waiting"}, HX_DRAWER),
    ("/board/cards/{card}/move", {"column": "done"}, HX_DRAWER),
    ("/board/cards/{card}/complete", {"note": "处理完了"}, HX_DRAWER),                    # Done
    ("/board/cards/{card}/edit", {"title": "改个标题", "details": "", "priority": 2}, HX_DRAWER),
    ("/board/drop", {"card": "{card}", "column": "done", "position": 0}, {"HX-Request": "true"}),
    ("/board/drop", {"card": "{card}", "column": "doing", "position": 0}, {"HX-Request": "true"}),
    ("/board/cards/{card}/move", {"column": "doing"}, {}),                               # without htmx
])
def test_moves_out_of_the_workflow_are_refused_and_change_nothing(client, auth, session, complaint, url, data,
                                                                   headers):
    card_id = complaint.card_id
    before = state(session, complaint)
    auth.login("supervisor")
    data = {key: (value.format(card=card_id) if isinstance(value, str) else value) for key, value in data.items()}
    response = client.post(url.format(card=card_id), data={**data, "version": version(session, complaint)},
                           headers={**headers, **({"HX-Target": f"card-{card_id}"} if "card" in data else {})})
    assert response.status_code == 422
    assert refusal_text(complaint) in response.get_data(as_text=True)
    assert state(session, complaint) == before


def test_a_closed_complaints_card_is_not_reopened_on_the_board(client, auth, session, complaint, people):
    boss, s = people["supervisor"], settings.load(session)
    for step in ("responded", "handed_off", "solution_proposed", "resolved"):
        complaints.advance(session, complaint, actor=boss, to=step, seen_version=complaint.version, now=utcnow(),
                           s=s, solution="退一次保养费")
    complaints.second_callback(session, complaint, actor=boss, satisfied=True, seen_version=complaint.version,
                               now=utcnow(), s=s)
    session.commit()
    before = state(session, complaint)
    assert before[0] == "done" and before[-1] == "closed"
    auth.login("supervisor")
    for url, data in ((f"/board/cards/{complaint.card_id}/reopen", {}),
                      ("/board/drop", {"card": complaint.card_id, "column": "todo", "position": 0})):
        response = client.post(url, data={**data, "version": version(session, complaint)}, headers=HX_DRAWER)
        assert response.status_code == 422 and refusal_text(complaint) in response.get_data(as_text=True), url
    assert state(session, complaint) == before


def test_the_complaints_steps_still_move_its_card(session, complaint, people):
    boss, s = people["supervisor"], settings.load(session)
    complaints.advance(session, complaint, actor=boss, to="responded", seen_version=complaint.version, now=utcnow(),
                       s=s)
    session.commit()
    assert state(session, complaint)[0] == "doing"


def test_reassigning_within_its_column_stays_allowed(client, auth, session, complaint, people):
    auth.login("supervisor")
    card_id, boss2 = complaint.card_id, people["boss2"].id
    reassigned = client.post(f"/board/cards/{card_id}/reassign", headers=HX_DRAWER,
                             data={"assignee": boss2, "version": version(session, complaint)})
    assert reassigned.status_code == 200
    assert state(session, complaint)[:3] == ("todo", 0, boss2)
    dropped = client.post("/board/drop", headers={"HX-Request": "true", "HX-Target": f"card-{card_id}"},
                          data={"card": card_id, "column": "todo", "assignee": people["supervisor"].id,
                                "position": 0, "version": version(session, complaint)})
    assert dropped.status_code == 200
    assert state(session, complaint)[:3] == ("todo", 0, people["supervisor"].id)
    assert state(session, complaint)[-1] == "received"


def test_comments_stay_allowed(client, auth, session, complaint):
    auth.login("supervisor")
    response = client.post(f"/board/cards/{complaint.card_id}/comments", headers=HX_DRAWER,
                           data={"body": "已致电客户"})
    assert response.status_code == 200 and "已致电客户" in response.get_data(as_text=True)


def test_bulk_reassign_takes_the_complaint_card_along_in_its_column(client, auth, session, complaint, people):
    auth.login("supervisor")
    response = client.post("/board/reassign-all", data={"from_user": people["supervisor"].id,
                                                         "to_user": people["boss2"].id})
    assert response.status_code == 303
    assert state(session, complaint)[:3] == ("todo", 0, people["boss2"].id)


def test_the_drawer_links_to_the_complaint_instead_of_move_buttons(client, auth, session, complaint):
    auth.login("supervisor")
    html = client.get(f"/board/cards/{complaint.card_id}", headers=HX_DRAWER).get_data(as_text=True)
    assert f'href="/complaints/{complaint.id}"' in html and "button primary wide" in html
    assert f"/board/cards/{complaint.card_id}/move" not in html
    assert f"/board/cards/{complaint.card_id}/complete" not in html
    assert f"/board/cards/{complaint.card_id}/edit" not in html
    assert f"/board/cards/{complaint.card_id}/reassign" in html          # supervisors may still hand it over


def test_a_complaint_kind_card_without_a_complaint_moves_freely(session, people):
    """Nobody creates such a card any more (policy.can_create_kind), but older data and the demo have some:
    with no complaint behind it there is no workflow to wait for."""
    boss = people["supervisor"]
    card = board.create_card(session, actor=None, kind="complaint", title="记一下", role=Role.CS_SUPERVISOR,
                             assignee=boss)
    session.commit()
    board.complete_card(session, card, actor=boss, seen_version=card.version, note="ok")
    session.commit()
    assert card.column == "done"
