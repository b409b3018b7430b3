"""Customers and vehicles: validation, create/update, sales and service visits, search, the timeline.

Shared by the customer pages and the DMS import, so a phone number or a VIN is checked the same way
everywhere. Messages are translated (shown to the user as they are).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from careboard.dates import OUT_OF_RANGE, in_range
from careboard.models import Card, CardKind, Customer, Level, Role, Sale, ServiceVisit, User, Vehicle
from careboard.services.errors import FieldError

MOBILE = re.compile(r"^1[3-9]\d{9}$")                      # mainland China mobile numbers
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")                # 17 characters, never I, O or Q
PLATE = re.compile(r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$")  # 沪AD1234, 京AD12345 (new energy)

# Roles that phone customers see their numbers; everyone else sees 138****1234.
CALLING_ROLES = {Role.CARE_DIRECTOR, Role.CS_SUPERVISOR, Role.SALES_CARE, Role.AFTERSALES_CARE,
                 Role.PHONE_RECEPTION, Role.AFTERSALES_SERVICE, Role.INSURANCE_RENEWAL, Role.DELIVERY}


# ---------------------------------------------------------------- normalising and checking values


def normalize_mobile(value: str | None) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None for blank; FieldError when not a mainland mobile."""
    if value is None or not str(value).strip():
        return None
    digits = re.sub(r"[\s\-()（）]", "", str(value).strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if digits.endswith(".0"):                                # a number that went through Excel
        digits = digits[:-2]
    if not MOBILE.match(digits):
        raise FieldError("mobile", _("%(value)s is not a mainland mobile number (11 digits starting with 1).",
                                     value=value))
    return digits


def normalize_vin(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    vin = re.sub(r"\s", "", str(value)).upper()
    if not VIN.match(vin):
        raise FieldError("vin", _("%(value)s is not a VIN: 17 letters and digits, without I, O or Q.",
                                  value=value))
    return vin


def normalize_plate(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    plate = re.sub(r"[\s·•.\-]", "", str(value)).upper()
    if not PLATE.match(plate):
        raise FieldError("plate", _("%(value)s is not a licence plate such as 沪A·D1234.", value=value))
    return plate


def format_plate(plate: str | None) -> str:
    return f"{plate[:2]}·{plate[2:]}" if plate else ""


def mask_mobile(mobile: str | None) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if mobile else ""


def may_see_phone(user: User) -> bool:
    return user.level >= Level.SUPERVISOR or user.role in CALLING_ROLES


def shown_mobile(user: User, mobile: str | None) -> str:
    return (mobile or "") if may_see_phone(user) else mask_mobile(mobile)


def require_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise FieldError("name", _("The customer needs a name."))
    if len(name) > 80:
        raise FieldError("name", _("The name is too long (at most 80 characters)."))
    return name


def check_in_range(field: str, value: date | None) -> date | None:
    """The one date rule (careboard.dates): 1900–2100, else FieldError naming the field."""
    if not in_range(value):
        raise FieldError(field, str(OUT_OF_RANGE))
    return value


def check_birthday(birthday: date | None) -> date | None:
    check_in_range("birthday", birthday)
    if birthday is not None and birthday > date.today():
        raise FieldError("birthday", _("This date is in the future."))
    return birthday


def check_dates(vehicle: Vehicle) -> None:
    if vehicle.delivery_date and vehicle.delivery_date > date.today().replace(year=date.today().year + 1):
        raise FieldError("delivery_date", _("The delivery date is more than a year ahead."))


# ---------------------------------------------------------------- finding


def find_customer_by_mobile(session: Session, mobile: str | None) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.mobile == mobile)) if mobile else None


def find_vehicle_by_vin(session: Session, vin: str | None) -> Vehicle | None:
    return session.scalar(select(Vehicle).where(Vehicle.vin == vin)) if vin else None


def search(term: str | None, *, full_phone: bool) -> Select:
    """Customers by name, phone or plate; newest first.

    `full_phone` is whether the viewer sees phone numbers whole (may_see_phone). Who sees them finds a
    customer by any 4 or more digits of the number. Who sees 138****1234 finds one only by what is shown
    or what they were told: the whole number typed exactly, or exactly its last 4 digits — a partial
    match on the hidden digits would reveal them one query at a time. A plate or VIN never matches a
    phone number, so neither becomes a way round."""
    query = select(Customer).options(selectinload(Customer.vehicles)).order_by(Customer.updated_at.desc(),
                                                                               Customer.id.desc())
    term = (term or "").strip()
    if not term:
        return query
    plate = re.sub(r"[\s·•.\-]", "", term).upper()
    conditions = [Customer.name.contains(term), Vehicle.plate.contains(plate)]
    phone = _phone_condition(term, full_phone)
    if phone is not None:
        conditions.append(phone)
    if len(plate) >= 6:
        conditions.append(Vehicle.vin.contains(plate))
    return query.outerjoin(Vehicle, Vehicle.customer_id == Customer.id).where(or_(*conditions)).distinct()


def _phone_condition(term: str, full_phone: bool):
    digits = re.sub(r"\D", "", term)
    if full_phone:
        return Customer.mobile.contains(digits) if len(digits) >= 4 else None
    try:
        mobile = normalize_mobile(term)
    except FieldError:
        mobile = None
    if mobile is not None:
        return Customer.mobile == mobile
    if re.fullmatch(r"\d{4}", term):
        return Customer.mobile.endswith(term)
    return None


# ---------------------------------------------------------------- changing
#
# Each use case below is: check the values (the small helpers next to it), refuse a duplicate, apply, flush.
# The helpers `new_*` and `assign_*` do the first and third step only — the same checks and the same
# rules, no duplicate query and no flush — for a caller that already knows the value is free and flushes
# many rows at once (the DMS import keeps every mobile, VIN, sale and visit key it has seen).


def create_customer(session: Session, *, name: str, mobile: str | None = None, birthday: date | None = None,
                    notes: str = "", sales_care: User | None = None, aftersales_care: User | None = None) -> Customer:
    customer = new_customer(name=name, mobile=mobile, birthday=birthday, notes=notes, sales_care=sales_care,
                            aftersales_care=aftersales_care)
    _refuse_taken_mobile(session, customer.mobile, None)
    session.add(customer)
    session.flush()
    return customer


def update_customer(session: Session, customer: Customer, *, name: str, mobile: str | None,
                    birthday: date | None, notes: str = "", sales_care: User | None = None,
                    aftersales_care: User | None = None) -> Customer:
    name, mobile, birthday = _customer_values(name, mobile, birthday)
    _refuse_taken_mobile(session, mobile, customer)
    return _set_customer(customer, name, mobile, birthday, notes, sales_care, aftersales_care)


def _refuse_taken_mobile(session: Session, mobile: str | None, customer: Customer | None) -> None:
    other = find_customer_by_mobile(session, mobile)
    if other is not None and (customer is None or other.id != customer.id):
        raise FieldError("mobile", _("A customer with the mobile number %(mobile)s exists already.", mobile=mobile))


def new_customer(*, name: str, mobile: str | None = None, birthday: date | None = None, notes: str = "",
                 sales_care: User | None = None, aftersales_care: User | None = None) -> Customer:
    """A checked customer, not added to a session: create_customer without the duplicate-mobile query."""
    name, mobile, birthday = _customer_values(name, mobile, birthday)
    return _set_customer(Customer(), name, mobile, birthday, notes, sales_care, aftersales_care)


def assign_customer(customer: Customer, *, name: str, mobile: str | None, birthday: date | None, notes: str = "",
                    sales_care: User | None = None, aftersales_care: User | None = None) -> Customer:
    """update_customer without the duplicate-mobile query."""
    name, mobile, birthday = _customer_values(name, mobile, birthday)
    return _set_customer(customer, name, mobile, birthday, notes, sales_care, aftersales_care)


def _customer_values(name: str, mobile: str | None, birthday: date | None) -> tuple[str, str | None, date | None]:
    return require_name(name), normalize_mobile(mobile), check_birthday(birthday)


def _set_customer(customer: Customer, name: str, mobile: str | None, birthday: date | None, notes: str,
                  sales_care: User | None, aftersales_care: User | None) -> Customer:
    customer.name, customer.mobile, customer.birthday = name, mobile, birthday
    customer.notes = (notes or "").strip()
    customer.sales_care_id = sales_care.id if sales_care else None
    customer.aftersales_care_id = aftersales_care.id if aftersales_care else None
    return customer


VEHICLE_DATES = ("delivery_date", "warranty_end", "insurance_expiry", "next_inspection", "first_maintenance_due")


def save_vehicle(session: Session, customer: Customer, vehicle: Vehicle | None = None, *, vin: str | None,
                 plate: str | None, model: str = "", **dates: date | None) -> Vehicle:
    """Create (vehicle None) or update a vehicle of the customer. `dates`: any of VEHICLE_DATES."""
    vin, plate = _vehicle_values(vin, plate, dates)
    other = find_vehicle_by_vin(session, vin)
    if other is not None and (vehicle is None or other.id != vehicle.id):
        raise FieldError("vin", _("The VIN %(vin)s belongs to another vehicle already.", vin=vin))
    if vehicle is None:
        vehicle = Vehicle(customer_id=customer.id)
        session.add(vehicle)
    _set_vehicle(vehicle, vin, plate, model, dates)
    session.flush()
    return vehicle


def new_vehicle(customer: Customer, *, vin: str | None, plate: str | None, model: str = "",
                **dates: date | None) -> Vehicle:
    """A checked vehicle of the customer (which may be new too), not added to a session: save_vehicle
    without the duplicate-VIN query. The customer is linked through the relationship, so both can be
    flushed together."""
    vin, plate = _vehicle_values(vin, plate, dates)
    return _set_vehicle(Vehicle(customer=customer), vin, plate, model, dates)


def assign_vehicle(vehicle: Vehicle, *, vin: str | None, plate: str | None, model: str = "",
                   **dates: date | None) -> Vehicle:
    """save_vehicle of an existing vehicle without the duplicate-VIN query and the flush."""
    vin, plate = _vehicle_values(vin, plate, dates)
    return _set_vehicle(vehicle, vin, plate, model, dates)


def _vehicle_values(vin: str | None, plate: str | None, dates: dict) -> tuple[str | None, str | None]:
    unknown = set(dates) - set(VEHICLE_DATES)
    if unknown:
        raise ValueError(f"unknown vehicle fields {sorted(unknown)}")
    for name, value in dates.items():
        check_in_range(name, value)                 # before anything is set on the vehicle
    vin = normalize_vin(vin)
    plate = normalize_plate(plate)
    if not vin and not plate:
        raise FieldError("vin", _("A vehicle needs a VIN or a licence plate."))
    return vin, plate


def _set_vehicle(vehicle: Vehicle, vin: str | None, plate: str | None, model: str, dates: dict) -> Vehicle:
    vehicle.vin, vehicle.plate, vehicle.model = vin, plate, (model or "").strip()[:80]
    for name, value in dates.items():
        setattr(vehicle, name, value)
    check_dates(vehicle)
    return vehicle


def record_sale(session: Session, vehicle: Vehicle, delivered_on: date) -> Sale:
    """A delivery; the rules engine makes its callbacks. The vehicle's delivery date follows it."""
    check_in_range("delivered_on", delivered_on)
    existing = session.scalar(select(Sale).where(Sale.vehicle_id == vehicle.id, Sale.delivered_on == delivered_on))
    if existing is not None:
        return existing
    sale = new_sale(vehicle, delivered_on)
    session.add(sale)
    session.flush()
    return sale


def new_sale(vehicle: Vehicle, delivered_on: date) -> Sale:
    """record_sale without the query for the same sale: a Sale not added to a session. The vehicle has
    its id already (it is flushed); its delivery date follows the sale."""
    check_in_range("delivered_on", delivered_on)
    if vehicle.delivery_date is None or delivered_on > vehicle.delivery_date:
        vehicle.delivery_date = delivered_on
    return Sale(customer_id=vehicle.customer_id, vehicle_id=vehicle.id, delivered_on=delivered_on)


def record_visit(session: Session, vehicle: Vehicle, visited_on: date, *, work_order: str | None = None,
                 description: str = "") -> ServiceVisit:
    """A service visit on a local date; the vehicle's last visit follows it. Same work order: no duplicate."""
    check_in_range("visited_on", visited_on)
    work_order = (work_order or "").strip() or None
    if work_order:
        existing = session.scalar(select(ServiceVisit).where(ServiceVisit.work_order == work_order))
        if existing is not None:
            if (existing.vehicle_id, existing.visited_on) != (vehicle.id, visited_on):
                raise FieldError("work_order", _("The work order %(work_order)s is recorded in CareBoard for "
                                                 "another vehicle or day.", work_order=work_order))
            return existing
    else:
        existing = session.scalar(select(ServiceVisit).where(ServiceVisit.vehicle_id == vehicle.id,
                                                             ServiceVisit.visited_on == visited_on))
        if existing is not None:
            return existing
    visit = new_visit(vehicle, visited_on, work_order=work_order, description=description)
    session.add(visit)
    session.flush()
    return visit


def new_visit(vehicle: Vehicle, visited_on: date, *, work_order: str | None = None,
              description: str = "") -> ServiceVisit:
    """record_visit without the queries for the same visit or work order: a ServiceVisit not added to a
    session. The vehicle has its id already (it is flushed); its last visit follows the visit."""
    check_in_range("visited_on", visited_on)
    if vehicle.last_service_visit is None or visited_on > vehicle.last_service_visit:
        vehicle.last_service_visit = visited_on
    return ServiceVisit(customer_id=vehicle.customer_id, vehicle_id=vehicle.id, visited_on=visited_on,
                        work_order=(work_order or "").strip() or None, description=(description or "").strip())


# ---------------------------------------------------------------- the timeline


@dataclass
class CustomerSummary:
    """What a page about one matter of a customer (a complaint) shows beside it: the vehicles, the latest
    service visits and callbacks, newest first."""
    customer: Customer
    vehicles: list[Vehicle]
    visits: list[ServiceVisit]
    callbacks: list[Card]

    @property
    def vehicles_by_id(self) -> dict[int, Vehicle]:
        return {v.id: v for v in self.vehicles}


def summary(session: Session, customer_id: int, *, recent: int = 5) -> CustomerSummary | None:
    customer = session.scalar(select(Customer).where(Customer.id == customer_id)
                              .options(selectinload(Customer.vehicles)))
    if customer is None:
        return None
    visits = session.scalars(select(ServiceVisit).where(ServiceVisit.customer_id == customer_id)
                             .order_by(ServiceVisit.visited_on.desc(), ServiceVisit.id.desc()).limit(recent)).all()
    callbacks = session.scalars(
        select(Card).where(Card.customer_id == customer_id, Card.kind == CardKind.CALLBACK)
        .options(selectinload(Card.assignee))
        .order_by(func.coalesce(Card.completed_at, Card.due_at, Card.created_at).desc(), Card.id.desc())
        .limit(recent)).all()
    return CustomerSummary(customer, list(customer.vehicles), list(visits), list(callbacks))


@dataclass
class TimelineEntry:
    on: date
    kind: str               # "sale" | "visit" | "card"
    item: object


def timeline(session: Session, customer: Customer) -> list[TimelineEntry]:
    """Sales, visits and cards (callbacks, reminders, complaints…) of a customer, newest first."""
    entries = [TimelineEntry(s.delivered_on, "sale", s)
               for s in session.scalars(select(Sale).where(Sale.customer_id == customer.id))]
    entries += [TimelineEntry(v.visited_on, "visit", v)
                for v in session.scalars(select(ServiceVisit).where(ServiceVisit.customer_id == customer.id))]
    cards = session.scalars(select(Card).where(Card.customer_id == customer.id)
                            .options(selectinload(Card.assignee), selectinload(Card.completed_by))).all()
    entries += [TimelineEntry((c.completed_at or c.due_at or c.created_at).date(), "card", c) for c in cards]
    return sorted(entries, key=lambda e: (e.on, e.kind), reverse=True)
