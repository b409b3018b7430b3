"""Forms of the complaints pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from careboard.dates import InRange
from careboard.fields import DbIntegerField
from careboard.models import Category, Channel, ComplaintStatus, Department


def _choices(enum_type):
    return [SelectChoice(member.value, member.label) for member in enum_type]


class IntakeForm(AppForm):
    """Fast enough for a call in progress: phone or plate, then what happened."""
    lookup = StringField(_l("Customer's phone or plate"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Customer's name (for a new customer)"), validators=[Optional(), Length(max=80)])
    channel = SelectField(_l("Channel"), default=Channel.PHONE.value)
    category = SelectField(_l("Category"), default="service")
    department = SelectField(_l("Responsible department"), default=Department.AFTERSALES.value)
    severity = SelectField(_l("Severity"), coerce=int, default=2,
                           choices=[SelectChoice(1, _l("Serious")), SelectChoice(2, _l("Normal")),
                                    SelectChoice(3, _l("Minor"))])
    description = TextAreaField(_l("What the customer complains about"),
                                validators=[DataRequired(), Length(max=4000)])
    received_at = DateTimeLocalField(_l("Received"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                     validators=[Optional(), InRange()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = _choices(Channel)
        self.category.choices = _choices(Category)
        self.department.choices = _choices(Department)


class StepForm(AppForm):
    to = SelectField(choices=_choices(ComplaintStatus))
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])
    solution = TextAreaField(_l("Proposed solution"), validators=[Length(max=4000)])
    version = DbIntegerField(validators=[InputRequired()])


class SecondCallbackForm(AppForm):
    satisfied = RadioField(_l("Is the customer satisfied now?"), validators=[InputRequired()],
                           choices=[SelectChoice("yes", _l("Satisfied: close")),
                                    SelectChoice("no", _l("Still unhappy: reopen"))])
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])
    version = DbIntegerField(validators=[InputRequired()])


class DeadlineForm(AppForm):
    due = DateTimeLocalField(_l("New deadline"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                             validators=[DataRequired(), InRange()])
    version = DbIntegerField(validators=[InputRequired()])


class ReadForm(AppForm):
    """A button-only write (marking a notice read)."""
