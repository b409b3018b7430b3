"""Callbacks completed again after a reopen, and long titles (issue 15, finding 10).

A callback makes at most one retry card and opens at most one complaint, however often it is reopened
and completed again; a retry's title fits the column whatever the callback's title."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careboard.models import Card, Complaint
from careboard.services import board, settings
from careboard.services import callbacks
from tests.factories import at, make_card

NOW = at("2026-11-24T10:00")
HX_DRAWER = {"HX-Request": "true", "HX-Target": "drawer"}


def record(session, card, actor, *, reached: bool, satisfaction: int | None = None, comments: str = ""):
    return callbacks.record_callback(session, card, actor=actor, seen_version=card.version, reached=reached,
                                      satisfaction=satisfaction, comments=comments, problems=None,
                                      settings=settings.load(session), now=NOW)


def reopen(session, card, actor):
    board.reopen_card(session, card, actor=actor, seen_version=card.version)
    session.commit()


def retries_of(session, card) -> list[Card]:
    session.expire_all()
    return session.scalars(select(Card).where(Card.rule_key == f"retry:{card.id}")).all()


def complaints_of(session, card) -> int:
    return session.scalar(select(func.count(Complaint.id)).where(Complaint.callback_card_id == card.id))


@pytest.fixture
def callback(session, people):
    card = make_card(session, assignee=people["sales1"], kind="callback", title="交车3天回访：王先生 沪A·D1234")
    session.commit()
    return card


def test_not_reached_again_after_a_reopen_finds_the_retry_it_made(session, people, callback):
    sales1 = people["sales1"]
    first = record(session, callback, sales1, reached=False)
    session.commit()
    reopen(session, callback, sales1)
    again = record(session, callback, sales1, reached=False, comments="还是没人接")
    session.commit()
    assert again.id == first.id and len(retries_of(session, callback)) == 1
    assert callback.column == "done" and callback.outcome_note == "还是没人接"


def test_not_reached_reopen_not_reached_over_http_is_no_500(client, auth, session, callback):
    def version() -> int:
        session.expire_all()
        return session.get(Card, callback.id).version

    auth.login("sales1")
    for _ in range(2):
        done = client.post(f"/board/cards/{callback.id}/complete", headers=HX_DRAWER,
                           data={"version": version(), "reached": "no"})
        assert done.status_code == 200
        reopened = client.post(f"/board/cards/{callback.id}/reopen", headers=HX_DRAWER, data={"version": version()})
        assert reopened.status_code == 200
    assert len(retries_of(session, callback)) == 1


def test_a_callback_opens_at_most_one_complaint(session, people, callback):
    sales1 = people["sales1"]
    record(session, callback, sales1, reached=True, satisfaction=2, comments="很不满意")
    session.commit()
    assert complaints_of(session, callback) == 1
    reopen(session, callback, sales1)
    record(session, callback, sales1, reached=True, satisfaction=2, comments="还是不满意")
    session.commit()
    assert complaints_of(session, callback) == 1
    assert session.scalar(select(func.count(Card.id)).where(Card.kind == "complaint")) == 1


@pytest.mark.parametrize("length", [190, 195, 198, 200])
def test_a_long_title_is_shortened_in_the_retry_and_keeps_the_attempt(session, people, length):
    sales1 = people["sales1"]
    title = ("回访" * 100)[:length - 4] + "王先生X"
    card = make_card(session, assignee=sales1, kind="callback", title=title)
    session.commit()
    retry = record(session, card, sales1, reached=False)
    session.commit()
    assert len(retry.title) <= Card.__table__.c.title.type.length
    assert retry.title.endswith("（第2次拨打）") and retry.title.startswith(title[:150])
    third = record(session, retry, sales1, reached=False)
    session.commit()
    assert third.title.endswith("（第3次拨打）") and "第2次" not in third.title and len(third.title) <= 200


def test_retry_title_keeps_short_titles_whole():
    assert callbacks.retry_title("交车3天回访：王先生", 2) == "交车3天回访：王先生（第2次拨打）"
    assert callbacks.retry_title("交车3天回访：王先生（第2次拨打）", 3) == "交车3天回访：王先生（第3次拨打）"
