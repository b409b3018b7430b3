"""Complaint pages: intake onto the board, the steps over HTTP, refusals, escalations, the printable form."""
from __future__ import annotations

import re

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from careboard.models import Card, Complaint, NoticeKind, Notification, Role
from careboard.services import tick as tick_service
from tests.factories import make_customer, make_user

INTAKE = {"lookup": "", "name": "", "channel": "phone", "category": "service", "department": "aftersales",
          "severity": 2, "description": "保养等了三个小时", "received_at": ""}


@pytest.fixture
def team(session, people):
    people["phone1"] = make_user(session, "phone1", role=Role.PHONE_RECEPTION)
    session.commit()
    return people


def test_intake_puts_the_complaint_on_the_board(client, auth, team, session):
    customer = make_customer(session, "投诉客户", mobile="13811112222")
    session.commit()
    auth.login("phone1")
    response = client.post("/complaints/new", data={**INTAKE, "lookup": "138 1111 2222"})
    assert response.status_code == 303
    complaint = session.scalar(select(Complaint))
    assert complaint.customer_id == customer.id and complaint.status == "received"
    card = session.get(Card, complaint.card_id)
    assert card.kind == "complaint" and card.column == "todo"
    auth.logout()
    auth.login("supervisor")
    assert "保养等了三个小时" in client.get("/board/mine").get_data(as_text=True)


def test_intake_creates_an_unknown_caller_and_refuses_bad_input(client, auth, team, session):
    auth.login("phone1")
    assert client.post("/complaints/new", data={**INTAKE, "lookup": "13999998888", "name": "新来电"}).status_code == 303
    bad_phone = client.post("/complaints/new", data={**INTAKE, "lookup": "12345678901"})
    empty = client.post("/complaints/new", data={**INTAKE, "description": ""})
    assert bad_phone.status_code == 422 and empty.status_code == 422
    assert session.scalar(select(func.count(Complaint.id))) == 1


def _logged(client, auth):
    auth.login("phone1")
    client.post("/complaints/new", data=INTAKE)
    auth.logout()


def test_steps_over_http_and_an_illegal_one(client, auth, team, session):
    _logged(client, auth)
    complaint = session.scalar(select(Complaint))
    auth.login("supervisor")
    ok = client.post(f"/complaints/{complaint.id}/step", data={"to": "responded", "version": complaint.version})
    assert ok.status_code == 303
    said = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert f"投诉 #{complaint.id}：已响应。" in said[said.index('id="toasts"'):]               # answered, a toast
    session.expire_all()
    complaint = session.scalar(select(Complaint))
    skip = client.post(f"/complaints/{complaint.id}/step", data={"to": "resolved", "version": complaint.version})
    assert skip.status_code == 422 and "不能转到" in skip.get_data(as_text=True)
    stale = client.post(f"/complaints/{complaint.id}/step", data={"to": "handed_off", "version": 1})
    assert stale.status_code == 409
    session.expire_all()
    assert session.scalar(select(Complaint)).status == "responded"


def test_staff_cannot_move_anothers_complaint_nor_change_deadlines(client, auth, team, session):
    _logged(client, auth)
    complaint = session.scalar(select(Complaint))
    auth.login("sales1")
    assert client.post(f"/complaints/{complaint.id}/step",
                       data={"to": "responded", "version": complaint.version}).status_code == 403
    assert client.post(f"/complaints/{complaint.id}/deadline",
                       data={"due": "2026-12-01T10:00", "version": complaint.version}).status_code == 403
    session.expire_all()
    assert session.scalar(select(Complaint)).status == "received"


@time_machine.travel("2026-12-08 10:00 +0800", tick=False)        # open hours: the clock runs
def test_escalations_list_and_mark_read(client, auth, team, session):
    _logged(client, auth)
    tick_service.tick(session, now=datetime.now(UTC) + timedelta(hours=1))
    session.commit()
    auth.login("supervisor")
    page = client.get("/complaints/").get_data(as_text=True)
    assert "已超时" in page and "保养等了三个小时" in page
    assert "保养等了三个小时" not in client.get("/complaints/?state=closed").get_data(as_text=True)
    notice = session.scalar(select(Notification).where(Notification.user_id == team["supervisor"].id))
    assert client.post(f"/complaints/notifications/{notice.id}/read").status_code == 303
    session.expire_all()
    assert session.get(Notification, notice.id).read_at is not None
    auth.logout()
    auth.login("director")
    other = session.scalar(select(Notification).where(Notification.user_id == team["director"].id))
    assert client.post(f"/complaints/notifications/{notice.id}/read").status_code == 403
    assert other.read_at is None


def test_the_printable_handling_form(client, auth, team, session):
    _logged(client, auth)
    complaint = session.scalar(select(Complaint))
    auth.login("phone1")
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "顾客投诉抱怨处理单" in html and "保养等了三个小时" in html and "print-only" in html


def test_complaint_pages_need_login(client, team):
    assert client.get("/complaints/").status_code == 302
    assert client.get("/complaints/new").status_code == 302


def _bell_count(html: str) -> int:
    return int(re.search(r'id="bell-count"[^>]*data-count="(\d+)"', html, re.S).group(1))


@time_machine.travel("2026-12-08 10:00 +0800", tick=False)        # open hours: the clock runs
def test_the_header_bell_counts_unread_escalations(client, auth, team, session):
    _logged(client, auth)
    auth.login("supervisor")
    assert _bell_count(client.get("/complaints/").get_data(as_text=True)) == 0
    tick_service.tick(session, now=datetime.now(UTC) + timedelta(hours=1))
    session.commit()
    unread = session.scalars(select(Notification).where(Notification.user_id == team["supervisor"].id,
                                                        Notification.read_at.is_(None))).all()
    assert NoticeKind.COMPLAINT_ESCALATED in {n.kind for n in unread}        # with the week's reports
    assert _bell_count(client.get("/complaints/").get_data(as_text=True)) == len(unread)
    auth.logout()
    auth.login("sales1")
    assert _bell_count(client.get("/complaints/").get_data(as_text=True)) == 0


def test_the_complaint_card_links_to_its_complaint(client, auth, team, session):
    _logged(client, auth)
    complaint = session.scalar(select(Complaint))
    auth.login("supervisor")
    drawer = client.get(f"/board/cards/{complaint.card_id}", headers={"HX-Request": "true", "HX-Target": "drawer"})
    assert f"/complaints/{complaint.id}" in drawer.get_data(as_text=True)
