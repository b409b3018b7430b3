"""Forms of the 5S checklist pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, RadioField, SelectField,
                     StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from careboard.fields import DbIntegerField
from careboard.models import CARE_ROLES, FiveS, Result


class AnswerForm(AppForm):
    """One tap on pass / fail / n.a., and the note; no version: the last tap wins, as on paper."""
    result = RadioField(_l("Result"), choices=[SelectChoice(r.value, r.label) for r in Result], validators=[Optional()],
                        validate_choice=True)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class PhotoForm(AppForm):
    photo = FileField(_l("Photo"), validators=[FileRequired(_l("Choose or take a photo."))])


class EmptyForm(AppForm):
    """A button-only POST: the form carries the CSRF token."""


class VersionForm(AppForm):
    version = DbIntegerField(validators=[InputRequired()])


class RectifyForm(VersionForm):
    note = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=1000)])


class SendBackForm(VersionForm):
    reason = TextAreaField(_l("What is still wrong"), validators=[DataRequired(), Length(max=1000)])


class ItemRow(Form):
    """A row of the area form; `id` empty for a new item."""
    item_id = HiddenField()
    text = StringField(_l("Standard"), validators=[Optional(), Length(max=300)])
    category = SelectField(_l("5S"), choices=[])
    active = BooleanField(_l("In use"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c.value, c.label) for c in FiveS]


def _people_choices(people) -> list:
    return [SelectChoice(0, _l("Anyone of the role (least loaded)"))] + \
        [SelectChoice(p.id, f"{p.display_name} · {p.role.label}") for p in people]


class AreaForm(AppForm):
    name = StringField(_l("Area"), validators=[DataRequired(), Length(max=80)])
    responsible_role = SelectField(_l("Responsible role"))
    responsible = SelectField(_l("Responsible person"), coerce=int)
    inspector_role = SelectField(_l("Inspected by role"))
    inspector = SelectField(_l("Inspector"), coerce=int)
    active = BooleanField(_l("Checked every day"), default=True)
    items = FieldList(FormField(ItemRow), min_entries=1)
    version = DbIntegerField(validators=[Optional()])

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        roles = [SelectChoice(r.value, r.label) for r in CARE_ROLES]
        self.responsible_role.choices = self.inspector_role.choices = roles
        self.responsible.choices = self.inspector.choices = _people_choices(people)
