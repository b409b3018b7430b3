"""Log-in sessions on the server (careboard/auth_session.py): a copied cookie dies with the session it was
copied from; a password change, a reset and a deactivation end every session of the account. And a failed
log-in costs the same whether the name exists or not (one password hash check, same method)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from careboard.dbtypes import utcnow
from careboard.models import LoginSession
from careboard.services import accounts
from tests.conftest import AuthActions
from tests.factories import PASSWORD

COOKIE = "careboard_session"


def browser(app, username: str | None = None):
    """Another browser (its own cookie jar), logged in as `username` if given."""
    client = app.test_client()
    if username:
        assert AuthActions(client).login(username).status_code == 303
    return client


def copy_of(app, client):
    """What a thief gets by copying the session cookie out of `client`."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def signed_in(client) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200 or not response.headers["Location"].startswith("/login")


def rows(session, user=None) -> int:
    session.expire_all()
    query = select(func.count(LoginSession.id))
    return session.scalar(query if user is None else query.where(LoginSession.user_id == user.id))


# ---------------------------------------------------------------- revocation


def test_logout_ends_the_session_on_the_server(app, client, auth, people, session):
    auth.login("sales1")
    thief = copy_of(app, client)
    assert signed_in(thief)                           # the copy works while the session lives
    assert auth.logout().status_code == 303
    response = thief.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert rows(session, people["sales1"]) == 0


def test_a_password_change_ends_the_other_browsers_and_keeps_this_one(app, client, auth, people, session):
    auth.login("sales1")
    thief = copy_of(app, client)
    tablet = browser(app, "sales1")
    colleague = browser(app, "sales2")
    assert rows(session, people["sales1"]) == 2
    changed = client.post("/account", data={"current": PASSWORD, "new": "brand-new-pw", "confirm": "brand-new-pw"})
    assert changed.status_code == 303
    assert signed_in(client)                          # the browser that changed it stays in (a fresh session)
    assert not signed_in(thief) and not signed_in(tablet)
    assert signed_in(colleague)                       # another account is not touched
    assert rows(session, people["sales1"]) == 1


def test_a_wrong_current_password_ends_nothing(app, client, auth, people, session):
    auth.login("sales1")
    tablet = browser(app, "sales1")
    refused = client.post("/account", data={"current": "wrong", "new": "brand-new-pw", "confirm": "brand-new-pw"})
    assert refused.status_code == 422
    assert signed_in(client) and signed_in(tablet) and rows(session, people["sales1"]) == 2


def test_an_administrators_reset_ends_every_session_of_the_account(app, client, auth, people, session):
    victim = browser(app, "sales1")
    thief = copy_of(app, victim)
    auth.login("admin")
    reset = client.post(f"/admin/users/{people['sales1'].id}/password", data={"password": "reset-by-admin"})
    assert reset.status_code == 303
    assert not signed_in(victim) and not signed_in(thief)
    assert signed_in(client)
    assert AuthActions(browser(app)).login("sales1", "reset-by-admin").status_code == 303


def test_an_administrator_resetting_their_own_password_stays_signed_in(app, client, auth, people, session):
    auth.login("admin")
    other = browser(app, "admin")
    assert client.post(f"/admin/users/{people['admin'].id}/password",
                       data={"password": "reset-by-admin"}).status_code == 303
    assert signed_in(client) and not signed_in(other)


def test_a_deactivation_ends_every_session_and_reactivating_does_not_revive_them(app, client, auth, people,
                                                                                 session):
    victim = browser(app, "sales1")
    thief = copy_of(app, victim)
    auth.login("admin")
    url = f"/admin/users/{people['sales1'].id}/active"
    assert client.post(url, data={"active": "0"}).status_code == 303
    assert not signed_in(victim) and not signed_in(thief)
    assert rows(session, people["sales1"]) == 0
    assert client.post(url, data={"active": "1"}).status_code == 303
    assert not signed_in(victim) and not signed_in(thief)       # a new log-in is needed
    assert signed_in(browser(app, "sales1"))


