"""The authorization matrix: every route of the URL map, for anonymous visitors and every permission level,
against the level written down here. A new route fails this suite until it is added to EXPECTED with the
level a person must have; a route whose policy changes fails until EXPECTED is changed with it.

(Which card, customer or scorecard a person may touch within their level is tested with each blueprint:
tests/test_board_views.py, test_checklist_views.py, test_scorecard_views.py and others.)
"""
from __future__ import annotations

import pytest
from flask import url_for

from careboard.models import Level

PUBLIC, STAFF, SUPERVISOR, DIRECTOR, ADMIN = None, Level.STAFF, Level.SUPERVISOR, Level.DIRECTOR, Level.ADMIN

EXPECTED = {
    # who may: the lowest level allowed (None: everyone, logged in or not)
    "auth.login": PUBLIC,
    "auth.set_language": PUBLIC,
    "main.healthz": PUBLIC,
    "main.csp_report": PUBLIC,
    "main.home": STAFF,
    "auth.account": STAFF,
    "auth.logout": STAFF,
    # the board: staff work their cards; moving between people and the scripts are not theirs
    "board.index": STAFF,
    "board.mine": STAFF,
    "board.archive": STAFF,
    "board.new_card": STAFF,
    "board.show_card": STAFF,
    "board.add_comment": STAFF,
    "board.complete_card": STAFF,
    "board.drop_card": STAFF,
    "board.edit_card": STAFF,
    "board.move_card": STAFF,
    "board.reopen_card": STAFF,
    "board.undo_change": STAFF,
    "board.fold_lane": STAFF,
    "board.lane": STAFF,
    "board.changes": STAFF,
    "board.reassign_card": SUPERVISOR,
    "board.bulk_reassign": SUPERVISOR,
    "board.edit_scripts": DIRECTOR,
    # customers: everyone reads; the import is the supervisors'
    "customers.index": STAFF,
    "customers.show_customer": STAFF,
    "customers.new_customer": STAFF,
    "customers.edit_customer": STAFF,
    "customers.new_vehicle": STAFF,
    "customers.edit_vehicle": STAFF,
    "customers.record_sale": STAFF,
    "customers.record_visit": STAFF,
    "customers.import_upload": SUPERVISOR,
    "customers.import_confirm": SUPERVISOR,
    "customers.show_import": SUPERVISOR,
    # complaints: intake and steps by staff; deadlines and notifications by supervisors
    "complaints.index": STAFF,
    "complaints.new_complaint": STAFF,
    "complaints.lookup_preview": STAFF,
    "complaints.show_complaint": STAFF,
    "complaints.advance_complaint": STAFF,
    "complaints.second_callback": STAFF,
    "complaints.change_deadline": SUPERVISOR,
    "complaints.read_notification": SUPERVISOR,
    # notifications: everyone their own bell, list and choices
    "notifications.index": STAFF,
    "notifications.bell": STAFF,
    "notifications.open_notice": STAFF,
    "notifications.read_notice": STAFF,
    "notifications.read_all": STAFF,
    "notifications.preferences": STAFF,
    # 5S: inspectors and the responsible staff; areas and verification are the supervisors'
    "checklist.index": STAFF,
    "checklist.history": STAFF,
    "checklist.show_run": STAFF,
    "checklist.save_answer": STAFF,
    "checklist.add_photo": STAFF,
    "checklist.remove_photo": STAFF,
    "checklist.submit_run": STAFF,
    "checklist.photo": STAFF,
    "checklist.photo_thumb": STAFF,
    "checklist.show_rectification": STAFF,
    "checklist.add_after_photo": STAFF,
    "checklist.complete_rectification": STAFF,
    "checklist.verify_rectification": SUPERVISOR,
    "checklist.send_back": SUPERVISOR,
    "checklist.list_areas": SUPERVISOR,
    "checklist.new_area": SUPERVISOR,
    "checklist.edit_area": SUPERVISOR,
    "checklist.load_defaults": SUPERVISOR,
    # scorecard: one's own for staff; figures by supervisors and up, only for people below their own level
    # (policy.can_enter_kpi, tests/test_kpi_entry_policy.py); templates and the month's seal by the director
    "scorecard.index": STAFF,
    "scorecard.show_person": STAFF,
    "scorecard.measure_cards": STAFF,
    "scorecard.enter_figures": SUPERVISOR,
    "scorecard.export_month": SUPERVISOR,
    "scorecard.confirm_finalize": DIRECTOR,
    "scorecard.finalize_month": DIRECTOR,
    "scorecard.reopen_month": DIRECTOR,
    "scorecard.list_templates": DIRECTOR,
    "scorecard.edit_template": DIRECTOR,
    "scorecard.try_template": DIRECTOR,
    # the weekly review and its reports
    "review.index": SUPERVISOR,
    "review.archive": SUPERVISOR,
    "review.create_action": SUPERVISOR,
    "review.generate_report": SUPERVISOR,
    "review.download_report": SUPERVISOR,
    # administration
    "admin.list_users": ADMIN,
    "admin.new_user": ADMIN,
    "admin.edit_user": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.set_user_active": ADMIN,
    "admin.edit_settings": ADMIN,
    "admin.list_robots": ADMIN,
    "admin.edit_robot": ADMIN,
    "admin.save_robot": ADMIN,
    "admin.test_robot": ADMIN,
    "admin.retry_robot": ADMIN,
    "admin.delete_robot": ADMIN,
}

