"""KPI scoring (考核): a role's template of metrics, their rules, and the score of one person's month.

Pure Python: no database, no request; runs inside or outside an app context (outside one, gettext
falls back to the English msgids). The database stores a template as the JSON dict below, the director
edits it, `validate_template()` turns it into a `Template` (or raises `TemplateError` listing every
problem), and `compute()` scores one month's inputs against it.

Template (JSON)::

    {"role": "cs_supervisor", "name": "...", "description": "...",
     "metrics": [{"code": "insurance", "name": "保险业务", "points": 20, "rule": "weighted_rates",
                  "params": {...}, "source": "entered" | "measured", "measure": null | "<measure code>",
                  "unit": "rate" | "percent" | "number", "description": "..."}, ...]}

`code` is lower-case letters, digits and `_`, unique in the template. The points of the scoring metrics
(every rule but `coefficient` and `gate`, which carry 0 points) add up to exactly 100. `unit` only says
how a raw value reads: "rate" is a fraction shown as a percentage (0.95 → 95%), "percent" a number
already in percent, "number" as it is; the default is "rate" for linear and weighted_rates, "number"
otherwise. A `measured` metric names one of MEASURES and takes one number (linear, band_interpolated,
coefficient or gate); the caller measures it and passes the value in the inputs like any other.

Rules, their params, and the input each takes (inputs are keyed by metric code):

- `linear` {"target": 1, "floor": 0} (both optional) — input a number. score = points × (x − floor) ÷
  (target − floor), clamped to [0, points]. Defaults give points × rate: 10 × 95% = 9.5, 150% → 10,
  −5% → 0. A floor above the target means lower is better (churn: floor 0.30, target 0.15).
- `weighted_rates` {"parts": [{"code": "renewal", "label": "续保", "weight": 8, "cap": null}, ...]} —
  input {"renewal": 0.9, ...}. score = Σ weight × rate, capped at the metric's points; a negative rate
  counts 0, and a part with a `cap` counts at most that rate (cap 1: overshooting it cannot make up for
  another part). The weights may add up to less than the points, as in the seed's 保险业务 (20 points,
  8 × renewal + 2 × new insurance: completion rates above 100% earn the rest), but not to more, and
  with every part at its cap the metric must still reach its points. A part left out counts 0 and flags
  the metric missing.
- `band_interpolated` {"bands": [{"from": 0, "to": 20, "low": 25, "high": 30}, ...], "better": "lower" |
  "higher"} — input a number. Bands are contiguous (each `to` is the next `from`), 0 ≤ low ≤ high ≤
  points, and no band scores more than the band next to it on the better side. Within a band the score
  runs linearly from `low` at its worse end to `high` at its better end. A value on a shared edge
  belongs to the better band (with better=lower, 20 belongs to 0–20 → 25); where bands are continuous,
  as in the seeds, both sides agree anyway. Values outside the bands count as the nearest end.
- `judged` {"bands": [{"code": "good", "label": "好", "min": 6, "max": 10}, ...]} — input
  {"band": "good", "value": 8}; the value may be left out when min = max. An unknown band, or a value
  outside the band's [min, max] (both inclusive), raises InputError naming the metric and the range.
- `coefficient` {"steps": [{"min": 98, "factor": 1.4}, ..., {"min": null, "factor": 0.8}], "of": "total"}
  — input a number. Steps are listed by descending `min`, each inclusive (x ≥ 98 → 1.4; 96 ≤ x < 98 →
  1.2), the last with min null catches the rest. It does not count in the 100: the factor is shown beside
  the total with `of` (the total, or one scoring metric's score) multiplied by it.
- `gate` {"gates": "<metric code>", "min": 650, "value_of": null | "<metric code>"} — input a number
  (or the input of the metric `value_of` names, so a value is not entered twice). x ≥ min opens the gate;
  below it, or with no value, the gated metric scores 0 and is flagged `gated`.

A metric without an input (absent, None or "") scores 0 and is flagged `missing`: a half-entered month
can be shown, and `Computation.complete` says whether it is final. Inputs for codes the template does not
know are ignored and listed in `Computation.ignored` (a template edited after the month was entered).
Arithmetic is Decimal throughout (floats are read as written, 0.9 not 0.90000000000000002); scores
are kept exact and rounded half-up to one decimal only for display.

Longer than 500 lines because it is the seven scoring rules, each with its validation beside its score:
a rule's params are checked where they are used, so a template the validator accepts is one `compute` can
score. It imports nothing of CareBoard but the domain errors and is tested on its own (tests/test_kpi_engine.py).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from careboard.services.errors import InputError, TemplateError


LINEAR = "linear"
WEIGHTED_RATES = "weighted_rates"
BAND_INTERPOLATED = "band_interpolated"
JUDGED = "judged"
COEFFICIENT = "coefficient"
GATE = "gate"
RULES = (LINEAR, WEIGHTED_RATES, BAND_INTERPOLATED, JUDGED, COEFFICIENT, GATE)
SCORING_RULES = (LINEAR, WEIGHTED_RATES, BAND_INTERPOLATED, JUDGED)     # the ones that share the 100
NUMERIC_RULES = (LINEAR, BAND_INTERPOLATED, COEFFICIENT, GATE)          # input: one number

ENTERED = "entered"
MEASURED = "measured"
MEASURES = ("callback_completion", "callback_success", "greeting_rate", "complaint_response",
            "complaint_closure", "complaint_handoff", "checklist_completion", "rectification_on_time",
            "reminders_sent")
UNITS = ("rate", "percent", "number")
DEFAULT_UNIT = {LINEAR: "rate", WEIGHTED_RATES: "rate"}                 # "number" otherwise
LOWER, HIGHER = "lower", "higher"
TOTAL = "total"
TOTAL_POINTS = Decimal(100)

ZERO = Decimal(0)
ONE = Decimal(1)
TENTH = Decimal("0.1")
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


# ---------------------------------------------------------------- numbers


MAX_DIGITS = 15          # no figure or template number reaches 10**15; beyond it the arithmetic may overflow


class TooLarge(ValueError):
    """A number of 10**15 or more (1e999999999999999999 would overflow the Decimal arithmetic)."""


def to_decimal(value: Any) -> Decimal:
    """A finite Decimal below 10**15 from an int, float, Decimal or numeric string; TypeError for another
    type, ValueError for a string that is no number, NaN or infinity, TooLarge for a huge one."""
    if isinstance(value, bool) or value is None:
        raise TypeError(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))          # the float as written: 0.9, not 0.900000000000000022
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(value) from None
    else:
        raise TypeError(value)
    if not number.is_finite():
        raise ValueError(value)
    if number and number.adjusted() >= MAX_DIGITS:
        raise TooLarge(value)
    return number


def round1(value: Decimal) -> Decimal:
    """Half-up to one decimal, for display."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def fmt(value: Decimal, places: int = 2) -> str:
    """A number for people: rounded half-up, trailing zeros dropped (8.20 → 8.2, 8.0 → 8)."""
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def show(value: Decimal, unit: str) -> str:
    """A raw value in its unit: a rate as a percentage."""
    if unit == "rate":
        return fmt(value * 100) + "%"
    if unit == "percent":
        return fmt(value) + "%"
    return fmt(value)


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- the template


