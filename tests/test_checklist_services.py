"""The 5S checklist's rules, without HTTP: the morning's runs, answers, submission, rectification and figures."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from careboard.models import (Card, CardKind, ChecklistArea, ChecklistRun, Column, Level, NoticeKind, Notification,
                              PhotoLink, Result, Role, RunAnswer)
from careboard.services import board, checklist, settings
from careboard.services import tick as tick_service
from careboard.services.errors import Conflict, DomainError, Forbidden, Incomplete
from tests.factories import at, make_user
from tests.photos import jpeg


@pytest.fixture
def team(session):
    people = {
        "supervisor": make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR),
        "sales1": make_user(session, "sales1", role=Role.SALES_CARE),
        "reception": make_user(session, "reception", role=Role.SHOWROOM_RECEPTION),
        "reception2": make_user(session, "reception2", role=Role.SHOWROOM_RECEPTION),
        "delivery": make_user(session, "delivery", role=Role.DELIVERY),
    }
    checklist.ensure_default_areas(session)
    session.commit()
    return people


def morning(session, when: str = "2026-11-25T07:30") -> dict[str, ChecklistRun]:
    tick_service.tick(session, now=at(when))
    session.commit()
    day = date.fromisoformat(when[:10])
    query = select(ChecklistRun).where(ChecklistRun.day == day).options(selectinload(ChecklistRun.answers))
    return {r.area_name: r for r in session.scalars(query)}


def area(session, name: str) -> ChecklistArea:
    return session.scalar(checklist.areas_query().where(ChecklistArea.name == name))


def a_photo(color=(200, 40, 40)) -> dict:
    """An upload as the services take it."""
    return {"upload": io.BytesIO(jpeg(color=color)), "filename": "p.jpg"}


def answer_all(session, run, actor, result=Result.PASS.value):
    for answer in run.answers:
        checklist.answer_item(session, run, answer, actor=actor, result=result, note=None)


def test_default_areas_are_loaded_once(session, team):
    assert checklist.ensure_default_areas(session) == 0
    names = [a.name for a in session.scalars(checklist.areas_query())]
    assert names == [name for name, *_ in checklist.DEFAULT_AREAS]
    assert {"展厅", "客户休息区", "展车", "洽谈区", "洗手间", "接待前台", "售后接待区"} == set(names)


def test_each_morning_an_inspection_card_and_run_per_area_for_its_inspector(session, team):
    runs = morning(session)
    assert set(runs) == {name for name, *_ in checklist.DEFAULT_AREAS}
    display = runs["展车"]
    card = session.get(Card, display.card_id)
    assert card.kind == CardKind.INSPECTION.value and card.assignee_id == team["sales1"].id
    assert card.due_at == at("2026-11-25T23:59")
    assert [a.text for a in display.answers] == [t for _c, t in checklist.DEFAULT_AREAS[2][3]]
    again = morning(session, "2026-11-25T11:00")                          # idempotent
    assert {r.id for r in again.values()} == {r.id for r in runs.values()}
    assert session.scalar(select(func.count(Card.id)).where(Card.kind == CardKind.INSPECTION.value)) == len(runs)


def test_a_named_inspector_gets_the_card_and_an_area_added_during_the_day_gets_one_too(session, team):
    lounge = area(session, "客户休息区")
    checklist.update_area(session, lounge, actor=team["supervisor"], seen_version=lounge.version, name=lounge.name,
                          responsible_role=lounge.responsible_role, inspector_role=Role.SALES_CARE.value,
                          responsible=None, inspector=team["sales1"], active=True,
                          items=[checklist.ItemInput(i.id, i.text, i.category) for i in lounge.items])
    session.commit()
    runs = morning(session)
    assert session.get(Card, runs["客户休息区"].card_id).assignee_id == team["sales1"].id
    checklist.create_area(session, actor=team["supervisor"], name="停车场", responsible_role="delivery",
                          inspector_role="sales_care", responsible=None, inspector=None,
                          items=[checklist.ItemInput(None, "车位线清晰，无杂物", "sort")])
    session.commit()
    assert "停车场" in morning(session, "2026-11-25T10:00")


def test_editing_the_template_does_not_alter_a_past_run(session, team):
    run = morning(session)["展厅"]
    before = [(a.text, a.category) for a in run.answers]
    showroom = area(session, "展厅")
    first, second = showroom.items[0], showroom.items[1]
    checklist.update_area(
        session, showroom, actor=team["supervisor"], seen_version=showroom.version, name="展厅（新）",
        responsible_role=showroom.responsible_role, inspector_role=showroom.inspector_role, responsible=None,
        inspector=None, active=True,
        items=[checklist.ItemInput(first.id, "改过的标准", "shine"), checklist.ItemInput(second.id, second.text,
                                                                                   second.category, active=False)]
        + [checklist.ItemInput(i.id, i.text, i.category) for i in showroom.items[2:]])
    session.commit()
    session.expire_all()
    old = checklist.get_run(session, run.id)
    assert [(a.text, a.category) for a in old.answers] == before and old.area_name == "展厅"
    new = morning(session, "2026-11-26T07:30")["展厅（新）"]
    assert new.answers[0].text == "改过的标准" and second.text not in [a.text for a in new.answers]


def test_a_stale_area_form_is_refused_and_keeps_the_first_change(session, team):
    showroom = area(session, "展厅")
    seen = showroom.version
    items = [checklist.ItemInput(i.id, i.text, i.category) for i in showroom.items]
    checklist.update_area(session, showroom, actor=team["supervisor"], seen_version=seen, name="第一位主管的名字",
                          responsible_role="showroom_reception", inspector_role="cs_supervisor", responsible=None,
                          inspector=None, active=True, items=items)
    session.commit()
    with pytest.raises(Conflict):
        checklist.update_area(session, showroom, actor=team["supervisor"], seen_version=seen, name="第二位",
                              responsible_role="showroom_reception", inspector_role="cs_supervisor",
                              responsible=None, inspector=None, active=True, items=items)
    session.rollback()
    assert session.get(ChecklistArea, showroom.id).name == "第一位主管的名字"


@pytest.mark.parametrize("name,items,message", [
    ("", [checklist.ItemInput(None, "x", "sort")], "需要名称"),
    ("展厅", [checklist.ItemInput(None, "x", "sort")], "已经有名为"),
    ("新区域", [checklist.ItemInput(None, "", "sort")], "至少需要一个启用"),
    ("新区域", [checklist.ItemInput(None, "x" * 301, "sort")], "太长"),
])
def test_area_validation(session, team, name, items, message):
    count = session.scalar(select(func.count(ChecklistArea.id)))
    with pytest.raises(DomainError, match=message):
        checklist.create_area(session, actor=team["supervisor"], name=name, responsible_role="delivery",
                              inspector_role="sales_care", responsible=None, inspector=None, items=items)
    session.rollback()
    assert session.scalar(select(func.count(ChecklistArea.id))) == count


def test_staff_cannot_edit_the_template(session, team):
    with pytest.raises(Forbidden):
        checklist.create_area(session, actor=team["sales1"], name="x", responsible_role="delivery",
                              inspector_role="sales_care", responsible=None, inspector=None,
                              items=[checklist.ItemInput(None, "x", "sort")])


def test_only_the_inspector_or_a_supervisor_answers(session, team):
    run = morning(session)["展车"]                                     # sales1's card
    checklist.answer_item(session, run, run.answers[0], actor=team["sales1"], result="pass", note="ok")
    checklist.answer_item(session, run, run.answers[1], actor=team["supervisor"], result="na", note=None)
    with pytest.raises(Forbidden):
        checklist.answer_item(session, run, run.answers[2], actor=team["delivery"], result="fail", note=None)
    assert (run.answers[0].result, run.answers[0].note, run.answers[1].result) == ("pass", "ok", "na")
    assert run.answers[2].result is None


def test_submitting_with_missing_answers_or_photos_is_refused_and_changes_nothing(session, team):
    run = morning(session)["展车"]
    sales1 = team["sales1"]
    for answer in run.answers[:-1]:
        checklist.answer_item(session, run, answer, actor=sales1, result="pass", note=None)
    checklist.answer_item(session, run, run.answers[0], actor=sales1, result="fail", note="手印")
    session.commit()
    with pytest.raises(Incomplete) as refused:
        checklist.submit_run(session, run, actor=sales1, s=settings.load(session))
    assert [a.id for a in refused.value.unanswered] == [run.answers[-1].id]
    assert [a.id for a in refused.value.without_photo] == [run.answers[0].id]
    assert "1 项未作答" in str(refused.value) and "1 个不合格项没有照片" in str(refused.value)
    session.rollback()
    assert session.get(ChecklistRun, run.id).status == "open"
    assert session.scalar(select(func.count(Card.id)).where(Card.kind == CardKind.RECTIFICATION.value)) == 0
    assert session.get(Card, run.card_id).column == Column.TODO.value


def test_a_failed_item_becomes_a_rectification_card_for_the_responsible_person(session, team):
    runs = morning(session)
    run, sales1 = runs["展车"], team["sales1"]
    answer_all(session, run, sales1)
    failed = run.answers[1]
    checklist.answer_item(session, run, failed, actor=sales1, result="fail", note="座椅上有水渍")
    checklist.add_before_photo(session, run, failed, actor=sales1, **a_photo())
    [card] = checklist.submit_run(session, run, actor=sales1, s=settings.load(session))
    session.commit()
    assert card.kind == CardKind.RECTIFICATION.value and card.assignee_id == team["delivery"].id
    assert card.role == Role.DELIVERY.value and "展车" in card.title and failed.text[:20] in card.title
    assert card.due_at == at("2026-11-26T23:59")                       # end of the next day
    assert "座椅上有水渍" in card.details
    assert failed.rectification_card_id == card.id
    assert session.get(Card, run.card_id).column == Column.DONE.value   # the inspection card is done
    assert session.get(ChecklistRun, run.id).status == "submitted"
    with pytest.raises(DomainError, match="已提交"):
        checklist.answer_item(session, run, failed, actor=sales1, result="pass", note=None)


def test_the_rectification_deadline_is_a_setting(session, team):
    settings.save(session, actor=make_user(session, "boss", level=Level.ADMIN), rectification_days=0)
    run = morning(session)["展厅"]
    answer_all(session, run, team["supervisor"], "na")
    checklist.answer_item(session, run, run.answers[0], actor=team["supervisor"], result="fail", note=None)
    checklist.add_before_photo(session, run, run.answers[0], actor=team["supervisor"], **a_photo())
    [card] = checklist.submit_run(session, run, actor=team["supervisor"], s=settings.load(session))
    assert card.due_at == at("2026-11-25T23:59")
    assert card.assignee.role == Role.SHOWROOM_RECEPTION.value           # least loaded of the role


def _rectification(session, team):
    run = morning(session)["展车"]
    sales1 = team["sales1"]
    answer_all(session, run, sales1)
    checklist.answer_item(session, run, run.answers[0], actor=sales1, result="fail", note=None)
    checklist.add_before_photo(session, run, run.answers[0], actor=sales1, **a_photo())
    [card] = checklist.submit_run(session, run, actor=sales1, s=settings.load(session))
    session.commit()
    return card, run.answers[0]


def test_rectification_after_photo_waiting_send_back_and_verify(session, team):
    card, answer = _rectification(session, team)
    delivery, supervisor = team["delivery"], team["supervisor"]
    with pytest.raises(DomainError, match="整改后"):
        checklist.complete_rectification(session, card, answer, actor=delivery, seen_version=card.version, note="")
    session.rollback()
    with pytest.raises(Forbidden):                                # not the responsible person's peer
        checklist.add_after_photo(session, card, answer, actor=team["sales1"], **a_photo())
    session.rollback()
    checklist.add_after_photo(session, card, answer, actor=delivery, **a_photo((0, 200, 0)))
    checklist.complete_rectification(session, card, answer, actor=delivery, seen_version=card.version,
                                     note="已擦净")
    session.commit()
    assert card.column == Column.WAITING.value and answer.rectified_at is not None
    # Staff can neither verify nor drag it to Done themselves.
    with pytest.raises(Forbidden):
        checklist.verify_rectification(session, card, actor=delivery, seen_version=card.version)
    with pytest.raises(DomainError, match="主管验收"):
        board.move_card(session, card, actor=delivery, to_column="done", to_assignee=delivery, position=None,
                        seen_version=card.version)
    session.rollback()
    with pytest.raises(DomainError, match="还有什么问题"):
        checklist.send_back(session, card, answer, actor=supervisor, seen_version=card.version, reason=" ")
    session.rollback()
    checklist.send_back(session, card, answer, actor=supervisor, seen_version=card.version, reason="轮毂还有灰")
    session.commit()
    assert card.column == Column.DOING.value and answer.rectified_at is None
    checklist.complete_rectification(session, card, answer, actor=delivery, seen_version=card.version, note=None)
    with pytest.raises(Conflict):
        checklist.verify_rectification(session, card, actor=supervisor, seen_version=card.version - 1)
    checklist.verify_rectification(session, card, actor=supervisor, seen_version=card.version)
    session.commit()
    assert card.column == Column.DONE.value and card.completed_by_id == supervisor.id
    stages = sorted(link.stage for link in session.scalars(select(PhotoLink).where(PhotoLink.answer_id == answer.id)))
    assert stages == ["after", "before"]


def test_an_inspection_card_is_done_only_through_its_submitted_run(session, team):
    run = morning(session)["展车"]
    card = session.get(Card, run.card_id)
    with pytest.raises(DomainError, match="提交检查表"):
        board.complete_card(session, card, actor=team["sales1"], seen_version=card.version, note=None)
    session.rollback()
    assert session.get(Card, run.card_id).column == Column.TODO.value


def test_rectification_on_time_rate_by_hand(session, team):
    """Four cards due in November: on time, late, overdue and not done (late), not yet due (not counted)."""
    supervisor = team["supervisor"]
    made = []
    for day in (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 28)):
        run = morning(session, f"{day.isoformat()}T07:30")["洗手间"]
        answer_all(session, run, supervisor, "na")
        checklist.answer_item(session, run, run.answers[0], actor=supervisor, result="fail", note=None)
        checklist.add_before_photo(session, run, run.answers[0], actor=supervisor, **a_photo())
        [card] = checklist.submit_run(session, run, actor=supervisor, s=settings.load(session))
        made.append((card, run.answers[0]))
    made[0][1].rectified_at = at("2026-11-03T18:00")                    # due 11-03 23:59: on time
    made[1][1].rectified_at = at("2026-11-05T09:00")                    # due 11-04 23:59: late
    session.commit()
    figure = checklist.rectification_on_time(session, start=at("2026-11-01T00:00"), end=at("2026-12-01T00:00"),
                                             now=at("2026-11-20T12:00"))
    assert (figure.done, figure.total, figure.rate) == (1, 3, pytest.approx(1 / 3))
    mine = checklist.rectification_on_time(session, start=at("2026-11-01T00:00"), end=at("2026-12-01T00:00"),
                                           now=at("2026-11-20T12:00"), assignee_id=made[0][0].assignee_id)
    assert mine.total == sum(1 for c, _a in made[:3] if c.assignee_id == made[0][0].assignee_id)


def test_checklist_completion_counts_runs_submitted_on_their_day(session, team):
    supervisor = team["supervisor"]
    runs = morning(session, "2026-11-02T07:30")
    showroom, lounge = runs["展厅"], runs["客户休息区"]
    for run in (showroom, lounge):
        answer_all(session, run, supervisor)
        checklist.submit_run(session, run, actor=supervisor, s=settings.load(session))
    showroom.submitted_at = at("2026-11-02T10:00")                      # on its day
    lounge.submitted_at = at("2026-11-03T08:00")                         # a day late
    session.commit()
    s = settings.load(session)
    figure = checklist.checklist_completion(session, start=date(2026, 11, 1), end=date(2026, 11, 30), s=s)
    assert (figure.done, figure.total) == (1, len(runs))
    sales = checklist.checklist_completion(session, start=date(2026, 11, 1), end=date(2026, 11, 30), s=s,
                                           inspector_id=team["sales1"].id)
    assert (sales.done, sales.total) == (0, 2)                           # 展车 and 洽谈区, not submitted


def test_calendar_pass_rates_and_the_items_that_fail_most(session, team):
    supervisor = team["supervisor"]
    for day, fails in (("2026-11-02", 1), ("2026-11-03", 2)):
        run = morning(session, f"{day}T07:30")["洗手间"]
        answer_all(session, run, supervisor)
        for answer in run.answers[:fails]:
            checklist.answer_item(session, run, answer, actor=supervisor, result="fail", note=None)
        checklist.answer_item(session, run, run.answers[-1], actor=supervisor, result="na", note=None)
    session.commit()
    month = checklist.area_month(session, area(session, "洗手间"), 2026, 11)
    by_day = {d.day: d for d in month.days}
    assert len(month.days) == 30 and all(len(week) == 7 for week in month.weeks)
    assert (by_day[date(2026, 11, 2)].passed, by_day[date(2026, 11, 2)].failed) == (2, 1)
    assert by_day[date(2026, 11, 2)].pass_rate == pytest.approx(2 / 3)
    assert by_day[date(2026, 11, 3)].pass_rate == pytest.approx(1 / 3)
    assert by_day[date(2026, 11, 4)].run_id is None
    failing = checklist.most_failed(session, start=date(2026, 11, 1), end=date(2026, 11, 30))
    toilet = [t for _c, t in checklist.DEFAULT_AREAS[4][3]]
    assert [(f.text, f.failed, f.answered) for f in failing] == [(toilet[0], 2, 2), (toilet[1], 1, 2)]


def test_the_same_photo_twice_is_one_photo_and_one_link(session, team):
    run = morning(session)["展车"]
    sales1 = team["sales1"]
    checklist.answer_item(session, run, run.answers[0], actor=sales1, result="fail", note=None)
    for _n in range(2):
        checklist.add_before_photo(session, run, run.answers[0], actor=sales1, **a_photo())
    assert session.scalar(select(func.count(PhotoLink.id))) == 1
    assert session.scalar(select(func.count(RunAnswer.id)).where(RunAnswer.result == "fail")) == 1


@pytest.mark.parametrize("pass_rate, expected", [
    (None, "open"), (1.0, "good"), (0.95, "good"), (19 / 20, "good"), (0.9499, "fair"), (0.8, "fair"), (4 / 5, "fair"),
    (0.7999, "poor"), (0.0, "poor"),
])
def test_a_days_rating_at_the_thresholds(pass_rate, expected):
    assert checklist.day_rating(pass_rate) == expected


@pytest.mark.parametrize("run_id, passed, failed, expected", [
    (None, 0, 0, "none"), (7, 0, 0, "open"), (7, 19, 1, "good"), (7, 18, 2, "fair"), (7, 4, 1, "fair"),
    (7, 79, 21, "poor"),
])
def test_a_calendar_days_rating(run_id, passed, failed, expected):
    assert checklist.RunDay(day=date(2026, 11, 2), run_id=run_id, passed=passed, failed=failed).rating == expected


def test_a_rectification_sent_back_or_verified_rings_the_responsible_person(session, team):
    card, answer = _rectification(session, team)
    delivery, supervisor = team["delivery"], team["supervisor"]
    checklist.add_after_photo(session, card, answer, actor=delivery, **a_photo((0, 200, 0)))
    checklist.complete_rectification(session, card, answer, actor=delivery, seen_version=card.version, note="")
    checklist.send_back(session, card, answer, actor=supervisor, seen_version=card.version, reason="轮毂还有灰")
    checklist.complete_rectification(session, card, answer, actor=delivery, seen_version=card.version, note="")
    checklist.verify_rectification(session, card, actor=supervisor, seen_version=card.version)
    session.commit()
    kinds = session.scalars(select(Notification.kind).where(Notification.user_id == delivery.id)
                            .order_by(Notification.id)).all()
    # its sending back is one notice (not also "a comment on your card"), then its verification
    assert kinds == [NoticeKind.RECTIFICATION_SENT_BACK, NoticeKind.RECTIFICATION_VERIFIED]
    sent_back = session.scalar(select(Notification).where(Notification.kind == NoticeKind.RECTIFICATION_SENT_BACK))
    assert sent_back.params["excerpt"] == "轮毂还有灰" and sent_back.card_id == card.id
    assert session.scalars(select(Notification).where(Notification.user_id == supervisor.id, Notification.kind.in_(
        (NoticeKind.RECTIFICATION_SENT_BACK, NoticeKind.RECTIFICATION_VERIFIED)))).all() == []      # his own acts
