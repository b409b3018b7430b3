"""Every view declares who may use it; a view without a declaration stops the app."""
from __future__ import annotations

import pytest
from flask import Blueprint

from careboard import create_app


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


# Every route for every level against the written-down matrix: tests/test_authorization_matrix.py.
