"""Complaints (投诉/抱怨): a workflow with an SLA clock per step and its history (escalation notices are
notifications, models/notifications.py)."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels
from careboard.models.users import User


class ComplaintStatus(Labelled, enum.StrEnum):
    RECEIVED = "received"
    RESPONDED = "responded"
    HANDED_OFF = "handed_off"
    SOLUTION_PROPOSED = "solution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"


labels(ComplaintStatus, {
    ComplaintStatus.RECEIVED: _l("Received"),
    ComplaintStatus.RESPONDED: _l("Responded"),
    ComplaintStatus.HANDED_OFF: _l("Handed to the department"),
    ComplaintStatus.SOLUTION_PROPOSED: _l("Solution proposed"),
    ComplaintStatus.RESOLVED: _l("Resolved, second callback due"),
    ComplaintStatus.CLOSED: _l("Closed"),
})


class Channel(Labelled, enum.StrEnum):
    PHONE = "phone"
    HOTLINE = "hotline"
    SHOWROOM = "showroom"
    ONLINE = "online"
    CALLBACK = "callback"


labels(Channel, {Channel.PHONE: _l("Phone"), Channel.HOTLINE: _l("400 hotline"), Channel.SHOWROOM: _l("Showroom"),
                 Channel.ONLINE: _l("Online"), Channel.CALLBACK: _l("Callback")})


class Category(Labelled, enum.StrEnum):
    SALES = "sales"
    SERVICE = "service"
    PARTS = "parts"
    ATTITUDE = "attitude"
    FACILITIES = "facilities"
    OTHER = "other"


labels(Category, {Category.SALES: _l("Sales"), Category.SERVICE: _l("Service"), Category.PARTS: _l("Parts"),
                  Category.ATTITUDE: _l("Staff attitude"), Category.FACILITIES: _l("Facilities"),
                  Category.OTHER: _l("Other")})


class Department(Labelled, enum.StrEnum):
    SALES = "sales"
    AFTERSALES = "aftersales"          # hand-off within 1 hour instead of 2
    CUSTOMER_CARE = "customer_care"
    MARKETING = "marketing"
    ADMINISTRATION = "administration"


labels(Department, {Department.SALES: _l("Sales department"), Department.AFTERSALES: _l("After-sales department"),
                    Department.CUSTOMER_CARE: _l("Customer care"), Department.MARKETING: _l("Marketing"),
                    Department.ADMINISTRATION: _l("Administration")})


class Complaint(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), unique=True)          # its card on the board
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    callback_card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))       # a dissatisfied callback
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 20))
    category: Mapped[Category] = mapped_column(str_enum(Category, 20), index=True)
    severity: Mapped[int] = mapped_column(Integer, default=2)                         # 1 serious … 3 minor
    department: Mapped[Department] = mapped_column(str_enum(Department, 30), index=True)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, 20), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solution_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solution: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    deadline_override: Mapped[datetime | None] = mapped_column(UTCDateTime)           # of the current step
    escalated_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus, 20))  # escalated last
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_resolved(self) -> bool:
        """Resolved and waiting for its second callback (not yet closed)."""
        return self.status == ComplaintStatus.RESOLVED

    @property
    def is_closed(self) -> bool:
        return self.status == ComplaintStatus.CLOSED


class ComplaintStep(db.Model):
    """Who moved the complaint from which step to which, when: never edited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    from_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus, 20))
    to_status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, 20))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(lazy="raise_on_sql")

    @property
    def to_label(self) -> str:
        return self.to_status.label

