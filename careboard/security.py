"""Response headers that make the browser enforce what the app already promises.

The pages load scripts and styles only from /static (no inline script, no inline style, htmx with
`allowEval: false`), so the Content-Security-Policy can forbid everything else. A violation is
reported by the browser to /csp-report and logged, so a regression shows up in the log (and fails the
browser tests, which read that log).
"""
from __future__ import annotations

import json
import logging
import unicodedata

from flask import Flask, Response, abort, request

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


REPORT_MAX_BYTES = 8 * 1024                         # a browser's report is well under 1 KB; more is refused
REPORT_FIELDS = ("violated-directive", "blocked-uri", "document-uri", "source-file", "line-number")
FIELD_MAX_CHARS = 200
_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_for_log(value: object) -> str:
    """The value on one line: backslashes, control characters and line or paragraph separators escaped as
    Python writes them (\\n, \\r, \\x1b, \\u2028), so what the anonymous sender wrote can never start a log
    line of its own. Printable text (Chinese included) stays readable."""
    out = []
    for char in str(value)[:FIELD_MAX_CHARS]:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def violation_summary(body: bytes) -> str:
    """One log line from a browser's CSP report (report-uri format); never fails on junk, every field is
    shortened and escaped (escape_for_log)."""
    try:
        report = json.loads(body or b"{}").get("csp-report", {})
    except (ValueError, AttributeError):
        return "unreadable report"
    if not isinstance(report, dict):
        return "unreadable report"
    return " ".join(f"{name}={escape_for_log(report.get(name, '-'))}" for name in REPORT_FIELDS)


def read_report() -> bytes:
    """The report's body, at most REPORT_MAX_BYTES; a bigger one (declared or sent) is refused with 413 before
    anything is logged."""
    if (request.content_length or 0) > REPORT_MAX_BYTES:
        abort(413)
    body = request.stream.read(REPORT_MAX_BYTES + 1)
    if len(body) > REPORT_MAX_BYTES:
        abort(413)
    return body
