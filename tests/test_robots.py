"""Chat robots (issue 19): enterprise WeChat group robots and DingTalk custom robots, against a local HTTP
server that answers as the two documented APIs do (success, an error code, "too many requests", no answer).
The exact JSON sent, DingTalk's signature, retries with backoff, the morning digest once a day however often
the tick runs, escalations with a masked phone, secrets stored encrypted and never shown back, and who may
set robots up."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from careboard.models import MessageStatus, Robot, RobotMessage, Role, Setting, Topic
from careboard.runner import send_robot_messages
from careboard.services import complaints, robots, settings
from careboard.services import tick as tick_service
from careboard.services.errors import FieldError, Forbidden
from tests.factories import make_customer, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "SEC0123456789abcdef0123456789abcdef"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


class RobotServer:
    """A local stand-in for qyapi.weixin.qq.com and oapi.dingtalk.com: records each request and answers with
    the next of `answers` ({"errcode": 0} by default); "hang" keeps the client waiting past its timeout."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):                                        # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = urllib.parse.urlsplit(self.path)
                server.requests.append({"path": parts.path, "query": urllib.parse.parse_qs(parts.query),
                                        "json": json.loads(body.decode()),
                                        "content_type": self.headers["Content-Type"]})
                answer = server.answers.pop(0) if server.answers else (200, {"errcode": 0, "errmsg": "ok"})
                if answer == "hang":
                    server.release.wait(10)
                    return
                status, payload = answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="robot-server")
        self.thread.start()

    def url(self, kind: str) -> str:
        if kind == "wecom":
            return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
        return f"http://127.0.0.1:{self.port}/robot/send?access_token=6f5b2c0a9d8e7f1a3b4c5d6e7f8a9b0c1d2e3f4a"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def app_config(app_config):
    class Config(app_config):
        CAREBOARD_ROBOT_HOSTS = "127.0.0.1"
        CAREBOARD_ROBOT_TIMEOUT_SECONDS = 0.5
        CAREBOARD_BASE_URL = "https://careboard.example.cn"
    return Config


@pytest.fixture
def server():
    robot_server = RobotServer()
    yield robot_server
    robot_server.close()


def add(session, people, server, kind="wecom", **kw) -> Robot:
    values = robots.RobotValues(name=kw.pop("name", f"{kind} 群"), kind=kind, webhook=server.url(kind),
                                secret=kw.pop("secret", SECRET if kind == "dingtalk" else None),
                                role=kw.pop("role", None), **kw)
    robot = robots.save_robot(session, actor=people["admin"], values=values)
    session.commit()
    return robot


def deliver_all(session, now) -> list[RobotMessage]:
    sent = []
    while (message := robots.deliver_one(session, now=now)) is not None:
        session.commit()
        sent.append(message)
    return sent


def test_a_wecom_robot_gets_exactly_the_documented_json(session, people, server):
    robot = add(session, people, server)
    now = local(2026, 12, 8, 10, 0)
    robots.enqueue(session, topic=Topic.TEST, text="测试消息", now=now, robots=[robot])
    session.commit()
    [message] = deliver_all(session, now)
    assert message.status is MessageStatus.SENT and message.sent_at == now
    [request] = server.requests
    assert request["path"] == "/cgi-bin/webhook/send"
    assert request["query"] == {"key": ["693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"]}
    assert request["json"] == {"msgtype": "text", "text": {"content": "测试消息"}}
    assert request["content_type"].startswith("application/json")
    session.refresh(robot)
    assert robot.last_sent_at == now and robot.last_error is None


def test_a_dingtalk_robot_signs_each_message_with_its_secret(session, people, server):
    robot = add(session, people, server, kind="dingtalk")
    now = local(2026, 12, 8, 10, 0)
    robots.enqueue(session, topic=Topic.TEST, text="钉钉测试", now=now, robots=[robot])
    session.commit()
    deliver_all(session, now)
    [request] = server.requests
    query = request["query"]
    timestamp = query["timestamp"][0]
    assert timestamp == str(int(now.timestamp() * 1000))
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]                           # parse_qs undid the URL encoding
    assert query["access_token"] == ["6f5b2c0a9d8e7f1a3b4c5d6e7f8a9b0c1d2e3f4a"]
    assert request["json"] == {"msgtype": "text", "text": {"content": "钉钉测试"}}