def test_the_idle_logout_ends_the_session_on_the_server(app, client, auth, people, session):
    with time_machine.travel("2026-11-25 09:00 +0800", tick=False) as traveller:
        auth.login("sales1")
        assert signed_in(client)
        thief = copy_of(app, client)
        traveller.shift(timedelta(minutes=app.config["IDLE_LOGOUT_MINUTES"] + 1))
        assert not signed_in(client)
        assert rows(session, people["sales1"]) == 0
        traveller.shift(timedelta(minutes=-app.config["IDLE_LOGOUT_MINUTES"]))   # even with a younger copy
        assert not signed_in(thief)


def test_no_remember_me_cookie_is_issued_and_a_forged_one_opens_nothing(app, client, people):
    from flask_login.utils import encode_cookie
    response = AuthActions(client).login("sales1")
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))
    stranger = app.test_client()
    with app.test_request_context():
        stranger.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
                            encode_cookie(str(people["sales1"].id)))
    assert not signed_in(stranger)


def test_a_session_without_its_token_or_with_a_made_up_one_opens_nothing(app, client, auth, people):
    auth.login("sales1")
    with client.session_transaction() as cookie:
        assert cookie["login_token"] and cookie["_user_id"] == str(people["sales1"].id)
        cookie["login_token"] = "made-up"
    assert not signed_in(client)
    auth.login("sales1")
    with client.session_transaction() as cookie:
        del cookie["login_token"]
    assert not signed_in(client)


def test_the_database_keeps_only_the_tokens_hash(client, auth, people, session):
    auth.login("sales1")
    with client.session_transaction() as cookie:
        token = cookie["login_token"]
    stored = session.scalar(select(LoginSession.token_hash))
    assert len(token) >= 40 and token not in stored and stored == accounts.token_hash(token)


def test_old_sessions_expire_and_are_deleted_when_someone_logs_in(app, people, session):
    lifetime = app.permanent_session_lifetime
    with time_machine.travel("2026-11-25 08:00 +0800", tick=False):
        browser(app, "sales1")
        with app.test_client() as early:
            AuthActions(early).login("sales2")
            with early.session_transaction() as cookie:
                token = cookie["login_token"]
    user_id = people["sales2"].id
    assert accounts.session_user(session, user_id, token, not_before=utcnow() - lifetime) is None   # too old
    with time_machine.travel("2026-11-25 08:00 +0800", tick=False):
        assert accounts.session_user(session, user_id, token,
                                     not_before=utcnow() - lifetime).username == "sales2"
    assert rows(session) == 2
    with time_machine.travel(datetime(2026, 11, 25, 0, 0, tzinfo=UTC) + lifetime + timedelta(minutes=1), tick=False):
        browser(app, "director")
    assert rows(session) == 1                         # only the new one is left


# ---------------------------------------------------------------- the cost of a failed log-in


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash check the app makes: the method of the hash checked."""
    import werkzeug.security

    from careboard.models import users
    checked: list[str] = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", counting)
    monkeypatch.setattr(users, "check_password_hash", counting)        # User.check_password's name for it
    return checked


@pytest.mark.parametrize("username,password", [
    ("sales1", "wrong-password"),                     # an existing name, the wrong password
    ("nobody", PASSWORD),                             # an unknown name
    ("gone", PASSWORD),                               # a deactivated account, its right password
], ids=["wrong-password", "unknown-name", "deactivated"])
def test_every_failed_login_checks_exactly_one_hash_of_the_configured_method(app, client, people, session,
                                                                           hash_checks, username, password):
    from tests.factories import make_user
    make_user(session, "gone", active=False)
    session.commit()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 401
    assert hash_checks == [app.config["PASSWORD_HASH_METHOD"]]


def test_a_successful_login_checks_one_hash_too(app, client, people, hash_checks):
    assert client.post("/login", data={"username": "sales1", "password": PASSWORD}).status_code == 303
    assert hash_checks == [app.config["PASSWORD_HASH_METHOD"]]


def test_the_dummy_hash_is_made_once(app, client, people, monkeypatch):
    import werkzeug.security
    made: list[str] = []
    real = werkzeug.security.generate_password_hash

    def counting(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
        made.append(method)
        return real(password, method, salt_length)

    monkeypatch.setattr(werkzeug.security, "generate_password_hash", counting)
    accounts.dummy_hash.cache_clear()
    for name in ("nobody", "nobody-else", "nobody"):
        assert client.post("/login", data={"username": name, "password": "x"}).status_code == 401
    assert made == [app.config["PASSWORD_HASH_METHOD"]]
