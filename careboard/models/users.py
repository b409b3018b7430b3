"""Accounts: the department's people, their role (lane on the board) and permission level."""
from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from careboard.dbtypes import UTCDateTime, str_enum, utcnow
from careboard.extensions import db
from careboard.models.labels import Labelled, labels


class Role(Labelled, enum.StrEnum):
    """The 13 roles of the customer-care department (see DESIGN.md), and NONE: an account that does no care
    work (an administrator who only keeps accounts and settings). NONE has no lane, no cards, no KPI template
    and no place in the review: iterate CARE_ROLES, and filter people with User.does_care_work()."""

    CARE_DIRECTOR = "care_director"
    CS_SUPERVISOR = "cs_supervisor"
    SALES_CARE = "sales_care"
    AFTERSALES_CARE = "aftersales_care"
    PHONE_RECEPTION = "phone_reception"
    DELIVERY = "delivery"
    SHOWROOM_RECEPTION = "showroom_reception"
    AFTERSALES_SERVICE = "aftersales_service"
    INSURANCE_RENEWAL = "insurance_renewal"
    MARKETING_MANAGER = "marketing_manager"
    ANALYST = "analyst"
    ADVERTISING = "advertising"
    OWNERS_CLUB = "owners_club"
    NONE = "none"


ROLE_LABELS = {
    Role.CARE_DIRECTOR: _l("Care director"),
    Role.CS_SUPERVISOR: _l("Customer service supervisor"),
    Role.SALES_CARE: _l("Sales care specialist"),
    Role.AFTERSALES_CARE: _l("After-sales care specialist"),
    Role.PHONE_RECEPTION: _l("Phone reception"),
    Role.DELIVERY: _l("Delivery specialist"),
    Role.SHOWROOM_RECEPTION: _l("Showroom reception"),
    Role.AFTERSALES_SERVICE: _l("After-sales service specialist"),
    Role.INSURANCE_RENEWAL: _l("Insurance renewal specialist"),
    Role.MARKETING_MANAGER: _l("Marketing manager"),
    Role.ANALYST: _l("Analyst"),
    Role.ADVERTISING: _l("Advertising specialist"),
    Role.OWNERS_CLUB: _l("Owners club specialist"),
    Role.NONE: _l("No care role"),
}
labels(Role, ROLE_LABELS)
CARE_ROLES = tuple(r for r in Role if r is not Role.NONE)       # lanes, cards, checklists, KPI templates


class Level(Labelled, enum.IntEnum):
    """Permission levels, ordered: each level may do everything the lower ones may."""

    STAFF = 10          # works own cards
    SUPERVISOR = 20     # reassigns, audits, sees the department
    DIRECTOR = 30       # everything in the department, KPI configuration
    ADMIN = 40          # accounts and settings as well


LEVEL_LABELS = {
    Level.STAFF: _l("Staff"),
    Level.SUPERVISOR: _l("Supervisor"),
    Level.DIRECTOR: _l("Director"),
    Level.ADMIN: _l("Administrator"),
}
labels(Level, LEVEL_LABELS)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, 30), index=True)
    level: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes whenever the account does (name, role, level, active): the board's version includes it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.active = kwargs.get("active", True)
        self.language = kwargs.get("language", "zh_CN")

    @property
    def level_enum(self) -> Level:
        return Level(self.level)

    @property
    def is_active(self) -> bool:                     # Flask-Login refuses inactive users
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def does_care_work(cls):
        """The condition for people who work cards (lanes, assignees, the review): not Role.NONE."""
        return cls.role != Role.NONE

    def at_least(self, level: Level) -> bool:
        return self.level >= level

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}/{Level(self.level).name}>"


class LoginSession(db.Model):
    """One signed-in browser: the session cookie carries a random token, the database keeps its hash.

    Logging out deletes the row, so a copied cookie stops working at once; a password change, a reset
    or a deactivation deletes every row of the account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)     # sha256 hex of the cookie's token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
