"""The board's rules without HTTP: positions, permissions, history, conflicts, SLA, the board version."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from careboard.models import CARE_ROLES, Card, CardEvent, Role, SlaState
from careboard.services import board, settings
from careboard.services.errors import Conflict, DomainError, Forbidden
from tests.factories import make_card, make_user

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)          # 10:00 in Shanghai


def events(session, card):
    return [(e.kind, e.from_value, e.to_value) for e in
            session.scalars(select(CardEvent).where(CardEvent.card_id == card.id).order_by(CardEvent.id))]


def lane_positions(session, column, assignee):
    return [(c.title, c.position) for c in session.scalars(
        select(Card).where(Card.column == column, Card.assignee_id == assignee.id).order_by(Card.position))]


def test_create_appends_to_the_end_of_to_do_and_records_it(session, people):
    a = make_card(session, assignee=people["sales1"], title="A")
    b = make_card(session, assignee=people["sales1"], title="B")
    assert lane_positions(session, "todo", people["sales1"]) == [("A", 0), ("B", 1)]
    assert events(session, b) == [("created", None, "todo")]
    assert a.version == 1


def test_staff_create_only_tasks_and_only_for_themselves(session, people):
    with pytest.raises(Forbidden):
        board.create_card(session, actor=people["sales1"], kind="complaint", title="x", role="sales_care")
    with pytest.raises(Forbidden):
        board.create_card(session, actor=people["sales1"], kind="task", title="x", role="sales_care",
                          assignee=people["sales2"])
    card = board.create_card(session, actor=people["sales1"], kind="task", title="mine", role="sales_care",
                             assignee=people["sales1"])
    assert card.created_by_id == people["sales1"].id


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_card_needs_a_proper_title(session, people, title):
    with pytest.raises(DomainError):
        board.create_card(session, actor=people["supervisor"], kind="task", title=title, role="sales_care")


def test_move_within_and_across_columns_keeps_positions_gapless(session, people):
    s1 = people["sales1"]
    a, b, c = (make_card(session, assignee=s1, title=t) for t in "ABC")
    board.move_card(session, c, actor=s1, to_column="todo", to_assignee=s1, position=0, seen_version=c.version)
    assert lane_positions(session, "todo", s1) == [("C", 0), ("A", 1), ("B", 2)]
    board.move_card(session, a, actor=s1, to_column="doing", to_assignee=s1, position=5, seen_version=a.version)
    session.flush()
    assert lane_positions(session, "todo", s1) == [("C", 0), ("B", 1)]
    assert lane_positions(session, "doing", s1) == [("A", 0)]
    assert events(session, a)[-1] == ("moved", "todo", "doing")


def test_staff_may_not_touch_anothers_card_nor_reassign(session, people):
    theirs = make_card(session, assignee=people["sales2"])
    mine = make_card(session, assignee=people["sales1"])
    with pytest.raises(Forbidden):
        board.move_card(session, theirs, actor=people["sales1"], to_column="doing", to_assignee=people["sales2"],
                        position=None, seen_version=theirs.version)
    with pytest.raises(Forbidden):
        board.complete_card(session, theirs, actor=people["sales1"], seen_version=theirs.version, note="x")
    with pytest.raises(Forbidden):
        board.move_card(session, mine, actor=people["sales1"], to_column="todo", to_assignee=people["sales2"],
                        position=None, seen_version=mine.version)
    with pytest.raises(Forbidden):
        board.bulk_reassign(session, actor=people["sales1"], from_user=people["sales2"], to_user=people["sales1"])
    assert theirs.column == "todo" and mine.assignee_id == people["sales1"].id


def test_staff_may_claim_an_unassigned_card_of_their_role_only(session, people):
    ours = make_card(session, role=Role.SALES_CARE)
    other = make_card(session, role=Role.AFTERSALES_CARE)
    board.move_card(session, ours, actor=people["sales1"], to_column="doing", to_assignee=people["sales1"],
                    position=None, seen_version=ours.version)
    assert ours.assignee_id == people["sales1"].id
    assert [k for k, *_ in events(session, ours)] == ["created", "reassigned", "moved"]
    with pytest.raises(Forbidden):
        board.move_card(session, other, actor=people["sales1"], to_column="doing", to_assignee=people["sales1"],
                        position=None, seen_version=other.version)


def test_supervisor_reassigns_to_the_end_of_the_other_lane(session, people):
    s1, s2 = people["sales1"], people["sales2"]
    make_card(session, assignee=s2, title="S2-first")
    card = make_card(session, assignee=s1, title="moving")
    make_card(session, assignee=s1, title="staying")
    board.reassign_card(session, card, actor=people["supervisor"], to_assignee=s2, seen_version=card.version)
    session.flush()
    assert lane_positions(session, "todo", s2) == [("S2-first", 0), ("moving", 1)]
    assert lane_positions(session, "todo", s1) == [("staying", 0)]
    assert events(session, card)[-1] == ("reassigned", "Sales1", "Sales2")


def test_reassign_to_a_deactivated_person_is_refused(session, people):
    gone = make_user(session, "gone", active=False)
    card = make_card(session, assignee=people["sales1"])
    with pytest.raises(DomainError):
        board.reassign_card(session, card, actor=people["supervisor"], to_assignee=gone, seen_version=card.version)


def test_a_stale_version_is_a_conflict_and_changes_nothing(session, people):
    card = make_card(session, assignee=people["sales1"], title="original")
    seen = card.version
    board.edit_card(session, card, actor=people["supervisor"], seen_version=seen, title="first writer",
                    details="", due_at=None, priority=2)
    session.flush()
    with pytest.raises(Conflict) as caught:
        board.edit_card(session, card, actor=people["sales1"], seen_version=seen, title="second writer",
                        details="", due_at=None, priority=2)
    assert caught.value.card.title == "first writer"
    with pytest.raises(Conflict):
        board.move_card(session, card, actor=people["supervisor"], to_column="doing", to_assignee=card.assignee,
                        position=0, seen_version=seen)
    assert card.column == "todo"


def test_edit_records_what_changed_and_nothing_when_nothing_did(session, people):
    card = make_card(session, assignee=people["sales1"], title="t")
    board.edit_card(session, card, actor=people["sales1"], seen_version=card.version, title="t", details="",
                    due_at=None, priority=2)
    assert [k for k, *_ in events(session, card)] == ["created"]
    board.edit_card(session, card, actor=people["sales1"], seen_version=card.version, title="t2", details="d",
                    due_at=None, priority=1)
    assert events(session, card)[-1] == ("edited", None, "title, details, priority")


def test_a_callback_needs_its_outcome(session, people):
    card = make_card(session, assignee=people["sales1"], kind="callback")
    with pytest.raises(DomainError):
        board.complete_card(session, card, actor=people["sales1"], seen_version=card.version, note="  ")
    with pytest.raises(DomainError):
        board.move_card(session, card, actor=people["supervisor"], to_column="done", to_assignee=card.assignee,
                        position=None, seen_version=card.version)
    assert card.column == "todo" and card.completed_at is None
    board.complete_card(session, card, actor=people["sales1"], seen_version=card.version, note="满意 9 分")
    assert card.column == "done" and card.outcome_note == "满意 9 分"
    assert card.completed_by_id == people["sales1"].id and card.completed_at is not None
    assert events(session, card)[-1] == ("completed", None, "done")


def test_complete_and_reopen(session, people):
    s1 = people["sales1"]
    a = make_card(session, assignee=s1, title="A")
    make_card(session, assignee=s1, title="B")
    board.complete_card(session, a, actor=s1, seen_version=a.version, note=None)
    session.flush()
    assert lane_positions(session, "todo", s1) == [("B", 0)]
    with pytest.raises(DomainError):
        board.complete_card(session, a, actor=s1, seen_version=a.version, note=None)
    board.reopen_card(session, a, actor=s1, seen_version=a.version)
    session.flush()
    assert a.column == "todo" and a.completed_at is None and a.completed_by_id is None
    assert lane_positions(session, "todo", s1) == [("B", 0), ("A", 1)]
    assert [k for k, *_ in events(session, a)] == ["created", "completed", "reopened"]
    with pytest.raises(DomainError):
        board.reopen_card(session, a, actor=s1, seen_version=a.version)


def test_dragging_a_done_card_back_reopens_it(session, people):
    s1 = people["sales1"]
    card = make_card(session, assignee=s1, column="done")
    board.move_card(session, card, actor=s1, to_column="doing", to_assignee=s1, position=0, seen_version=card.version)
    assert card.column == "doing" and card.completed_at is None
    assert events(session, card)[-1] == ("reopened", "done", "doing")


def test_comments_are_history_and_do_not_bump_the_version(session, people):
    card = make_card(session, assignee=people["sales1"])
    version = card.version
    board.add_comment(session, card, actor=people["sales2"], body="客户下午方便")
    session.flush()
    assert card.version == version
    assert events(session, card)[-1] == ("commented", None, None)
    with pytest.raises(DomainError):
        board.add_comment(session, card, actor=people["sales2"], body="   ")


def test_bulk_reassign_moves_every_open_card_and_leaves_done_ones(session, people):
    s1, s2 = people["sales1"], people["sales2"]
    open_cards = [make_card(session, assignee=s1, column=c) for c in ("todo", "todo", "doing", "waiting")]
    done = make_card(session, assignee=s1, column="done")
    make_card(session, assignee=s2, title="s2 own")
    moved = board.bulk_reassign(session, actor=people["supervisor"], from_user=s1, to_user=s2)
    session.flush()
    assert moved == 4
    assert all(c.assignee_id == s2.id for c in open_cards) and done.assignee_id == s1.id
    assert [t for t, _ in lane_positions(session, "todo", s2)][0] == "s2 own"
    assert [p for _, p in lane_positions(session, "todo", s2)] == [0, 1, 2]
    assert all(events(session, c)[-1][0] == "reassigned" for c in open_cards)
    with pytest.raises(DomainError):
        board.bulk_reassign(session, actor=people["supervisor"], from_user=s2, to_user=s2)


def test_sla_states_at_their_boundaries(session, people):
    soon = timedelta(hours=2)
    card = make_card(session, assignee=people["sales1"], due_at=NOW)
    assert card.sla_state(NOW - timedelta(hours=3), soon) is SlaState.ON_TIME
    assert card.sla_state(NOW - timedelta(hours=2), soon) is SlaState.DUE_SOON
    assert card.sla_state(NOW, soon) is SlaState.DUE_SOON
    assert card.sla_state(NOW + timedelta(seconds=1), soon) is SlaState.OVERDUE
    no_due = make_card(session, assignee=people["sales1"])
    assert no_due.sla_state(NOW, soon) is SlaState.NONE
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        board.complete_card(session, card, actor=people["sales1"], seen_version=card.version, note=None)
    assert card.sla_state(NOW + timedelta(days=3), soon) is SlaState.DONE_LATE


def test_board_version_changes_with_changes_and_the_clock_only(app, session, people):
    store = settings.load(session)
    card = make_card(session, assignee=people["sales1"], due_at=NOW + timedelta(hours=3))
    session.commit()
    v1 = board.board_version(session, now=NOW, settings=store, scope="x")
    assert board.board_version(session, now=NOW + timedelta(minutes=30), settings=store, scope="x") == v1
    assert board.board_version(session, now=NOW, settings=store, scope="y") != v1
    # The card becomes "due soon" at NOW + 1 h: the board's look changes without any write.
    assert board.board_version(session, now=NOW + timedelta(hours=1, minutes=1), settings=store, scope="x") != v1
    board.add_comment(session, card, actor=people["sales2"], body="hi")
    session.commit()
    assert board.board_version(session, now=NOW, settings=store, scope="x") != v1


def test_board_shows_todays_done_cards_only_and_flags_the_wip_limit(app, session, people):
    store = settings.load(session)
    s1 = people["sales1"]
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        yesterday = make_card(session, assignee=s1, title="yesterday", column="done")
    with time_machine.travel(NOW, tick=False):
        today = make_card(session, assignee=s1, title="today", column="done")
    for i in range(store.wip_limit_doing + 1):
        make_card(session, assignee=s1, title=f"doing {i}", column="doing")
    session.commit()
    view = board.build_board(session, viewer=people["supervisor"], filters=board.BoardFilters(), now=NOW,
                             settings=store)
    lane = next(ln for ln in view.lanes if ln.assignee_id == s1.id)
    assert [v.card.title for v in lane.cells["done"]] == ["today"]
    assert lane.over_limit["doing"] and not lane.over_limit["todo"]
    assert view.column_counts["doing"] == store.wip_limit_doing + 1
    assert yesterday.id not in {v.card.id for ln in view.lanes for v in ln.cells["done"]}
    assert today.id in {v.card.id for v in lane.cells["done"]}


def test_board_filters(app, session, people):
    store = settings.load(session)
    make_card(session, assignee=people["sales1"], title="客户回访 王", kind="callback", due_at=NOW - timedelta(hours=1))
    make_card(session, assignee=people["sales2"], title="任务", due_at=NOW + timedelta(days=3))
    make_card(session, role=Role.AFTERSALES_CARE, title="售后")
    session.commit()

    def titles(**kw):
        view = board.build_board(session, viewer=people["supervisor"], filters=board.BoardFilters(**kw), now=NOW,
                                 settings=store)
        return sorted(v.card.title for ln in view.lanes for cell in ln.cells.values() for v in cell)

    assert titles(kind="callback") == ["客户回访 王"]
    assert titles(due="overdue") == ["客户回访 王"]
    assert titles(role="aftersales_care") == ["售后"]
    assert titles(person=people["sales2"].id) == ["任务"]
    assert titles(q="回访") == ["客户回访 王"]
    assert titles(lanes="role") == ["任务", "售后", "客户回访 王"]


def test_my_cards_most_urgent_first(app, session, people):
    store = settings.load(session)
    s1 = people["sales1"]
    make_card(session, assignee=s1, title="no due")
    make_card(session, assignee=s1, title="later", due_at=NOW + timedelta(days=2))
    make_card(session, assignee=s1, title="overdue", due_at=NOW - timedelta(hours=5))
    make_card(session, assignee=s1, title="done", column="done")
    make_card(session, assignee=people["sales2"], title="not mine", due_at=NOW)
    session.commit()
    views = board.my_open_cards(session, s1, NOW, store)
    assert [v.card.title for v in views] == ["overdue", "later", "no due"]
    assert views[0].sla is SlaState.OVERDUE


def test_overdue_count_is_own_for_staff_and_departmental_for_supervisors(app, session, people):
    make_card(session, assignee=people["sales1"], due_at=NOW - timedelta(hours=1))
    make_card(session, assignee=people["sales2"], due_at=NOW - timedelta(hours=1))
    make_card(session, assignee=people["sales2"], due_at=NOW + timedelta(hours=1))
    session.commit()
    assert board.overdue_count(session, people["sales1"], NOW) == 1
    assert board.overdue_count(session, people["supervisor"], NOW) == 2


def test_board_version_changes_when_an_account_changes(app, session, people):
    store = settings.load(session)
    v1 = board.board_version(session, now=NOW, settings=store, scope="x")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        people["sales2"].display_name = "陈晨（新）"
        session.commit()
    assert board.board_version(session, now=NOW, settings=store, scope="x") != v1


def test_my_cards_version_follows_my_cards_only(app, session, people):
    """The tablets' poll of "My cards" stays a 304 while other people's cards move, and changes with
    anything that shows on the page: a card that comes, goes, changes or is renumbered, and the clock."""
    store = settings.load(session)
    s1, s2, boss = people["sales1"], people["sales2"], people["supervisor"]
    mine = make_card(session, assignee=s1, title="mine", due_at=NOW + timedelta(hours=3))
    theirs = make_card(session, assignee=s2, title="theirs")
    other = make_card(session, assignee=s2, title="other")
    session.commit()

    def version(now=NOW, viewer=s1):
        return board.mine_version(session, viewer=viewer, now=now, settings=store, scope="x")

    v1 = version()
    board.move_card(session, theirs, actor=boss, to_column="doing", to_assignee=s2, position=None,
                    seen_version=theirs.version)
    board.add_comment(session, theirs, actor=boss, body="催一下")
    session.commit()
    assert version() == v1                                            # someone else's card
    assert version(now=NOW + timedelta(minutes=30)) == v1
    assert version(now=NOW + timedelta(hours=1, minutes=1)) != v1    # mine becomes "due soon"
    assert version(now=NOW + timedelta(hours=3, minutes=1)) != version(now=NOW + timedelta(hours=2))  # overdue

    board.move_card(session, other, actor=boss, to_column="todo", to_assignee=s1, position=0,
                    seen_version=other.version)                       # comes, at the top: mine moves down
    session.commit()
    v2 = version()
    assert v2 != v1 and mine.position == 1
    board.move_card(session, other, actor=boss, to_column="todo", to_assignee=s2, position=None,
                    seen_version=other.version)                       # goes again
    session.commit()
    # Renumbering is bookkeeping (one UPDATE per lane, issue 18): mine keeps its version, and "My cards",
    # ordered by urgency, is the page it was.
    assert mine.version == 1 and mine.position == 0 and version() != v2
    v3 = version()
    board.edit_card(session, mine, actor=s1, seen_version=mine.version, title="mine, edited", details="",
                    due_at=mine.due_at, priority=2)
    session.commit()
    assert version() != v3


def test_a_complaints_new_deadline_is_in_its_cards_history(app, session, people):
    """Another workflow's due time is an edit of the card like any other, so the boards' ETags see it."""
    store = settings.load(session)
    card = make_card(session, assignee=people["supervisor"], kind="complaint", due_at=NOW + timedelta(hours=1))
    session.commit()
    before = board.board_version(session, now=NOW, settings=store, scope="x")
    board.set_due(session, card, actor=people["supervisor"], due_at=NOW + timedelta(hours=30))
    session.commit()
    assert events(session, card)[-1] == ("edited", None, "due_at")
    assert board.board_version(session, now=NOW, settings=store, scope="x") != before
    board.set_due(session, card, actor=people["supervisor"], due_at=NOW + timedelta(hours=30))   # the same: nothing
    assert len(events(session, card)) == 2


def test_lanes_follow_the_departments_order_of_roles_then_names(app, session, people):
    """Not the English role codes' alphabet (advertising, aftersales_care, analyst, ...): the director, the
    supervisor, sales care, after-sales care, ... as the seeds list the roles; within a role by name, and a
    role's unassigned cards right after its people."""
    store = settings.load(session)
    club = make_user(session, "club", role=Role.OWNERS_CLUB)
    ads = make_user(session, "ads", role=Role.ADVERTISING)
    after_b = make_user(session, "bo", role=Role.AFTERSALES_CARE)
    after_a = make_user(session, "al", role=Role.AFTERSALES_CARE)
    make_user(session, "gone", role=Role.AFTERSALES_CARE, active=False)
    make_card(session, role=Role.SALES_CARE, title="nobody's sales card")
    make_card(session, role=Role.ADVERTISING, title="nobody's ad")
    session.commit()

    view = board.build_board(session, viewer=people["supervisor"], filters=board.BoardFilters(), now=NOW,
                             settings=store)
    p = people
    assert [(ln.assignee_id, ln.role) for ln in view.lanes] == [
        (p["director"].id, "care_director"), (p["supervisor"].id, "cs_supervisor"),
        (p["sales1"].id, "sales_care"), (p["sales2"].id, "sales_care"), (None, "sales_care"),
        (after_a.id, "aftersales_care"), (after_b.id, "aftersales_care"),
        (p["admin"].id, "analyst"), (ads.id, "advertising"), (None, "advertising"), (club.id, "owners_club")]

    by_role = board.build_board(session, viewer=people["supervisor"], filters=board.BoardFilters(lanes="role"),
                                now=NOW, settings=store)
    assert [ln.role for ln in by_role.lanes] == [role.value for role in CARE_ROLES]   # no lane without care work
    assert [ln.role for ln in by_role.lanes][:4] == ["care_director", "cs_supervisor", "sales_care", "aftersales_care"]
