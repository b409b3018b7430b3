"""The anonymous /csp-report: one escaped log line per report, a size limit and a rate limit per address."""
from __future__ import annotations

import io
import json
import logging

import pytest

from careboard.security import REPORT_MAX_BYTES, escape_for_log


def post_report(client, fields: dict, **kwargs):
    return client.post("/csp-report", data=json.dumps({"csp-report": fields}),
                       content_type="application/csp-report", **kwargs)


def test_control_characters_cannot_forge_a_log_line(client, caplog):
    fake = "x\n2026-12-01 09:00:00 WARNING careboard.auth admin logged in from 10.0.0.1\r\x1b[2J\u2028end"
    with caplog.at_level(logging.WARNING, logger="careboard.csp"):
        response = post_report(client, {"violated-directive": "script-src", "blocked-uri": fake,
                                        "document-uri": "https://x/\r\nforged", "line-number": 7})
    assert response.status_code == 204
    [record] = [r for r in caplog.records if r.name == "careboard.csp"]
    line = record.getMessage()
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
    assert len(line.splitlines()) == 1
    assert "blocked-uri=x\\n2026-12-01 09:00:00 WARNING" in line and "\\r\\x1b[2J\\u2028end" in line
    assert "document-uri=https://x/\\r\\nforged" in line and "violated-directive=script-src" in line


@pytest.mark.parametrize("value,escaped", [
    ("a\nb", "a\\nb"), ("a\rb", "a\\rb"), ("tab\there", "tab\\there"), ("back\\slash", "back\\\\slash"),
    ("\x00\x7f\x85", "\\x00\\x7f\\x85"), ("\u2028\u2029\u202e", "\\u2028\\u2029\\u202e"),
    ("https://门店.example/看板", "https://门店.example/看板"), (7, "7"), ({"a": "\n"}, "{'a': '\\\\n'}"),
])
def test_every_field_is_escaped(value, escaped):
    assert escape_for_log(value) == escaped


def test_an_oversized_report_is_refused_and_not_logged(client, caplog):
    big = {"violated-directive": "script-src", "blocked-uri": "y" * REPORT_MAX_BYTES}
    with caplog.at_level(logging.WARNING, logger="careboard.csp"):
        declared = post_report(client, big)
        chunked = client.post("/csp-report", input_stream=io.BytesIO(json.dumps({"csp-report": big}).encode()),
                              content_type="application/csp-report", headers={"Transfer-Encoding": "chunked"},
                              environ_overrides={"wsgi.input_terminated": True})
        fits = post_report(client, {"violated-directive": "script-src", "blocked-uri": "y" * 1000})
    assert declared.status_code == 413 and chunked.status_code == 413
    assert fits.status_code == 204
    assert len([r for r in caplog.records if r.name == "careboard.csp"]) == 1


def test_reports_are_rate_limited_per_address(app, client):
    limit = int(app.config["CSP_REPORT_RATE_LIMIT"].split()[0])
    report = {"violated-directive": "img-src", "blocked-uri": "https://tracker.example/p.gif"}
    for _ in range(limit):
        assert post_report(client, report).status_code == 204
    assert post_report(client, report).status_code == 429
    other = post_report(client, report, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 204                   # another tablet is not affected
