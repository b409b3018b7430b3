"""The weekly review on a fixture week: every figure computed by hand, the week's bounds in Shanghai,
the improvement cards and what became of last week's, and who may open it."""
from __future__ import annotations

import re

import pytest

from careboard import dates
from careboard.services import board, complaints, review, settings
from careboard.services.errors import DomainError, Forbidden
from tests.factories import SHANGHAI, at, make_card

WEEK = "2026-W45"                                     # Monday 2026-11-02 … Sunday 2026-11-08


@pytest.fixture
def week(session, people):
    """sales1: 3 cards due in the week (one on time, one late, one open), one due Sunday 23:59 and one
    Monday 00:00 after; two callbacks (one reached, satisfaction 9; one with a problem, satisfaction 5)."""
    sales1 = people["sales1"]

    def due(text, done=None, kind="task", title="卡", **fields):
        c = make_card(session, assignee=sales1, kind=kind, title=title, due_at=at(text))
        if done:
            board.complete_card(session, c, actor=sales1, seen_version=c.version, note="完成")
            c.completed_at = at(done)
        for k, v in fields.items():
            setattr(c, k, v)
        return c

    due("2026-11-03T18:00", done="2026-11-03T10:00")
    due("2026-11-04T18:00", done="2026-11-05T10:00")
    due("2026-11-06T18:00")
    due("2026-11-08T23:59", done="2026-11-08T20:00", kind="callback", title="交车3天回访：王先生",
        callback_result="reached", satisfaction=9)
    due("2026-11-09T00:00", kind="callback", title="下周的回访")
    due("2026-11-05T12:00", done="2026-11-05T11:00", kind="callback", title="售后3天回访：李女士",
        callback_result="reached", satisfaction=5, problems="等待时间太长")
    s = settings.load(session)
    c = complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                 department="sales", description="交车延误", received_at=at("2026-11-04T09:00"), s=s)
    session.commit()
    return {"complaint": c}


def test_week_bounds_are_monday_midnight_in_shanghai(session):
    start, end = dates.week_bounds(WEEK, settings.load(session).zone)
    assert start == at("2026-11-02T00:00") and end == at("2026-11-09T00:00")
    assert dates.week_of(at("2026-11-08T23:59").astimezone(SHANGHAI).date()) == WEEK
    assert dates.shift_week("2026-W53", 1) == "2027-W01" and dates.shift_week("2026-W01", -1) == "2025-W52"
    for bad in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(DomainError):
            dates.require_week(bad)


def test_every_figure_of_the_fixture_week(session, people, week):
    r = review.build_review(session, WEEK, s=settings.load(session), now=at("2026-11-10T09:00"))
    [row] = [p for p in r.people if p.person.username == "sales1"]
    # Due Tue (on time), Wed (late), Fri (open, overdue), Thu callback (on time), Sun 23:59 callback (on time);
    # the Monday 00:00 callback belongs to the next week.
    assert (row.due, row.on_time, row.late, row.open_overdue) == (5, 3, 1, 1)
    assert (r.callbacks.due, r.callbacks.done, r.callbacks.reached) == (2, 2, 2)
    assert r.callbacks.average_satisfaction == 7
    assert [c.problems for c in r.callbacks.problems] == ["等待时间太长"]
    assert (r.complaints.received, r.complaints.closed) == (1, 0)
    assert [c.id for c in r.complaints.overdue] == [week["complaint"].id]     # not answered within 30 min
    assert r.month == "2026-11" and {card.person.username for _rank, card in r.scores} >= {"sales1", "sales2"}


def test_the_page_shows_the_same_figures(client, auth, people, week):
    auth.login("supervisor")
    html = client.get(f"/review/?week={WEEK}").get_data(as_text=True)
    row = re.search(r'<tr data-person="sales1">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*" data-label="[^"]*">(\d+)</td>', row) == ["5", "3", "1", "1"]
    assert "等待时间太长" in html and "交车3天回访：王先生" not in html.split('id="callbacks"')[0]
    assert "2026-11-02 – 2026-11-08" in html and "<svg" in html
    meeting = client.get(f"/review/?week={WEEK}&mode=meeting").get_data(as_text=True)
    assert 'class="review meeting"' in meeting and meeting.count("data-section") == 7


def test_staff_may_not_open_the_review(client, auth, people):
    auth.login("sales1")
    assert client.get("/review/").status_code == 403
    assert client.post("/review/actions", data={"week": WEEK, "title": "x", "owner": "1"}).status_code == 403
    auth.logout()
    assert client.get("/review/").status_code == 302


def test_an_action_item_is_on_the_board_and_on_next_weeks_review(client, auth, people, session):
    auth.login("supervisor")
    response = client.post("/review/actions", data={"week": WEEK, "title": "缩短售后等待时间",
                                                    "owner": str(people["sales2"].id), "due_at": "2026-11-13T18:00"})
    assert response.status_code == 303
    refused = client.post("/review/actions", data={"week": WEEK, "title": "", "owner": str(people["sales2"].id)})
    assert refused.status_code == 303
    [card] = review.action_items(session, WEEK)
    assert card.assignee_id == people["sales2"].id and card.due_at == at("2026-11-13T18:00")
    later = client.get(f"/review/?week={dates.shift_week(WEEK, 1)}").get_data(as_text=True)
    section = later.split('id="actions"')[1]
    assert "缩短售后等待时间" in section and "待办" in section                  # last week's item, still to do
    board.complete_card(session, card, actor=people["sales2"], seen_version=card.version, note="已完成")
    session.commit()
    later = client.get(f"/review/?week={dates.shift_week(WEEK, 1)}").get_data(as_text=True)
    assert "已完成" in later.split('id="actions"')[1]


