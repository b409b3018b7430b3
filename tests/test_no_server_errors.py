"""No path or query value gives a 500 (issue 15, finding 15).

Walks every rule of the URL map as each permission level (anonymous, staff, supervisor, director, admin):
path converters get boundary values (ids of 0, 2**31, 2**63, 10**23; months 9999-12 and 0000-01; "", very
long, NUL, "../", Chinese), GET routes get every query parameter the views read with boundary values, and
POST routes get an empty form and forms whose every known field holds one boundary value. Every answer
must be below 500; the failures are listed with the exception that caused them. A deterministic table
always runs; hypothesis adds random query strings on top.
"""
from __future__ import annotations

import inspect
import re
from datetime import date, timedelta
from urllib.parse import quote, urlencode

import pytest
from flask import got_request_exception
from sqlalchemy import select
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from careboard import dates as date_rule
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Role
from careboard.services import checklist, complaints, customers, kpi
from careboard.services import tick as tick_service
from careboard.services import settings as settings_service
from tests.factories import PASSWORD, make_card, make_customer, make_user, make_vehicle

LEVELS = [None, "sales1", "supervisor", "director", "admin"]
NOT_WALKED = {"auth.logout"}          # logging out would make the rest of the walk anonymous

BIG_INTS = [0, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**23]
STRINGS = ["", "x" * 300, "\x00", "../", "..", "用户", "9999-12", "0000-01", "0001-01", "2026-13", "9999-W52"]
QUERY_VALUES = ["9999-W52", "0001-W01", "0000-01", "9999-12", "0001-01", "9999-12-31", "99999999999999999999",
                "-1", "NaN", "", "x" * 2000, "\x00"]
FORM_VALUES = ["", "0001-01-01", "9999-12-31", "0001-01-01T00:00", "99999999999999999999", "-1", "sNaN",
               "1e999999999999999999", "x" * 5000, "\x00"]


def query_parameters() -> list[str]:
    """Every query parameter the views read (request.args.get("…"), args.get("…")), the GET forms' fields,
    and the usual suspects."""
    import careboard.blueprints as blueprints
    from careboard.blueprints.board.forms import FilterForm
    from careboard.blueprints.customers.forms import SearchForm
    names = {"week", "month", "page", "day", "area", "state", "q", "kind", "role", "person", "next", "mode",
             "status", "category", "department", "due", "overdue", "lane", "view", "sort", "year", "per_page"}
    for module in blueprint_modules(blueprints):
        names.update(re.findall(r"args\.get\(\s*[\"'](\w+)[\"']", inspect.getsource(module)))
        names.update(re.findall(r"args\[[\"'](\w+)[\"']\]", inspect.getsource(module)))
    names.update(form_fields(FilterForm))
    names.update(form_fields(SearchForm))
    return sorted(names)


def blueprint_modules(package):
    import importlib
    import pkgutil
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        yield importlib.import_module(info.name)


def form_fields(form_class) -> set[str]:
    return {name for name in dir(form_class) if isinstance(getattr(form_class, name, None), UnboundField)}


def post_field_names() -> list[str]:
    """The fields of every form of the app (SaleForm and VisitForm with their prefixes), plus `next`."""
    import careboard.blueprints as blueprints
    from flask_wtf import FlaskForm
    names = {"next", "week", "month", "action", "csrf_token"}
    for module in blueprint_modules(blueprints):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm) and cls is not FlaskForm:
                fields = form_fields(cls)
                names.update(fields)
                names.update(f"sale-{f}" for f in fields)
                names.update(f"visit-{f}" for f in fields)
    return sorted(names)


# ---------------------------------------------------------------- a store with a row of everything


@pytest.fixture
def app_config(app_config):
    return type("Walker", (app_config,), {"PROPAGATE_EXCEPTIONS": False, "RATELIMIT_ENABLED": False})


