"""The customer beside the complaint (issue 17, item 6): an unknown phone without a name is refused, not
dropped; the complaint page and its printed form show the customer's name, phone (masked by role) and plates
with the vehicles, recent visits and callbacks; the intake previews whom the lookup finds, by the same rule
as the customers search (a whole number or plate, never part of a number; the number masked by role)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from careboard.models import CardKind, Complaint, Customer, Level, Role
from careboard.services import complaints, customers
from careboard.services.errors import FieldError
from tests.factories import make_card, make_user

HIDDEN = "13857312974"
MASKED = "138****2974"
NAME = "林先生"
INTAKE = {"lookup": "", "name": "", "channel": "phone", "category": "service", "department": "aftersales",
          "severity": 2, "description": "保养等了三个小时", "received_at": ""}


@pytest.fixture
def lin(session, people):
    customer = customers.create_customer(session, name=NAME, mobile=HIDDEN)
    vehicle = customers.save_vehicle(session, customer, vin="LSVAB12345C678901", plate="沪A·D1234", model="Octavia")
    customers.record_visit(session, vehicle, date(2026, 11, 20), work_order="WO-7781", description="首保")
    make_card(session, kind=CardKind.CALLBACK, title="首保后回访", role=Role.AFTERSALES_CARE).customer_id = customer.id
    make_user(session, "reception1", role=Role.SHOWROOM_RECEPTION, level=Level.STAFF)   # sees numbers masked
    make_user(session, "phone1", role=Role.PHONE_RECEPTION, level=Level.STAFF)          # phones customers
    session.commit()
    return customer


def counts(session) -> tuple[int, int]:
    return session.scalar(select(func.count(Complaint.id))), session.scalar(select(func.count(Customer.id)))


# ---------------------------------------------------------------- refusing an unknown phone without a name


def test_the_service_refuses_an_unknown_phone_without_a_name(session, lin):
    with pytest.raises(FieldError) as refused:
        complaints.resolve_customer(session, "139 0000 1111", "  ")
    assert refused.value.field == "lookup" and "姓名" in str(refused.value)
    with pytest.raises(FieldError) as unknown_plate:
        complaints.resolve_customer(session, "沪B99999", "")
    assert unknown_plate.value.field == "lookup"
    assert complaints.resolve_customer(session, "+86 138-5731-2974", "") == lin
    assert complaints.resolve_customer(session, "沪AD1234", "") == lin
    assert complaints.resolve_customer(session, "", "") is None
    assert session.scalar(select(func.count(Customer.id))) == 1


def test_the_intake_refuses_an_unknown_phone_without_a_name_and_saves_nothing(client, auth, lin, session):
    auth.login("phone1")
    before = counts(session)
    response = client.post("/complaints/new", data={**INTAKE, "lookup": "13900001111"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "还没有客户使用这个号码" in html and "保养等了三个小时" in html      # the message, the typed text kept
    plate = client.post("/complaints/new", data={**INTAKE, "lookup": "沪B99999"})
    assert plate.status_code == 422 and "沪B·99999" in plate.get_data(as_text=True)
    assert counts(session) == before
    created = client.post("/complaints/new", data={**INTAKE, "lookup": "13900001111", "name": "新来电"})
    assert created.status_code == 303
    complaint = session.scalar(select(Complaint))
    assert session.get(Customer, complaint.customer_id).name == "新来电"


def test_a_name_refused_for_a_new_customer_is_said_under_the_name(client, auth, lin, session):
    auth.login("phone1")
    response = client.post("/complaints/new", data={**INTAKE, "lookup": "13900001111", "name": "　"})
    assert response.status_code == 422
    assert counts(session) == (0, 1)


# ---------------------------------------------------------------- the complaint page and its printed form


def _logged_for_lin(client, auth, session) -> Complaint:
    auth.login("phone1")
    assert client.post("/complaints/new", data={**INTAKE, "lookup": HIDDEN}).status_code == 303
    auth.logout()
    return session.scalar(select(Complaint))


def test_a_role_that_sees_masked_numbers_sees_the_customer_masked(client, auth, lin, session):
    complaint = _logged_for_lin(client, auth, session)
    auth.login("reception1")
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert NAME in html and MASKED in html and HIDDEN not in html
    assert "沪A·D1234" in html and "Octavia" in html
    assert "WO-7781" in html and "首保" in html                    # the recent service visit
    assert "首保后回访" in html                                     # the recent callback
    facts = html.split('class="complaint-customer"', 1)[1].split("</dd>", 1)[0]     # printed: outside .no-print
    assert NAME in facts and MASKED in facts and "沪A·D1234" in facts


@pytest.mark.parametrize("username", ["phone1", "supervisor"])
def test_a_role_that_phones_customers_sees_the_whole_number(client, auth, lin, session, username):
    complaint = _logged_for_lin(client, auth, session)
    auth.login(username)
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    facts = html.split('class="complaint-customer"', 1)[1].split("</dd>", 1)[0]
    assert NAME in facts and HIDDEN in facts and MASKED not in html


def test_a_complaint_without_a_customer_says_so(client, auth, lin, session):
    auth.login("phone1")
    assert client.post("/complaints/new", data=INTAKE).status_code == 303
    html = client.get(f"/complaints/{session.scalar(select(Complaint.id))}").get_data(as_text=True)
    assert "录入时未提供" in html and NAME not in html


# ---------------------------------------------------------------- the lookup preview


def preview(client, lookup: str):
    return client.get("/complaints/lookup", query_string={"lookup": lookup}, headers={"HX-Request": "true"})


def test_the_preview_needs_a_login(client, lin):
    response = preview(client, HIDDEN)
    assert response.status_code in (302, 401) and NAME not in response.get_data(as_text=True)


def test_the_preview_shows_whom_the_lookup_finds_masked_for_a_masked_role(client, auth, lin):
    auth.login("reception1")
    for term in (HIDDEN, "+86 138-5731-2974", "沪A·D1234", "沪ad1234"):
        html = preview(client, term).get_data(as_text=True)
        assert NAME in html and MASKED in html and HIDDEN not in html and "沪A·D1234" in html, term
    new = preview(client, "13900001111").get_data(as_text=True)
    assert "新客户" in new and NAME not in new
    assert "没有客户使用这个车牌" in preview(client, "沪B99999").get_data(as_text=True)
    assert preview(client, "").get_data(as_text=True).count("<p") == 0


def test_the_preview_is_no_phone_oracle(client, auth, lin):
    """Part of a number finds nobody and tells nothing (not even "new customer"), for every role: the
    preview follows the intake's rule, which is stricter than the search's for roles that see numbers."""
    for username in ("reception1", "phone1"):
        auth.login(username)
        for part in (HIDDEN[:7], HIDDEN[3:10], HIDDEN[-4:], HIDDEN[:10]):
            html = preview(client, part).get_data(as_text=True)
            assert NAME not in html and "新客户" not in html and "请输入完整的手机号" in html, (username, part)
        disguised = preview(client, "沪A" + HIDDEN[3:8]).get_data(as_text=True)     # digits dressed as a plate
        assert NAME not in disguised and "没有客户使用这个车牌" in disguised
        auth.logout()


def test_the_preview_shows_the_whole_number_to_a_role_that_phones(client, auth, lin):
    auth.login("phone1")
    html = preview(client, HIDDEN).get_data(as_text=True)
    assert NAME in html and HIDDEN in html


def test_the_intake_page_wires_the_preview(client, auth, lin):
    auth.login("phone1")
    html = client.get("/complaints/new").get_data(as_text=True)
    assert 'hx-get="/complaints/lookup"' in html and 'id="lookup-preview"' in html
    refused = client.post("/complaints/new", data={**INTAKE, "lookup": HIDDEN[:3] + "0000" + HIDDEN[-4:]})
    assert refused.status_code == 422 and "新客户" in refused.get_data(as_text=True)    # the preview as it was
