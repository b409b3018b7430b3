"""Customer pages: search, a customer's details and timeline, create and edit customers and vehicles,
record deliveries and service visits. The checks and the queries are in services.customers."""
from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from careboard import dates, policy
from careboard.blueprints.customers import bp
from careboard.blueprints.customers.forms import NOBODY, CustomerForm, SaleForm, SearchForm, VehicleForm, VisitForm
from careboard.blueprints.transaction import Refusal, change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import CallbackResult, Customer, Role, User, Vehicle
from careboard.services import customers
from careboard.templating import render
from careboard.urls import page_arg

PER_PAGE = 25
CARE_PEOPLE = (selectinload(Customer.sales_care), selectinload(Customer.aftersales_care))


# ---------------------------------------------------------------- loading


def require_editor() -> None:
    if not policy.can_edit_customers(current_user):
        abort(403)


def load_customer_or_404(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id, options=[selectinload(Customer.vehicles), *CARE_PEOPLE])
    if customer is None:
        abort(404)
    return customer


def load_vehicle_or_404(customer: Customer, vehicle_id: int) -> Vehicle:
    vehicle = next((v for v in customer.vehicles if v.id == vehicle_id), None)
    if vehicle is None:
        abort(404)
    return vehicle


def care_people(role: Role, current: User | None) -> list[User]:
    """The active people of a role, and the customer's current one even when no longer active."""
    people = db.session.scalars(select(User).where(User.role == role, User.active.is_(True))
                                .order_by(User.display_name)).all()
    if current is not None and current not in people:
        people.append(current)
    return people


def person_or_none(user_id: int) -> User | None:
    return db.session.get(User, user_id) if user_id and user_id != NOBODY else None


def put_on_field(form, refusal: Refusal, default: str | None = None) -> None:
    """A refused change shown under the field its FieldError names, else under `default` (at the top of the
    form when there is neither)."""
    field = getattr(form, getattr(refusal.error, "field", None) or "", None)
    if field is None and default is not None:
        field = getattr(form, default)
    if field is None:
        form.form_errors.append(refusal.text)
    else:
        field.errors.append(refusal.text)


def today():
    return dates.local_date(utcnow(), store().zone)


def display_helpers() -> dict:
    """What the templates use to show a number or a plate: masked per the viewer's role, with the dot."""
    return {"phone": partial(customers.shown_mobile, current_user._get_current_object()),
            "plate": customers.format_plate}


# ---------------------------------------------------------------- reading


@bp.get("/")
@policy.staff
def index():
    form = SearchForm(request.args)
    term = form.q.data if form.validate() else ""
    query = customers.search(term, full_phone=customers.may_see_phone(current_user))
    page = db.paginate(query.options(*CARE_PEOPLE), page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False)
    return render("customers/index.html", fragments={"results": "results"}, form=form, term=term or "",
                  page=page, can_edit=policy.can_edit_customers(current_user), **display_helpers())


@bp.get("/<int:customer_id>")
@policy.staff
def show_customer(customer_id: int):
    return detail_response(load_customer_or_404(customer_id))


def detail_response(customer: Customer, *, status: int = 200, sale_form: SaleForm | None = None,
                    visit_form: VisitForm | None = None):
    timeline = customers.timeline(db.session, customer)
    now, due_soon = utcnow(), store().due_soon
    sla = {e.item.id: e.item.sla_state(now, due_soon) for e in timeline if e.kind == "card"}
    vehicles = customer.vehicles
    context = dict(
        customer=customer, timeline=timeline, sla=sla, vehicles_by_id={v.id: v for v in vehicles},
        can_edit=policy.can_edit_customers(current_user), CallbackResult=CallbackResult,
        sale_form=sale_form or SaleForm(formdata=None, vehicles=vehicles, data={"delivered_on": today()}),
        visit_form=visit_form or VisitForm(formdata=None, vehicles=vehicles, data={"visited_on": today()}),
        **display_helpers())
    return render_template("customers/detail.html", **context), status


# ---------------------------------------------------------------- customers


@bp.route("/new", methods=["GET", "POST"])
@policy.staff
def new_customer():
    require_editor()
    form = customer_form(None)
    if form.validate_on_submit():
        with change() as outcome:
            customer = customers.create_customer(db.session, **customer_args(form))
        if outcome.refused:
            put_on_field(form, outcome.refusal)
        else:
            flash(_("Customer %(name)s created. Add the vehicle next.", name=customer.name), "success")
            return redirect(url_for("customers.show_customer", customer_id=customer.id), code=303)
    return render_template("customers/customer_form.html", form=form, customer=None), 422 if form.errors else 200


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@policy.staff
def edit_customer(customer_id: int):
    require_editor()
    customer = load_customer_or_404(customer_id)
    form = customer_form(customer)
    if form.validate_on_submit():
        with change() as outcome:
            customers.update_customer(db.session, customer, **customer_args(form))
        if outcome.refused:
            put_on_field(form, outcome.refusal)
        else:
            flash(_("Customer %(name)s saved.", name=customer.name), "success")
            return redirect(url_for("customers.show_customer", customer_id=customer.id), code=303)
    return render_template("customers/customer_form.html", form=form, customer=customer), \
        422 if form.errors else 200


