"""Chinese by default, English on request, per user; every string in the catalog translated."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from careboard.models import User

ROOT = Path(__file__).resolve().parents[1]


def test_anonymous_switch_changes_the_login_page(client):
    assert "登录 CareBoard" in client.get("/login").get_data(as_text=True)
    response = client.post("/language", data={"language": "en", "next": "/login"})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert "Log in to CareBoard" in html and 'lang="en"' in html


def test_users_choice_is_stored_and_follows_them(client, auth, people, session):
    auth.login("sales1")
    assert "我的账号" in client.get("/account").get_data(as_text=True)
    client.post("/language", data={"language": "en"})
    assert "My account" in client.get("/account").get_data(as_text=True)
    session.expire_all()
    assert session.get(User, people["sales1"].id).language == "en"
    # Logging in elsewhere brings the choice along.
    other = client.application.test_client()
    other.post("/login", data={"username": "sales1", "password": "test-password-1"})
    assert "My account" in other.get("/account").get_data(as_text=True)


def test_unknown_language_is_ignored(client, auth, people, session):
    auth.login("sales1")
    client.post("/language", data={"language": "fr"})
    session.expire_all()
    assert session.get(User, people["sales1"].id).language == "zh_CN"


def test_language_switch_refuses_an_outside_next(client):
    response = client.post("/language", data={"language": "en", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_every_message_of_the_code_is_translated_to_chinese(tmp_path):
    """Extract the strings as `make i18n-extract` does (message contexts included: one English word with
    two meanings is two messages); each must have a Chinese translation."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "_lp:1c,2", "-o", str(pot), "--no-location", "."], cwd=ROOT, check=True)

    def key(m):
        return m.context, m.id if isinstance(m.id, str) else m.id[0]

    with pot.open("rb") as fh:
        wanted = {key(m) for m in read_po(fh) if m.id}
    assert (None, "Log in to CareBoard") in wanted           # the extraction did see the templates
    assert {("button", "Open"), ("state", "Open"), ("state", "Done")} <= wanted    # and the contexts
    po_path = ROOT / "careboard/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    translated = {key(m) for m in catalog
                  if m.id and "fuzzy" not in m.flags
                  and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    assert sorted(wanted - translated, key=str) == []


def test_the_boards_card_labels_follow_each_readers_language(client, auth, people, session):
    """The cards' repeated labels are translated once per process and language (views.card_text): one reader's
    language never shows up on another's board."""
    from tests.conftest import PASSWORD
    from tests.factories import make_card
    for name in ("sales1", "sales2"):
        make_card(session, assignee=people[name], role="sales_care", title="Urgent one", priority=1)
    session.commit()
    english = client.application.test_client()
    for reader, name, language in ((client, "sales1", "zh_CN"), (english, "sales2", "en")):
        reader.post("/login", data={"username": name, "password": PASSWORD})
        reader.post("/language", data={"language": language})
    for _ in range(2):                                   # alternating, after each has filled its own entry
        chinese_page = client.get("/board/mine").get_data(as_text=True)
        english_page = english.get("/board/mine").get_data(as_text=True)
        assert "‼ 高" in chinese_page and "‼ High" not in chinese_page
        assert "‼ High" in english_page and "‼ 高" not in english_page
