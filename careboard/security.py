"""Response headers that make the browser enforce what the app already promises.

The pages load scripts and styles only from /static (no inline script, no inline style, htmx with
`allowEval: false`), so the Content-Security-Policy can forbid everything else. A violation is
reported by the browser to /csp-report and logged, so a regression shows up in the log (and fails the
browser tests, which read that log).
"""
from __future__ import annotations

import json
import logging

from flask import Flask, Response, request

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "report-uri /csp-report",
))

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",                     # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"                           # sent only over HTTPS (behind the proxy: X-Forwarded-Proto)

log = logging.getLogger("careboard.csp")


def init_app(app: Flask) -> None:
    app.after_request(add_headers)


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # Pages hold customers' data and tablets are shared: after logging out, Back must not show them.
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def violation_summary(body: bytes) -> str:
    """One log line from a browser's CSP report (report-uri format); never fails on junk."""
    try:
        report = json.loads(body or b"{}").get("csp-report", {})
    except (ValueError, AttributeError):
        return "unreadable report"
    if not isinstance(report, dict):
        return "unreadable report"
    fields = ("violated-directive", "blocked-uri", "document-uri", "source-file", "line-number")
    return " ".join(f"{name}={str(report.get(name, '-'))[:200]}" for name in fields)