def test_an_error_code_is_retried_with_growing_pauses_then_given_up(session, people, server):
    robot = add(session, people, server, kind="dingtalk")
    server.answers = [(200, {"errcode": 310000, "errmsg": "sign not match"})] * robots.MAX_ATTEMPTS
    now = local(2026, 12, 8, 10, 0)
    [message] = robots.enqueue(session, topic=Topic.TEST, text="x", now=now, robots=[robot])
    session.commit()
    pauses = []
    for attempt in range(1, robots.MAX_ATTEMPTS + 1):
        assert robots.deliver_one(session, now=now) is message
        session.commit()
        assert message.attempts == attempt and "310000" in message.last_error and "sign not match" in robot.last_error
        if attempt < robots.MAX_ATTEMPTS:
            assert message.status is MessageStatus.PENDING
            assert robots.deliver_one(session, now=now) is None                  # not before its pause is over
            pauses.append(message.next_attempt_at - now)
            now = message.next_attempt_at
    assert pauses == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert message.status is MessageStatus.FAILED
    assert len(server.requests) == robots.MAX_ATTEMPTS
    # The admin fixes the robot and retries: the message goes out.
    assert robots.retry_failed(session, robot, actor=people["admin"], now=now) == 1
    session.commit()
    assert [m.status for m in deliver_all(session, now)] == [MessageStatus.SENT]


@pytest.mark.parametrize("kind,answer", [("wecom", (200, {"errcode": 45009, "errmsg": "api freq out of limit"})),
                                         ("dingtalk", (200, {"errcode": 130101, "errmsg": "send too fast"})),
                                         ("wecom", (429, {"errcode": -1, "errmsg": "too many requests"}))])
def test_a_robot_saying_too_many_requests_is_left_alone_for_a_minute(session, people, server, kind, answer):
    robot = add(session, people, server, kind=kind)
    server.answers = [answer]
    now = local(2026, 12, 8, 10, 0)
    robots.enqueue(session, topic=Topic.TEST, text="一", now=now, robots=[robot])
    robots.enqueue(session, topic=Topic.TEST, text="二", now=now, robots=[robot])
    session.commit()
    assert len(deliver_all(session, now)) == 1                     # the first is refused, the second waits
    assert len(server.requests) == 1
    session.refresh(robot)
    assert robot.paused_until == now + timedelta(minutes=1)
    assert session.scalar(select(func.count()).select_from(RobotMessage)
                          .where(RobotMessage.status == MessageStatus.PENDING)) == 2
    assert all(m.attempts == 0 for m in session.scalars(select(RobotMessage)))    # not counted as failures
    later = now + timedelta(minutes=1)
    assert [m.text for m in deliver_all(session, later)] == ["一", "二"]


def test_a_robot_that_does_not_answer_times_out_and_is_retried(session, people, server):
    robot = add(session, people, server)
    server.answers = ["hang"]
    now = local(2026, 12, 8, 10, 0)
    [message] = robots.enqueue(session, topic=Topic.TEST, text="x", now=now, robots=[robot])
    session.commit()
    robots.deliver_one(session, now=now)
    session.commit()
    assert message.status is MessageStatus.PENDING and message.attempts == 1
    assert "0.5" in message.last_error                                # "no answer within 0.5 seconds"
    server.release.set()


def test_the_morning_digest_reaches_the_robot_once_a_day_however_often_the_tick_runs(session, people, server):
    add(session, people, server, send_escalations=False, send_weekly=False)
    for at in (local(2026, 12, 8, 7, 0), local(2026, 12, 8, 8, 29)):                  # before opening: nothing
        tick_service.tick(session, now=at)
        session.commit()
    assert session.scalar(select(func.count()).select_from(RobotMessage)) == 0
    for at in (local(2026, 12, 8, 8, 31), local(2026, 12, 8, 9, 0), local(2026, 12, 8, 12, 0),
               local(2026, 12, 8, 17, 59)):
        tick_service.tick(session, now=at)
        session.commit()
        deliver_all(session, at)
    assert len(server.requests) == 1
    text = server.requests[0]["json"]["text"]["content"]
    assert "今日到期" in text and "逾期" in text and "5S 检查" in text
    assert "https://careboard.example.cn/board/" in text
    tick_service.tick(session, now=local(2026, 12, 9, 8, 40))                          # the next day: again
    session.commit()
    deliver_all(session, local(2026, 12, 9, 8, 40))
    assert len(server.requests) == 2


