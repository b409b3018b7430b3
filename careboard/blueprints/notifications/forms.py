"""Forms of the notifications pages."""
from __future__ import annotations

from wtforms import SelectMultipleField

from careboard.fields import AppForm


class ButtonForm(AppForm):
    """A button-only write (open a notice, mark it or all read): the CSRF token only."""


class PreferencesForm(AppForm):
    """A checkbox per kind that can reach the person; the choices are set by the view."""
    kinds = SelectMultipleField(validate_choice=True)
