"""The start page and the health check."""
from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from sqlalchemy import text

from careboard import __version__, policy
from careboard.blueprints.main import bp
from careboard.extensions import db
from careboard.templating import allowed


@bp.get("/")
@policy.staff
def home():
    for endpoint in ("board.mine", "board.index"):
        if allowed(endpoint):
            return redirect(url_for(endpoint))
    return render_template("main/home.html")


@bp.get("/healthz")
@policy.public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database, status = "ok", 200
    except Exception as error:  # noqa: BLE001  (any failure means "down"; it is reported, not swallowed)
        db.session.rollback()
        database, status = f"error: {type(error).__name__}", 503
    body = {"app": "ok", "version": __version__, "database": database,
            "database_backend": db.engine.dialect.name}
    return jsonify(body), status
