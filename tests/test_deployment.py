"""The deployment as the README describes it: gunicorn with gunicorn.conf.py and wsgi.py, production settings,
several workers on the test's database."""
from __future__ import annotations

import gzip
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
NGINX_SITE = ROOT / "deploy" / "nginx.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(database_uri: str, port: int) -> dict:
    return {**os.environ, "CAREBOARD_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": database_uri,
            "CAREBOARD_BIND": f"127.0.0.1:{port}", "CAREBOARD_WORKERS": "2", "CAREBOARD_THREADS": "2",
            "CAREBOARD_PROXY_FIX_X_FOR": "1", "CAREBOARD_ACCESS_LOG": "/dev/null",
            "CAREBOARD_AUTO_TICK_SECONDS": "0"}


@pytest.fixture
def gunicorn(app_config, people, session):
    session.commit()
    port = _free_port()
    server = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                              env=_environment(app_config.SQLALCHEMY_DATABASE_URI, port),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.poll() else ""
        time.sleep(0.2)
    yield port
    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output


def _login(port: int, username: str, password: str, address: str) -> int:
    """A fresh visitor: GET the form (session cookie and CSRF token), then POST it; the response status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"X-Forwarded-For": address}
    connection.request("GET", "/login", headers=headers)
    page = connection.getresponse()
    body = page.read().decode()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    form = f"username={username}&password={password}&csrf_token={token}"
    connection.request("POST", "/login", body=form, headers={
        **headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_the_config_file_and_wsgi_module_load(app_config, people, session):
    session.commit()
    done = subprocess.run([str(GUNICORN), "--check-config", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                          env=_environment(app_config.SQLALCHEMY_DATABASE_URI, _free_port()),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_workers_serve_the_app_and_share_the_login_limit(gunicorn):
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=10)
    connection.request("GET", "/login")
    page = connection.getresponse()
    assert page.status == 200 and "登录" in page.read().decode()
    assert "script-src 'self'" in page.getheader("Content-Security-Policy")
    assert "Secure" in page.getheader("Set-Cookie") and "HttpOnly" in page.getheader("Set-Cookie")
    # Each attempt is a new connection, so the kernel spreads them over both workers; the limit of five
    # failed log-ins per name and address holds for the pair because the count is in the database.
    statuses = [_login(gunicorn, "sales1", "wrong", "10.1.2.3") for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _login(gunicorn, "sales1", PASSWORD, "10.1.2.3") == 429          # still locked for this address
    assert _login(gunicorn, "sales1", PASSWORD, "10.1.2.4") == 303          # another tablet is not


def test_gunicorn_serves_the_pages_compressed(gunicorn):
    """Compressed by the app itself (Flask-Compress), so `make run` and a gunicorn without nginx save it too."""
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=10)
    connection.request("GET", "/login", headers={"Accept-Encoding": "gzip"})
    page = connection.getresponse()
    body = page.read()
    assert page.status == 200 and page.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in page.getheader("Vary") and int(page.getheader("Content-Length")) == len(body)
    assert "登录" in gzip.decompress(body).decode()


def nginx_directives() -> dict[str, str]:
    """The nginx site's directives as name -> value (the last of each name), comments left out."""
    text = "\n".join(line.split("#", 1)[0] for line in NGINX_SITE.read_text().splitlines())
    return {name: value.strip() for name, value in re.findall(r"^\s*([a-z_]+)\s+([^;{}]*);", text, re.M)}


def test_nginx_compresses_like_the_app(app):
    """nginx gzips /static/ and whatever the app left plain, by the app's rules: the same minimum size (a small
    fragment goes as it is), the same types (text/html is nginx's always), Vary for caches."""
    site = nginx_directives()
    assert (site["gzip"], site["gzip_vary"], site["gzip_proxied"]) == ("on", "on", "any")
    assert int(site["gzip_min_length"]) == app.config["COMPRESS_MIN_SIZE"]
    assert set(site["gzip_types"].split()) == set(app.config["COMPRESS_MIMETYPES"]) - {"text/html"}