@dataclass(frozen=True)
class LinearSpec:
    target: Decimal
    floor: Decimal

    def params(self) -> dict:
        return {"target": json_number(self.target), "floor": json_number(self.floor)}


@dataclass(frozen=True)
class Part:
    code: str
    label: str
    weight: Decimal
    cap: Decimal | None = None                 # the highest rate counted; None: only the metric is capped


@dataclass(frozen=True)
class WeightedSpec:
    parts: tuple[Part, ...]

    def params(self) -> dict:
        return {"parts": [{"code": p.code, "label": p.label, "weight": json_number(p.weight),
                           "cap": json_number(p.cap)} for p in self.parts]}


@dataclass(frozen=True)
class Band:
    start: Decimal
    end: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class BandSpec:
    bands: tuple[Band, ...]                    # ascending by start, contiguous
    better: str

    def params(self) -> dict:
        return {"bands": [{"from": json_number(b.start), "to": json_number(b.end), "low": json_number(b.low),
                           "high": json_number(b.high)} for b in self.bands],
                "better": self.better}


@dataclass(frozen=True)
class Judgement:
    code: str
    label: str
    min: Decimal
    max: Decimal


@dataclass(frozen=True)
class JudgedSpec:
    bands: tuple[Judgement, ...]

    def band(self, code: Any) -> Judgement | None:
        return next((b for b in self.bands if b.code == code), None)

    def params(self) -> dict:
        return {"bands": [{"code": b.code, "label": b.label, "min": json_number(b.min),
                           "max": json_number(b.max)} for b in self.bands]}


@dataclass(frozen=True)
class Step:
    min: Decimal | None                        # inclusive; None: every value below the other steps
    factor: Decimal


