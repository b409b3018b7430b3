"""Who may enter a person's scorecard figures: nobody their own, nobody someone at or above their own level.
The same rule (careboard/policy.py can_enter_kpi) guards the page, the service that writes the entries and the
"Enter figures" buttons."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careboard import policy
from careboard.models import KpiEntry, Level, Role
from careboard.services import kpi
from careboard.services.errors import Forbidden
from tests.factories import make_user

MONTH = "2026-10"


@pytest.fixture
def staff(session, people):
    """`people` plus a second supervisor; committed."""
    users = {**people, "supervisor2": make_user(session, "supervisor2", role=Role.CS_SUPERVISOR,
                                                level=Level.SUPERVISOR)}
    session.commit()
    return users


def _entries(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(KpiEntry.id)))


@pytest.mark.parametrize("actor,person,allowed", [
    ("supervisor", "supervisor", False),              # own scorecard
    ("supervisor", "director", False),                # the level above
    ("supervisor", "supervisor2", False),             # the same level
    ("director", "director", False),                  # own scorecard, even at the top of the department
    ("sales1", "sales2", False),                      # staff enter nobody's
    ("sales1", "sales1", False),
    ("admin", "director", True),                      # the director's figures come from the level above
    ("director", "supervisor", True),
    ("supervisor", "sales1", True),
    ("director", "sales1", True),
])
def test_the_rule(staff, actor, person, allowed):
    assert policy.can_enter_kpi(staff[actor], staff[person]) is allowed


@pytest.mark.parametrize("actor,person", [("supervisor", "director"), ("supervisor", "supervisor"),
                                          ("supervisor", "supervisor2"), ("director", "director")])
def test_the_service_refuses_and_stores_nothing(session, staff, actor, person):
    with pytest.raises(Forbidden):
        kpi.save_entries(session, actor=staff[actor], person=staff[person], month=MONTH, values={"sqs": 900})
    session.rollback()
    assert _entries(session) == 0


@pytest.mark.parametrize("actor,person,values", [
    ("supervisor", "director", {"m-sqs": "900", "m-css": "100"}),   # the probe: 17 -> 67 points
    ("supervisor", "supervisor", {"m-satisfaction": "10"}),
    ("supervisor", "supervisor2", {"m-satisfaction": "10"}),
    ("director", "director", {"m-sqs": "900"}),
])
def test_the_page_refuses_own_and_higher_figures(client, auth, session, staff, actor, person, values):
    auth.login(actor)
    before = client.get(f"/scorecard/{person}/{MONTH}.json").get_json()["total"]
    assert client.get(f"/scorecard/entries/{MONTH}/{person}").status_code == 403
    assert client.post(f"/scorecard/entries/{MONTH}/{person}", data=values).status_code == 403
    assert _entries(session) == 0
    assert client.get(f"/scorecard/{person}/{MONTH}.json").get_json()["total"] == before


def test_an_administrator_enters_the_directors_figures(client, auth, session, staff):
    auth.login("admin")
    assert client.get(f"/scorecard/entries/{MONTH}/director").status_code == 200
    saved = client.post(f"/scorecard/entries/{MONTH}/director", data={"m-sqs": "900"})
    assert saved.status_code == 303
    assert _entries(session) == 1


def test_a_supervisor_enters_the_staffs_figures(client, auth, session, staff):
    auth.login("supervisor")
    assert client.post(f"/scorecard/entries/{MONTH}/sales1", data={"m-archiving": "80"}).status_code == 303
    assert _entries(session) == 1


def test_the_buttons_show_only_where_the_rule_allows(client, auth, staff):
    auth.login("supervisor")
    ranking = client.get(f"/scorecard/?month={MONTH}").get_data(as_text=True)
    assert f"/scorecard/entries/{MONTH}/sales1" in ranking
    for person in ("supervisor", "supervisor2", "director"):
        assert f"/scorecard/entries/{MONTH}/{person}" not in ranking, person
    assert f"/scorecard/entries/{MONTH}/supervisor" not in client.get(f"/scorecard/supervisor/{MONTH}").get_data(
        as_text=True)
    assert f"/scorecard/entries/{MONTH}/sales1" in client.get(f"/scorecard/sales1/{MONTH}").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    assert f"/scorecard/entries/{MONTH}/director" in client.get(f"/scorecard/director/{MONTH}").get_data(as_text=True)
