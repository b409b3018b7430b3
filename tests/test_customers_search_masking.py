"""A masked phone number cannot be recovered by searching (issue 15, finding 3).

A role that sees 138****2974 finds a customer by what it can see or was told — the whole number typed
exactly, or exactly the last 4 digits — never by a partial match on the hidden digits; results stay masked.
Roles that see numbers whole keep the partial search."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from careboard.models import Complaint, Level, Role
from careboard.services import customers
from tests.factories import make_user

HIDDEN = "13857312974"
MASKED = "138****2974"
NAME = "林先生"


@pytest.fixture
def lin(session, people):
    customer = customers.create_customer(session, name=NAME, mobile=HIDDEN)
    customers.save_vehicle(session, customer, vin="LSVAB12345C678901", plate="沪A·D1234", model="Octavia")
    make_user(session, "reception1", role=Role.SHOWROOM_RECEPTION, level=Level.STAFF)
    session.commit()
    return customer


def results(client, term: str) -> str:
    html = client.get("/customers/", query_string={"q": term}).get_data(as_text=True)
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def substrings(number: str, lengths) -> list[str]:
    return sorted({number[i:i + n] for n in lengths for i in range(len(number) - n + 1)})


def test_masked_role_cannot_find_a_customer_by_part_of_the_hidden_number(client, auth, lin):
    auth.login("reception1")
    for part in substrings(HIDDEN, range(5, 11)):
        assert NAME not in results(client, part), part
    for part in ("1385", "5731", "7312", "3129", "138 5731", "+86 1385731297"):     # other 4-digit pieces too
        assert NAME not in results(client, part), part


@pytest.mark.parametrize("term", [HIDDEN, "138 5731 2974", "+86 138-5731-2974", "2974"])
def test_masked_role_finds_by_the_whole_number_or_the_last_four_and_sees_it_masked(client, auth, lin, term):
    auth.login("reception1")
    found = results(client, term)
    assert NAME in found and MASKED in found and HIDDEN not in found


def test_a_plate_or_vin_search_is_no_way_round_the_mask(client, auth, lin):
    auth.login("reception1")
    assert NAME in results(client, "D1234") and NAME in results(client, "LSVAB12345C")
    assert NAME not in results(client, "沪A" + HIDDEN[3:8])       # digits of the phone dressed as a plate
    assert NAME not in results(client, "LSVAB" + HIDDEN[:8])       # or as a VIN


@pytest.mark.parametrize("username", ["sales1", "supervisor"])
def test_roles_that_see_the_number_still_search_by_part_of_it(client, auth, lin, username):
    auth.login(username)
    for part in ("5731", "385731", "57312974", HIDDEN):
        found = results(client, part)
        assert NAME in found and HIDDEN in found, part


def test_the_service_takes_the_viewers_right(session, lin):
    def names(term, full_phone):
        return [c.name for c in session.scalars(customers.search(term, full_phone=full_phone))]

    assert names("573129", full_phone=True) == [NAME]
    assert names("573129", full_phone=False) == []
    assert names("2974", full_phone=False) == [NAME] and names(HIDDEN, full_phone=False) == [NAME]
    assert names("12974", full_phone=False) == []


def test_complaint_intake_finds_the_caller_by_the_whole_number_only(client, auth, lin, session):
    """The intake's "caller's phone finds the customer" already follows the same rule (the whole number,
    exactly, or a plate; never part of a number): a guard that it stays so."""
    intake = {"name": "", "channel": "phone", "category": "service", "department": "aftersales", "severity": 2,
              "description": "等了很久", "received_at": ""}
    auth.login("reception1")
    for part in (HIDDEN[:7], HIDDEN[3:10], HIDDEN[-4:], HIDDEN[:10]):
        assert client.post("/complaints/new", data={**intake, "lookup": part}).status_code == 422, part
    assert session.scalar(select(Complaint)) is None
    assert client.post("/complaints/new", data={**intake, "lookup": HIDDEN}).status_code == 303
    assert session.scalar(select(Complaint)).customer_id == lin.id
