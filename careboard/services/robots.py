"""Messages to the department's chat: enterprise WeChat (企业微信) group robots and DingTalk custom robots.

A message is written to the outbox (`RobotMessage`) inside the change that causes it — an escalation, the
morning digest, the weekly report — and sent later by the background sender (`deliver_one`, called by the
tick's thread and by `flask tick` after their commit), never inside a person's request. A send that fails is
retried with a growing pause (1, 2, 4, 8, 16 minutes; then given up); a robot answering "too many requests"
is left alone for a minute; the last error is shown on the robots' settings page.

The two documented APIs:
- 企业微信群机器人: POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY with
  {"msgtype": "text", "text": {"content": "…"}}; answers {"errcode": 0, "errmsg": "ok"}; at most 20 messages a
  minute per robot (errcode 45009 beyond).
- 钉钉自定义机器人: POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN with the same shape; with
  "加签" the address also carries timestamp (ms) and sign = urlencode(base64(HMAC-SHA256(secret,
  f"{timestamp}\\n{secret}"))); answers {"errcode": 0, "errmsg": "ok"}; 20 a minute (errcode 130101 or 410100).

The webhook address holds the robot's key, so it is a secret like DingTalk's: both are stored encrypted
(Fernet, with a key derived from SECRET_KEY) and never shown back. A message carries a masked phone at most
and a link back into CareBoard (CAREBOARD_BASE_URL), nothing more personal.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careboard.dates import day_bounds, local_date
from careboard.models import (Card, ChecklistRun, Column, Level, MessageStatus, Robot, RobotKind, RobotMessage, Role,
                              RunStatus, Topic, User)
from careboard.services.errors import Conflict, DomainError, FieldError, Forbidden
from careboard.services.settings import StoreSettings

OFFICIAL_HOSTS = {RobotKind.WECOM: "qyapi.weixin.qq.com", RobotKind.DINGTALK: "oapi.dingtalk.com"}
TOKEN_PARAM = {RobotKind.WECOM: "key", RobotKind.DINGTALK: "access_token"}
RATE_LIMITED = {RobotKind.WECOM: {45009}, RobotKind.DINGTALK: {130101, 410100}}
RATE_PAUSE = timedelta(minutes=1)             # both robots allow 20 messages a minute
MAX_ATTEMPTS = 6                               # the first try and five retries
MAX_TEXT = 1800                                # WeCom takes 2048 bytes of text; DingTalk more


# ---------------------------------------------------------------- secrets


def _box() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"careboard robots\0" + secret).digest()))


def seal(text: str) -> str:
    return _box().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    """The stored secret in clear; DomainError when SECRET_KEY changed since it was stored."""
    try:
        return _box().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DomainError(_("The robot's address or secret can no longer be read (SECRET_KEY changed): enter "
                            "them again.")) from None


# ---------------------------------------------------------------- set-up (administrators)


def _allowed_hosts(kind: RobotKind) -> set[str]:
    """The official host; CAREBOARD_ROBOT_HOSTS (comma-separated) adds others, e.g. a proxy or a test server."""
    extra = current_app.config.get("CAREBOARD_ROBOT_HOSTS") or ""
    return {OFFICIAL_HOSTS[kind], *(h.strip() for h in str(extra).split(",") if h.strip())}


def check_webhook(kind: RobotKind, url: str) -> str:
    """The webhook address as the robot's page shows it; FieldError("webhook") when it is not one."""
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query).get(TOKEN_PARAM[kind], [""])[0]
    official = OFFICIAL_HOSTS[kind]
    if parts.hostname not in _allowed_hosts(kind) or not token or (
            parts.hostname == official and parts.scheme != "https"):
        raise FieldError("webhook", _("Paste the robot's whole webhook address: https://%(host)s/…?%(param)s=…",
                                      host=official, param=TOKEN_PARAM[kind]))
    return url


