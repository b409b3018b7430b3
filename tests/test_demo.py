"""`flask --app careboard demo`: idempotent, careful with real data, every account logs in."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from careboard import create_app
from careboard.extensions import db
from careboard.models import Level, Role, User
from careboard.services.demo import DEMO_PASSWORD, DEMO_USERS
from tests.conftest import FreshContextClient, config_for


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["demo", *args])


@pytest.fixture(scope="module")
def demo(module_database_uri, tmp_path_factory):
    """An app whose database the demo filled once (the load takes seconds), shared by this module's tests,
    which only read it; a log-in writes its own session rows, which no test here counts. `demo.output` is
    what the load printed. A test that changes the data takes the per-test `app` instead."""
    app = create_app(config_for(module_database_uri))
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    app.test_client_class = FreshContextClient
    loaded = _run(app)
    assert loaded.exit_code == 0, loaded.output
    yield SimpleNamespace(app=app, output=loaded.output)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_session(demo):
    with demo.app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def demo_client(demo):
    return demo.app.test_client()


def test_demo_creates_one_account_per_role_and_is_idempotent(demo, demo_session):
    roles = set(demo_session.scalars(select(User.role)).all())
    assert roles == {r.value for r in Role}
    count = demo_session.scalar(select(func.count()).select_from(User))
    second = _run(demo.app)
    assert second.exit_code == 0 and "nothing to do" in second.output
    assert demo_session.scalar(select(func.count()).select_from(User)) == count


def test_demo_leaves_a_database_with_real_accounts_alone_and_succeeds(app, session):
    """`make run` goes on serving a real store's database: the demo adds nothing, says so, exits 0."""
    from careboard.models import Card, Customer, Setting
    from tests.factories import make_user
    make_user(session, "realperson")
    session.commit()
    refused = _run(app, "--address", "http://127.0.0.1:5000/")
    assert refused.exit_code == 0, refused.output
    assert "Demo data not added" in refused.output and "realperson" in refused.output
    assert refused.output.rstrip().endswith("CareBoard: http://127.0.0.1:5000/")
    assert "careboard-demo" not in refused.output                # no demo accounts to offer
    assert session.scalar(select(func.count()).select_from(User)) == 1
    for model in (Card, Customer, Setting):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model
    forced = _run(app, "--force")
    assert forced.exit_code == 0
    assert session.scalar(select(func.count()).select_from(User)) == 1 + len(DEMO_USERS)


def test_demo_ends_with_the_accounts_and_the_address(demo):
    tail = demo.output.rstrip().splitlines()[-len(DEMO_USERS) - 1:]
    assert tail[0] == "Demo accounts, password careboard-demo:"
    assert [line.split()[0] for line in tail[1:]] == [username for username, *_ in DEMO_USERS]
    again = _run(demo.app, "--address", "http://0.0.0.0:8000/")
    assert again.exit_code == 0
    assert again.output.rstrip().splitlines()[-1].startswith("CareBoard: http://127.0.0.1:8000/ on this computer")


def test_the_demo_administrator_has_no_care_role_and_works_no_lane(demo, demo_session, demo_client):
    admin = demo_session.scalar(select(User).where(User.username == "admin"))
    assert admin.role == Role.NONE.value and admin.level == Level.ADMIN
    from careboard.models import Card
    assert demo_session.scalar(select(func.count()).select_from(Card).where(Card.assignee_id == admin.id)) == 0
    assert demo_client.post("/login", data={"username": "director", "password": DEMO_PASSWORD}).status_code == 303
    board = demo_client.get("/board/?lanes=person").get_data(as_text=True)
    assert f'data-assignee="{admin.id}"' not in board and "系统管理员" not in board
    assert 'data-assignee="' in board                              # the lanes of the people who work cards
    review = demo_client.get("/review/").get_data(as_text=True)
    assert 'data-person="supervisor"' in review and 'data-person="admin"' not in review
    scorecard = demo_client.get("/scorecard/").get_data(as_text=True)
    assert "系统管理员" not in scorecard


def test_readme_lists_every_demo_account():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for username, *_ in DEMO_USERS:
        assert re.search(rf"`{re.escape(username)}`", readme), username


@pytest.mark.parametrize("username,nav_shown,nav_hidden", [
    ("sales1", [], ["账号管理", "设置"]),
    ("supervisor", [], ["账号管理"]),
    ("director", [], ["账号管理"]),
    ("admin", ["账号管理", "设置"], []),
])
def test_each_demo_account_logs_in_and_sees_its_navigation(demo_client, username, nav_shown, nav_hidden):
    client = demo_client
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
    html = client.get("/account").get_data(as_text=True)
    nav = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    for label in nav_shown:
        assert label in nav
    for label in nav_hidden:
        assert label not in nav


def test_all_demo_accounts_log_in(demo_client):
    client = demo_client
    for username, _name, _role, _level in DEMO_USERS:
        response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 303, username
        client.post("/logout")
    assert any(level == Level.ADMIN for *_, level in DEMO_USERS)


def test_demo_customers_give_tick_a_realistic_day(demo, demo_session):
    from careboard.models import Card, Customer, Sale, ServiceVisit
    session = demo_session
    assert "300 demo customers" in demo.output
    assert session.scalar(select(func.count(Customer.id))) == 300
    assert session.scalar(select(func.count(Sale.id))) > 150
    assert session.scalar(select(func.count(ServiceVisit.id))) > 100
    made = set(session.scalars(select(Card.source).where(Card.customer_id.is_not(None))))
    assert len(made) >= 5 and made & {"sale_3d", "sale_3m", "sale_6m"} and made & {"service_3d", "maintenance"}
    # The rules' cards land on the right roles.
    roles = dict(session.execute(select(Card.source, Card.role).where(Card.customer_id.is_not(None))).all())
    assert all(roles[s] == "sales_care" for s in roles if s.startswith("sale_"))
    assert all(roles[s] == "insurance_renewal" for s in roles if s == "insurance")


def test_demo_complaints_in_various_steps_two_overdue(demo_session):
    from careboard.dbtypes import utcnow
    from careboard.models import Complaint
    from careboard.services import complaints, settings
    session = demo_session
    rows = session.scalars(select(Complaint)).all()
    assert len(rows) == 12
    assert len({c.status for c in rows}) >= 4
    s = settings.load(session)
    assert sum(1 for c in rows if complaints.is_overdue(c, utcnow(), s)) == 2
