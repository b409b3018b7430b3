"""Every page a person can open, per account, built from the app's URL map (issue 17).

`pages_for(app, username)` walks every GET rule of the URL map. A rule with arguments is filled from the demo
data (a card, a complaint, a customer and its vehicle, a 5S run, area and rectification, a KPI template and
metric, a month, an import job if there is one, …): the first combination of candidates that the account may
open is its page. What the account may not open (403 or 404 for it) is left out for it, and so is what is not a
page: a redirect, a download (an export, a photo, a report), an htmx fragment (no `<html>`), the health check and
the CSP report address. A new route is thus checked by every test that uses this list, with no list to update;
a route whose argument this module cannot fill makes `pages_for` fail and say so.

The app must hold the demo data (`flask demo`, as the browser tests' `live_server` loads it) and accept form
posts with CSRF on or off.
"""
from __future__ import annotations

import itertools
import re

from flask import Flask, url_for
from sqlalchemy import select

from careboard import dates
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Card, ChecklistArea, ChecklistRun, Complaint, Customer, Robot, Role, User, Vehicle
from careboard.models.cards import CardKind
from careboard.models.imports import ImportJob
from careboard.models.reports import Report
from careboard.services import kpi, kpi_engine, settings
from careboard.blueprints.review.views import SECTIONS as REVIEW_SECTIONS

PASSWORD = "careboard-demo"
NOT_PAGES = {"static", "main.healthz", "main.csp_report"}
# Pages that a query string turns into another view of their own.
# Meeting mode shows one section per screen: each of them is a page of its own (?section=N, as its next button).
VARIANTS = {"review.index": ["?mode=meeting"]
            + [f"?mode=meeting&section={n}" for n in range(2, len(REVIEW_SECTIONS) + 1)]}
OPTIONAL = {"token", "report_id"}                # an import job and a report exist only once made
MAX_TRIES = 8                                   # combinations of candidates tried per rule
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _candidates(username: str) -> dict[str, list]:
    """Values for each URL argument, the likeliest first (the account's own card, its own scorecard, …)."""
    session = db.session
    user = session.scalar(select(User).where(User.username == username))
    s = settings.load(session)
    this_month = dates.month_of(dates.local_date(utcnow(), s.zone))
    open_cards = select(Card.id).where(Card.completed_at.is_(None)).order_by(Card.id)
    own = session.scalars(open_cards.where(Card.assignee_id == user.id).limit(3)).all()
    callbacks = session.scalars(open_cards.where(Card.kind == CardKind.CALLBACK).limit(2)).all()
    rectifications = session.scalars(open_cards.where(Card.kind == CardKind.RECTIFICATION).limit(2)).all()
    vehicle = session.execute(select(Vehicle.id, Vehicle.customer_id).order_by(Vehicle.id).limit(1)).first()
    customer_ids = ([vehicle.customer_id] if vehicle else []) + \
        session.scalars(select(Customer.id).order_by(Customer.id).limit(1)).all()
    run_ids = session.scalars(
        select(ChecklistRun.id).join(Card, Card.id == ChecklistRun.card_id).order_by(
            (Card.assignee_id == user.id).desc(), ChecklistRun.id.desc()).limit(3)).all()
    measured = [m for m in kpi.template_for(session, Role.SALES_CARE).metrics if m.source == kpi_engine.MEASURED]
    people = [username] + [u for u in ("sales1", "supervisor") if u != username]
    return {
        "card_id": list(dict.fromkeys([*own, *callbacks, *rectifications])),
        "complaint_id": session.scalars(select(Complaint.id).order_by(Complaint.id).limit(1)).all(),
        "customer_id": list(dict.fromkeys(customer_ids)),
        "vehicle_id": [vehicle.id] if vehicle else [],
        "user_id": session.scalars(select(User.id).where(User.username.in_(("sales1", username)))).all(),
        "area_id": session.scalars(select(ChecklistArea.id).order_by(ChecklistArea.id).limit(1)).all(),
        "run_id": run_ids,
        "photo_id": [1],                        # a photo is not a page: its answer's type says so
        "report_id": session.scalars(select(Report.id).order_by(Report.id).limit(1)).all(),
        "token": session.scalars(select(ImportJob.token).order_by(ImportJob.id).limit(1)).all(),
        "month": [dates.previous_months(this_month, 2)[0], this_month],
        "username": people,
        "role": [Role.SALES_CARE.value, Role.CS_SUPERVISOR.value],
        "code": list(dict.fromkeys([*(m.code for m in measured), *(m.measure for m in measured if m.measure)])),
        "key": [f"user-{user.id}", f"role-{user.role.value}"],      # a board's lane: a fragment, not a page
        "robot_id": session.scalars(select(Robot.id).order_by(Robot.id).limit(1)).all(),   # the demo's robot
    }


def log_in_client(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page)
    data = {"username": username, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1) or token.group(2)
    response = client.post("/login", data=data)
    assert response.status_code in (302, 303), f"{username} could not log in ({response.status_code})"


def _is_page(response) -> bool:
    return response.status_code == 200 and response.mimetype == "text/html" and \
        response.get_data(as_text=True).lstrip()[:15].lower() == "<!doctype html>"


def pages_for(app: Flask, username: str) -> list[str]:
    """The paths (with their query) of every page `username` may open, in URL-map order."""
    with app.app_context():
        candidates = _candidates(username)
    client = app.test_client()
    log_in_client(client, username)
    pages: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in NOT_PAGES or "GET" not in rule.methods:
            continue
        arguments = sorted(rule.arguments - set(rule.defaults or ()))
        missing = [arg for arg in arguments if arg not in candidates]
        missing += [arg for arg in arguments if not candidates.get(arg, True) and arg not in OPTIONAL]
        assert not missing, f"tests/browser/pages.py has no demo value for {missing} of {rule.rule}: add one"
        combos = itertools.islice(itertools.product(*(candidates[arg] for arg in arguments)), MAX_TRIES)
        for combo in combos:
            with app.test_request_context():
                path = url_for(rule.endpoint, **dict(zip(arguments, combo, strict=True)))
            response = client.get(path)
            if response.status_code in (403, 404):
                continue                                     # not this one for this account: the next candidate
            assert response.status_code < 500, f"{username} {path}: {response.status_code}"
            if _is_page(response):
                pages.append(path)
                pages += [path + variant for variant in VARIANTS.get(rule.endpoint, ())]
            break                                            # a page, a redirect or a download: decided
    return pages
