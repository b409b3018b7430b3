"""Security headers on every response, the CSP report endpoint, cookies in production, and templates that
need no inline script or style (so the strict Content-Security-Policy never blocks the app itself)."""
from __future__ import annotations

import json
import logging
import re
import secrets
from pathlib import Path

import pytest

from careboard import create_app
from careboard.config import ProductionConfig
from careboard.security import CSP
from tests.factories import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[1] / "careboard" / "templates"


def _assert_hardened(response):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_kind_of_response_carries_the_headers(client, auth, people):
    _assert_hardened(client.get("/login"))
    _assert_hardened(client.get("/healthz"))
    _assert_hardened(client.get("/static/css/app.css"))
    _assert_hardened(client.get("/no-such-page"))
    auth.login("supervisor")
    board = client.get("/board/")
    assert board.status_code == 200
    _assert_hardened(board)
    _assert_hardened(client.get("/admin/users"))            # 403 for a supervisor: still hardened


def test_pages_are_not_kept_by_the_browser_but_static_files_are(client, auth, people):
    auth.login("sales1")
    assert client.get("/checklist/").headers["Cache-Control"] == "no-store"
    # The board answers its polls with 304 by ETag: the browser may keep it but must always ask first.
    assert "no-cache" in client.get("/board/mine").headers["Cache-Control"]
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_strict_transport_security_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://careboard.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_csp_report_is_logged_without_a_csrf_token(app_config, caplog):
    app = create_app(type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True}))
    client = app.test_client()
    report = {"csp-report": {"document-uri": "https://x/board/", "violated-directive": "script-src-elem",
                             "blocked-uri": "inline", "line-number": 7}}
    with caplog.at_level(logging.WARNING, logger="careboard.csp"):
        response = client.post("/csp-report", data=json.dumps(report), content_type="application/csp-report")
        junk = client.post("/csp-report", data=b"\xff not json", content_type="application/csp-report")
    assert response.status_code == 204 and junk.status_code == 204
    messages = [r.getMessage() for r in caplog.records]
    assert any("violated-directive=script-src-elem" in m and "blocked-uri=inline" in m for m in messages)
    assert any("unreadable report" in m for m in messages)
    # Any other write without the token is still refused.
    assert client.post("/language", data={"language": "en"}).status_code == 400


def test_an_oversized_csp_report_is_refused(client):
    response = client.post("/csp-report", data=b"x" * 20_000, content_type="application/csp-report")
    assert response.status_code == 413


def test_production_cookies_are_secure_httponly_and_samesite(app_config, monkeypatch, people, session):
    session.commit()
    monkeypatch.setenv("DATABASE_URL", app_config.SQLALCHEMY_DATABASE_URI)
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    app = create_app(type("Production", (ProductionConfig,), {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}))
    client = app.test_client()
    page = client.get("/login", base_url="https://careboard.example")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)) \
        or re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    # Over HTTPS Flask-WTF also checks that the Referer is the app itself.
    response = client.post("/login", base_url="https://careboard.example",
                           headers={"Referer": "https://careboard.example/login"},
                           data={"username": "sales1", "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("careboard_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
JS_URL = re.compile(r"javascript:", re.I)
HX_ON = re.compile(r"\shx-on[:-]", re.I)


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_need_nothing_the_policy_forbids(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for pattern, what in ((INLINE_SCRIPT, "inline <script>"), (EVENT_HANDLER, "on…= handler"),
                          (STYLE_ATTRIBUTE, "style= attribute"), (STYLE_ELEMENT, "<style> element"),
                          (JS_URL, "javascript: URL"), (HX_ON, "hx-on (evaluated script)")):
        match = pattern.search(text)
        assert match is None, f"{template}: {what} at {text[max(0, match.start() - 40):match.end() + 40]!r}"


def test_htmx_is_configured_to_need_no_eval_and_no_injected_styles():
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']+)\'', base).group(1))
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    assert "report-uri /csp-report" in CSP
