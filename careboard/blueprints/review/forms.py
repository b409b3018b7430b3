"""Forms of the weekly review."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from careboard.dates import InRange


class ActionForm(AppForm):
    """An improvement card (PDCA) from a row of the review."""
    title = StringField(_l("What is to be improved"), validators=[DataRequired(), Length(max=200)])
    owner = SelectField(_l("Owner"), coerce=int)
    due_at = DateTimeLocalField(_l("Due"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                validators=[Optional(), InRange()])
    details = TextAreaField(_l("Details"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = [SelectChoice(p.id, p.display_name) for p in people]
