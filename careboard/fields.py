"""Form fields shared by the blueprints' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.widgets import Select

from careboard.urls import MAX_ID


class DbIntegerField(IntegerField):
    """An IntegerField whose value fits the database's INTEGER columns (ids, versions, positions): a
    larger number is a form error, not an overflow in the database driver."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_ID - 1 <= self.data <= MAX_ID:
            self.data = None
            raise ValueError(str(_l("The number is too large.")))


class AppForm(FlaskForm):
    """The base of every form. A hidden input (the CSRF token, the version a form was drawn from, however it is
    rendered) gets no id and no `required`: several forms share a page (a card's detail has up to nine), an id
    that repeats is invalid HTML, and nothing labels or validates a hidden input in the browser. A single-choice
    menu whose first option is already a value is not marked `required` either (it always has one)."""

    class Meta:
        def render_field(self, field, render_kw):
            hidden = render_kw.get("type", getattr(field.widget, "input_type", None)) == "hidden"
            if hidden:
                render_kw = {"id": False, "required": False, **render_kw}
            elif isinstance(field.widget, Select) and not getattr(field.widget, "multiple", False):
                choices = list(field.iter_choices()) if hasattr(field, "iter_choices") else []
                if choices and str(choices[0][0]) != "":
                    render_kw = {"required": False, **render_kw}
            return super().render_field(field, render_kw)
