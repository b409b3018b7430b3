"""Forms of the scorecard pages: the fields of an entry form follow the role's template, so they are read
from the request by the view; these carry the CSRF token and the fixed fields."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from careboard.fields import DbIntegerField


class EmptyForm(FlaskForm):
    """A form whose fields the view reads itself (or none): it carries the CSRF token."""


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Why is the month reopened?"), validators=[DataRequired(), Length(max=1000)])


class FinalizeForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class TemplateForm(FlaskForm):
    definition = TextAreaField(_l("Template (JSON)"), validators=[DataRequired(), Length(max=100_000)])
    inputs = TextAreaField(_l("Made-up figures to try it on (JSON)"), validators=[Optional(), Length(max=20_000)])
    version = DbIntegerField(validators=[Optional()])