@dataclass(frozen=True)
class CoefficientSpec:
    steps: tuple[Step, ...]                    # descending by min, the catch-all last
    of: str

    def params(self) -> dict:
        return {"steps": [{"min": json_number(s.min), "factor": json_number(s.factor)} for s in self.steps],
                "of": self.of}


@dataclass(frozen=True)
class GateSpec:
    gates: str
    min: Decimal
    value_of: str | None

    def params(self) -> dict:
        return {"gates": self.gates, "min": json_number(self.min), "value_of": self.value_of}


Spec = LinearSpec | WeightedSpec | BandSpec | JudgedSpec | CoefficientSpec | GateSpec


@dataclass(frozen=True)
class Metric:
    code: str
    name: str
    points: Decimal
    rule: str
    spec: Spec
    source: str = ENTERED
    measure: str | None = None
    unit: str = "number"
    description: str = ""

    @property
    def counts(self) -> bool:
        """Whether it shares the 100 points (coefficients and gates do not)."""
        return self.rule in SCORING_RULES

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "points": json_number(self.points), "rule": self.rule,
                "params": self.spec.params(), "source": self.source, "measure": self.measure,
                "unit": self.unit, "description": self.description}


@dataclass(frozen=True)
class Template:
    role: str
    name: str
    description: str
    metrics: tuple[Metric, ...]

    def metric(self, code: str) -> Metric:
        for m in self.metrics:
            if m.code == code:
                return m
        raise KeyError(code)

    @property
    def scoring(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.counts)

    def to_dict(self) -> dict:
        """The canonical JSON form: what validate_template() accepts, with every default spelled out."""
        return {"role": self.role, "name": self.name, "description": self.description,
                "metrics": [m.to_dict() for m in self.metrics]}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(metric: str, params: Mapping, key: str, default: Decimal | None = None) -> Decimal:
    value = params.get(key)
    if value is None:
        if default is not None:
            return default
        raise TemplateError(_("%(metric)s: the parameter %(param)s is missing.", metric=metric, param=key))
    try:
        return to_decimal(value)
    except (TypeError, ValueError):
        raise TemplateError(_("%(metric)s: the parameter %(param)s must be a number, not %(value)s.",
                              metric=metric, param=key, value=value)) from None


def _items(metric: str, params: Mapping, key: str) -> list[Mapping]:
    items = params.get(key)
    if not isinstance(items, list) or not items:
        raise TemplateError(_("%(metric)s: the parameter %(param)s must be a non-empty list.",
                              metric=metric, param=key))
    for item in items:
        if not isinstance(item, Mapping):
            raise TemplateError(_("%(metric)s: every entry of %(param)s must be an object.",
                                  metric=metric, param=key))
    return items


def _code(metric: str, value: Any, seen: set[str]) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise TemplateError(_("%(metric)s: %(code)s is not a valid code (lower-case letters, digits and _, "
                              "starting with a letter).", metric=metric, code=value))
    if value in seen:
        raise TemplateError(_("%(metric)s: the code %(code)s is used twice.", metric=metric, code=value))
    seen.add(value)
    return value


def _parse_linear(metric: str, points: Decimal, params: Mapping) -> LinearSpec:
    spec = LinearSpec(target=_number(metric, params, "target", ONE),
                      floor=_number(metric, params, "floor", ZERO))
    if spec.target == spec.floor:
        raise TemplateError(_("%(metric)s: the target must differ from the floor.", metric=metric))
    return spec


def _parse_weighted(metric: str, points: Decimal, params: Mapping) -> WeightedSpec:
    seen: set[str] = set()
    parts = []
    for item in _items(metric, params, "parts"):
        code = _code(metric, item.get("code"), seen)
        weight = _number(metric, item, "weight")
        if weight <= 0:
            raise TemplateError(_("%(metric)s: the weight of %(part)s must be above 0.",
                                  metric=metric, part=code))
        cap = None if item.get("cap") is None else _number(metric, item, "cap")
        if cap is not None and cap <= 0:
            raise TemplateError(_("%(metric)s: the cap of %(part)s must be above 0.",
                                  metric=metric, part=code))
        parts.append(Part(code=code, label=_text(item.get("label")) or code, weight=weight, cap=cap))
    total = sum((p.weight for p in parts), ZERO)
    if total > points:
        raise TemplateError(_("%(metric)s: the weights add up to %(total)s, more than its %(points)s points.",
                              metric=metric, total=fmt(total), points=fmt(points)))
    if all(p.cap is not None for p in parts):
        best = sum((p.weight * p.cap for p in parts), ZERO)
        if best < points:
            raise TemplateError(_("%(metric)s: with every part at its cap it earns only %(best)s of its "
                                  "%(points)s points.", metric=metric, best=fmt(best), points=fmt(points)))
    return WeightedSpec(parts=tuple(parts))


