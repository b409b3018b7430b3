"""Enum columns load as members and are stored as their plain values; templates ask the models, not strings."""
from __future__ import annotations

import enum
import re
from pathlib import Path

import pytest
from sqlalchemy import text

import careboard
from careboard.dbtypes import utcnow
from careboard.models import (CallbackResult, Card, CardEvent, CardKind, Category, Channel, ChecklistRun, Column,
                              Complaint, ComplaintStatus, Department, EventKind, FiveS, JobPhase, JobStatus,
                              PhotoStage, Result, Role, RunAnswer, RunStatus, SlaState)
from careboard.services import complaints, settings
from tests.factories import make_card

ENUMS = (CallbackResult, CardKind, Category, Channel, Column, ComplaintStatus, Department, EventKind, FiveS, JobPhase,
         JobStatus, PhotoStage, Result, Role, RunStatus, SlaState)


# ---------------------------------------------------------------- loading and storing


def test_a_loaded_card_holds_members_and_the_table_the_plain_strings(session, people):
    card_id = make_card(session, assignee=people["sales1"], kind="callback", column="doing").id
    session.commit()
    session.expunge_all()
    card = session.get(Card, card_id)
    assert isinstance(card.kind, CardKind) and card.kind is CardKind.CALLBACK
    assert isinstance(card.column, Column) and card.column is Column.DOING
    assert isinstance(card.role, Role) and card.role is Role.SALES_CARE
    row = session.execute(text('select kind, "column", role from card where id = :id'), {"id": card_id}).one()
    assert tuple(row) == ("callback", "doing", "sales_care")
    assert all(type(value) is str for value in row)


def test_a_loaded_complaint_holds_a_status_member_and_the_table_the_plain_string(session, people):
    made = complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                    department="aftersales", description="等了三个小时", received_at=utcnow(),
                                    s=settings.load(session))
    complaint_id = made.id
    session.commit()
    session.expunge_all()
    complaint = session.get(Complaint, complaint_id)
    assert isinstance(complaint.status, ComplaintStatus) and complaint.status is ComplaintStatus.RECEIVED
    assert complaint.department is Department.AFTERSALES and complaint.channel is Channel.PHONE
    stored = session.execute(text("select status, department from complaint where id = :id"),
                             {"id": complaint_id}).one()
    assert tuple(stored) == ("received", "aftersales")


def test_a_row_written_with_sql_loads_as_members(session, people):
    card_id = make_card(session, assignee=people["sales1"]).id
    session.commit()
    session.execute(text("update card set kind = 'reminder', \"column\" = 'waiting' where id = :id"), {"id": card_id})
    session.commit()
    session.expunge_all()
    card = session.get(Card, card_id)
    assert (card.kind, card.column) == (CardKind.REMINDER, Column.WAITING)
    assert card.kind.label and card.column.label


def test_a_plain_value_set_on_a_column_becomes_a_member_at_once_and_a_wrong_one_is_refused(app):
    card = Card(kind="task", column="todo", role="sales_care")
    assert (card.kind, card.column, card.role) == (CardKind.TASK, Column.TODO, Role.SALES_CARE)
    assert card.kind is CardKind.TASK                           # .label works before the row is loaded again
    card.callback_result = None
    assert card.callback_result is None
    with pytest.raises(ValueError):
        card.column = "finished"


@pytest.mark.parametrize("enum_type", ENUMS, ids=lambda e: e.__name__)
def test_a_member_prints_as_its_value(enum_type):
    """Templates, URLs, CSS classes, JSON and workbooks write members: they must come out as before."""
    for member in enum_type:
        assert str(member) == f"{member}" == member.value
        assert member.label


# ---------------------------------------------------------------- the properties templates ask


@pytest.mark.parametrize("column", list(Column))
def test_card_column_properties(column):
    card = Card(kind=CardKind.TASK, column=column)
    assert card.is_todo is (column is Column.TODO)
    assert card.is_waiting is (column is Column.WAITING)
    assert card.is_done is (column is Column.DONE)
    assert card.is_open is (column is not Column.DONE)


@pytest.mark.parametrize("kind", list(CardKind))
def test_card_kind_properties(kind):
    card = Card(kind=kind, column=Column.TODO)
    assert card.is_callback is (kind is CardKind.CALLBACK)
    assert card.is_checklist_work is (kind in (CardKind.INSPECTION, CardKind.RECTIFICATION))