def _hint(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    token = next(iter(v[0] for v in urllib.parse.parse_qs(parts.query).values() if v), "")
    return f"{parts.hostname} …{token[-4:]}"[:80]


@dataclass(frozen=True)
class RobotValues:
    name: str
    kind: str
    webhook: str | None              # None or empty: keep the stored one
    secret: str | None               # None or empty: keep the stored one
    role: str | None                 # None or empty: the whole department
    send_escalations: bool = True
    send_digest: bool = True
    send_weekly: bool = True
    active: bool = True
    clear_secret: bool = False


def save_robot(session: Session, *, actor: User, values: RobotValues, robot: Robot | None = None,
               seen_version: int | None = None) -> Robot:
    """Add a robot or change one; the webhook and the secret are kept unless new ones are given."""
    if actor.level < Level.ADMIN:
        raise Forbidden(robot.id if robot else 0)
    if robot is not None and (seen_version is None or robot.version != int(seen_version)):
        raise Conflict(robot)
    name = (values.name or "").strip()
    if not name:
        raise FieldError("name", _("Give the robot a name, e.g. the chat group's."))
    kind = RobotKind(values.kind)
    webhook = (values.webhook or "").strip()
    if robot is None and not webhook:
        raise FieldError("webhook", _("Paste the robot's whole webhook address: https://%(host)s/…?%(param)s=…",
                                      host=OFFICIAL_HOSTS[kind], param=TOKEN_PARAM[kind]))
    if robot is not None and kind is not robot.kind and not webhook:
        raise FieldError("webhook", _("A robot of another kind needs its own webhook address."))
    if webhook:
        webhook = check_webhook(kind, webhook)
    secret = (values.secret or "").strip()
    if secret and kind is RobotKind.WECOM:
        raise FieldError("secret", _("Enterprise WeChat robots have no signing secret; leave it empty."))
    if secret and not (secret.startswith("SEC") and len(secret) >= 20 and secret.isascii() and " " not in secret):
        raise FieldError("secret", _("DingTalk's signing secret is the text starting with SEC under the robot's "
                                     "“加签” setting."))
    robot = robot or Robot()
    robot.name, robot.kind = name[:80], kind
    robot.role = Role(values.role) if values.role else None
    robot.send_escalations, robot.send_digest = bool(values.send_escalations), bool(values.send_digest)
    robot.send_weekly, robot.active = bool(values.send_weekly), bool(values.active)
    if webhook:
        robot.webhook_encrypted, robot.webhook_hint = seal(webhook), _hint(webhook)
    if secret:
        robot.secret_encrypted = seal(secret)
    elif values.clear_secret or kind is RobotKind.WECOM:
        robot.secret_encrypted = None
    session.add(robot)
    session.flush()
    return robot


def delete_robot(session: Session, robot: Robot, *, actor: User, seen_version: int) -> None:
    if actor.level < Level.ADMIN:
        raise Forbidden(robot.id)
    if robot.version != int(seen_version):
        raise Conflict(robot)
    session.execute(RobotMessage.__table__.delete().where(RobotMessage.robot_id == robot.id))
    session.delete(robot)


def pending_counts(session: Session) -> dict[int, int]:
    """Messages waiting per robot, for the settings page."""
    return dict(session.execute(select(RobotMessage.robot_id, func.count()).where(
        RobotMessage.status == MessageStatus.PENDING).group_by(RobotMessage.robot_id)).all())


# ---------------------------------------------------------------- the outbox


def link(path: str) -> str:
    """A link back into CareBoard: CAREBOARD_BASE_URL + path (the path alone when no address is set)."""
    base = (current_app.config.get("CAREBOARD_BASE_URL") or "").rstrip("/")
    return f"{base}{path}"


def enqueue(session: Session, *, topic: Topic, text: str, now: datetime, role: Role | None = None,
            dedupe: str | None = None, robots: list[Robot] | None = None) -> list[RobotMessage]:
    """A message for every active robot that takes `topic` and reports on `role`'s work (a robot without a
    role takes everyone's). With `dedupe`, a robot gets the message once ever (e.g. "digest:2026-12-08")."""
    chosen = robots if robots is not None else session.scalars(select(Robot).where(Robot.active.is_(True))
                                                               .order_by(Robot.id)).all()
    made = []
    for robot in chosen:
        if not robot.wants(topic) or (role is not None and robot.role is not None and robot.role != role):
            continue
        key = f"{dedupe}:{robot.id}"[:120] if dedupe else None
        if key and session.scalar(select(RobotMessage.id).where(RobotMessage.dedupe_key == key)) is not None:
            continue
        message = RobotMessage(robot_id=robot.id, topic=topic, text=text[:MAX_TEXT], dedupe_key=key,
                               status=MessageStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now)
        session.add(message)
        made.append(message)
    session.flush()
    return made


def send_test(session: Session, robot: Robot, *, actor: User, now: datetime, s: StoreSettings) -> RobotMessage:
    """A test message, sent by the background sender like any other."""
    if actor.level < Level.ADMIN:
        raise Forbidden(robot.id)
    if not robot.active:
        raise DomainError(_("This robot is switched off; switch it on to send a test message."))
    text = _("CareBoard test message from %(store)s: this chat will receive its messages. %(link)s",
             store=s.store_name, link=link("/"))
    return enqueue(session, topic=Topic.TEST, text=text, now=now, robots=[robot])[0]


def digest_text(session: Session, robot: Robot, *, now: datetime, s: StoreSettings) -> str:
    """"今日到期 12 · 逾期 3 · 5S 检查 2" for the robot's role (or the department), with a link to the board."""
    start, end = day_bounds(local_date(now, s.zone), s.zone)
    open_cards = select(func.count()).select_from(Card).where(Card.column != Column.DONE)
    runs = select(func.count()).select_from(ChecklistRun).where(ChecklistRun.day == local_date(now, s.zone),
                                                                ChecklistRun.status == RunStatus.OPEN)
    if robot.role is not None:
        open_cards = open_cards.where(Card.role == robot.role)
        runs = runs.join(Card, Card.id == ChecklistRun.card_id).where(Card.role == robot.role)
    due_today = session.scalar(open_cards.where(Card.due_at >= start, Card.due_at < end))
    overdue = session.scalar(open_cards.where(Card.due_at < now))
    checks = session.scalar(runs)
    who = robot.role.label if robot.role is not None else s.store_name
    return _("%(who)s today: due %(due)d · overdue %(overdue)d · 5S checks %(checks)d · %(link)s", who=who,
             due=due_today, overdue=overdue, checks=checks, link=link("/board/"))


def plan_digests(session: Session, *, now: datetime, s: StoreSettings) -> list[RobotMessage]:
    """The morning digest, once a store day per robot, from the store's opening until its closing (a tick
    before opening sends nothing yet; a closed day has none)."""
    span = s.calendar.interval(local_date(now, s.zone))
    if span is None or not span[0] <= now < span[1]:
        return []
    day = local_date(now, s.zone).isoformat()
    made = []
    for robot in session.scalars(select(Robot).where(Robot.active.is_(True), Robot.send_digest.is_(True))
                                 .order_by(Robot.id)):
        made += enqueue(session, topic=Topic.DIGEST, text=digest_text(session, robot, now=now, s=s), now=now,
                        dedupe=f"digest:{day}", robots=[robot])
    return made


# ---------------------------------------------------------------- sending (background only)


Post = Callable[[str, dict, float], tuple[int | None, dict | None, str | None]]


def post_json(url: str, payload: dict, timeout: float) -> tuple[int | None, dict | None, str | None]:
    """POST the JSON; (HTTP status, the JSON answer, None) or (status or None, None, what went wrong)."""
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:          # noqa: S310 - checked host
            body = response.read(65536)
            status = response.status
    except urllib.error.HTTPError as error:
        return error.code, None, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(error, TimeoutError) or isinstance(reason, TimeoutError):
            return None, None, _("no answer within %(s)s seconds", s=timeout)
        return None, None, str(reason)[:200]
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return status, None, _("the answer is not JSON")
    return status, answer if isinstance(answer, dict) else None, None


def payload(message: RobotMessage) -> dict:
    """The JSON both robots take for a text message."""
    return {"msgtype": "text", "text": {"content": message.text}}


def signed(url: str, secret: str, now: datetime) -> str:
    """DingTalk's "加签": the address with timestamp (ms) and its HMAC-SHA256 signature."""
    timestamp = str(int(now.timestamp() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def backoff(attempts: int) -> timedelta:
    """The pause after the n-th failed attempt: 1, 2, 4, 8, 16 minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def next_due(session: Session, *, now: datetime) -> RobotMessage | None:
    return session.scalar(
        select(RobotMessage).join(Robot, Robot.id == RobotMessage.robot_id)
        .where(RobotMessage.status == MessageStatus.PENDING, RobotMessage.next_attempt_at <= now,
               Robot.active.is_(True), or_(Robot.paused_until.is_(None), Robot.paused_until <= now))
        .order_by(RobotMessage.id).limit(1))                  # in the order they were made


def deliver_one(session: Session, *, now: datetime, post: Post = post_json) -> RobotMessage | None:
    """Send the next message that is due, and record how it went; None when nothing is due. Only reads
    happen before the HTTP call, so nothing is locked while it waits; the caller commits after each."""
    message = next_due(session, now=now)
    if message is None:
        return None
    robot = message.robot
    timeout = float(current_app.config.get("CAREBOARD_ROBOT_TIMEOUT_SECONDS", 5))
    try:
        url = unseal(robot.webhook_encrypted)
        if robot.kind is RobotKind.DINGTALK and robot.secret_encrypted:
            url = signed(url, unseal(robot.secret_encrypted), now)
    except DomainError as error:
        return _failed(message, robot, str(error), now)
    status, answer, problem = post(url, payload(message), timeout)
    code = answer.get("errcode") if answer else None
    if status == 429 or code in RATE_LIMITED[robot.kind]:
        robot.paused_until = now + RATE_PAUSE               # the message keeps its place in the queue
        robot.last_error, robot.last_error_at = _("too many messages: paused for a minute"), now
        return message
    if status == 200 and code == 0:
        message.status, message.sent_at, message.last_error = MessageStatus.SENT, now, None
        message.attempts += 1
        robot.last_sent_at, robot.last_error, robot.last_error_at = now, None, None
        return message
    if problem is None:
        problem = f"errcode {code}: {answer.get('errmsg', '')}" if answer else f"HTTP {status}"
    return _failed(message, robot, problem, now)


def _failed(message: RobotMessage, robot: Robot, problem: str, now: datetime) -> RobotMessage:
    message.attempts += 1
    message.last_error = robot.last_error = problem[:300]
    robot.last_error_at = now
    if message.attempts >= MAX_ATTEMPTS:
        message.status = MessageStatus.FAILED
    else:
        message.next_attempt_at = now + backoff(message.attempts)
    return message


def retry_failed(session: Session, robot: Robot, *, actor: User, now: datetime) -> int:
    """Put a robot's given-up messages back in the queue (after the admin fixed its address)."""
    if actor.level < Level.ADMIN:
        raise Forbidden(robot.id)
    rows = session.scalars(select(RobotMessage).where(RobotMessage.robot_id == robot.id,
                                                      RobotMessage.status == MessageStatus.FAILED)).all()
    for message in rows:
        message.status, message.attempts, message.next_attempt_at = MessageStatus.PENDING, 0, now
    robot.paused_until = None
    return len(rows)
