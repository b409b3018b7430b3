"""Forms of the scorecard pages. The fields of the entry form follow the role's template, so that form is
made for a template (`entries_form`); it reads the figures as the engine takes them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from careboard.fields import DbIntegerField
from careboard.services import kpi_engine


class ReopenForm(AppForm):
    reason = TextAreaField(_l("Why is the month reopened?"), validators=[DataRequired(), Length(max=1000)])


class FinalizeForm(AppForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class TemplateForm(AppForm):
    definition = TextAreaField(_l("Template (JSON)"), validators=[DataRequired(), Length(max=100_000)])
    version = DbIntegerField(validators=[Optional()])


# ---------------------------------------------------------------- the figures a supervisor enters


def entered_metrics(template: kpi_engine.Template) -> list[kpi_engine.Metric]:
    """The metrics of a template that the board cannot measure: their figures are entered."""
    return [m for m in template.metrics if m.source == "entered"]


def number(text: str | None, unit: str):
    """A figure as typed; rates are typed in percent. Unreadable text goes on to the engine, which says so."""
    text = (text or "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite() or (value and value.adjusted() >= kpi_engine.MAX_DIGITS):
        return text                                 # NaN, infinity or huge: the engine refuses it with a message
    return float(value / 100) if unit == "rate" else float(value)


class EntriesForm(AppForm):
    """The entered figures of one person's month: a text field per figure, named `m-<code>` (a weighted
    rate's parts `m-<code>-<part>`, a judged metric's `m-<code>-band` and `m-<code>-value`). The engine
    checks the values when they are saved, so its messages are the form's."""

    template: kpi_engine.Template

    def values(self) -> dict[str, object]:
        """Each entered metric's value as the engine takes it (None: left empty)."""
        values: dict[str, object] = {}
        for m in entered_metrics(self.template):
            key = f"m-{m.code}"
            if m.rule == kpi_engine.WEIGHTED_RATES:
                parts = {p.code: number(self[f"{key}-{p.code}"].data, "rate") for p in m.spec.parts}
                values[m.code] = {k: v for k, v in parts.items() if v is not None} or None
            elif m.rule == kpi_engine.JUDGED:
                band = self[f"{key}-band"].data or ""
                value = number(self[f"{key}-value"].data, "number")
                values[m.code] = {"band": band, **({} if value is None else {"value": value})} if band else None
            else:
                values[m.code] = number(self[key].data, m.unit)
        return values


def _field_names(template: kpi_engine.Template) -> list[str]:
    names = []
    for m in entered_metrics(template):
        key = f"m-{m.code}"
        if m.rule == kpi_engine.WEIGHTED_RATES:
            names += [f"{key}-{p.code}" for p in m.spec.parts]
        elif m.rule == kpi_engine.JUDGED:
            names += [f"{key}-band", f"{key}-value"]
        else:
            names.append(key)
    return names


def entries_form(template: kpi_engine.Template) -> EntriesForm:
    """The entry form of a template's figures, filled from the request when it was posted."""
    form_class = type("TemplateEntriesForm", (EntriesForm,), {"template": template})
    for name in _field_names(template):
        setattr(form_class, name, StringField())
    return form_class()
