"""Long discussions and invisible texts (issue 15, finding 20).

The drawer shows the newest page of a card's history and comments, with "show older" (an htmx GET, and a
plain link without JavaScript); its size and statement count do not grow with the number of comments.
Titles, comments and complaint descriptions made only of invisible characters are refused."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from careboard.dbtypes import utcnow
from careboard.models import Card, CardEvent, Complaint, Role
from careboard.services import board
from careboard.services.texts import is_visible
from tests.factories import make_card, make_user

HX_DRAWER = {"HX-Request": "true", "HX-Target": "drawer"}
OLDER = re.compile(r'href="(/board/cards/\d+\?before=\d+)"')


def discuss(session, card, author, n: int) -> None:
    start = utcnow() - timedelta(days=1)
    session.add_all([CardEvent(card_id=card.id, actor_id=author.id, kind="commented", note=f"评论【{i:03d}】",
                               at=start + timedelta(seconds=i)) for i in range(n)])
    session.commit()


def markers(html: str) -> set[int]:
    return {int(n) for n in re.findall(r"评论【(\d{3})】", html)}


@pytest.fixture
def long_card(session, people):
    card = make_card(session, assignee=people["sales1"], title="讨论很多的卡片")
    session.commit()
    discuss(session, card, people["sales1"], 500)
    return card


def test_the_drawer_shows_the_newest_page_with_a_show_older_link(client, auth, long_card):
    auth.login("sales1")
    response = client.get(f"/board/cards/{long_card.id}", headers=HX_DRAWER)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and len(response.data) < 100_000
    assert markers(html) == set(range(480, 500))
    assert OLDER.search(html) and f'hx-target="#history-more-{long_card.id}"' in html


def test_show_older_pages_through_the_whole_history(client, auth, long_card):
    auth.login("sales1")
    html = client.get(f"/board/cards/{long_card.id}", headers=HX_DRAWER).get_data(as_text=True)
    seen, pages = markers(html), 1
    while match := OLDER.search(html):
        older = client.get(match.group(1), headers={"HX-Request": "true",
                                                    "HX-Target": f"history-more-{long_card.id}"})
        html = older.get_data(as_text=True)
        assert older.status_code == 200 and "<html" not in html and 'class="detail-head"' not in html
        page = markers(html)
        assert not page or max(page) < min(seen)                   # each page older than the ones before
        seen |= page
        pages += 1
    assert seen == set(range(500)) and pages == 26                 # 500 comments, then the card's creation
    assert not markers(html) and 'class="event event-created"' in html


def test_show_older_without_javascript_is_the_cards_page_at_that_page(client, auth, long_card):
    auth.login("sales1")
    html = client.get(f"/board/cards/{long_card.id}").get_data(as_text=True)
    link = OLDER.search(html).group(1)
    page = client.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in text
    assert markers(text) == set(range(460, 480))
    assert f'href="/board/cards/{long_card.id}"' in text           # back to the newest


def test_the_drawers_statements_do_not_grow_with_the_comments(client, auth, session, people, statements):
    short = make_card(session, assignee=people["sales1"], title="short")
    long = make_card(session, assignee=people["sales1"], title="long")
    session.commit()
    discuss(session, short, people["sales1"], 30)
    discuss(session, long, people["sales1"], 500)
    auth.login("sales1")
    counts = []
    for card in (short, long):
        statements["n"] = 0
        assert client.get(f"/board/cards/{card.id}", headers=HX_DRAWER).status_code == 200
        counts.append(statements["n"])
    assert counts[0] == counts[1]


# ---------------------------------------------------------------- invisible texts

INVISIBLE = [
    "\u200b", " \u200b\u200c\u200d ", "\u2060\ufeff", "\u3164", "\u2800\u2800", "\u0301\u0308", "\x01\x02",
    "\u3000\u00a0", "\u115f\u1160\uffa0", "\u200e\u200f\u202e",
]


@pytest.mark.parametrize("text", ["a", "回访", "1", "!", "€", "\u200b王\u200b", "é"])
def test_visible_texts(text):
    assert is_visible(text)


@pytest.mark.parametrize("text", INVISIBLE + ["", None])
def test_invisible_texts(text):
    assert not is_visible(text)


@pytest.fixture
def writer(session, people):
    user = make_user(session, "writer", role=Role.SALES_CARE, language="en")
    session.commit()
    return user


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("text", INVISIBLE)
def test_an_invisible_title_is_refused_on_create_and_edit(client, auth, session, writer, text):
    card = make_card(session, assignee=writer, title="原标题")
    session.commit()
    cards = count(session, Card)
    auth.login("writer")
    created = client.post("/board/cards/new", data={"kind": "task", "title": text, "role": "sales_care",
                                                   "assignee": writer.id, "priority": 2, "details": ""})
    assert created.status_code == 422 and count(session, Card) == cards
    edited = client.post(f"/board/cards/{card.id}/edit", headers=HX_DRAWER,
                         data={"title": text, "details": "", "priority": 2, "version": card.version})
    assert edited.status_code == 422
    assert session.get(Card, card.id).title == "原标题"
    if text.strip():                    # whitespace alone is the form's "required"; the rest is ours
        for response in (created, edited):
            assert "no visible characters" in response.get_data(as_text=True)


@pytest.mark.parametrize("text", INVISIBLE)
def test_an_invisible_comment_is_refused(client, auth, session, writer, text):
    card = make_card(session, assignee=writer, title="卡片")
    session.commit()
    events = count(session, CardEvent)
    auth.login("writer")
    response = client.post(f"/board/cards/{card.id}/comments", headers=HX_DRAWER, data={"body": text})
    assert response.status_code == 422 and count(session, CardEvent) == events
    if text.strip():
        assert "no visible characters" in response.get_data(as_text=True)


def test_a_comment_has_a_maximum_length(client, auth, session, writer):
    card = make_card(session, assignee=writer, title="卡片")
    session.commit()
    events = count(session, CardEvent)
    auth.login("writer")
    response = client.post(f"/board/cards/{card.id}/comments", headers=HX_DRAWER,
                           data={"body": "长" * (board.COMMENT_LENGTH + 1)})
    assert response.status_code == 422 and count(session, CardEvent) == events
    drawer = client.get(f"/board/cards/{card.id}", headers=HX_DRAWER).get_data(as_text=True)
    assert f'maxlength="{board.COMMENT_LENGTH}"' in drawer


@pytest.mark.parametrize("text", [t for t in INVISIBLE if t.strip()])
def test_an_invisible_complaint_is_refused(client, auth, session, writer, text):
    auth.login("writer")
    response = client.post("/complaints/new", data={
        "lookup": "", "name": "", "channel": "phone", "category": "service", "department": "aftersales",
        "severity": 2, "description": text, "received_at": ""})
    assert response.status_code == 422 and count(session, Complaint) == 0 and count(session, Card) == 0


def test_a_complaints_card_title_is_its_first_visible_line(session, people):
    from careboard.services import complaints, settings
    made = complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                    department="aftersales", description="\u200b\n等了三个小时\n没人管",
                                    received_at=utcnow(), s=settings.load(session))
    session.commit()
    assert session.get(Card, made.card_id).title == "等了三个小时"
