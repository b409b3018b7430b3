"""The bell's pages: the header's count and its poll (one COUNT), the list as a page and as the bell's panel,
opening a notice (read, then its link), marking read, the choices; only one's own notices (another person's id
is a 404 and changes nothing), log-in required, and every write refused without the CSRF token."""
from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from sqlalchemy import event, select

from careboard import create_app
from careboard.extensions import db
from careboard.models import NoticeKind, Notification, NotificationPreference
from careboard.services import board
from tests.factories import PASSWORD, make_card

HX = {"HX-Request": "true"}


def bell_count(html: str) -> int:
    return int(re.search(r'id="bell-count"[^>]*data-count="(\d+)"', html, re.S).group(1))


def reassigned(session, people, to="sales1", title="交车回访"):
    card = make_card(session, assignee=people["sales2"] if to == "sales1" else people["sales1"], title=title)
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=people[to], seen_version=card.version)
    session.commit()
    return card, session.scalar(select(Notification).where(Notification.card_id == card.id))


def test_the_bell_shows_the_unread_count_and_hides_it_at_zero(client, auth, people, session):
    auth.login("sales1")
    html = client.get("/board/mine").get_data(as_text=True)
    assert bell_count(html) == 0 and re.search(r'id="bell-count"[^>]*hidden', html, re.S)
    assert 'hx-trigger="every 30s"' in html
    reassigned(session, people)
    html = client.get("/board/mine").get_data(as_text=True)
    assert bell_count(html) == 1 and not re.search(r'id="bell-count"[^>]*hidden', html, re.S)


def test_the_poll_answers_with_one_count(client, auth, people, session, app):
    reassigned(session, people)
    auth.login("sales1")
    seen = []

    def log(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", log)
    try:
        response = client.get("/notifications/bell", headers=HX)
    finally:
        event.remove(db.engine, "before_cursor_execute", log)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and bell_count(html) == 1
    on_notices = [s for s in seen if "notification" in s]
    assert len(on_notices) == 1 and "count(" in on_notices[0].lower()


def test_the_list_as_a_page_and_as_the_bells_panel_in_the_readers_language(client, auth, people, session):
    card, _notice = reassigned(session, people)
    people["sales1"].language = "en"
    session.commit()
    auth.login("sales1")
    page = client.get("/notifications/").get_data(as_text=True)
    assert "<h1>Notifications</h1>" in page and "Supervisor assigned “交车回访” to you." in page
    assert "1 unread" in page and "Mark all read" in page and "/notifications/preferences" in page
    panel = client.get("/notifications/", headers={**HX, "HX-Target": "notice-panel"}).get_data(as_text=True)
    assert "<html" not in panel and "交车回访" in panel and "All notifications" in panel
    auth.logout()
    _card, _notice = reassigned(session, people, to="sales2", title="保养提醒")
    auth.login("sales2")                                        # in Chinese, the store's language
    assert "Supervisor 把“保养提醒”分配给了你。" in client.get("/notifications/").get_data(as_text=True)


def test_opening_a_notice_marks_it_read_and_follows_its_link(client, auth, people, session):
    card, notice = reassigned(session, people)
    auth.login("sales1")
    response = client.post(f"/notifications/{notice.id}/open")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/board/cards/{card.id}")
    session.expire_all()
    assert session.get(Notification, notice.id).read_at is not None
    assert bell_count(client.get("/board/mine").get_data(as_text=True)) == 0


def test_another_persons_notice_is_a_404_and_stays_unread(client, auth, people, session):
    _card, notice = reassigned(session, people)                 # sales1's
    auth.login("sales2")
    assert client.post(f"/notifications/{notice.id}/open").status_code == 404
    assert client.post(f"/notifications/{notice.id}/read").status_code == 404
    assert client.post("/notifications/read-all").status_code == 303
    assert "交车回访" not in client.get("/notifications/").get_data(as_text=True)
    session.expire_all()
    assert session.get(Notification, notice.id).read_at is None


def test_mark_read_and_mark_all_read(client, auth, people, session):
    _c1, first = reassigned(session, people, title="一")
    _c2, second = reassigned(session, people, title="二")
    auth.login("sales1")
    assert client.post(f"/notifications/{first.id}/read").status_code == 303
    session.expire_all()
    assert session.get(Notification, first.id).read_at and session.get(Notification, second.id).read_at is None
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert bell_count(response.get_data(as_text=True)) == 0
    session.expire_all()
    assert session.get(Notification, second.id).read_at is not None


def test_the_choices_page_saves_each_kind(client, auth, people, session):
    auth.login("sales1")
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert page.count('type="checkbox" name="kinds"') == 6 and page.count("checked") == 6
    assert "complaint_escalated" not in page                   # not a staff member's kind
    response = client.post("/notifications/preferences", data={"kinds": ["card_commented"]})
    assert response.status_code == 303
    chosen = dict(session.execute(select(NotificationPreference.kind, NotificationPreference.enabled)
                                  .where(NotificationPreference.user_id == people["sales1"].id)).all())
    assert chosen[NoticeKind.CARD_ASSIGNED] is False and chosen[NoticeKind.CARD_COMMENTED] is True
    assert client.post("/notifications/preferences", data={"kinds": ["complaint_escalated"]}).status_code == 422
    reassigned(session, people)
    assert session.scalars(select(Notification).where(Notification.user_id == people["sales1"].id)).all() == []


def test_the_pages_need_a_log_in(client, people):
    for url in ("/notifications/", "/notifications/bell", "/notifications/preferences"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_writes_without_the_csrf_token_are_refused(app_config, people, session):
    _card, notice = reassigned(session, people)
    app = create_app(type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True}))
    with app.app_context():
        client = app.test_client()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"username": "sales1", "password": PASSWORD, "csrf_token": token})
        for url in (f"/notifications/{notice.id}/open", f"/notifications/{notice.id}/read", "/notifications/read-all",
                    "/notifications/preferences"):
            assert client.post(url).status_code == 400, url
        assert db.session.get(Notification, notice.id).read_at is None
        page = client.get("/notifications/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        assert client.post("/notifications/read-all", data={"csrf_token": token}).status_code == 303
        db.session.expire_all()
        assert db.session.get(Notification, notice.id).read_at is not None


def test_the_bells_poll_is_no_activity(client, auth, people, app):
    """A tablet left on a page keeps polling its bell: that does not keep it logged in."""
    idle = app.config["IDLE_LOGOUT_MINUTES"]
    with time_machine.travel("2026-11-25 09:00 +0800", tick=False) as traveller:
        auth.login("sales1")
        html = client.get("/board/mine").get_data(as_text=True)
        assert re.search(r'id="bell-count"[^>]*X-CareBoard-Poll', html, re.S)
        for _ in range(3):
            traveller.shift(timedelta(minutes=idle / 2))
            response = client.get("/notifications/bell", headers={**HX, "X-CareBoard-Poll": "1"})
        assert "HX-Redirect" in response.headers
