"""Compression by the app itself (Flask-Compress, config.py): the board decodes to the same HTML, the polls stay
bodyless 304s and are still answered before the board is built, small fragments and downloads go as they are,
the static files are compressed. The tests run with compression on, as production does; the test client sends
no Accept-Encoding unless a test asks, so every other test reads plain bodies."""
from __future__ import annotations

import gzip
import io
import secrets
from datetime import UTC, datetime

import brotli
import pytest
import time_machine
from openpyxl import load_workbook

from careboard import create_app
from careboard.config import ProductionConfig
from tests.factories import make_card

HX_BOARD = {"HX-Request": "true", "HX-Target": "board"}
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.fixture
def cards(session, people):
    """Enough cards that the board is well over the minimum size."""
    for n in range(30):
        make_card(session, assignee=people["sales1" if n % 2 else "sales2"], title=f"王先生 交车回访 {n}")
    session.commit()


@pytest.mark.parametrize("encoding", ["gzip", "br"])
@pytest.mark.parametrize("headers", [{}, HX_BOARD], ids=["page", "fragment"])
def test_the_compressed_board_decodes_to_the_same_html(client, auth, cards, encoding, headers):
    auth.login("supervisor")
    with time_machine.travel(datetime.now(UTC), tick=False):          # the forms' CSRF tokens carry the second
        plain = client.get("/board/", headers=headers)
        packed = client.get("/board/", headers={**headers, "Accept-Encoding": encoding})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert {"Accept-Encoding", "HX-Request"} <= {v.strip() for v in packed.headers["Vary"].split(",")}
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
    assert DECODE[encoding](packed.data) == plain.data


def test_brotli_is_preferred_when_the_browser_takes_both(client, auth, cards):
    auth.login("supervisor")
    response = client.get("/board/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"
    assert "王先生 交车回访 7" in brotli.decompress(response.data).decode()


@pytest.mark.parametrize("url", ["/board/", "/board/mine"])
def test_a_compressed_poll_is_a_bodyless_304_answered_before_the_board_is_built(client, auth, cards, statements,
                                                                                 url):
    """The ETag is the same whatever the encoding (weak: the HTML it stands for is the same), so a poll that
    saw a compressed answer is matched by the view's own check, a few queries, not by rendering the board and
    comparing afterwards."""
    auth.login("sales1")
    plain = client.get(url, headers=HX_BOARD)
    packed = client.get(url, headers={**HX_BOARD, "Accept-Encoding": "gzip, br"})
    assert packed.headers["ETag"] == plain.headers["ETag"]
    statements["n"] = 0
    client.get(url, headers={**HX_BOARD, "If-None-Match": plain.headers["ETag"]})
    uncompressed_poll = statements["n"]
    for accept in ("", "gzip, br", "br"):
        statements["n"] = 0
        again = client.get(url, headers={**HX_BOARD, "If-None-Match": packed.headers["ETag"],
                                         "Accept-Encoding": accept})
        assert again.status_code == 304 and again.data == b"" and "Content-Encoding" not in again.headers, accept
        assert statements["n"] == uncompressed_poll, accept


def test_a_small_fragment_is_sent_as_it_is(client, auth, people, session):
    """A drag's toast is a few hundred bytes: compressing it would cost more than it saves."""
    card = make_card(session, assignee=people["sales1"], title="王先生 交车回访")
    session.commit()
    auth.login("sales1")
    toast = client.post("/board/drop", data={"card": card.id, "column": "doing", "position": 0,
                                             "version": card.version},
                        headers={"HX-Request": "true", "HX-Target": "toasts", "Accept-Encoding": "gzip, br"})
    assert toast.status_code == 200 and "toast-success" in toast.get_data(as_text=True)
    assert len(toast.data) < client.application.config["COMPRESS_MIN_SIZE"]
    assert "Content-Encoding" not in toast.headers


def test_a_workbook_download_is_not_compressed_again(client, auth, people):
    auth.login("supervisor")
    response = client.get("/scorecard/months/2026-10/export.xlsx", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert load_workbook(io.BytesIO(response.data)).worksheets            # the file itself, a zip as sent


@pytest.mark.parametrize("encoding", ["gzip", "br"])
@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/vendor/htmx.min.js"])
def test_static_files_are_compressed_when_the_app_serves_them(client, encoding, path):
    """`make run` serves /static/ itself (in production nginx does, with its own gzip)."""
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding and "Accept-Encoding" in packed.headers["Vary"]
    assert DECODE[encoding](packed.data) == plain.data
    # and revalidated like any other: the browser's copy is still good
    again = client.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_compression_is_turned_off_by_the_environment(client, app_config, people, session, monkeypatch):
    """CAREBOARD_COMPRESS=0 (COMPRESS_REGISTER): for a proxy in front that is to do it all."""
    session.commit()
    assert client.get("/login", headers={"Accept-Encoding": "gzip, br"}).headers["Content-Encoding"] == "br"
    for name, value in {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": app_config.SQLALCHEMY_DATABASE_URI,
                        "CAREBOARD_AUTO_TICK_SECONDS": "0", "CAREBOARD_COMPRESS": "0"}.items():
        monkeypatch.setenv(name, value)
    response = create_app(ProductionConfig).test_client().get("/login", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert "<form" in response.get_data(as_text=True)