@pytest.fixture
def store(app, session, people):
    """A row behind every kind of id, so the routes with ids find something; returns the ids by converter
    name and the values of the string converters."""
    s = settings_service.load(session)
    walker = make_user(session, "walker", role=Role.AFTERSALES_CARE)     # the user the admin pages change
    checklist.ensure_default_areas(session)
    customer = make_customer(session, "边界", sales_care=people["sales1"], aftersales_care=walker)
    vehicle = make_vehicle(session, customer, plate="沪AD1234", warranty_end=date.today() + timedelta(days=10))
    customers.record_sale(session, vehicle, date.today() - timedelta(days=2))
    customers.record_visit(session, vehicle, date.today() - timedelta(days=2), work_order="WO-1")
    card = make_card(session, assignee=people["sales1"], title="走查")
    complaint = complaints.log_complaint(session, actor=people["supervisor"], channel="phone", category="service",
                                         department="aftersales", description="边界测试", received_at=utcnow(),
                                         customer_id=customer.id, s=s)
    session.commit()
    tick_service.tick(session, now=utcnow())
    session.commit()
    from careboard.models import ChecklistArea, ChecklistRun, Notification, Report, RunAnswer
    run = session.scalar(select(ChecklistRun).limit(1))
    answer = session.scalar(select(RunAnswer).where(RunAnswer.run_id == run.id).limit(1)) if run else None
    notification = session.scalar(select(Notification).limit(1))
    if notification is None:
        notification = Notification(user_id=people["supervisor"].id, kind="complaint_escalated",
                                    complaint_id=complaint.id, text="边界")
        session.add(notification)
        session.commit()
    report = session.scalar(select(Report).limit(1))
    ids = {
        "user_id": [walker.id], "card_id": [card.id, complaint.card_id], "customer_id": [customer.id],
        "vehicle_id": [vehicle.id], "complaint_id": [complaint.id], "notification_id": [notification.id],
        "area_id": [session.scalar(select(ChecklistArea.id).limit(1))], "run_id": [run.id] if run else [],
        "answer_id": [answer.id] if answer else [], "link_id": [], "photo_id": [],
        "report_id": [report.id] if report else [],
    }
    month = date_rule.month_of(date.today())
    texts = {"username": ["sales1"], "month": [month], "role": [Role.SALES_CARE.value, Role.CS_SUPERVISOR.value],
             "code": ["x"], "token": ["x"], "filename": ["css/app.css"]}
    session.remove()
    return {"ids": ids, "texts": texts}


CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def path_values(rule, store) -> list[dict[str, object]]:
    """Value sets for the rule's variables: the real ones, then each variable in turn at its boundaries."""
    real = {}
    variants: dict[str, list] = {}
    for kind, name in CONVERTER.findall(rule.rule):
        if kind == "int":
            found = store["ids"].get(name, [])
            real[name] = found[0] if found else 1
            variants[name] = found[1:] + BIG_INTS
        else:
            found = store["texts"].get(name, ["x"])
            real[name] = found[0]
            variants[name] = found[1:] + STRINGS
    sets = [real]
    for name, values in variants.items():
        sets += [{**real, name: v} for v in values]
    return sets


def build(rule, values: dict[str, object]) -> str:
    def value(match):
        return quote(str(values[match.group(2)]), safe="")
    return CONVERTER.sub(value, rule.rule)


def rules_of(app, method: str):
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if method in r.methods and r.endpoint not in NOT_WALKED]


class Walk:
    """Sends the requests, records every answer of 500 or more with the exception behind it."""

    def __init__(self, app, client):
        self.client = client
        self.failures: list[str] = []
        self.errors: list[BaseException] = []
        got_request_exception.connect(self._caught, app)
        self.app = app

    def _caught(self, _sender, exception, **_extra):
        self.errors.append(exception)

    def close(self):
        got_request_exception.disconnect(self._caught, self.app)

    def send(self, method: str, url: str, data: dict | None = None, who: str | None = None):
        self.errors.clear()
        try:
            response = self.client.open(url, method=method, data=data)
        except Exception as error:                     # noqa: BLE001 - recorded as a failure, with its kind
            self.failures.append(f"{who} {method} {url[:200]} {data and list(data)[:3]}: raised {error!r}"[:500])
            return
        if response.status_code >= 500:
            cause = repr(self.errors[-1])[:300] if self.errors else ""
            shown = {k: v[:30] for k, v in (data or {}).items() if v}
            self.failures.append(f"{who} {method} {url[:200]} {str(shown)[:200]}: "
                                 f"{response.status_code} {cause}")

    def assert_clean(self):
        unique = list(dict.fromkeys(self.failures))
        assert not unique, f"{len(unique)} requests answered 500:\n" + "\n".join(unique[:60])


def login(client, who: str | None):
    if who:
        response = client.post("/login", data={"username": who, "password": PASSWORD})
        assert response.status_code in (302, 303), who


def params_read_by(app, rule, params: list[str]) -> list[str]:
    """The query parameters the rule's view reads: those named in its source, the filter form's fields when
    it reads the board filters, `page` when it pages."""
    view = inspect.unwrap(app.view_functions[rule.endpoint])
    try:
        source = inspect.getsource(view)
    except (OSError, TypeError):
        return []
    from careboard.blueprints.board.forms import FilterForm
    named = [p for p in params if re.search(rf"[\"']{p}[\"']", source)]
    if "filters_from_request" in source or "FilterForm" in source:
        named += sorted(form_fields(FilterForm))
    if "SearchForm" in source:
        named.append("q")
    if "paginate" in source or "page_arg" in source:
        named.append("page")
    return sorted(set(named))


