"""The start page and the health check."""
from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import text

from careboard import __version__, policy, security
from careboard.blueprints.main import bp
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
        db.session.rollback()
        database, status = f"error: {type(error).__name__}", 503
    body = {"app": "ok", "version": __version__, "database": database,
            "database_backend": db.engine.dialect.name}
    return jsonify(body), status


@bp.post("/csp-report")
@policy.public
@csrf.exempt
@limiter.limit("60 per minute")
def csp_report():
    """The browser reports what the Content-Security-Policy blocked; it is logged for the IT person."""
    if (request.content_length or 0) > 16 * 1024:
        abort(413)
    security.log.warning("CSP violation: %s", security.violation_summary(request.get_data()))
    return "", 204