def test_no_digest_on_a_day_the_store_is_closed(session, people, server):
    add(session, people, server, send_weekly=False)
    settings.save(session, actor=people["admin"], store_closed_days="2026-12-08 盘点")
    session.commit()
    tick_service.tick(session, now=local(2026, 12, 8, 10, 0))
    session.commit()
    assert session.scalar(select(func.count()).select_from(RobotMessage)) == 0


def test_the_digest_counts_the_robots_role(session, people, server):
    from careboard.services import board
    sales = add(session, people, server, role=Role.SALES_CARE.value, name="销售关爱群")
    everyone = add(session, people, server, name="全部门")
    now = local(2026, 12, 8, 10, 0)
    board.create_card(session, actor=people["supervisor"], kind="task", role=Role.SALES_CARE,
                      assignee=people["sales1"], title="今天到期", due_at=local(2026, 12, 8, 17, 0))
    board.create_card(session, actor=people["supervisor"], kind="task", role=Role.SALES_CARE,
                      assignee=people["sales1"], title="昨天到期", due_at=local(2026, 12, 7, 17, 0))
    board.create_card(session, actor=people["supervisor"], kind="task", role=Role.CS_SUPERVISOR,
                      assignee=people["supervisor"], title="主管的", due_at=local(2026, 12, 8, 12, 0))
    session.commit()
    texts = {robot.id: robots.digest_text(session, robot, now=now, s=settings.load(session))
             for robot in (sales, everyone)}
    assert "今日到期 1 · 逾期 1" in texts[sales.id] and texts[sales.id].startswith("销售关爱专员")
    assert "今日到期 2 · 逾期 1" in texts[everyone.id]


def test_an_escalation_goes_to_the_chat_with_a_masked_phone_and_a_link(session, people, server):
    add(session, people, server)
    add(session, people, server, role=Role.SALES_CARE.value, name="销售群")      # not the complaint's role
    add(session, people, server, send_escalations=False, name="不要投诉")
    phone1 = make_user(session, "phone1", role=Role.PHONE_RECEPTION)
    customer = make_customer(session, "王先生", mobile="13812345678")
    session.commit()
    complaint = complaints.log_complaint(session, actor=phone1, channel="phone", category="service",
                                         department="sales", description="交车延误",
                                         received_at=local(2026, 12, 8, 10, 0), customer_id=customer.id,
                                         s=settings.load(session))
    session.commit()
    now = local(2026, 12, 8, 10, 31)
    complaints.escalate(session, now=now, s=settings.load(session))
    session.commit()
    deliver_all(session, now)
    [request] = server.requests
    text = request["json"]["text"]["content"]
    assert f"#{complaint.id}" in text and "138****5678" in text and "13812345678" not in text
    assert f"https://careboard.example.cn/complaints/{complaint.id}" in text
    complaints.escalate(session, now=now + timedelta(minutes=5), s=settings.load(session))   # once per step
    session.commit()
    assert session.scalar(select(func.count()).select_from(RobotMessage)) == 1


def test_the_weekly_report_is_announced_once(session, people, server):
    add(session, people, server, send_digest=False)
    monday = local(2026, 12, 7, 7, 0)                        # before opening: the report is made, no digest
    for _n in range(3):
        tick_service.tick(session, now=monday)
        session.commit()
    messages = session.scalars(select(RobotMessage)).all()
    assert [m.topic for m in messages] == [Topic.WEEKLY]                     # one, for the week before
    assert "2026-W49" in messages[0].text and "https://careboard.example.cn/review/reports" in messages[0].text