def test_staff_cannot_make_an_action_item_for_someone_else(session, people):
    with pytest.raises(Forbidden):
        review.create_action(session, actor=people["sales1"], week=WEEK, title="x", owner=people["sales2"],
                             due_at=None)


# ---------------------------------------------------------------- meeting mode (issue 17, item 10)

def meeting_page(client, query: str = "") -> str:
    response = client.get(f"/review/?week={WEEK}&mode=meeting{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def step_link(html: str, rel: str) -> str:
    return re.search(rf'<a class="button meeting-step[^"]*" data-step="{rel}"[^>]*>', html).group(0)


def current_sections(html: str) -> list[str]:
    return re.findall(r'<section class="panel review-section current" id="([\w-]+)" data-section>', html)


def test_meeting_mode_has_its_own_bar_instead_of_the_apps_navigation(client, auth, people, week):
    auth.login("supervisor")
    normal = client.get(f"/review/?week={WEEK}").get_data(as_text=True)
    assert '<header class="topbar">' in normal and 'aria-label="主导航"' in normal and "data-meeting-bar" not in normal
    assert current_sections(normal) == []                                      # every section shows off meeting mode

    html = meeting_page(client)
    assert '<header class="topbar">' not in html and 'aria-label="主导航"' not in html
    assert 'class="menu-toggle"' not in html                                   # nor the phone's menu
    bar = html.split("<header class=\"meeting-bar\"")[1].split("</header>")[0]
    assert "<h1" in bar and WEEK in bar and '<span data-counter>1 / 7</span>' in bar
    assert f'href="/review/?week={WEEK}">退出会议模式</a>' in bar                   # back to the normal review
    assert 'role="link" aria-disabled="true"' in step_link(html, "prev")           # nothing before the first
    assert f'href="/review/?week={WEEK}&amp;mode=meeting&amp;section=2"' in step_link(html, "next")
    assert current_sections(html) == ["work"] and html.count("data-section>") == 7


@pytest.mark.parametrize(("query", "current", "counter", "previous", "following"), [
    ("&section=3", "callbacks", "3 / 7", 2, 4),
    ("&section=7", "actions", "7 / 7", 6, None),
    ("&section=99", "actions", "7 / 7", 6, None),           # past the end: the last section
    ("&section=0", "work", "1 / 7", None, 2),
    ("&section=abc", "work", "1 / 7", None, 2),
])
def test_meeting_sections_step_without_javascript(client, auth, people, week, query, current, counter, previous,
                                                  following):
    auth.login("supervisor")
    html = meeting_page(client, query)
    assert current_sections(html) == [current]
    assert f"<span data-counter>{counter}</span>" in html
    for rel, number in (("prev", previous), ("next", following)):
        link = step_link(html, rel)
        if number is None:
            assert 'aria-disabled="true"' in link and "href" not in link
        else:
            assert f'href="/review/?week={WEEK}&amp;mode=meeting&amp;section={number}"' in link


def test_card_links_open_the_card_without_javascript_and_its_details_in_a_dialog_with_it(client, auth, people,
                                                                                         week, session):
    auth.login("supervisor")
    [overdue] = review.build_review(session, WEEK, s=settings.load(session), now=at("2026-11-10T09:00")).overdue[:1]
    html = meeting_page(client, "&section=2")
    url = f"/board/cards/{overdue.id}"
    assert (f'<a href="{url}" hx-get="{url}" hx-target="#drawer" hx-swap="innerHTML" data-card-dialog>'
            f"{overdue.title}</a>") in html
    assert '<dialog class="card-dialog" id="card-dialog"' in html and '<div id="drawer"' in html
    # What the link loads with htmx: the card's detail block alone, not a page.
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "drawer"}).get_data(as_text=True)
    assert f'id="card-detail-{overdue.id}"' in fragment and "<html" not in fragment


def test_an_action_item_made_in_meeting_mode_returns_to_the_meeting(client, auth, people, week):
    auth.login("supervisor")
    response = client.post("/review/actions", data={"week": WEEK, "mode": "meeting", "title": "缩短等待时间",
                                                    "owner": str(people["sales2"].id), "due_at": "2026-11-13T18:00"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/review/?week={WEEK}&mode=meeting&section=7"
    refused = client.post("/review/actions", data={"week": WEEK, "mode": "meeting", "title": "",
                                                   "owner": str(people["sales2"].id)})
    assert refused.headers["Location"] == f"/review/?week={WEEK}&mode=meeting&section=7"
    html = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert current_sections(html) == ["actions"] and 'name="mode" value="meeting"' in html
