"""Chat robots of the department: enterprise WeChat (企业微信) group robots and DingTalk custom robots, and the
outbox of messages to them, sent in the background (services/robots.py) with retries and backoff."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels
from careboard.models.users import Role


class RobotKind(Labelled, enum.StrEnum):
    WECOM = "wecom"              # 企业微信群机器人: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
    DINGTALK = "dingtalk"        # 钉钉自定义机器人: https://oapi.dingtalk.com/robot/send?access_token=…, signed


labels(RobotKind, {RobotKind.WECOM: _l("Enterprise WeChat group robot"), RobotKind.DINGTALK: _l("DingTalk robot")})


class Topic(Labelled, enum.StrEnum):
    ESCALATION = "escalation"    # a complaint past its deadline, as it happens
    DIGEST = "digest"            # the morning digest at opening time, once a day
    WEEKLY = "weekly"            # the weekly report, when it is made
    TEST = "test"                # "send a test message" on the settings page


labels(Topic, {Topic.ESCALATION: _l("Complaint escalations"), Topic.DIGEST: _l("Morning digest"),
               Topic.WEEKLY: _l("Weekly report"), Topic.TEST: _l("Test message")})


class MessageStatus(Labelled, enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"            # gave up after the last attempt


labels(MessageStatus, {MessageStatus.PENDING: _l("Waiting to be sent"), MessageStatus.SENT: _l("Sent"),
                       MessageStatus.FAILED: _l("Gave up")})


class Robot(db.Model):
    """One group chat's robot. The webhook address (it holds the robot's key or token) and DingTalk's signing
    secret are stored encrypted with a key derived from SECRET_KEY and never shown back."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[RobotKind] = mapped_column(str_enum(RobotKind, 20))
    webhook_encrypted: Mapped[str] = mapped_column(Text)
    webhook_hint: Mapped[str] = mapped_column(String(80))              # host and the key's last 4 characters
    secret_encrypted: Mapped[str | None] = mapped_column(Text)        # DingTalk "加签" secret (SEC…)
    role: Mapped[Role | None] = mapped_column(str_enum(Role, 30))       # whose work it reports; None: everyone's
    send_escalations: Mapped[bool] = mapped_column(Boolean, default=True)
    send_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    send_weekly: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after "too many requests"
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    def wants(self, topic: Topic) -> bool:
        return self.active and (topic is Topic.TEST or {Topic.ESCALATION: self.send_escalations,
                                                        Topic.DIGEST: self.send_digest,
                                                        Topic.WEEKLY: self.send_weekly}[topic])


class RobotMessage(db.Model):
    """One message to one robot: made inside the change that causes it, sent later by the background sender.
    `dedupe_key` makes a message once however often the tick runs (the morning digest of a day)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("robot.id", ondelete="CASCADE"))
    topic: Mapped[Topic] = mapped_column(str_enum(Topic, 20))
    text: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus, 20), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    robot: Mapped[Robot] = relationship(lazy="joined")

    __table_args__ = (Index("ix_robot_message_due", "status", "next_attempt_at"),)
