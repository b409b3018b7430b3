"""Form fields shared by the blueprints' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

from careboard.urls import MAX_ID


class DbIntegerField(IntegerField):
    """An IntegerField whose value fits the database's INTEGER columns (ids, versions, positions): a
    larger number is a form error, not an overflow in the database driver."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_ID - 1 <= self.data <= MAX_ID:
            self.data = None
            raise ValueError(str(_l("The number is too large.")))