def _parse_bands(metric: str, points: Decimal, params: Mapping) -> BandSpec:
    better = params.get("better", HIGHER)
    if better not in (LOWER, HIGHER):
        raise TemplateError(_("%(metric)s: \"better\" must be \"lower\" or \"higher\".", metric=metric))
    bands = []
    for item in _items(metric, params, "bands"):
        band = Band(start=_number(metric, item, "from"), end=_number(metric, item, "to"),
                    low=_number(metric, item, "low"), high=_number(metric, item, "high"))
        if band.start >= band.end:
            raise TemplateError(_("%(metric)s: a band must run from a lower to a higher value "
                                  "(%(start)s–%(end)s).", metric=metric, start=fmt(band.start),
                                  end=fmt(band.end)))
        if not ZERO <= band.low <= band.high <= points:
            raise TemplateError(_("%(metric)s: the band %(start)s–%(end)s must score within 0 ≤ low ≤ high ≤ "
                                  "%(points)s.", metric=metric, start=fmt(band.start), end=fmt(band.end),
                                  points=fmt(points)))
        bands.append(band)
    bands.sort(key=lambda b: b.start)
    for lower, upper in itertools.pairwise(bands):
        if lower.end != upper.start:
            raise TemplateError(_("%(metric)s: the bands leave a gap or overlap between %(end)s and "
                                  "%(start)s.", metric=metric, end=fmt(lower.end), start=fmt(upper.start)))
        worse, better_band = (lower, upper) if better == HIGHER else (upper, lower)
        if better_band.low < worse.high:
            raise TemplateError(_("%(metric)s: the band %(start)s–%(end)s scores less than the worse band "
                                  "next to it.", metric=metric, start=fmt(better_band.start),
                                  end=fmt(better_band.end)))
    return BandSpec(bands=tuple(bands), better=better)


def _parse_judged(metric: str, points: Decimal, params: Mapping) -> JudgedSpec:
    seen: set[str] = set()
    bands = []
    for item in _items(metric, params, "bands"):
        code = _code(metric, item.get("code"), seen)
        band = Judgement(code=code, label=_text(item.get("label")) or code,
                         min=_number(metric, item, "min"), max=_number(metric, item, "max"))
        if not ZERO <= band.min <= band.max <= points:
            raise TemplateError(_("%(metric)s: the band %(band)s must lie within 0 ≤ min ≤ max ≤ %(points)s.",
                                  metric=metric, band=band.label, points=fmt(points)))
        bands.append(band)
    return JudgedSpec(bands=tuple(bands))


def _parse_coefficient(metric: str, points: Decimal, params: Mapping) -> CoefficientSpec:
    steps = []
    for item in _items(metric, params, "steps"):
        low = None if item.get("min") is None else _number(metric, item, "min")
        factor = _number(metric, item, "factor")
        if factor < 0:
            raise TemplateError(_("%(metric)s: a factor cannot be negative.", metric=metric))
        steps.append(Step(min=low, factor=factor))
    if steps[-1].min is not None or any(s.min is None for s in steps[:-1]):
        raise TemplateError(_("%(metric)s: exactly one step, the last, needs \"min\": null (the factor below "
                              "every threshold).", metric=metric))
    mins = [s.min for s in steps[:-1]]
    if any(a <= b for a, b in itertools.pairwise(mins)):
        raise TemplateError(_("%(metric)s: list the steps from the highest \"min\" down.", metric=metric))
    of = params.get("of") or TOTAL
    if not isinstance(of, str):
        raise TemplateError(_("%(metric)s: \"of\" must be \"total\" or a metric code.", metric=metric))
    return CoefficientSpec(steps=tuple(steps), of=of)


def _parse_gate(metric: str, points: Decimal, params: Mapping) -> GateSpec:
    gates, value_of = params.get("gates"), params.get("value_of")
    if not isinstance(gates, str) or not gates:
        raise TemplateError(_("%(metric)s: the parameter %(param)s is missing.",
                              metric=metric, param="gates"))
    if value_of is not None and not isinstance(value_of, str):
        raise TemplateError(_("%(metric)s: \"value_of\" must be a metric code.", metric=metric))
    return GateSpec(gates=gates, min=_number(metric, params, "min"), value_of=value_of or None)


