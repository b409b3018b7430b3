"""Forms of the customer pages. The values are checked by services.customers (the same checks as the DMS
import); the forms only parse them (dates, choices) and bound their length."""
from __future__ import annotations


from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from careboard import dates
from careboard.dates import InRange
from careboard.dbtypes import utcnow
from careboard.i18n import store
from careboard.models import User, Vehicle
from careboard.services.customers import format_plate

NOBODY = 0


def person_choices(people: list[User]):
    """'None' and the people; one who is no longer active (still the customer's) is marked so."""
    return [SelectChoice(NOBODY, _l("None"))] + [
        SelectChoice(p.id, p.display_name if p.active else _l("%(name)s (deactivated)", name=p.display_name))
        for p in people]


def vehicle_choices(vehicles: list[Vehicle]):
    return [SelectChoice(v.id, " · ".join(part for part in (format_plate(v.plate), v.model, v.vin) if part))
            for v in vehicles]


def not_in_the_future(form, field) -> None:
    if field.data and field.data > dates.local_date(utcnow(), store().zone):
        raise ValidationError(_l("This date is in the future."))


class SearchForm(AppForm):
    """GET: no CSRF needed for reading."""

    class Meta:
        csrf = False

    q = StringField(_l("Name, phone or plate"), validators=[Optional(), Length(max=100)])


class CustomerForm(AppForm):
    name = StringField(_l("Name"))
    mobile = StringField(_l("Mobile phone"), validators=[Length(max=40)])
    birthday = DateField(_l("Birthday"), validators=[Optional(), InRange(), not_in_the_future])
    sales_care = SelectField(_l("Usual sales care"), coerce=int, default=NOBODY)
    aftersales_care = SelectField(_l("Usual after-sales care"), coerce=int, default=NOBODY)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])

    def __init__(self, *args, sales_people=(), aftersales_people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sales_care.choices = person_choices(list(sales_people))
        self.aftersales_care.choices = person_choices(list(aftersales_people))


class VehicleForm(AppForm):
    vin = StringField(_l("VIN"), validators=[Length(max=40)])
    plate = StringField(_l("Licence plate"), validators=[Length(max=20)])
    model = StringField(_l("Model"), validators=[Length(max=80)])
    delivery_date = DateField(_l("Delivery date"), validators=[Optional(), InRange()])
    warranty_end = DateField(_l("Warranty end"), validators=[Optional(), InRange()])
    insurance_expiry = DateField(_l("Insurance expiry"), validators=[Optional(), InRange()])
    next_inspection = DateField(_l("Next annual inspection"), validators=[Optional(), InRange()])
    first_maintenance_due = DateField(_l("First maintenance due"),
                                      validators=[Optional(), InRange()])


class SaleForm(AppForm):
    """A delivery (交车) of one of the customer's vehicles."""

    vehicle = SelectField(_l("Vehicle"), coerce=int)
    delivered_on = DateField(_l("Delivered on"), validators=[DataRequired(), InRange()])

    def __init__(self, *args, vehicles=(), **kwargs):
        super().__init__(*args, prefix="sale", **kwargs)
        self.vehicle.choices = vehicle_choices(list(vehicles))


class VisitForm(AppForm):
    """A service visit (进站) of one of the customer's vehicles."""

    vehicle = SelectField(_l("Vehicle"), coerce=int)
    visited_on = DateField(_l("Visited on"), validators=[DataRequired(), InRange()])
    work_order = StringField(_l("Work order"), validators=[Length(max=40)])
    description = TextAreaField(_l("Work done"), validators=[Length(max=4000)])

    def __init__(self, *args, vehicles=(), **kwargs):
        super().__init__(*args, prefix="visit", **kwargs)
        self.vehicle.choices = vehicle_choices(list(vehicles))