@pytest.mark.parametrize("kind", list(EventKind))
def test_card_event_properties(kind):
    moves = kind in (EventKind.MOVED, EventKind.REOPENED, EventKind.CREATED, EventKind.COMPLETED)
    assert CardEvent(kind=kind, to_value="doing").is_column_change is moves
    assert CardEvent(kind=kind, to_value=None).is_column_change is False
    assert CardEvent(kind=kind).is_reassignment is (kind is EventKind.REASSIGNED)
    assert CardEvent(kind=kind).is_edit is (kind is EventKind.EDITED)


@pytest.mark.parametrize("result", [*Result, None])
def test_answer_failed(result):
    assert RunAnswer(result=result).failed is (result is Result.FAIL)


@pytest.mark.parametrize("status", list(RunStatus))
def test_run_is_submitted(status):
    assert ChecklistRun(status=status).is_submitted is (status is RunStatus.SUBMITTED)


@pytest.mark.parametrize("status", list(ComplaintStatus))
def test_complaint_status_properties(status):
    complaint = Complaint(status=status)
    assert complaint.is_resolved is (status is ComplaintStatus.RESOLVED)
    assert complaint.is_closed is (status is ComplaintStatus.CLOSED)


# ---------------------------------------------------------------- no enum values written in templates

ENUM_VALUES = frozenset(member.value for enum_type in ENUMS for member in enum_type)
TEMPLATES = sorted(Path(careboard.__file__).parent.rglob("*.html"))
_LITERAL = r"""(['"])(\w+)\1"""
_COMPARED = re.compile(r"""(?:==|!=)\s*(['"])(\w+)\1|(['"])(\w+)\3\s*(?:==|!=)""")
_IN_LIST = re.compile(r"""(\bfor\s+[\w, ]+\s+)?\bin\s*[(\[]([^)\]]*)[)\]]""")


def enum_literals_compared(source: str) -> list[str]:
    """The enum values a template compares with (==, !=, in (...)) as bare strings."""
    found = [m.group(2) or m.group(4) for m in _COMPARED.finditer(source)]
    for m in _IN_LIST.finditer(source):
        if not m.group(1):                                      # `for x in ('a', 'b')` is a loop, not a test
            found += [literal for _q, literal in re.findall(_LITERAL, m.group(2))]
    return [value for value in found if value in ENUM_VALUES]


@pytest.mark.parametrize("source, expected", [
    ("{% if card.kind == 'callback' %}", ["callback"]),
    ('{{ "ok" if run.status != "submitted" }}', ["submitted"]),
    ("{% if 'done' == c.column %}", ["done"]),
    ("{% elif c.kind in ('inspection', 'rectification') %}", ["inspection", "rectification"]),
    ("{% if column.value not in [card.column, 'done'] %}", ["done"]),
    ("{% if entry.kind == 'sale' %}{% if lanes == 'person' %}", []),
    ("{% for name in ('callback_lead_days', 'backfill_days') %}", []),
    ("{% if card.is_callback %}{% if column == Column.DONE %}", []),
])
def test_the_check_finds_enum_values_compared_as_strings(source, expected):
    assert enum_literals_compared(source) == expected


def test_templates_do_not_compare_enum_values_as_strings():
    assert TEMPLATES
    offenders = {str(path.relative_to(Path(careboard.__file__).parent)): found for path in TEMPLATES
                 if (found := enum_literals_compared(path.read_text(encoding="utf-8")))}
    assert offenders == {}, "ask the model (card.is_callback, answer.failed, …) instead of comparing strings"


def test_every_enum_is_a_str_enum():
    assert all(issubclass(enum_type, enum.StrEnum) for enum_type in ENUMS)


def test_pages_print_enum_values_as_before(client, auth, session, people):
    """CSS classes and data attributes carry the stored values, never "CardKind.CALLBACK"."""
    card_id = make_card(session, assignee=people["sales1"], kind="callback", column="doing").id
    session.commit()
    auth.login("sales1")
    pages = {url: client.get(url).get_data(as_text=True)
             for url in ("/board/", "/board/mine", f"/board/cards/{card_id}")}
    assert 'kind-callback' in pages["/board/"] and "data-column=\"doing\"" in pages["/board/"]
    assert "kind-callback" in pages["/board/mine"]
    assert "event-moved" in pages[f"/board/cards/{card_id}"]
    for html in pages.values():
        assert not any(f"{enum_type.__name__}." in html for enum_type in ENUMS)
