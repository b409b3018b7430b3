"""The customer pages over HTTP: search, masking per role, create and edit with validation, vehicles,
deliveries and visits on the timeline, permissions, statement counts."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from careboard import policy
from careboard.models import Customer, Level, Role, Sale, ServiceVisit, Vehicle
from careboard.services import customers
from careboard.services.errors import FieldError
from tests.factories import make_card, make_user

HX_RESULTS = {"HX-Request": "true", "HX-Target": "results"}
WANG_MOBILE, CHEN_MOBILE = "13800001111", "13900002222"
WANG_VIN = "LSVAB12345C678901"


def make_customer(session, name: str, mobile: str | None = None, *, plate: str | None = None,
                  vin: str | None = None, model: str = "", **care) -> Customer:
    customer = customers.create_customer(session, name=name, mobile=mobile, **care)
    if plate or vin:
        customers.save_vehicle(session, customer, vin=vin, plate=plate, model=model)
    return customer


def vehicle_of(session, customer: Customer) -> Vehicle:
    return session.scalar(select(Vehicle).where(Vehicle.customer_id == customer.id).order_by(Vehicle.id))


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def reload(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id)


@pytest.fixture
def known(session, people):
    wang = make_customer(session, "王先生", WANG_MOBILE, plate="沪A·D1234", vin=WANG_VIN, model="Octavia",
                         sales_care=people["sales1"])
    chen = make_customer(session, "陈女士", CHEN_MOBILE, plate="京B56789", model="Corolla")
    session.commit()
    return {"wang": wang, "chen": chen}


@pytest.fixture
def english_desk(session, people):
    """A phone receptionist who reads English, so messages can be asserted on."""
    user = make_user(session, "desk", role=Role.PHONE_RECEPTION, language="en")
    session.commit()
    return user


@pytest.fixture
def readers(session, people):
    """Roles that read customers but neither call nor edit them."""
    users = [make_user(session, "adman", role=Role.ADVERTISING), make_user(session, "numbers", role=Role.ANALYST)]
    session.commit()
    return users


def names_listed(html: str) -> set[str]:
    return {name for name in ("王先生", "陈女士") if name in html}


# ---------------------------------------------------------------- reading


def test_customer_pages_need_login(client, known, session):
    wang = known["wang"]
    vehicle_id = vehicle_of(session, wang).id
    gets = ["/customers/", f"/customers/{wang.id}", "/customers/new", f"/customers/{wang.id}/edit",
            f"/customers/{wang.id}/vehicles/new", f"/customers/{wang.id}/vehicles/{vehicle_id}/edit"]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in (f"/customers/{wang.id}/sales", f"/customers/{wang.id}/visits", "/customers/new"):
        response = client.post(url, data={})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_index_lists_everyone_without_a_term(client, auth, known):
    auth.login("sales1")
    response = client.get("/customers/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert names_listed(html) == {"王先生", "陈女士"}
    assert "沪A·D1234" in html and "Octavia" in html and "Corolla" in html
    assert "Sales1" in html                                           # the usual sales care person
    assert f'href="/customers/{known["wang"].id}"' in html


@pytest.mark.parametrize("term,expected", [
    ("王", {"王先生"}),
    ("陈女", {"陈女士"}),
    (WANG_MOBILE, {"王先生"}),
    ("138 0000 1111", {"王先生"}),
    ("2222", {"陈女士"}),                                              # the last 4 digits
    ("沪A·D1234", {"王先生"}),                                          # the plate with the dot
    ("沪AD1234", {"王先生"}),                                           # and without
    ("京b56789", {"陈女士"}),
    ("D1234", {"王先生"}),
    ("赵", set()),
])
def test_search_by_name_phone_or_plate(client, auth, known, term, expected):
    auth.login("sales1")
    html = client.get("/customers/", query_string={"q": term}).get_data(as_text=True)
    assert names_listed(html.split('id="results"', 1)[1]) == expected


def test_live_search_answers_with_the_results_fragment(client, auth, known):
    auth.login("sales1")
    page = client.get("/customers/")
    html = page.get_data(as_text=True)
    assert 'hx-trigger="input changed delay:300ms, search"' in html and 'hx-target="#results"' in html
    fragment = client.get("/customers/", query_string={"q": "2222"}, headers=HX_RESULTS)
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<div id="results"')
    assert names_listed(text) == {"陈女士"}
    assert "HX-Request" in fragment.headers["Vary"]


def test_results_are_paginated(client, auth, people, session):
    for i in range(30):
        make_customer(session, f"客户{i:02d}", f"1370000{i:04d}")
    session.commit()
    auth.login("sales1")
    first = client.get("/customers/").get_data(as_text=True)
    second = client.get("/customers/", query_string={"page": 2}).get_data(as_text=True)
    assert first.count('class="row-link"') == 25 and second.count('class="row-link"') == 5
    assert "客户29" in first and "客户29" not in second and "客户00" in second   # last changed first


def test_detail_shows_customer_vehicles_and_care_people(client, auth, known, session):
    wang = known["wang"]
    vehicle = vehicle_of(session, wang)
    vehicle.warranty_end, vehicle.insurance_expiry = date(2027, 3, 31), date(2026, 9, 1)
    session.commit()
    auth.login("sales1")
    html = client.get(f"/customers/{wang.id}").get_data(as_text=True)
    assert "王先生" in html and WANG_MOBILE in html and WANG_VIN in html and "沪A·D1234" in html
    assert "2027-03-31" in html and "2026-09-01" in html and "Sales1" in html
    assert "陈女士" not in html
    assert client.get("/customers/999999").status_code == 404


@pytest.mark.parametrize("username,shown,hidden", [
    ("sales1", WANG_MOBILE, "138****1111"),
    ("supervisor", WANG_MOBILE, "138****1111"),
    ("adman", "138****1111", WANG_MOBILE),
    ("numbers", "138****1111", WANG_MOBILE),
])
def test_phone_numbers_are_masked_for_roles_that_do_not_call(client, auth, known, readers, username, shown, hidden):
    auth.login(username)
    for url in ("/customers/", f"/customers/{known['wang'].id}"):
        html = client.get(url).get_data(as_text=True)
        assert shown in html and hidden not in html, url
    # Searching by the number (which they were told) still works for them; the results stay masked.
    results = client.get("/customers/", query_string={"q": WANG_MOBILE}).get_data(as_text=True) \
        .split("<tbody>", 1)[1]
    assert names_listed(results) == {"王先生"} and shown in results and hidden not in results


# ---------------------------------------------------------------- customers: create and edit


def customer_data(**overrides) -> dict:
    return {"name": "赵女士", "mobile": "+86 137-0000-3333", "birthday": "1985-06-01", "sales_care": 0,
            "aftersales_care": 0, "notes": "喜欢下午联系", **overrides}


def test_create_a_customer(client, auth, people, session):
    auth.login("sales1")
    assert client.get("/customers/new").status_code == 200
    response = client.post("/customers/new", data=customer_data(sales_care=people["sales2"].id))
    assert response.status_code == 303
    customer = session.scalar(select(Customer).where(Customer.name == "赵女士"))
    assert response.headers["Location"] == f"/customers/{customer.id}"
    assert customer.mobile == "13700003333" and customer.birthday == date(1985, 6, 1)
    assert customer.sales_care_id == people["sales2"].id and customer.aftersales_care_id is None
    assert customer.notes == "喜欢下午联系"


def test_care_people_are_active_people_of_their_role(client, auth, people, session):
    aftersales = make_user(session, "after1", role=Role.AFTERSALES_CARE)
    make_user(session, "gone", role=Role.AFTERSALES_CARE, active=False)
    session.commit()
    auth.login("sales1")
    html = client.get("/customers/new").get_data(as_text=True)
    sales_select = html.split('name="sales_care"', 1)[1].split("</select>", 1)[0]
    aftersales_select = html.split('name="aftersales_care"', 1)[1].split("</select>", 1)[0]
    assert "Sales1" in sales_select and "Sales2" in sales_select and "After1" not in sales_select
    assert "After1" in aftersales_select and "Gone" not in aftersales_select and "Sales1" not in aftersales_select
    # Someone of another role is not a valid choice.
    response = client.post("/customers/new", data=customer_data(aftersales_care=people["sales1"].id))
    assert response.status_code == 422 and count(session, Customer) == 0
    assert client.post("/customers/new", data=customer_data(aftersales_care=aftersales.id)).status_code == 303


@pytest.mark.parametrize("field,value,message", [
    ("mobile", "12345", "is not a mainland mobile number"),
    ("mobile", "1380000111", "is not a mainland mobile number"),              # 10 digits
    ("mobile", "23800001111", "is not a mainland mobile number"),
    ("birthday", "2024-02-30", "Not a valid date value"),
    ("birthday", "yesterday", "Not a valid date value"),
    ("birthday", (date.today() + timedelta(days=3)).isoformat(), "This date is in the future."),
    ("name", "   ", "The customer needs a name."),
    ("name", "名" * 81, "The name is too long"),
])
def test_invalid_customer_is_refused_and_nothing_saved(client, auth, english_desk, session, field, value, message):
    auth.login("desk")
    before = count(session, Customer)
    response = client.post("/customers/new", data=customer_data(**{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.split(f'name="{field}"', 1)[1]                     # under its field
    assert count(session, Customer) == before


def test_a_mobile_number_belongs_to_one_customer(client, auth, english_desk, known, session):
    auth.login("desk")
    before = count(session, Customer)
    response = client.post("/customers/new", data=customer_data(mobile="+86 138-0000-1111"))
    assert response.status_code == 422 and "exists already" in response.get_data(as_text=True)
    assert count(session, Customer) == before
    # Nor can an edit take another customer's number.
    chen = known["chen"]
    response = client.post(f"/customers/{chen.id}/edit", data=customer_data(name="陈女士", mobile=WANG_MOBILE))
    assert response.status_code == 422
    assert reload(session, Customer, chen.id).mobile == CHEN_MOBILE


def test_edit_a_customer(client, auth, known, people, session):
    wang = known["wang"]
    auth.login("sales1")
    form = client.get(f"/customers/{wang.id}/edit").get_data(as_text=True)
    assert 'value="王先生"' in form and f'value="{WANG_MOBILE}"' in form
    assert f'<option selected value="{people["sales1"].id}">' in form
    response = client.post(f"/customers/{wang.id}/edit",
                           data=customer_data(name="王建国", mobile="13800001112", sales_care=people["sales2"].id))
    assert response.status_code == 303 and response.headers["Location"] == f"/customers/{wang.id}"
    saved = reload(session, Customer, wang.id)
    assert (saved.name, saved.mobile, saved.sales_care_id) == ("王建国", "13800001112", people["sales2"].id)
    assert count(session, Customer) == 2


def test_edit_keeps_a_deactivated_care_person(client, auth, known, people, session):
    wang = known["wang"]
    people["sales1"].active = False
    session.commit()
    auth.login("supervisor")
    form = client.get(f"/customers/{wang.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{people["sales1"].id}">' in form
    response = client.post(f"/customers/{wang.id}/edit",
                           data=customer_data(name="王先生", mobile=WANG_MOBILE, sales_care=people["sales1"].id))
    assert response.status_code == 303
    assert reload(session, Customer, wang.id).sales_care_id == people["sales1"].id


# ---------------------------------------------------------------- vehicles


def vehicle_data(**overrides) -> dict:
    return {"vin": "lsvcd 12345e678902", "plate": "沪B·K8888", "model": "Kodiaq", "delivery_date": "2026-05-01",
            "warranty_end": "2029-05-01", "insurance_expiry": "2027-04-30", "next_inspection": "2030-05-01",
            "first_maintenance_due": "2026-11-01", **overrides}


def test_add_a_vehicle(client, auth, known, session):
    chen = known["chen"]
    auth.login("sales1")
    assert client.get(f"/customers/{chen.id}/vehicles/new").status_code == 200
    response = client.post(f"/customers/{chen.id}/vehicles/new", data=vehicle_data())
    assert response.status_code == 303 and response.headers["Location"] == f"/customers/{chen.id}"
    vehicle = session.scalar(select(Vehicle).where(Vehicle.vin == "LSVCD12345E678902"))
    assert vehicle.customer_id == chen.id and vehicle.plate == "沪BK8888" and vehicle.model == "Kodiaq"
    assert (vehicle.delivery_date, vehicle.warranty_end, vehicle.insurance_expiry, vehicle.next_inspection,
            vehicle.first_maintenance_due) == (date(2026, 5, 1), date(2029, 5, 1), date(2027, 4, 30),
                                               date(2030, 5, 1), date(2026, 11, 1))
    html = client.get(f"/customers/{chen.id}").get_data(as_text=True)
    assert "沪B·K8888" in html and "2029-05-01" in html and "2026-11-01" in html


def test_edit_a_vehicle(client, auth, known, session):
    wang = known["wang"]
    vehicle = vehicle_of(session, wang)
    url = f"/customers/{wang.id}/vehicles/{vehicle.id}/edit"
    auth.login("sales1")
    form = client.get(url).get_data(as_text=True)
    assert 'value="沪A·D1234"' in form and f'value="{WANG_VIN}"' in form
    response = client.post(url, data=vehicle_data(vin=WANG_VIN, plate="沪A·D1234", insurance_expiry="2026-12-31"))
    assert response.status_code == 303
    saved = reload(session, Vehicle, vehicle.id)
    assert saved.insurance_expiry == date(2026, 12, 31) and saved.model == "Kodiaq"
    assert count(session, Vehicle) == 2
    # A vehicle is edited under its own customer only.
    assert client.get(f"/customers/{known['chen'].id}/vehicles/{vehicle.id}/edit").status_code == 404


@pytest.mark.parametrize("field,value,message", [
    ("vin", "LSVAB12345C67890I", "is not a VIN"),                        # I is not used in VINs
    ("vin", "LSVAB12345C6789", "is not a VIN"),                          # 15 characters
    ("plate", "沪1234", "is not a licence plate"),
    ("delivery_date", (date.today() + timedelta(days=400)).isoformat(), "more than a year ahead"),
    ("warranty_end", "2026-13-01", "Not a valid date value"),
    ("vin", WANG_VIN.lower(), "belongs to another vehicle already"),
])
def test_invalid_vehicle_is_refused_and_nothing_saved(client, auth, english_desk, known, session, field, value,
                                                      message):
    chen = known["chen"]
    auth.login("desk")
    before = count(session, Vehicle)
    response = client.post(f"/customers/{chen.id}/vehicles/new", data=vehicle_data(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).split(f'name="{field}"', 1)[1]
    assert count(session, Vehicle) == before


def test_a_vehicle_needs_a_vin_or_a_plate(client, auth, english_desk, known, session):
    auth.login("desk")
    response = client.post(f"/customers/{known['chen'].id}/vehicles/new", data=vehicle_data(vin="", plate=""))
    assert response.status_code == 422 and "needs a VIN or a licence plate" in response.get_data(as_text=True)
    assert count(session, Vehicle) == 2


# ---------------------------------------------------------------- deliveries, visits, the timeline


def test_record_a_delivery_and_a_visit_and_see_them_on_the_timeline(client, auth, known, session):
    wang = known["wang"]
    vehicle = vehicle_of(session, wang)
    auth.login("sales1")
    response = client.post(f"/customers/{wang.id}/sales",
                           data={"sale-vehicle": vehicle.id, "sale-delivered_on": "2026-03-02"})
    assert response.status_code == 303 and response.headers["Location"] == f"/customers/{wang.id}"
    response = client.post(f"/customers/{wang.id}/visits",
                           data={"visit-vehicle": vehicle.id, "visit-visited_on": "2026-04-10",
                                 "visit-work_order": "WO-2026-0042", "visit-description": "首保，更换机油"})
    assert response.status_code == 303
    sale = session.scalar(select(Sale).where(Sale.customer_id == wang.id))
    visit = session.scalar(select(ServiceVisit).where(ServiceVisit.customer_id == wang.id))
    assert sale.delivered_on == date(2026, 3, 2) and visit.work_order == "WO-2026-0042"
    saved = reload(session, Vehicle, vehicle.id)
    assert saved.delivery_date == date(2026, 3, 2) and saved.last_service_visit == date(2026, 4, 10)
    html = client.get(f"/customers/{wang.id}").get_data(as_text=True)
    timeline = html.split('class="timeline"', 1)[1]
    assert "2026-04-10" in timeline and "WO-2026-0042" in timeline and "首保，更换机油" in timeline
    assert "2026-03-02" in timeline
    assert timeline.index("2026-04-10") < timeline.index("2026-03-02")         # newest first
    assert 'class="entry entry-sale"' in timeline and 'class="entry entry-visit"' in timeline


def test_a_visit_without_a_date_is_refused(client, auth, known, session):
    wang = known["wang"]
    auth.login("sales1")
    response = client.post(f"/customers/{wang.id}/visits",
                           data={"visit-vehicle": vehicle_of(session, wang).id, "visit-visited_on": ""})
    assert response.status_code == 422
    assert count(session, ServiceVisit) == 0
    # Another customer's vehicle is not a choice either.
    response = client.post(f"/customers/{wang.id}/sales",
                           data={"sale-vehicle": vehicle_of(session, known["chen"]).id,
                                 "sale-delivered_on": "2026-03-02"})
    assert response.status_code == 422 and count(session, Sale) == 0


def test_a_card_of_the_customer_is_on_the_timeline(client, auth, known, people, session):
    wang = known["wang"]
    card = make_card(session, assignee=people["sales2"], title="交车3天回访：王先生", kind="callback")
    card.customer_id = wang.id
    other = make_card(session, assignee=people["sales2"], title="别人的卡片")
    session.commit()
    auth.login("sales1")
    html = client.get(f"/customers/{wang.id}").get_data(as_text=True)
    timeline = html.split('class="timeline"', 1)[1]
    assert "交车3天回访：王先生" in timeline and f'href="/board/cards/{card.id}"' in timeline
    assert "Sales2" in timeline and 'class="sla sla-none"' in timeline
    assert "别人的卡片" not in html and f'href="/board/cards/{other.id}"' not in html


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("role,level,allowed", [
    (Role.ADVERTISING, Level.STAFF, False),
    (Role.ANALYST, Level.STAFF, False),
    (Role.SHOWROOM_RECEPTION, Level.STAFF, False),
    (Role.MARKETING_MANAGER, Level.STAFF, False),
    (Role.OWNERS_CLUB, Level.STAFF, False),
    (Role.ANALYST, Level.SUPERVISOR, True),
    (Role.DELIVERY, Level.STAFF, True),
    (Role.SALES_CARE, Level.STAFF, True),
    (Role.AFTERSALES_CARE, Level.STAFF, True),
    (Role.AFTERSALES_SERVICE, Level.STAFF, True),
    (Role.PHONE_RECEPTION, Level.STAFF, True),
    (Role.INSURANCE_RENEWAL, Level.STAFF, True),
])
def test_who_may_edit_customers(session, role, level, allowed):
    user = make_user(session, "someone", role=role, level=level)
    assert policy.can_edit_customers(user) is allowed


def test_readers_may_not_write_and_nothing_changes(client, auth, known, readers, session):
    wang = known["wang"]
    vehicle = vehicle_of(session, wang)
    writes = {
        "/customers/new": customer_data(),
        f"/customers/{wang.id}/edit": customer_data(name="改名"),
        f"/customers/{wang.id}/vehicles/new": vehicle_data(),
        f"/customers/{wang.id}/vehicles/{vehicle.id}/edit": vehicle_data(vin=WANG_VIN, model="改型号"),
        f"/customers/{wang.id}/sales": {"sale-vehicle": vehicle.id, "sale-delivered_on": "2026-03-02"},
        f"/customers/{wang.id}/visits": {"visit-vehicle": vehicle.id, "visit-visited_on": "2026-03-02"},
    }
    for reader in readers:
        auth.login(reader.username)
        for url, data in writes.items():
            assert client.post(url, data=data).status_code == 403, (reader.username, url)
            if not url.endswith(("/sales", "/visits")):
                assert client.get(url).status_code == 403, (reader.username, url)
        # They still search and read, without the buttons of the writes.
        index = client.get("/customers/").get_data(as_text=True)
        detail = client.get(f"/customers/{wang.id}").get_data(as_text=True)
        assert "王先生" in index and "王先生" in detail
        assert 'href="/customers/new"' not in index and "/edit" not in detail and "/sales" not in detail
        auth.logout()
    assert count(session, Customer) == 2 and count(session, Vehicle) == 2
    assert count(session, Sale) == 0 and count(session, ServiceVisit) == 0
    assert reload(session, Customer, wang.id).name == "王先生"
    assert reload(session, Vehicle, vehicle.id).model == "Octavia"


def test_editors_see_the_buttons(client, auth, known):
    auth.login("sales1")
    index = client.get("/customers/").get_data(as_text=True)
    detail = client.get(f"/customers/{known['wang'].id}").get_data(as_text=True)
    assert 'href="/customers/new"' in index
    assert f'action="/customers/{known["wang"].id}/sales"' in detail and f"/customers/{known['wang'].id}/edit" in detail


# ---------------------------------------------------------------- statement counts




def test_statements_of_the_search_do_not_grow_with_the_number_of_customers(client, auth, people, session,
                                                                          statements):
    after = make_user(session, "after1", role=Role.AFTERSALES_CARE)
    session.commit()

    def fill(start, n):
        for i in range(start, start + n):
            make_customer(session, f"客户{i:03d}", f"1360000{i:04d}", plate=f"沪A{i:05d}", model=f"Model {i % 7}",
                          sales_care=people["sales1" if i % 2 else "sales2"], aftersales_care=after)
        session.commit()

    def statements_for(url):
        statements["n"] = 0
        assert client.get(url).status_code == 200
        return statements["n"]

    auth.login("supervisor")
    urls = ("/customers/", "/customers/?q=客户", "/customers/?q=沪A0", "/customers/?page=2")
    fill(0, 10)
    small = [statements_for(url) for url in urls[:3]]
    fill(10, 190)
    large = [statements_for(url) for url in urls]
    assert small == large[:3]
    assert large[3] == large[0]
    html = client.get("/customers/").get_data(as_text=True)
    assert html.count('class="row-link"') == 25 and "Model" in html and "After1" in html


def test_service_rules_refuse_a_future_birthday_and_a_clashing_work_order(session, people):
    from datetime import date, timedelta

    from careboard.services import customers as svc
    from tests.factories import make_customer, make_vehicle
    customer = make_customer(session)
    a, b = make_vehicle(session, customer), make_vehicle(session, customer)
    svc.record_visit(session, a, date(2026, 11, 1), work_order="R-1")
    assert svc.record_visit(session, a, date(2026, 11, 1), work_order="R-1").vehicle_id == a.id   # idempotent
    with pytest.raises(FieldError) as clash:
        svc.record_visit(session, b, date(2026, 11, 1), work_order="R-1")
    assert clash.value.field == "work_order"
    with pytest.raises(FieldError):
        svc.create_customer(session, name="未来人", mobile="13900000001", birthday=date.today() + timedelta(days=3))


def test_a_visit_with_another_vehicles_work_order_is_refused_on_the_page(client, auth, people, session):
    from careboard.models import ServiceVisit
    from careboard.services import customers as svc
    from tests.factories import make_customer, make_vehicle
    customer = make_customer(session)
    a, b = make_vehicle(session, customer), make_vehicle(session, customer)
    svc.record_visit(session, a, date(2026, 11, 1), work_order="R-77")
    session.commit()
    auth.login("supervisor")
    response = client.post(f"/customers/{customer.id}/visits", data={
        "visit-vehicle": b.id, "visit-visited_on": "2026-11-02", "visit-work_order": "R-77",
        "visit-description": "保养"})
    assert response.status_code == 422
    assert session.scalar(select(func.count(ServiceVisit.id))) == 1
