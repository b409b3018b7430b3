"""The board over HTTP: pages and fragments, ETag/304, permissions, conflicts, statement counts."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from careboard.models import Card, CardEvent
from tests.factories import PASSWORD, make_card

HX_BOARD = {"HX-Request": "true", "HX-Target": "board"}
HX_DRAWER = {"HX-Request": "true", "HX-Target": "drawer"}


def reload(session, card):
    session.expire_all()
    return session.get(Card, card.id)


def count_events(session, card):
    return session.scalar(select(func.count()).select_from(CardEvent).where(CardEvent.card_id == card.id))


@pytest.fixture
def cards(session, people):
    s1, s2 = people["sales1"], people["sales2"]
    mine = make_card(session, assignee=s1, title="王先生 交车回访", kind="callback",
                     due_at=datetime.now(UTC) - timedelta(hours=1))
    theirs = make_card(session, assignee=s2, title="陈女士 生日问候")
    session.commit()
    return {"mine": mine, "theirs": theirs}


def test_board_pages_need_login(client, cards):
    for url in ("/board/", "/board/mine", "/board/archive", f"/board/cards/{cards['mine'].id}", "/board/cards/new"):
        assert client.get(url).status_code == 302, url


def test_mine_shows_my_open_cards_only(client, auth, cards):
    auth.login("sales1")
    html = client.get("/board/mine").get_data(as_text=True)
    assert "王先生 交车回访" in html and "陈女士 生日问候" not in html
    assert "逾期" in html                                        # the SLA state in words, not only color


def test_board_page_and_its_fragment(client, auth, cards):
    auth.login("supervisor")
    page = client.get("/board/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "王先生 交车回访" in html and "陈女士 生日问候" in html
    fragment = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="board"')
    assert 'id="overdue-badge" ' in fragment and 'hx-swap-oob="true"' in fragment
    assert "HX-Request" in page.headers["Vary"]


def test_overdue_badge_in_the_header(client, auth, cards):
    auth.login("sales1")
    html = client.get("/board/mine").get_data(as_text=True)
    badge = re.search(r'id="overdue-badge".*?<strong>(\d+)</strong>', html, re.S)
    assert badge and badge.group(1) == "1"


def test_unchanged_board_answers_304_without_a_body(client, auth, cards, app):
    auth.login("supervisor")
    first = client.get("/board/", headers=HX_BOARD)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache, private"
    again = client.get("/board/", headers={**HX_BOARD, "If-None-Match": etag, "X-CareBoard-Poll": "1"})
    assert again.status_code == 304 and again.data == b""
    # Someone else changes a card: the next poll gets the new board.
    other = app.test_client()
    other.post("/login", data={"username": "sales2", "password": PASSWORD})
    assert other.post(f"/board/cards/{cards['theirs'].id}/comments", data={"body": "已联系"}).status_code == 303
    changed = client.get("/board/", headers={**HX_BOARD, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_etag_depends_on_filters_and_viewer(client, auth, cards):
    auth.login("supervisor")
    a = client.get("/board/").headers["ETag"]
    b = client.get("/board/?kind=callback").headers["ETag"]
    assert a != b
    assert client.get("/board/", headers={"If-None-Match": b}).status_code == 200


def test_drawer_fragment_and_full_page(client, auth, cards):
    auth.login("sales1")
    url = f"/board/cards/{cards['mine'].id}"
    fragment = client.get(url, headers=HX_DRAWER).get_data(as_text=True)
    assert "<html" not in fragment and 'class="card-detail"' in fragment and "创建了卡片" in fragment
    assert "<html" in client.get(url).get_data(as_text=True)


def test_staff_is_refused_on_anothers_card_and_nothing_changes(client, auth, cards, session):
    auth.login("sales1")
    theirs = cards["theirs"]
    before = count_events(session, theirs)
    posts = {
        "move": {"column": "doing", "version": theirs.version},
        "complete": {"version": theirs.version, "note": "x"},
        "edit": {"title": "hijack", "details": "", "priority": 2, "version": theirs.version},
        "reopen": {"version": theirs.version},
        "reassign": {"assignee": 0, "version": theirs.version},
    }
    for action, data in posts.items():
        assert client.post(f"/board/cards/{theirs.id}/{action}", data=data).status_code == 403, action
    card = reload(session, theirs)
    assert (card.column, card.title, card.assignee_id) == ("todo", "陈女士 生日问候", theirs.assignee_id)
    assert count_events(session, theirs) == before


def test_staff_cannot_reassign_their_own_card(client, auth, cards, people, session):
    auth.login("sales1")
    mine = cards["mine"]
    response = client.post(f"/board/cards/{mine.id}/move",
                           data={"column": "todo", "assignee": people["sales2"].id, "version": mine.version})
    assert response.status_code == 403
    assert reload(session, mine).assignee_id == people["sales1"].id
    assert client.post("/board/reassign-all", data={"from_user": people["sales2"].id,
                                                     "to_user": people["sales1"].id}).status_code == 403
    assert client.get("/board/reassign-all").status_code == 403


def test_staff_moves_own_card_from_a_drag(client, auth, cards, session):
    auth.login("sales1")
    mine = cards["mine"]
    response = client.post("/board/drop", data={"card": mine.id, "column": "doing", "position": 0,
                                                "version": mine.version},
                           headers={"HX-Request": "true", "HX-Target": "toasts"})
    # answered by a toast naming the change, with its undo; the board follows by the event
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "board-changed"
    html = response.get_data(as_text=True)
    assert "toast-success" in html and "移到" in html and f"/board/cards/{mine.id}/undo" in html
    assert reload(session, mine).column == "doing"


def test_a_drop_without_a_card_is_a_bad_request(client, auth, cards):
    auth.login("sales1")
    assert client.post("/board/drop", data={"column": "doing", "version": 1}).status_code == 400
    assert client.post("/board/drop", data={"card": 99999, "column": "doing", "version": 1}).status_code == 404


def test_staff_cannot_drop_anothers_card(client, auth, cards, session):
    auth.login("sales1")
    theirs = cards["theirs"]
    response = client.post("/board/drop", data={"card": theirs.id, "column": "doing", "version": theirs.version},
                           headers={"HX-Request": "true", "HX-Target": f"card-{theirs.id}"})
    assert response.status_code == 403 and response.headers["HX-Retarget"] == "#toasts"
    assert reload(session, theirs).column == "todo"


def test_plain_form_posts_redirect(client, auth, cards):
    auth.login("sales1")
    mine = cards["mine"]
    response = client.post(f"/board/cards/{mine.id}/move", data={"column": "doing", "version": mine.version})
    assert response.status_code == 303 and response.headers["Location"] == f"/board/cards/{mine.id}"


@pytest.mark.parametrize("data,message", [
    ({"note": "聊了几句"}, "该字段是必填字段"),                              # reached or not: not said
    ({"reached": "yes", "note": "满意"}, "请填写客户满意度"),           # reached without a satisfaction
    ({"reached": "maybe"}, "不是有效的选择"),
])
def test_callback_completion_asks_for_the_outcome(client, auth, cards, session, data, message):
    auth.login("sales1")
    mine = cards["mine"]
    refused = client.post(f"/board/cards/{mine.id}/complete", data={"version": mine.version, **data},
                          headers=HX_DRAWER)
    assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    card = reload(session, mine)
    assert card.column == "todo" and card.callback_result is None and card.satisfaction is None


def test_callback_outcome_is_recorded(client, auth, cards, session):
    mine = cards["mine"]
    mine.source = "sale_3d"                               # made by the 3-day sales callback rule
    session.commit()
    auth.login("sales1")
    drawer = client.get(f"/board/cards/{mine.id}", headers=HX_DRAWER).get_data(as_text=True)
    assert "回访话术" in drawer and "您的新车使用三天了" in drawer and "交车3天回访" in drawer
    done = client.post(f"/board/cards/{mine.id}/complete", headers=HX_DRAWER,
                       data={"version": mine.version, "reached": "yes", "satisfaction": "5",
                             "note": "交车讲解不清楚", "problems": "导航不会用"})
    assert done.status_code == 200 and "board-changed" in json.loads(done.headers["HX-Trigger"])
    card = reload(session, mine)
    assert (card.column, card.callback_result, card.satisfaction, card.complaint_flag, card.problems) == \
        ("done", "reached", 5, True, "导航不会用")
    assert "转投诉" in done.get_data(as_text=True)


def test_an_unreached_callback_makes_a_retry_card(client, auth, cards, session):
    auth.login("sales1")
    mine = cards["mine"]
    client.post(f"/board/cards/{mine.id}/complete", data={"version": mine.version, "reached": "no"})
    retry = session.scalar(select(Card).where(Card.rule_key == f"retry:{mine.id}"))
    assert retry is not None and retry.attempt == 2 and retry.column == "todo"
    assert reload(session, mine).callback_result == "not_reached"


def test_two_supervisors_edit_the_same_card_the_later_gets_409(client, app, cards, session, people):
    card = cards["theirs"]
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"username": "supervisor", "password": PASSWORD})
    seen = card.version                                  # both drew the form at this version
    ok = first.post(f"/board/cards/{card.id}/edit", headers=HX_DRAWER,
                    data={"title": "第一位主管", "details": "", "priority": 1, "version": seen})
    assert ok.status_code == 200
    late = second.post(f"/board/cards/{card.id}/edit", headers=HX_DRAWER,
                       data={"title": "第二位主管", "details": "", "priority": 3, "version": seen})
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "刚刚被他人修改" in html and "第一位主管" in html       # the card as it is now
    now = reload(session, card)
    assert (now.title, now.priority) == ("第一位主管", 1)


def test_a_drag_that_arrives_after_the_card_moved_gets_409_as_a_toast(client, app, cards, session, people):
    card = cards["theirs"]
    seen = card.version
    boss = app.test_client()
    boss.post("/login", data={"username": "supervisor", "password": PASSWORD})
    boss.post(f"/board/cards/{card.id}/reassign", data={"assignee": people["sales1"].id, "version": seen})
    director = app.test_client()
    director.post("/login", data={"username": "director", "password": PASSWORD})
    late = director.post("/board/drop", data={"card": card.id, "column": "doing", "position": 0,
                                              "assignee": people["sales2"].id, "version": seen},
                         headers={"HX-Request": "true", "HX-Target": f"card-{card.id}"})
    assert late.status_code == 409
    assert late.headers["HX-Retarget"] == "#toasts" and late.headers["HX-Trigger"] == "board-changed"
    assert "刚刚被他人修改" in late.get_data(as_text=True)
    now = reload(session, card)
    assert (now.column, now.assignee_id) == ("todo", people["sales1"].id)


def test_supervisor_reassigns_and_the_person_sees_it(client, app, cards, session, people):
    card = cards["theirs"]
    client.post("/login", data={"username": "supervisor", "password": PASSWORD})
    response = client.post(f"/board/cards/{card.id}/reassign", data={"assignee": people["sales1"].id,
                                                                      "version": card.version})
    assert response.status_code == 303
    staff = app.test_client()
    staff.post("/login", data={"username": "sales1", "password": PASSWORD})
    assert "陈女士 生日问候" in staff.get("/board/mine").get_data(as_text=True)
    history = staff.get(f"/board/cards/{card.id}").get_data(as_text=True)
    assert "转派了卡片" in history and "Sales2 → Sales1" in history


def test_bulk_reassign_view(client, auth, cards, people, session):
    auth.login("supervisor")
    assert client.get("/board/reassign-all").status_code == 200
    response = client.post("/board/reassign-all", data={"from_user": people["sales2"].id,
                                                         "to_user": people["sales1"].id})
    assert response.status_code == 303
    assert reload(session, cards["theirs"]).assignee_id == people["sales1"].id
    same = client.post("/board/reassign-all", data={"from_user": people["sales1"].id,
                                                     "to_user": people["sales1"].id})
    assert same.status_code == 422


def test_staff_creates_a_task_but_not_a_complaint(client, auth, people, session):
    auth.login("sales1")
    ok = client.post("/board/cards/new", data={"title": "整理交车档案", "kind": "task", "role": "sales_care",
                                               "assignee": people["sales1"].id, "priority": 2,
                                               "due_at": "2026-11-26T18:00"})
    assert ok.status_code == 303
    card = session.scalar(select(Card).where(Card.title == "整理交车档案"))
    assert card.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)   # 18:00 Shanghai
    refused = client.post("/board/cards/new", data={"title": "假投诉", "kind": "complaint", "role": "sales_care",
                                                    "assignee": people["sales1"].id, "priority": 2})
    assert refused.status_code == 422
    assert session.scalar(select(Card).where(Card.title == "假投诉")) is None


@pytest.mark.parametrize("level", ["supervisor", "director", "admin"])
@pytest.mark.parametrize("kind", ["complaint", "rectification"])
def test_nobody_creates_a_workflow_card_by_hand(client, auth, people, session, level, kind):
    """Complaint and rectification cards come only from complaint intake and the 5S check (issue 15, #16)."""
    auth.login(level)
    page = client.get("/board/cards/new").get_data(as_text=True)
    assert f'value="{kind}"' not in page
    refused = client.post("/board/cards/new", data={"title": "手工卡片", "kind": kind, "role": "cs_supervisor",
                                                    "assignee": people[level].id, "priority": 2})
    assert refused.status_code in (403, 422)
    assert session.scalar(select(Card).where(Card.title == "手工卡片")) is None


def test_comment_and_edit_are_in_the_history(client, auth, cards, session):
    auth.login("sales1")
    mine = cards["mine"]
    client.post(f"/board/cards/{mine.id}/comments", data={"body": "下午再打"}, headers=HX_DRAWER)
    client.post(f"/board/cards/{mine.id}/edit", headers=HX_DRAWER,
                data={"title": "王先生 交车回访（改）", "details": "", "priority": 2,
                      "version": reload(session, mine).version})
    html = client.get(f"/board/cards/{mine.id}").get_data(as_text=True)
    assert "下午再打" in html and "编辑了" in html and "王先生 交车回访（改）" in html


def test_archive_lists_done_cards(client, auth, people, session):
    make_card(session, assignee=people["sales1"], title="归档的卡片", column="done")
    session.commit()
    auth.login("sales1")
    html = client.get("/board/archive").get_data(as_text=True)
    assert "归档的卡片" in html




def _statements_for(client, statements, url, headers=None):
    statements["n"] = 0
    assert client.get(url, headers=headers or {}).status_code == 200
    return statements["n"]


def test_statements_per_page_do_not_grow_with_the_number_of_cards(client, auth, people, session, statements):
    def fill(n):
        for i in range(n):
            person = people["sales1"] if i % 2 else people["sales2"]
            make_card(session, assignee=person, title=f"card {i}", column=("todo", "doing", "waiting")[i % 3],
                      due_at=datetime.now(UTC) + timedelta(hours=i - n / 2))
        session.commit()

    auth.login("supervisor")
    fill(10)
    client.get("/board/")                                 # the process learns the accounts (people_version)
    small = [_statements_for(client, statements, url) for url in ("/board/", "/board/mine", "/board/archive")]
    fill(490)
    large = [_statements_for(client, statements, url) for url in ("/board/", "/board/mine", "/board/archive")]
    assert small == large
    assert small[0] <= 12


@pytest.mark.parametrize("target,expected", [("/board/mine", "/board/mine"), ("https://evil.example/", None),
                                             ("//evil.example/x", None)])
def test_next_after_a_plain_post_stays_on_this_site(client, auth, cards, target, expected):
    auth.login("sales1")
    mine = cards["mine"]
    response = client.post(f"/board/cards/{mine.id}/move",
                           data={"column": "doing", "version": mine.version, "next": target})
    assert response.headers["Location"] == (expected or f"/board/cards/{mine.id}")


def test_the_director_edits_the_scripts_and_staff_may_not(client, auth, people, session, app):
    from careboard.models import CallbackScript
    auth.login("sales1")
    assert client.get("/board/scripts").status_code == 403
    assert client.post("/board/scripts", data={"sale_3d": "x"}).status_code == 403
    auth.logout()
    auth.login("director")
    page = client.get("/board/scripts").get_data(as_text=True)
    assert "您的新车使用三天了" in page
    from careboard.services.callbacks import DEFAULT_SCRIPTS
    data = dict(DEFAULT_SCRIPTS.items())
    data["sale_3d"] = "您好，{store}回访：新车用得好吗？"
    assert client.post("/board/scripts", data=data).status_code == 303
    assert session.get(CallbackScript, "sale_3d").body == "您好，{store}回访：新车用得好吗？"
    empty = client.post("/board/scripts", data={**data, "sale_3d": "不该保存", "winback": ""})
    assert empty.status_code == 422                                  # refused whole: nothing of it is stored
    session.expire_all()
    assert session.get(CallbackScript, "winback").body == DEFAULT_SCRIPTS["winback"].strip()
    assert session.get(CallbackScript, "sale_3d").body == "您好，{store}回访：新车用得好吗？"


def test_rendered_cards_are_reused_only_while_nothing_on_them_changed(client, auth, cards, session, people):
    """The department board keeps each card's HTML per process (templating.board_card): a second render is
    the same page, and a new title, SLA state, lock or language shows at once."""
    from careboard import templating
    from careboard.services import board
    templating._board_cards.clear()
    auth.login("supervisor")
    with time_machine.travel(datetime.now(UTC), tick=False):          # the forms' CSRF tokens carry the second
        first = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
        assert len(templating._board_cards) >= 2
        assert client.get("/board/", headers=HX_BOARD).get_data(as_text=True) == first
        templating._board_cards.clear()                              # rendered afresh: the same HTML
        assert client.get("/board/", headers=HX_BOARD).get_data(as_text=True) == first

    theirs = reload(session, cards["theirs"])
    board.edit_card(session, theirs, actor=people["supervisor"], seen_version=theirs.version,
                    title="陈女士 生日问候（改）", details="", due_at=datetime.now(UTC) + timedelta(days=3), priority=1)
    session.commit()
    edited = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
    assert "陈女士 生日问候（改）" in edited and f'data-version="{theirs.version}"' in edited

    with time_machine.travel(datetime.now(UTC) + timedelta(days=4), tick=False):       # due passed: overdue
        auth.login("supervisor")                                      # (the idle logout came first)
        later = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
    card_html = re.search(rf'<li id="card-{theirs.id}".*?</li>', later, re.S).group(0)
    assert "sla-overdue" in card_html and "sla-ok" not in card_html

    auth.login("supervisor")                                          # back in the present
    client.post("/language", data={"language": "en"})
    english = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
    assert "Overdue" in english and "逾期" not in english and "High" in english

    auth.logout()
    auth.login("sales1")                                              # may not change the others' cards
    staff = client.get("/board/", headers=HX_BOARD).get_data(as_text=True)
    assert re.search(rf'<li id="card-{theirs.id}" class="[^"]*locked', staff)
    assert not re.search(rf'<li id="card-{cards["mine"].id}" class="[^"]*locked', staff)


def test_my_cards_poll_is_304_while_only_other_peoples_cards_change(client, auth, cards, app, session):
    auth.login("sales1")
    poll = {"HX-Request": "true", "HX-Target": "mine", "X-CareBoard-Poll": "1"}
    first = client.get("/board/mine", headers=poll)
    etag = first.headers["ETag"]
    other = app.test_client()
    other.post("/login", data={"username": "sales2", "password": PASSWORD})
    assert other.post(f"/board/cards/{cards['theirs'].id}/comments", data={"body": "已联系"}).status_code == 303
    assert client.get("/board/mine", headers={**poll, "If-None-Match": etag}).status_code == 304
    boss = app.test_client()
    boss.post("/login", data={"username": "supervisor", "password": PASSWORD})
    theirs = cards["theirs"]
    moved = boss.post("/board/drop", data={"card": theirs.id, "column": "doing", "assignee": theirs.assignee_id,
                                           "position": 0, "version": theirs.version}, headers={"HX-Request": "true"})
    assert moved.status_code == 200
    assert client.get("/board/mine", headers={**poll, "If-None-Match": etag}).status_code == 304
    theirs = reload(session, theirs)
    moved = boss.post("/board/drop", data={"card": theirs.id, "column": "todo", "assignee": cards["mine"].assignee_id,
                                           "position": 0, "version": theirs.version}, headers={"HX-Request": "true"})
    assert moved.status_code == 200                                   # now it is mine: the poll gets the list
    changed = client.get("/board/mine", headers={**poll, "If-None-Match": etag})
    assert changed.status_code == 200 and "陈女士 生日问候" in changed.get_data(as_text=True)


def test_lanes_come_folded_as_the_person_left_them(client, auth, cards, people):
    """board.js keeps the folded lanes in a cookie per person; the page is rendered folded (no flash), and the
    folding is part of the ETag, so a reload or a poll after folding never gets the unfolded copy."""
    auth.login("supervisor")
    s1, s2 = people["sales1"], people["sales2"]
    first = client.get("/board/")
    html = first.get_data(as_text=True)
    assert f'data-lanes-cookie="careboard_lanes_{people["supervisor"].id}"' in html
    assert 'class="lane collapsed' not in html
    assert html.count('aria-expanded="true"') == html.count('class="lane-toggle"') > 2

    client.set_cookie(f"careboard_lanes_{people['supervisor'].id}", f"user-{s1.id}.user-{s2.id}")
    client.set_cookie(f"careboard_lanes_{s1.id}", "")          # another person's folding on this tablet: not ours
    folded = client.get("/board/", headers={"If-None-Match": first.headers["ETag"]})
    assert folded.status_code == 200 and folded.headers["ETag"] != first.headers["ETag"]
    html = folded.get_data(as_text=True)
    closed = re.findall(r'<section class="lane collapsed pending" id="lane-([\w-]+)"', html)
    assert closed == [f"user-{s1.id}", f"user-{s2.id}"]
    assert re.search(rf'data-lane="user-{s1.id}" aria-expanded="false"', html)
    assert "王先生 交车回访" not in html                                # folded: its head and counts only,
    assert f'data-src="/board/lanes/user-{s1.id}"' in html               # its cards fetched when unfolded
    assert re.search(rf"id=\"head-user-{s1.id}\".*?<small class=\"count\">[^<]*1[^<]*</small>", html, re.S)

    other = client.get("/board/", headers={"If-None-Match": folded.headers["ETag"]})
    assert other.status_code == 304


def test_a_lane_folds_without_javascript_by_posting_its_button(client, auth, cards, people):
    """Without JavaScript a lane's button posts: the same cookie board.js keeps gets the lane (or loses it), and
    the board comes back with its filters at that lane, folded as asked."""
    auth.login("supervisor")
    s1, s2 = people["sales1"], people["sales2"]
    cookie = f"careboard_lanes_{people['supervisor'].id}"
    html = client.get("/board/?kind=task").get_data(as_text=True)
    assert f'name="lane" value="user-{s1.id}"' in html and 'action="/board/lanes/fold"' in html

    folded = client.post("/board/lanes/fold", data={"lane": f"user-{s1.id}", "next": "/board/?kind=task"})
    assert folded.status_code == 303
    assert folded.headers["Location"] == f"/board/?kind=task#lane-user-{s1.id}"
    assert client.get_cookie(cookie).value == f"user-{s1.id}"
    assert not client.get_cookie(cookie).http_only                          # board.js reads and writes it too
    html = client.get("/board/?kind=task").get_data(as_text=True)
    assert re.findall(r'<section class="lane collapsed pending" id="lane-([\w-]+)"', html) == [f"user-{s1.id}"]

    client.post("/board/lanes/fold", data={"lane": f"user-{s2.id}", "next": "/board/"})
    assert set(client.get_cookie(cookie).value.split(".")) == {f"user-{s1.id}", f"user-{s2.id}"}
    unfolded = client.post("/board/lanes/fold", data={"lane": f"user-{s1.id}", "next": "https://evil.example/"})
    assert unfolded.headers["Location"] == f"/board/#lane-user-{s1.id}"      # only a page of this site
    assert client.get_cookie(cookie).value == f"user-{s2.id}"
    html = client.get("/board/").get_data(as_text=True)
    assert re.findall(r'<section class="lane collapsed pending" id="lane-([\w-]+)"', html) == [f"user-{s2.id}"]

    refused = client.post("/board/lanes/fold", data={"lane": "user-1.user-2", "next": "/board/"})
    assert refused.status_code == 400                                       # a key is one lane, never a list
    assert client.get_cookie(cookie).value == f"user-{s2.id}"


@pytest.mark.parametrize("url, target", [("/board/mine", "mine"), ("/board/", "board")])
def test_the_fragment_is_not_validated_by_the_whole_pages_etag(client, auth, cards, url, target):
    """A browser revalidates its cached page when htmx asks for the fragment: a 304 there put the whole page,
    header and all, into the list (seen after a refused change in the drawer, which triggers a refresh)."""
    auth.login("sales1")
    page = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": target,
                                        "If-None-Match": page.headers["ETag"]})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