PARSERS = {LINEAR: _parse_linear, WEIGHTED_RATES: _parse_weighted, BAND_INTERPOLATED: _parse_bands,
           JUDGED: _parse_judged, COEFFICIENT: _parse_coefficient, GATE: _parse_gate}


def _parse_metric(raw: Any, position: int) -> Metric:
    if not isinstance(raw, Mapping):
        raise TemplateError(_("Metric %(position)s is not an object.", position=position))
    code, name = raw.get("code"), _text(raw.get("name"))
    label = name or (code if isinstance(code, str) and code else f"#{position}")
    _code(label, code, set())
    if not name:
        raise TemplateError(_("%(metric)s: the metric needs a name.", metric=label))
    rule = raw.get("rule")
    if rule not in RULES:
        raise TemplateError(_("%(metric)s: unknown rule %(rule)s; use one of %(rules)s.",
                              metric=label, rule=rule, rules=", ".join(RULES)))
    counts = rule in SCORING_RULES
    try:
        points = to_decimal(raw.get("points", None if counts else 0))
    except (TypeError, ValueError):
        raise TemplateError(_("%(metric)s: the points must be a number.", metric=label)) from None
    if counts and points <= 0:
        raise TemplateError(_("%(metric)s: the points must be above 0.", metric=label))
    if not counts and points != 0:
        raise TemplateError(_("%(metric)s: a %(rule)s carries 0 points; it does not count in the 100.",
                              metric=label, rule=rule))
    source, measure = raw.get("source") or ENTERED, raw.get("measure") or None
    if source not in (ENTERED, MEASURED):
        raise TemplateError(_("%(metric)s: the source must be \"entered\" or \"measured\".", metric=label))
    if source == MEASURED:
        if measure not in MEASURES:
            raise TemplateError(_("%(metric)s: a measured metric needs a measure, one of %(measures)s.",
                                  metric=label, measures=", ".join(MEASURES)))
        if rule not in NUMERIC_RULES:
            raise TemplateError(_("%(metric)s: a %(rule)s metric cannot be measured.",
                                  metric=label, rule=rule))
    elif measure is not None:
        raise TemplateError(_("%(metric)s: only a measured metric has a measure.", metric=label))
    unit = raw.get("unit") or DEFAULT_UNIT.get(rule, "number")
    if unit not in UNITS:
        raise TemplateError(_("%(metric)s: the unit must be one of %(units)s.",
                              metric=label, units=", ".join(UNITS)))
    params = raw.get("params")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise TemplateError(_("%(metric)s: the params must be an object.", metric=label))
    spec = PARSERS[rule](label, points, params)
    return Metric(code=code, name=name, points=points, rule=rule, spec=spec, source=source, measure=measure,
                  unit=unit, description=_text(raw.get("description")))


def validate_template(data: Any) -> Template:
    """The template a director saved, checked; TemplateError lists every problem found."""
    if not isinstance(data, Mapping):
        raise TemplateError(_("A KPI template must be an object with a role, a name and metrics."))
    problems: list[str] = []
    role, name = _text(data.get("role")), _text(data.get("name"))
    if not role:
        problems.append(_("The template needs a role."))
    if not name:
        problems.append(_("The template needs a name."))
    raw_metrics = data.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise TemplateError([*problems, _("The template needs at least one metric.")])
    metrics: list[Metric] = []
    for position, raw in enumerate(raw_metrics, 1):
        try:
            metric = _parse_metric(raw, position)
        except TemplateError as e:
            problems.extend(e.problems)
            continue
        if any(m.code == metric.code for m in metrics):
            problems.append(_("Duplicate metric code %(code)s.", code=metric.code))
            continue
        metrics.append(metric)
    parsed = {m.code: m for m in metrics}
    all_codes = {r.get("code") for r in raw_metrics if isinstance(r, Mapping)}
    for m in metrics:
        if isinstance(m.spec, GateSpec):
            refs = [(m.spec.gates, SCORING_RULES)]
            if m.spec.value_of:
                refs.append((m.spec.value_of, NUMERIC_RULES))
        elif isinstance(m.spec, CoefficientSpec) and m.spec.of != TOTAL:
            refs = [(m.spec.of, SCORING_RULES)]
        else:
            continue
        for ref, allowed in refs:
            if ref not in all_codes:
                problems.append(_("%(metric)s: refers to an unknown metric %(code)s.",
                                  metric=m.name, code=ref))
            elif ref in parsed and parsed[ref].rule not in allowed:
                problems.append(_("%(metric)s: cannot refer to %(code)s, a %(rule)s metric.",
                                  metric=m.name, code=ref, rule=parsed[ref].rule))
    if not problems:
        total = sum((m.points for m in metrics if m.counts), ZERO)
        if total != TOTAL_POINTS:
            problems.append(_("Points add up to %(total)s, not 100.", total=fmt(total)))
    if problems:
        raise TemplateError(problems)
    return Template(role=role, name=name, description=_text(data.get("description")), metrics=tuple(metrics))


