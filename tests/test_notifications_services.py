"""The bell's service: who is told what (every event kind), each person's choices, never one's own action, an
undone reassignment taken back, the sentence drawn in the reader's language, and the unread count."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import select

from careboard.models import NoticeKind, Notification, Role
from careboard.services import board, checklist, complaints, import_jobs, notifications, reports, settings
from careboard.services import tick as tick_service
from careboard.services.errors import Forbidden
from tests.factories import at, make_card, make_user

K = NoticeKind
T0 = at("2026-11-25T10:00")


def notices(session, user, kind=None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(session.scalars(query))


def test_a_card_reassigned_by_a_supervisor_rings_its_new_owner(session, people):
    card = make_card(session, assignee=people["sales1"], title="交车回访")
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=people["sales2"],
                        seen_version=card.version)
    session.commit()
    [notice] = notices(session, people["sales2"])
    assert notice.kind == K.CARD_ASSIGNED and notice.card_id == card.id and notice.actor_id == people["supervisor"].id
    assert notice.link == f"/board/cards/{card.id}" and notice.read_at is None
    assert notice.text == "Supervisor 把“交车回访”分配给了你。"                        # the store's language
    assert notices(session, people["sales1"]) == []                                    # losing a card rings nothing
    assert notifications.unread_count(session, people["sales2"]) == 1


def test_a_card_made_for_someone_else_rings_but_a_rule_card_does_not(session, people):
    board.create_card(session, actor=people["supervisor"], kind="task", title="补录资料", role=Role.SALES_CARE,
                      assignee=people["sales1"])
    make_card(session, assignee=people["sales2"], title="规则卡片")                     # the tick's: actor None
    session.commit()
    assert [n.kind for n in notices(session, people["sales1"])] == [K.CARD_ASSIGNED]
    assert notices(session, people["sales2"]) == []


def test_never_for_ones_own_action(session, people):
    supervisor = people["supervisor"]
    card = make_card(session, assignee=people["sales1"])
    board.reassign_card(session, card, actor=supervisor, to_assignee=supervisor, seen_version=card.version)
    board.add_comment(session, card, actor=supervisor, body="我自己的卡")
    board.create_card(session, actor=people["sales1"], kind="task", title="自己的", role=Role.SALES_CARE,
                      assignee=people["sales1"])
    unassigned = make_card(session, title="无人")
    board.move_card(session, unassigned, actor=people["sales1"], to_column="todo", to_assignee=people["sales1"],
                    position=None, seen_version=unassigned.version)                      # a claim
    session.commit()
    assert notices(session, supervisor) == [] and notices(session, people["sales1"]) == []
    assert notifications.notify(session, user_id=supervisor.id, kind=K.CARD_ASSIGNED, link=None,
                                actor_id=supervisor.id) is None


def test_an_undone_reassignment_takes_its_notice_back(session, people):
    card = make_card(session, assignee=people["sales1"])
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=people["sales2"],
                        seen_version=card.version)
    session.commit()
    assert len(notices(session, people["sales2"])) == 1
    board.undo_reassign(session, card, actor=people["supervisor"], seen_version=card.version,
                        to_assignee=people["sales1"])
    session.commit()
    assert notices(session, people["sales2"]) == [] and notices(session, people["sales1"]) == []


def test_bulk_reassignment_is_one_notice(session, people):
    for i in range(3):
        make_card(session, assignee=people["sales1"], title=f"卡{i}")
    assert board.bulk_reassign(session, actor=people["supervisor"], from_user=people["sales1"],
                               to_user=people["sales2"]) == 3
    session.commit()
    [notice] = notices(session, people["sales2"])
    assert notice.params["count"] == 3 and notice.link == "/board/mine"


def test_a_comment_by_someone_else_rings_the_cards_owner(session, people):
    card = make_card(session, assignee=people["sales1"], title="回访")
    board.add_comment(session, card, actor=people["supervisor"], body="客户说下午再打 " * 20)
    session.commit()
    [notice] = notices(session, people["sales1"], K.CARD_COMMENTED)
    assert notice.params["excerpt"].endswith("…") and len(notice.params["excerpt"]) == notifications.EXCERPT
    board.add_comment(session, card, actor=people["sales1"], body="好的")              # the owner's own
    session.commit()
    assert notices(session, people["supervisor"]) == []


def test_a_turned_off_kind_rings_nothing_and_the_others_still_do(session, people):
    sales1 = people["sales1"]
    assert all(notifications.preferences(session, sales1).values())                    # all on by default
    notifications.save_preferences(session, user=sales1, enabled=[K.CARD_COMMENTED])
    session.commit()
    assert notifications.preferences(session, sales1)[K.CARD_ASSIGNED] is False
    card = make_card(session, assignee=people["sales2"])
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=sales1, seen_version=card.version)
    board.add_comment(session, card, actor=people["supervisor"], body="看一下")
    session.commit()
    assert [n.kind for n in notices(session, sales1)] == [K.CARD_COMMENTED]


def test_staff_choose_among_their_kinds_supervisors_among_more(session, people):
    assert K.COMPLAINT_ESCALATED not in notifications.preferences(session, people["sales1"])
    assert K.COMPLAINT_ESCALATED in notifications.preferences(session, people["supervisor"])
    assert set(notifications.preferences(session, people["director"])) == set(NoticeKind)


def test_an_escalation_rings_supervisors_and_the_director_once(session, people):
    s = settings.load(session)
    complaint = complaints.log_complaint(session, actor=people["sales1"], channel="phone", category="service",
                                         department="sales", description="等太久", received_at=T0, s=s)
    session.commit()
    notifications.save_preferences(session, user=people["director"],
                                   enabled=set(NoticeKind) - {K.COMPLAINT_ESCALATED})
    assert complaints.escalate(session, now=T0 + timedelta(minutes=31), s=s) == [complaint]
    assert complaints.escalate(session, now=T0 + timedelta(minutes=40), s=s) == []
    session.commit()
    [notice] = notices(session, people["supervisor"], K.COMPLAINT_ESCALATED)
    assert notice.complaint_id == complaint.id and notice.link == f"/complaints/{complaint.id}"
    assert notices(session, people["director"], K.COMPLAINT_ESCALATED) == []
    assert notices(session, people["sales1"], K.COMPLAINT_ESCALATED) == []


def test_the_sentence_is_drawn_in_the_readers_language(session, people):
    card = make_card(session, assignee=people["sales1"], title="交车回访")
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=people["sales2"],
                        seen_version=card.version)
    session.commit()
    [notice] = notices(session, people["sales2"])
    with force_locale("en"):
        assert notifications.describe(notice) == "Supervisor assigned “交车回访” to you."
    with force_locale("zh_CN"):
        assert notifications.describe(notice) == "Supervisor 把“交车回访”分配给了你。"
    notice.params = {"actor": "x"}                                    # a parameter missing: the stored text
    assert notifications.describe(notice) == notice.text


def test_the_due_reports_ring_supervisors_and_the_director(session, people):
    s = settings.load(session)
    made = reports.ensure_due_reports(session, now=at("2026-11-30T09:00"), s=s)      # a Monday
    session.commit()
    assert made
    kinds = {n.params["variant"] for n in notices(session, people["supervisor"], K.REPORT_READY)}
    assert kinds == {r.kind for r in made}
    assert {n.link for n in notices(session, people["director"], K.REPORT_READY)} == {"/review/reports"}
    assert notices(session, people["sales1"], K.REPORT_READY) == []


@pytest.fixture
def slow_imports(app):
    app.config["CAREBOARD_NOTIFY_IMPORT_AFTER_SECONDS"] = 0


def test_a_finished_import_rings_its_uploader(app, session, people, slow_imports):
    job = import_jobs.new_job(session, uploader=people["supervisor"], file_name="dms.csv", extension="csv")
    import_jobs.upload_path(job).write_text("客户姓名,手机\n韩梅梅,13912340001\n", encoding="utf-8")
    session.commit()
    with time_machine.travel(T0, tick=False):
        import_jobs.run_job(lambda: session, job.id)
    [notice] = notices(session, people["supervisor"], K.IMPORT_FINISHED)
    assert notice.params == {"variant": "checked", "file": "dms.csv"}
    assert notice.link == f"/customers/import/{job.token}"


def test_a_short_import_rings_nothing(app, session, people):
    job = import_jobs.new_job(session, uploader=people["supervisor"], file_name="dms.csv", extension="csv")
    import_jobs.upload_path(job).write_text("客户姓名,手机\n韩梅梅,13912340001\n", encoding="utf-8")
    session.commit()
    with time_machine.travel(T0, tick=False):                         # 0 s, under the 10 s of the config
        import_jobs.run_job(lambda: session, job.id)
    assert notices(session, people["supervisor"], K.IMPORT_FINISHED) == []


def test_marking_read_is_ones_own(session, people):
    card = make_card(session, assignee=people["sales1"])
    board.add_comment(session, card, actor=people["supervisor"], body="看一下")
    board.add_comment(session, card, actor=people["supervisor"], body="再看一下")
    session.commit()
    first, second = notices(session, people["sales1"])
    assert notifications.own_notice(session, first.id, people["sales2"]) is None
    with pytest.raises(Forbidden):
        notifications.mark_read(session, first, user=people["sales2"], now=T0)
    notifications.mark_read(session, first, user=people["sales1"], now=T0)
    assert notifications.unread_count(session, people["sales1"]) == 1
    assert notifications.mark_all_read(session, user=people["sales1"], now=T0) == 1
    session.commit()
    assert notifications.unread_count(session, people["sales1"]) == 0


def test_the_tick_rings_no_bell_per_card(session, people):
    """The rules' cards (the morning's inspections here) are listed in "my cards"; they ring no bell."""
    make_user(session, "reception", role=Role.SHOWROOM_RECEPTION)
    checklist.ensure_default_areas(session)
    session.commit()
    report = tick_service.tick(session, now=T0)
    session.commit()
    assert any(c.assignee_id for c in report.created)
    assert session.scalars(select(Notification).where(Notification.kind == K.CARD_ASSIGNED)).all() == []
