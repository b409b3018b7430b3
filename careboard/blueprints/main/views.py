"""The start page and the health check."""
from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, url_for
from sqlalchemy import text

from careboard import errors, policy, security
from careboard.blueprints.main import bp
from careboard.config import VERSION
from careboard.extensions import csrf, db, limiter
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
        errors.release_connection()                 # a plain rollback fails too on a lost connection
        database, status = f"error: {type(error).__name__}", 503
    body = {"app": "ok", "version": VERSION, "database": database,
            "database_backend": db.engine.dialect.name}
    return jsonify(body), status


@bp.post("/csp-report")
@policy.public
@csrf.exempt
@limiter.limit(lambda: current_app.config["CSP_REPORT_RATE_LIMIT"])      # per address
def csp_report():
    """The browser reports what the Content-Security-Policy blocked; it is logged for the IT person, on one
    line with every field escaped (careboard/security.py)."""
    security.log.warning("CSP violation: %s", security.violation_summary(security.read_report()))
    return "", 204