# ---------------------------------------------------------------- scoring


@dataclass
class MetricResult:
    code: str
    name: str
    rule: str
    source: str
    unit: str
    points: Decimal
    raw: Any                                   # Decimal, {part: Decimal | None}, {"band", "value"}, or None
    score: Decimal                             # exact; `score_rounded` for display
    detail: str                                # how the score came about, e.g. "8 × 90% + 2 × 50% = 8.2"
    missing: bool = False
    gated: bool = False                        # a closed gate set the score to 0
    ungated_score: Decimal | None = None       # what it would have scored without the gate
    gate_open: bool | None = None              # on a gate's own row

    @property
    def score_rounded(self) -> Decimal:
        return round1(self.score)

    def as_dict(self) -> dict:
        ungated = None if self.ungated_score is None else float(self.ungated_score)
        return {"code": self.code, "name": self.name, "rule": self.rule, "source": self.source,
                "unit": self.unit, "points": json_number(self.points), "raw": _json(self.raw),
                "score": float(self.score), "score_rounded": json_number(self.score_rounded),
                "detail": self.detail, "missing": self.missing, "gated": self.gated, "ungated_score": ungated,
                "gate_open": self.gate_open}


@dataclass
class CoefficientResult:
    code: str
    name: str
    raw: Decimal | None
    factor: Decimal | None                     # None when the value is missing
    applies_to: str                            # "total" or a metric code
    adjusted: Decimal | None                   # what it applies to × factor
    detail: str
    missing: bool = False

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "raw": json_number(self.raw),
                "factor": json_number(self.factor), "applies_to": self.applies_to,
                "adjusted": None if self.adjusted is None else float(self.adjusted),
                "detail": self.detail, "missing": self.missing}