def test_secrets_are_stored_encrypted_and_never_shown_back(client, auth, session, people, server):
    robot = add(session, people, server, kind="dingtalk")
    raw = session.execute(select(Robot.webhook_encrypted, Robot.secret_encrypted)).one()
    assert "access_token" not in raw[0] and "6f5b2c0a" not in raw[0] and SECRET not in raw[1]
    assert robots.unseal(raw[0]) == server.url("dingtalk") and robots.unseal(raw[1]) == SECRET
    auth.login("admin")
    for page in (client.get("/admin/robots"), client.get(f"/admin/robots/{robot.id}")):
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "6f5b2c0a9d8e7f1a3b4c5d6e7f8a9b0c1d2e3f4a" not in html and SECRET not in html
        assert "…3f4a" in html                                        # the hint: host and the last 4
    # Saving without a new address or secret keeps both.
    saved = client.post(f"/admin/robots/{robot.id}", data={"name": "改名", "kind": "dingtalk", "webhook": "",
                                                            "secret": "", "role": "", "send_digest": "y",
                                                            "active": "y", "version": robot.version})
    assert saved.status_code == 303
    session.expire_all()
    robot = session.get(Robot, robot.id)
    assert robot.name == "改名" and robots.unseal(robot.secret_encrypted) == SECRET
    assert robot.send_escalations is False and robot.send_digest is True


def test_a_changed_secret_key_is_an_error_on_the_page_not_a_crash(app, session, people, server):
    robot = add(session, people, server)
    robots.enqueue(session, topic=Topic.TEST, text="x", now=local(2026, 12, 8, 10, 0), robots=[robot])
    session.commit()
    app.config["SECRET_KEY"] = "another-key-" + "x" * 40
    robots.deliver_one(session, now=local(2026, 12, 8, 10, 0))
    session.commit()
    assert "SECRET_KEY" in session.get(Robot, robot.id).last_error
    assert server.requests == []


@pytest.mark.parametrize("kind,url", [
    ("wecom", "https://evil.example.com/cgi-bin/webhook/send?key=abc"),            # not the robot's host
    ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),                 # no key
    ("wecom", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),          # not https
    ("dingtalk", "https://oapi.dingtalk.com/robot/send?key=abc"),                  # WeCom's parameter
])
def test_a_webhook_that_is_not_the_robots_is_refused_and_nothing_saved(session, people, kind, url):
    with pytest.raises(FieldError) as refused:
        robots.save_robot(session, actor=people["admin"], values=robots.RobotValues(
            name="群", kind=kind, webhook=url, secret=None, role=None))
    assert refused.value.field == "webhook"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Robot)) == 0


def test_only_an_administrator_sets_robots_up(client, auth, session, people, server):
    robot = add(session, people, server)
    with pytest.raises(Forbidden):
        robots.save_robot(session, actor=people["director"], values=robots.RobotValues(
            name="x", kind="wecom", webhook=server.url("wecom"), secret=None, role=None))
    session.rollback()
    for who in ("sales1", "supervisor", "director"):
        auth.login(who)
        assert client.get("/admin/robots").status_code == 403
        assert client.post("/admin/robots", data={"name": "x", "kind": "wecom",
                                                  "webhook": server.url("wecom")}).status_code == 403
        assert client.post(f"/admin/robots/{robot.id}/delete", data={"version": robot.version}).status_code == 403
        auth.logout()
    assert session.scalar(select(func.count()).select_from(Robot)) == 1


def test_the_settings_page_shows_the_last_error_and_a_test_message_waits_for_the_sender(client, auth, session,
                                                                                          people, server, app):
    robot = add(session, people, server)
    server.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    auth.login("admin")
    assert client.post(f"/admin/robots/{robot.id}/test", data={"version": robot.version}).status_code == 303
    assert server.requests == []                                           # nothing sent inside the request
    assert send_robot_messages(app) == 1
    page = client.get("/admin/robots").get_data(as_text=True)
    assert "invalid webhook url" in page and "93000" in page


def test_nothing_is_stored_in_the_settings_table(session, people, server):
    add(session, people, server)
    assert session.scalar(select(func.count()).select_from(Setting)) == 0
