"""Every view declares who may use it; anonymous visitors reach only the public ones."""
from __future__ import annotations

import pytest
from flask import Blueprint, url_for

from careboard import create_app, policy
from careboard.models import Level


def test_every_view_has_a_policy(app):
    for name, view in app.view_functions.items():
        if name != "static":
            assert hasattr(view, "policy"), name


def test_a_view_without_a_policy_stops_the_app(app_config, monkeypatch):
    rogue = Blueprint("rogue", __name__)
    rogue.add_url_rule("/rogue", "open_door", lambda: "oops")
    import careboard.blueprints.admin as admin_pkg
    original = admin_pkg.bp
    monkeypatch.setattr(admin_pkg, "bp", rogue)
    try:
        with pytest.raises(RuntimeError, match="rogue.open_door"):
            create_app(app_config)
    finally:
        monkeypatch.setattr(admin_pkg, "bp", original)


def _urls(app):
    """Every route and method, with 1 for each URL argument."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            url = url_for(rule.endpoint, **{arg: 1 for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, url


def test_anonymous_reaches_only_public_views(client, app, people):
    for rule, method, url in _urls(app):
        response = client.open(url, method=method)
        public = app.view_functions[rule.endpoint].policy == policy.PUBLIC
        if public:
            assert response.status_code != 302 or "/login" not in response.headers.get("Location", ""), url
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("username,level", [("sales1", Level.STAFF), ("supervisor", Level.SUPERVISOR),
                                            ("director", Level.DIRECTOR), ("admin", Level.ADMIN)])
def test_each_level_is_refused_exactly_the_views_above_it(client, auth, app, people, username, level):
    auth.login(username)
    for rule, method, url in _urls(app):
        if rule.endpoint == "auth.logout":
            continue
        required = app.view_functions[rule.endpoint].policy
        response = client.open(url, method=method)
        if required != policy.PUBLIC and required > level:
            assert response.status_code == 403, (username, method, url)
        else:
            assert response.status_code != 403, (username, method, url)