@dataclass
class Computation:
    role: str
    metrics: list[MetricResult]                # scoring metrics and gates, in template order
    coefficients: list[CoefficientResult]
    total: Decimal                             # exact sum of the scores
    ignored: tuple[str, ...] = ()              # input codes the template does not know

    @property
    def total_rounded(self) -> Decimal:
        return round1(self.total)

    @property
    def complete(self) -> bool:
        return not any(r.missing for r in self.metrics) and not any(c.missing for c in self.coefficients)

    def result(self, code: str) -> MetricResult:
        for r in self.metrics:
            if r.code == code:
                return r
        raise KeyError(code)

    def as_dict(self) -> dict:
        """JSON-serialisable: what a month's score snapshot stores."""
        return {"role": self.role, "total": json_number(self.total_rounded), "total_exact": float(self.total),
                "points": json_number(TOTAL_POINTS), "complete": self.complete,
                "metrics": [r.as_dict() for r in self.metrics],
                "coefficients": [c.as_dict() for c in self.coefficients], "ignored": list(self.ignored)}


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _input_number(metric: Metric, value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except TooLarge:
        raise InputError(_("%(metric)s: %(value)s is too large.", metric=metric.name, value=value)) from None
    except (TypeError, ValueError):
        raise InputError(_("%(metric)s: %(value)s is not a number.",
                           metric=metric.name, value=value)) from None


def _score_linear(m: Metric, x: Decimal) -> tuple[Decimal, str]:
    spec: LinearSpec = m.spec
    fraction = (x - spec.floor) / (spec.target - spec.floor)
    score = m.points * clamp(fraction, ZERO, ONE)
    p, v, t, f = fmt(m.points), show(x, m.unit), show(spec.target, m.unit), show(spec.floor, m.unit)
    if spec.floor == 0:
        formula = f"{p} × {v}" if spec.target == 1 else f"{p} × {v} ÷ {t}"
    else:
        formula = f"{p} × ({v} − {f}) ÷ ({t} − {f})"
    if fraction > 1:
        return score, _("%(formula)s, capped at %(points)s", formula=formula, points=p)
    if fraction < 0:
        return score, _("%(formula)s is below 0: 0", formula=formula)
    return score, f"{formula} = {fmt(score, 1)}"


def _score_weighted(m: Metric, value: Any) -> tuple[dict, Decimal, str, bool]:
    spec: WeightedSpec = m.spec
    names = ", ".join(p.code for p in spec.parts)
    if not isinstance(value, Mapping):
        raise InputError(_("%(metric)s: enter a rate for each part (%(parts)s).", metric=m.name, parts=names))
    for code in value:
        if not any(p.code == code for p in spec.parts):
            raise InputError(_("%(metric)s: unknown part %(part)s; the parts are %(parts)s.",
                               metric=m.name, part=code, parts=names))
    raw: dict[str, Decimal | None] = {}
    terms, notes, score, missing = [], [], ZERO, False
    for part in spec.parts:
        given = value.get(part.code)
        if _absent(given):
            raw[part.code], missing = None, True
            rate = ZERO
            notes.append(_("%(part)s not entered", part=part.label))
        else:
            raw[part.code] = _input_number(m, given)
            rate = max(raw[part.code], ZERO) if part.cap is None else clamp(raw[part.code], ZERO, part.cap)
            if rate != raw[part.code]:
                notes.append(_("%(part)s %(value)s counted as %(counted)s", part=part.label,
                               value=show(raw[part.code], m.unit), counted=show(rate, m.unit)))
        score += part.weight * rate
        terms.append(f"{fmt(part.weight)} × {show(rate, m.unit)}")
    formula = " + ".join(terms)
    if score > m.points:
        detail = _("%(formula)s = %(sum)s, capped at %(points)s", formula=formula, sum=fmt(score, 1),
                   points=fmt(m.points))
    else:
        detail = f"{formula} = {fmt(score, 1)}"
    score = clamp(score, ZERO, m.points)
    if notes:
        detail += " (" + "; ".join(notes) + ")"
    return raw, score, detail, missing


def _score_band(m: Metric, x: Decimal) -> tuple[Decimal, str]:
    spec: BandSpec = m.spec
    first, last = spec.bands[0], spec.bands[-1]
    at = clamp(x, first.start, last.end)
    within = [b for b in spec.bands if b.start <= at <= b.end]
    band = within[0] if spec.better == LOWER else within[-1]        # a shared edge goes to the better band
    share = (at - band.start) / (band.end - band.start)             # 0 at the lower end, 1 at the upper
    if spec.better == LOWER:
        share = ONE - share
    score = clamp(band.low + share * (band.high - band.low), ZERO, m.points)
    detail = _("%(value)s in %(start)s–%(end)s (%(low)s–%(high)s points): %(score)s", value=show(x, m.unit),
               start=show(band.start, m.unit), end=show(band.end, m.unit), low=fmt(band.low),
               high=fmt(band.high), score=fmt(score, 1))
    if at != x:
        detail += " " + _("(counted as %(value)s)", value=show(at, m.unit))
    return score, detail


def _score_judged(m: Metric, value: Any) -> tuple[dict, Decimal, str]:
    spec: JudgedSpec = m.spec
    if isinstance(value, str):
        value = {"band": value}
    choices = ", ".join(f"{b.code} ({b.label} {fmt(b.min)}–{fmt(b.max)})" for b in spec.bands)
    band = spec.band(value.get("band")) if isinstance(value, Mapping) else None
    if band is None:
        given = value.get("band") if isinstance(value, Mapping) else value
        raise InputError(_("%(metric)s: unknown band %(band)s; choose one of %(bands)s.",
                           metric=m.name, band=given, bands=choices))
    given = value.get("value")
    if _absent(given):
        if band.min != band.max:
            raise InputError(_("%(metric)s: give a value from %(min)s to %(max)s for %(band)s.",
                               metric=m.name, min=fmt(band.min), max=fmt(band.max), band=band.label))
        score = band.min
    else:
        score = _input_number(m, given)
        if not band.min <= score <= band.max:
            raise InputError(_("%(metric)s: %(value)s is outside %(band)s, which allows %(min)s to %(max)s.",
                               metric=m.name, value=fmt(score), band=band.label, min=fmt(band.min),
                               max=fmt(band.max)))
    if band.min == band.max:
        detail = _("%(band)s: %(score)s", band=band.label, score=fmt(score, 1))
    else:
        detail = _("%(band)s (%(min)s–%(max)s): %(score)s", band=band.label, min=fmt(band.min),
                   max=fmt(band.max), score=fmt(score, 1))
    return {"band": band.code, "value": score}, score, detail


def _factor(m: Metric, x: Decimal) -> tuple[Decimal, str]:
    spec: CoefficientSpec = m.spec
    step = next(s for s in spec.steps if s.min is None or x >= s.min)
    v, factor = show(x, m.unit), fmt(step.factor)
    if step.min is not None:
        return step.factor, _("%(value)s ≥ %(min)s: × %(factor)s", value=v, min=show(step.min, m.unit),
                              factor=factor)
    if len(spec.steps) == 1:
        return step.factor, f"× {factor}"
    return step.factor, _("%(value)s below %(min)s: × %(factor)s", value=v,
                          min=show(spec.steps[-2].min, m.unit), factor=factor)


def _no_value() -> str:
    return _("No value: scores 0")


def compute(template: Template | Mapping, inputs: Mapping[str, Any] | None) -> Computation:
    """Score one month. `inputs` maps metric codes to numbers (linear, band_interpolated, coefficient,
    gate), {part: rate} (weighted_rates) or {"band", "value"} (judged); a metric without one scores 0
    and is flagged missing. Raises InputError for a value the metric cannot take."""
    if not isinstance(template, Template):
        template = validate_template(template)
    inputs = dict(inputs or {})
    results: dict[str, MetricResult] = {}
    for m in template.metrics:
        if not m.counts:
            continue
        value = inputs.get(m.code)
        result = MetricResult(code=m.code, name=m.name, rule=m.rule, source=m.source, unit=m.unit,
                              points=m.points, raw=None, score=ZERO, detail=_no_value(), missing=True)
        if m.rule == WEIGHTED_RATES and isinstance(value, Mapping) \
                and all(_absent(v) for v in value.values()):
            value = None
        if not _absent(value):
            result.missing = False
            if m.rule == LINEAR:
                result.raw = _input_number(m, value)
                result.score, result.detail = _score_linear(m, result.raw)
            elif m.rule == BAND_INTERPOLATED:
                result.raw = _input_number(m, value)
                result.score, result.detail = _score_band(m, result.raw)
            elif m.rule == WEIGHTED_RATES:
                result.raw, result.score, result.detail, result.missing = _score_weighted(m, value)
            else:
                result.raw, result.score, result.detail = _score_judged(m, value)
        results[m.code] = result

    for m in template.metrics:
        if m.rule != GATE:
            continue
        spec: GateSpec = m.spec
        gated = results[spec.gates]
        value = inputs.get(spec.value_of or m.code)
        row = MetricResult(code=m.code, name=m.name, rule=m.rule, source=m.source, unit=m.unit, points=ZERO,
                           raw=None, score=ZERO, detail="", missing=_absent(value), gate_open=False)
        if row.missing:
            row.detail = _("No value: %(metric)s scores 0", metric=gated.name)
        else:
            row.raw = _input_number(m, value)
            row.gate_open = row.raw >= spec.min
            args = {"value": show(row.raw, m.unit), "min": show(spec.min, m.unit), "metric": gated.name}
            row.detail = (_("%(value)s ≥ %(min)s: %(metric)s counts", **args) if row.gate_open
                          else _("%(value)s below %(min)s: %(metric)s scores 0", **args))
        if not row.gate_open:
            if not gated.gated:
                gated.ungated_score = gated.score
            gated.gated, gated.score = True, ZERO
            gated.detail = _("%(detail)s; closed by %(gate)s: 0", detail=gated.detail, gate=m.name)
        results[m.code] = row

    total = sum((results[m.code].score for m in template.scoring), ZERO)
    coefficients = []
    for m in template.metrics:
        if m.rule != COEFFICIENT:
            continue
        spec: CoefficientSpec = m.spec
        value = inputs.get(m.code)
        row = CoefficientResult(code=m.code, name=m.name, raw=None, factor=None, applies_to=spec.of,
                                adjusted=None, detail=_("No value"), missing=_absent(value))
        if not row.missing:
            row.raw = _input_number(m, value)
            row.factor, row.detail = _factor(m, row.raw)
            base = total if spec.of == TOTAL else results[spec.of].score
            row.adjusted = base * row.factor
        coefficients.append(row)

    known = {m.code for m in template.metrics}
    return Computation(role=template.role,
                       metrics=[results[m.code] for m in template.metrics if m.code in results],
                       coefficients=coefficients, total=total,
                       ignored=tuple(sorted(k for k in inputs if k not in known)))