ARGUMENTS = {"month": "2026-11", "username": "sales1", "role": "sales_care", "code": "callback_completion",
             "token": "0" * 32, "key": "role-sales_care"}
ACCOUNTS = {Level.STAFF: "sales1", Level.SUPERVISOR: "supervisor", Level.DIRECTOR: "director",
            Level.ADMIN: "admin"}


def _routes(app):
    """(endpoint, method, url) for every route, with a plausible value for each URL argument."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            url = url_for(rule.endpoint, **{arg: ARGUMENTS.get(arg, 1) for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url


def test_every_route_is_in_the_matrix_and_nothing_else(app):
    routed = {endpoint for endpoint, _method, _url in _routes(app)}
    assert sorted(routed - EXPECTED.keys()) == [], "new routes: add them to EXPECTED with their level"
    assert sorted(EXPECTED.keys() - routed) == [], "routes gone: remove them from EXPECTED"


def test_the_matrix_matches_each_views_declared_policy(app):
    from careboard import policy
    for endpoint, level in EXPECTED.items():
        declared = app.view_functions[endpoint].policy
        assert declared == (policy.PUBLIC if level is None else level), endpoint


def test_anonymous_visitors_are_sent_to_log_in_everywhere_but_the_public_routes(client, app, people):
    for endpoint, method, url in _routes(app):
        response = client.open(url, method=method)
        to_login = response.status_code == 302 and "/login" in response.headers.get("Location", "")
        assert to_login == (EXPECTED[endpoint] is not None), (method, url, response.status_code)


@pytest.mark.parametrize("level", [Level.STAFF, Level.SUPERVISOR, Level.DIRECTOR, Level.ADMIN],
                         ids=lambda level: level.name.lower())
def test_each_level_gets_exactly_what_the_matrix_gives_it(client, auth, app, people, level):
    assert auth.login(ACCOUNTS[level]).status_code == 303
    denied, allowed = [], []
    for endpoint, method, url in _routes(app):
        if endpoint == "auth.logout":
            continue
        response = client.open(url, method=method)
        assert not (response.status_code == 302 and "/login" in response.headers.get("Location", "")), \
            (level, method, url, "logged out by the walk")
        required = EXPECTED[endpoint]
        should_pass = required is None or level >= required
        (allowed if should_pass else denied).append(endpoint)
        if should_pass:
            assert response.status_code != 403, (level.name, method, url)
        else:
            assert response.status_code == 403, (level.name, method, url, response.status_code)
    assert allowed and (denied or level == Level.ADMIN)


def test_every_write_needs_the_csrf_token_even_for_the_highest_level(app_config, people, session):
    """With CSRF on (as in production) a POST without the token is refused before the view runs; the one
    exception is the browser's CSP report, which carries no token and changes nothing."""
    from careboard import create_app
    from tests.factories import PASSWORD
    session.commit()
    app = create_app(type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True}))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 303
    posts = [(endpoint, url) for endpoint, method, url in _routes(app) if method == "POST"]
    assert len(posts) > 40
    for endpoint, url in posts:
        response = client.post(url, headers={"HX-Request": "true"})
        expected = 204 if endpoint == "main.csp_report" else 400
        assert response.status_code == expected, (url, response.status_code)
    # The token as htmx sends it (the X-CSRFToken header from <body hx-headers>) is accepted.
    assert client.post("/language", data={"language": "en"},
                       headers={"HX-Request": "true", "X-CSRFToken": token}).status_code in (302, 303)
