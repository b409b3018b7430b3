"""The director's what-if: a form built from a KPI template's metrics (a number per rate or figure, the parts
of a weighted rate, a band and a value for a judged metric), read into the inputs `kpi_engine.compute()`
takes, and the computation laid out for the page. The fields are named like the supervisor's entry form
(`m-<code>`, `m-<code>-<part>`, `m-<code>-band`, `m-<code>-value`); rates are typed in percent.

Every field is checked here, with a message next to it, before anything is computed: a bad figure is
never handed to the engine. The command line (`flask kpi compute`) keeps taking JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from careboard.fields import AppForm
from careboard.services import kpi_engine
from careboard.services.kpi_engine import (BAND_INTERPOLATED, COEFFICIENT, GATE, JUDGED, LINEAR, WEIGHTED_RATES,
                                           Metric, Template, fmt)

HUNDRED = Decimal(100)
RATE_MAX = Decimal(1000)            # a completion rate may pass 100 %; ten times the target is a typing error
STEP = "0.01"
JUDGED_STEP = "0.1"


@dataclass
class Figure:
    """One input of the form: the field, what it asks for and its range (in the unit typed)."""
    name: str
    label: str
    unit: str                        # "%" or ""
    low: Decimal | None = None
    high: Decimal | None = None
    step: str = STEP
    band: bool = False               # the band select of a judged metric

    def attrs(self) -> dict:
        if self.band:
            return {}
        attrs = {"type": "number", "inputmode": "decimal", "step": self.step}
        if self.low is not None:
            attrs["min"] = fmt(self.low)
        if self.high is not None:
            attrs["max"] = fmt(self.high)
        return attrs


@dataclass
class Group:
    """A metric with its fields (a gate reading another metric's value has none and is not listed)."""
    metric: Metric
    figures: list[Figure] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.metric.source == kpi_engine.MEASURED


def _typed(unit: str) -> str:
    """The unit a metric's figures are typed in: rates and percentages in percent."""
    return "%" if unit in ("rate", "percent") else ""


def _as_typed(value: Decimal, unit: str) -> Decimal:
    return value * HUNDRED if unit == "rate" else value


def _range(m: Metric) -> tuple[Decimal, Decimal]:
    """The range a figure of the metric may take, in the unit typed: a band rule's bands; a rate 0–1000 %;
    another number from 0 to twice the largest number of its rule (at least 100)."""
    spec = m.spec
    if m.rule == BAND_INTERPOLATED:
        return spec.bands[0].start, spec.bands[-1].end
    if m.unit == "rate":
        return Decimal(0), RATE_MAX
    numbers = [Decimal(100)]
    if m.rule == LINEAR:
        numbers += [abs(spec.target), abs(spec.floor)]
    elif m.rule == COEFFICIENT:
        numbers += [abs(s.min) for s in spec.steps if s.min is not None]
    elif m.rule == GATE:
        numbers.append(abs(spec.min))
    return Decimal(0), 2 * max(numbers)


def _default(m: Metric) -> Decimal:
    """A figure that scores something meaningful: the target, the better end of the bands, the threshold of
    the neutral factor (× 1, else the best one), a gate's minimum."""
    spec = m.spec
    if m.rule == LINEAR:
        return spec.target
    if m.rule == BAND_INTERPOLATED:
        return spec.bands[0].start if spec.better == kpi_engine.LOWER else spec.bands[-1].end
    if m.rule == COEFFICIENT:
        stepped = [s for s in spec.steps if s.min is not None]
        neutral = [s for s in stepped if s.factor == 1]
        if neutral or stepped:
            return (neutral or stepped)[0].min
        return Decimal(0)
    return spec.min                 # a gate with its own value


def groups_of(template: Template) -> list[Group]:
    """The template's metrics in order, each with the figures the what-if asks for."""
    groups = []
    for m in template.metrics:
        key, unit = f"m-{m.code}", _typed(m.unit)
        if m.rule == WEIGHTED_RATES:
            groups.append(Group(m, [Figure(f"{key}-{p.code}", p.label or p.code, unit, Decimal(0),
                                           RATE_MAX if unit else RATE_MAX / HUNDRED)
                                    for p in m.spec.parts]))
        elif m.rule == JUDGED:
            low = min(b.min for b in m.spec.bands)
            high = max(b.max for b in m.spec.bands)
            groups.append(Group(m, [Figure(f"{key}-band", _("Band"), "", band=True),
                                    Figure(f"{key}-value", _("Value in the band"), "", low, high, JUDGED_STEP)]))
        elif m.rule == GATE and m.spec.value_of:
            continue                                  # it reads the value of the metric it names
        else:
            low, high = _range(m)
            groups.append(Group(m, [Figure(key, _("Value"), unit, low, high)]))
    return groups


def _defaults(template: Template) -> dict[str, str]:
    values = {}
    for m in template.metrics:
        key = f"m-{m.code}"
        if m.rule == WEIGHTED_RATES:
            for p in m.spec.parts:
                values[f"{key}-{p.code}"] = fmt(_as_typed(p.cap if p.cap is not None else Decimal(1), m.unit))
        elif m.rule == JUDGED:
            best = max(m.spec.bands, key=lambda b: (b.max, b.min))
            values[f"{key}-band"], values[f"{key}-value"] = best.code, fmt(best.max)
        elif not (m.rule == GATE and m.spec.value_of):
            values[key] = fmt(_as_typed(_default(m), m.unit))
    return values


def parse_number(text: str | None) -> Decimal | None:
    """A number as typed (a trailing % allowed), None when empty; ValueError when it is no finite number."""
    text = (text or "").strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


class WhatIfForm(AppForm):
    """Made-up figures for a template. Built by `whatif_form()`; CSRF is the page's (the template form's
    token, or htmx's X-CSRFToken header checked by CSRFProtect)."""

    class Meta:
        csrf = False

    template: Template
    groups: list[Group]

    def attrs(self, figure: Figure) -> dict:
        """The HTML attributes of a figure's input: its type and range, and its message."""
        attrs = {"id": figure.name, "aria-describedby": f"err-{figure.name}", **figure.attrs()}
        if self[figure.name].errors:
            attrs["aria-invalid"] = "true"
        return attrs

    def inputs(self) -> dict | None:
        """The figures as the engine takes them (rates as fractions), or None with each field's error set."""
        inputs: dict[str, object] = {}
        ok = True
        for group in self.groups:
            m = group.metric
            if m.rule == JUDGED:
                ok &= self._judged(m, inputs)
                continue
            values = {}
            for figure in group.figures:
                value = self._number(figure)
                if value is False:
                    ok = False
                elif value is not None:
                    values[figure.name] = value / HUNDRED if m.unit == "rate" else value
            if m.rule == WEIGHTED_RATES:
                parts = {p.code: values.get(f"m-{m.code}-{p.code}") for p in m.spec.parts}
                inputs[m.code] = {k: v for k, v in parts.items() if v is not None} or None
            else:
                inputs[m.code] = values.get(f"m-{m.code}")
        return inputs if ok else None

    def _number(self, figure: Figure) -> Decimal | None | bool:
        field = self[figure.name]
        try:
            value = parse_number(field.data)
        except ValueError:
            _refuse(field, _("Enter a number."))
            return False
        if value is None:
            return None
        if (figure.low is not None and value < figure.low) or (figure.high is not None and value > figure.high):
            _refuse(field, _("Enter a number from %(min)s to %(max)s.", min=fmt(figure.low), max=fmt(figure.high)))
            return False
        return value

    def _judged(self, m: Metric, inputs: dict) -> bool:
        band_field, value_field = self[f"m-{m.code}-band"], self[f"m-{m.code}-value"]
        value = self._number(next(f for g in self.groups if g.metric is m for f in g.figures if not f.band))
        if value is False:
            return False
        band = m.spec.band(band_field.data) if band_field.data else None
        if band_field.data and band is None:
            _refuse(band_field, _("Choose one of the bands."))
            return False
        if band is None:
            if value is not None:
                _refuse(band_field, _("Choose the band this value is in."))
                return False
            inputs[m.code] = None
            return True
        if value is None and band.min != band.max:
            _refuse(value_field, _("Give a value from %(min)s to %(max)s for %(band)s.", min=fmt(band.min),
                                   max=fmt(band.max), band=band.label))
            return False
        if value is not None and not band.min <= value <= band.max:
            _refuse(value_field, _("%(band)s allows %(min)s to %(max)s.", band=band.label,
                                   min=fmt(band.min), max=fmt(band.max)))
            return False
        inputs[m.code] = {"band": band.code, **({} if value is None else {"value": value})}
        return True


def _refuse(field, message: str) -> None:
    field.errors = [*field.errors, message]           # a tuple until a field is validated


def whatif_form(template: Template, formdata=None) -> WhatIfForm:
    """The what-if form of a template, filled from `formdata` (a field it lacks keeps its default) or with the
    defaults: the targets, so the first result already means something."""
    groups = groups_of(template)
    form_class = type("TemplateWhatIfForm", (WhatIfForm,), {"template": template, "groups": groups})
    for group in groups:
        m = group.metric
        for figure in group.figures:
            if figure.band:
                choices = [SelectChoice("", "—")] + [SelectChoice(b.code, f"{b.label} ({fmt(b.min)}–{fmt(b.max)})")
                                                     for b in m.spec.bands]
                setattr(form_class, figure.name, SelectField(figure.label, choices=choices, validate_choice=False))
            else:
                setattr(form_class, figure.name, StringField(figure.label))
    return form_class(formdata=formdata, data=_defaults(template))


# ---------------------------------------------------------------- the result, laid out


@dataclass
class Row:
    name: str
    given: str                       # the figure as typed, in its unit
    detail: str
    points: str                      # the metric's weight in the 100 ("" for a gate or coefficient)
    score: str                       # its weighted contribution, or the factor
    css: str = ""


def _given(m: Metric, raw) -> str:
    if raw is None:
        return "—"
    if m.rule == WEIGHTED_RATES:
        shown = {code: "—" if value is None else kpi_engine.show(value, m.unit) for code, value in raw.items()}
        return " · ".join(f"{p.label or p.code} {shown.get(p.code, '—')}" for p in m.spec.parts)
    if m.rule == JUDGED:
        band = m.spec.band(raw["band"])
        return f"{band.label} · {fmt(raw['value'])}"
    return kpi_engine.show(raw, m.unit)


def rows_of(template: Template, computation: kpi_engine.Computation) -> list[Row]:
    rows = []
    for r in computation.metrics:
        m = template.metric(r.code)
        css = " ".join(c for c, on in (("missing", r.missing), ("gated", r.gated)) if on)
        if r.rule == GATE:
            rows.append(Row(r.name, _given(m, r.raw), r.detail, "", "", css))
        else:
            rows.append(Row(r.name, _given(m, r.raw), r.detail, fmt(r.points), fmt(r.score_rounded, 1), css))
    for c in computation.coefficients:
        m = template.metric(c.code)
        rows.append(Row(c.name, "—" if c.raw is None else kpi_engine.show(c.raw, m.unit), c.detail, "",
                        "—" if c.factor is None else f"× {fmt(c.factor)}", "coefficient"))
    return rows
