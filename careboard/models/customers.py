"""Customers, their vehicles, and the dated events the care rules work from (sales, service visits)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careboard.dbtypes import UTCDateTime, utcnow
from careboard.extensions import db
from careboard.models.users import User


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)     # 11 digits; identifies
    birthday: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    # The usual care people: new cards of their role go to them while they are active.
    sales_care_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    aftersales_care_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    vehicles: Mapped[list[Vehicle]] = relationship(back_populates="customer", lazy="raise_on_sql",
                                                   order_by="Vehicle.id")
    sales_care: Mapped[User | None] = relationship(foreign_keys=[sales_care_id], lazy="raise_on_sql")
    aftersales_care: Mapped[User | None] = relationship(foreign_keys=[aftersales_care_id], lazy="raise_on_sql")


class Vehicle(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    plate: Mapped[str | None] = mapped_column(String(20), index=True)       # 沪A·D1234, stored without the dot
    vin: Mapped[str | None] = mapped_column(String(17), unique=True)        # identifies
    model: Mapped[str] = mapped_column(String(80), default="")
    delivery_date: Mapped[date | None] = mapped_column(Date)
    warranty_end: Mapped[date | None] = mapped_column(Date, index=True)
    insurance_expiry: Mapped[date | None] = mapped_column(Date, index=True)
    next_inspection: Mapped[date | None] = mapped_column(Date, index=True)
    first_maintenance_due: Mapped[date | None] = mapped_column(Date, index=True)
    last_service_visit: Mapped[date | None] = mapped_column(Date, index=True)  # kept in step with the visits
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    customer: Mapped[Customer] = relationship(back_populates="vehicles", lazy="raise_on_sql")


class Sale(db.Model):
    """A delivery (交车) on a local date: the sales callbacks count from it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), index=True)
    delivered_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("vehicle_id", "delivered_on"),)


class ServiceVisit(db.Model):
    """A service visit (进站): the after-sales callback counts from its local date."""

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date, index=True)              # the store's local date
    work_order: Mapped[str | None] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_service_visit_vehicle_day", "vehicle_id", "visited_on"),)