@pytest.mark.parametrize("who", LEVELS, ids=lambda w: w or "anonymous")
def test_no_path_query_or_form_value_gives_a_500(app, client, store, who):
    """The deterministic table: every rule with boundary path values (GET and an empty POST); every GET
    rule with all query parameters at once at each boundary value, and each parameter its view reads on
    its own; every POST rule with every known form field at each boundary value."""
    login(client, who)
    params = query_parameters()
    fields = post_field_names()
    walk = Walk(app, client)
    try:
        for rule in rules_of(app, "GET"):
            for values in path_values(rule, store):
                walk.send("GET", build(rule, values), who=who)
            base = build(rule, path_values(rule, store)[0])
            for value in QUERY_VALUES:
                walk.send("GET", f"{base}?{urlencode(dict.fromkeys(params, value))}", who=who)
                for name in params_read_by(app, rule, params):
                    walk.send("GET", f"{base}?{urlencode({name: value})}", who=who)
        for rule in rules_of(app, "POST"):
            for values in path_values(rule, store):
                walk.send("POST", build(rule, values), data={}, who=who)
            url = build(rule, path_values(rule, store)[0])
            for value in FORM_VALUES:
                walk.send("POST", url, data=dict.fromkeys(fields, value), who=who)
    finally:
        walk.close()
    walk.assert_clean()


def test_kpi_entries_with_nan_infinity_or_huge_figures_are_refused_with_a_message(app, client, store):
    """Each entered figure of a template on its own, so one refusal does not hide another."""
    from careboard.services import kpi_engine
    login(client, "supervisor")
    month = store["texts"]["month"][0]
    template = kpi.template_for(db.session, Role.SALES_CARE.value)
    entered = [m for m in template.metrics if m.source == "entered"]
    assert entered
    for m in entered:
        for value in ("sNaN", "NaN", "Infinity", "1e999999999999999999", "-1e999999999999999999"):
            if m.rule == kpi_engine.WEIGHTED_RATES:
                data = {f"m-{m.code}-{p.code}": value for p in m.spec.parts}
            elif m.rule == kpi_engine.JUDGED:
                data = {f"m-{m.code}-band": m.spec.bands[0].code if hasattr(m.spec.bands[0], "code") else "A",
                        f"m-{m.code}-value": value}
            else:
                data = {f"m-{m.code}": value}
            response = client.post(f"/scorecard/entries/{month}/sales1", data=data)
            assert response.status_code == 422, (m.code, value, response.status_code)
            body = response.get_data(as_text=True)
            assert "不是数字" in body or "太大" in body or "not a number" in body or "too large" in body, \
                (m.code, value)
    assert not kpi.entries_of(db.session, [store_user_id("sales1")], month)[store_user_id("sales1")]


def store_user_id(username: str) -> int:
    from careboard.models import User
    return db.session.scalar(select(User.id).where(User.username == username))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_random_query_strings_give_no_500(app, client, store, data):
    login(client, "supervisor")
    params = query_parameters()
    rules = list(rules_of(app, "GET"))
    rule = data.draw(st.sampled_from(rules))
    text = st.one_of(st.sampled_from(QUERY_VALUES), st.text(max_size=40),
                     st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.integers(0, 9999), st.integers(0, 99)),
                     st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 9999), st.integers(0, 99)),
                     st.integers(-10**25, 10**25).map(str))
    query = data.draw(st.dictionaries(st.sampled_from(params), text, max_size=4))
    walk = Walk(app, client)
    try:
        walk.send("GET", f"{build(rule, path_values(rule, store)[0])}?{urlencode(query)}", who="supervisor")
    finally:
        walk.close()
    walk.assert_clean()


def test_ids_beyond_the_database_range_are_404_not_500(client, auth, people):
    auth.login("supervisor")
    for value in (2**31, 2**63, 10**23, 99999999999999999999999):
        assert client.get(f"/board/cards/{value}").status_code == 404
        assert client.get(f"/customers/{value}").status_code == 404
        assert client.post(f"/complaints/{value}/step").status_code == 404


def test_the_date_rule_bounds():
    assert date_rule.FIRST == date(1900, 1, 1) and date_rule.LAST == date(2100, 12, 31)