def customer_form(customer: Customer | None) -> CustomerForm:
    """The form drawn from the customer (None: empty); the posted values when there are some."""
    data = None if customer is None else {
        "name": customer.name, "mobile": customer.mobile, "birthday": customer.birthday, "notes": customer.notes,
        "sales_care": customer.sales_care_id or NOBODY, "aftersales_care": customer.aftersales_care_id or NOBODY}
    return CustomerForm(data=data,
                        sales_people=care_people(Role.SALES_CARE, customer and customer.sales_care),
                        aftersales_people=care_people(Role.AFTERSALES_CARE, customer and customer.aftersales_care))


def customer_args(form: CustomerForm) -> dict:
    return {"name": form.name.data, "mobile": form.mobile.data, "birthday": form.birthday.data,
            "notes": form.notes.data, "sales_care": person_or_none(form.sales_care.data),
            "aftersales_care": person_or_none(form.aftersales_care.data)}


# ---------------------------------------------------------------- vehicles


@bp.route("/<int:customer_id>/vehicles/new", methods=["GET", "POST"])
@policy.staff
def new_vehicle(customer_id: int):
    require_editor()
    return vehicle_page(load_customer_or_404(customer_id), None)


@bp.route("/<int:customer_id>/vehicles/<int:vehicle_id>/edit", methods=["GET", "POST"])
@policy.staff
def edit_vehicle(customer_id: int, vehicle_id: int):
    require_editor()
    customer = load_customer_or_404(customer_id)
    return vehicle_page(customer, load_vehicle_or_404(customer, vehicle_id))


def vehicle_page(customer: Customer, vehicle: Vehicle | None):
    """Create (vehicle None) or edit one of the customer's vehicles: one form, one service function."""
    data = None if vehicle is None else {
        "vin": vehicle.vin, "plate": customers.format_plate(vehicle.plate), "model": vehicle.model,
        **{name: getattr(vehicle, name) for name in customers.VEHICLE_DATES}}
    form = VehicleForm(data=data)
    if form.validate_on_submit():
        dates = {name: getattr(form, name).data for name in customers.VEHICLE_DATES}
        with change() as outcome:
            vehicle = customers.save_vehicle(db.session, customer, vehicle, vin=form.vin.data, plate=form.plate.data,
                                             model=form.model.data, **dates)
        if outcome.refused:
            put_on_field(form, outcome.refusal)
        else:
            flash(_("Vehicle %(vehicle)s saved.", vehicle=customers.format_plate(vehicle.plate) or vehicle.vin),
                  "success")
            return redirect(url_for("customers.show_customer", customer_id=customer.id), code=303)
    return render_template("customers/vehicle_form.html", form=form, customer=customer, vehicle=vehicle), \
        422 if form.errors else 200


# ---------------------------------------------------------------- sales and service visits


@bp.post("/<int:customer_id>/sales")
@policy.staff
def record_sale(customer_id: int):
    require_editor()
    customer = load_customer_or_404(customer_id)
    form = SaleForm(vehicles=customer.vehicles)
    if not form.validate_on_submit():
        return detail_response(customer, status=422, sale_form=form)
    vehicle = load_vehicle_or_404(customer, form.vehicle.data)
    customers.record_sale(db.session, vehicle, form.delivered_on.data)
    db.session.commit()
    flash(_("Delivery of %(date)s recorded; its callbacks follow.", date=form.delivered_on.data.isoformat()),
          "success")
    return redirect(url_for("customers.show_customer", customer_id=customer.id), code=303)


@bp.post("/<int:customer_id>/visits")
@policy.staff
def record_visit(customer_id: int):
    require_editor()
    customer = load_customer_or_404(customer_id)
    form = VisitForm(vehicles=customer.vehicles)
    if not form.validate_on_submit():
        return detail_response(customer, status=422, visit_form=form)
    vehicle = load_vehicle_or_404(customer, form.vehicle.data)
    with change() as outcome:
        customers.record_visit(db.session, vehicle, form.visited_on.data, work_order=form.work_order.data,
                               description=form.description.data)
    if outcome.refused:
        put_on_field(form, outcome.refusal, default="work_order")
        return detail_response(load_customer_or_404(customer_id), status=422, visit_form=form)
    flash(_("Service visit of %(date)s recorded.", date=form.visited_on.data.isoformat()), "success")
    return redirect(url_for("customers.show_customer", customer_id=customer.id), code=303)
