"""The KPI scoring engine: DESIGN.md's worked example, each rule's edges, template validation, and
properties of the default templates. Pure: no app and no database (one test checks it inside an app)."""
from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careboard.models import Role
from careboard.services.errors import DomainError, InputError, TemplateError
from careboard.services.kpi_engine import MEASURES, compute, validate_template
from careboard.services.kpi_templates import DEFAULT_TEMPLATES, default_template

D = Decimal

# DESIGN.md, "KPI scoring": 客服主管, one month.
WORKED_INPUTS = {
    "insurance": {"renewal": 0.9, "new_insurance": 0.5},
    "care_activities": {"band": "good", "value": 8},
    "sales": {"sales_completion": 1.0, "referral": 0.3},
    "satisfaction": 10,
    "complaint_closure": 0.95,
    "improvement": {"band": "some", "value": 7},
}
WORKED_SCORES = {"insurance": "8.2", "care_activities": "8", "sales": "16.5", "satisfaction": "27.5",
                 "complaint_closure": "9.5", "improvement": "7"}


def supervisor_with(**changes):
    return compute(DEFAULT_TEMPLATES[Role.CS_SUPERVISOR.value], {**WORKED_INPUTS, **changes})


def template(*metrics, role="cs_supervisor"):
    return {"role": role, "name": "test", "metrics": list(metrics)}


def linear(code, points, **params):
    return {"code": code, "name": code.upper(), "points": points, "rule": "linear", "params": params}


# ---------------------------------------------------------------- the worked example


def test_worked_example_scores_each_metric_as_the_design_says():
    result = compute(DEFAULT_TEMPLATES["cs_supervisor"], WORKED_INPUTS)
    assert {r.code: r.score for r in result.metrics} == {code: D(s) for code, s in WORKED_SCORES.items()}
    assert result.total == D("76.7")
    assert result.total_rounded == D("76.7")
    assert result.complete and not result.ignored


def test_worked_example_explains_the_weighted_score():
    result = compute(DEFAULT_TEMPLATES["cs_supervisor"], WORKED_INPUTS)
    assert result.result("insurance").detail == "8 × 90% + 2 × 50% = 8.2"
    assert result.result("complaint_closure").detail == "10 × 95% = 9.5"


def test_worked_example_as_dict_is_json():
    data = json.loads(json.dumps(compute(DEFAULT_TEMPLATES["cs_supervisor"], WORKED_INPUTS).as_dict()))
    assert data["total"] == 76.7
    codes = [m["code"] for m in DEFAULT_TEMPLATES["cs_supervisor"]["metrics"]]
    assert [m["code"] for m in data["metrics"]] == codes
    by_code = {m["code"]: m for m in data["metrics"]}
    assert by_code["insurance"]["raw"] == {"renewal": 0.9, "new_insurance": 0.5}
    assert by_code["care_activities"]["raw"] == {"band": "good", "value": 8}
    assert by_code["satisfaction"]["score"] == 27.5
    assert data["coefficients"] == []


def test_the_engine_works_inside_the_app_too():
    from careboard import create_app
    from careboard.config import TestConfig

    app = create_app(TestConfig)
    with app.test_request_context():
        result = compute(DEFAULT_TEMPLATES["cs_supervisor"], WORKED_INPUTS)
    assert result.total == D("76.7")
    assert "8.2" in result.result("insurance").detail


# ---------------------------------------------------------------- caps and missing values


@pytest.mark.parametrize(("rate", "expected"),
                         [(1.5, "10"), (1.0, "10"), (0.0, "0"), (-0.2, "0"), ("0.5", "5")])
def test_a_linear_rate_is_clamped_to_the_points(rate, expected):
    assert supervisor_with(complaint_closure=rate).result("complaint_closure").score == D(expected)


def test_a_weighted_score_never_exceeds_its_points():
    result = supervisor_with(insurance={"renewal": 3.0, "new_insurance": 1.5})
    assert result.result("insurance").score == 20
    assert "capped at 20" in result.result("insurance").detail


def test_a_negative_part_counts_zero():
    assert supervisor_with(sales={"sales_completion": -1, "referral": 0.4}).result("sales").score == 2


def test_a_capped_part_counts_at_most_its_cap():
    result = compute(DEFAULT_TEMPLATES["care_director"],
                     {"marketing": {"compliance": 1.5, "onsite_deals": 0.5}})
    assert result.result("marketing").score == 6 + 2


def test_a_missing_input_scores_zero_and_is_flagged():
    inputs = {k: v for k, v in WORKED_INPUTS.items() if k != "satisfaction"}
    result = compute(DEFAULT_TEMPLATES["cs_supervisor"], inputs)
    row = result.result("satisfaction")
    assert (row.score, row.missing, row.raw) == (0, True, None)
    assert result.total == D("76.7") - D("27.5")
    assert not result.complete


def test_a_missing_part_counts_zero_and_flags_the_metric():
    row = supervisor_with(insurance={"renewal": 1, "new_insurance": None}).result("insurance")
    assert (row.score, row.missing) == (8, True)


def test_inputs_the_template_does_not_know_are_listed_not_scored():
    result = supervisor_with(retired_metric=5)
    assert result.ignored == ("retired_metric",)
    assert result.total == D("76.7")


@pytest.mark.parametrize(("code", "value"), [("complaint_closure", "abc"), ("satisfaction", float("nan")),
                                             ("insurance", 0.9), ("insurance", {"bogus": 1}),
                                             ("complaint_closure", True)])
def test_an_unusable_input_is_refused(code, value):
    with pytest.raises(InputError) as e:
        supervisor_with(**{code: value})
    name = next(m["name"] for m in DEFAULT_TEMPLATES["cs_supervisor"]["metrics"] if m["code"] == code)
    assert name in str(e.value)


# ---------------------------------------------------------------- band_interpolated


@pytest.mark.parametrize(("percentile", "expected"), [
    (0, "30"), (10, "27.5"), (20, "25"), (35, "20"), (50, "15"), (65, "10"), (80, "5"), (90, "2.5"),
    (100, "0"), (-5, "30"), (130, "0"),
])
def test_satisfaction_bands_from_the_seed(percentile, expected):
    assert supervisor_with(satisfaction=percentile).result("satisfaction").score == D(expected)


@pytest.mark.parametrize("edge", [20, 50, 80])
def test_the_seed_bands_meet_at_their_edges(edge):
    def score(p):
        return supervisor_with(satisfaction=p).result("satisfaction").score
    assert score(edge - 0.001) >= score(edge) >= score(edge + 0.001)
    assert score(edge - 0.001) - score(edge + 0.001) < D("0.01")


@pytest.mark.parametrize(("better", "expected"), [("lower", "12"), ("higher", "8")])
def test_a_value_on_a_shared_edge_belongs_to_the_better_band(better, expected):
    bands = ([{"from": 0, "to": 50, "low": 12, "high": 20}, {"from": 50, "to": 100, "low": 0, "high": 10}]
             if better == "lower" else
             [{"from": 0, "to": 50, "low": 0, "high": 4}, {"from": 50, "to": 100, "low": 8, "high": 20}])
    rank = {"code": "rank", "name": "Rank", "points": 20, "rule": "band_interpolated",
            "params": {"bands": bands, "better": better}}
    data = template(linear("rest", 80), rank)
    assert compute(data, {"rank": 50}).result("rank").score == D(expected)


# ---------------------------------------------------------------- judged


@pytest.mark.parametrize(("band", "value", "expected"), [("good", 6, 6), ("good", 10, 10), ("average", 0, 0),
                                                         ("none", None, 0), ("average", "3.5", D("3.5"))])
def test_a_judged_value_inside_its_band_counts(band, value, expected):
    result = supervisor_with(care_activities={"band": band, "value": value})
    assert result.result("care_activities").score == expected


def test_a_fixed_judged_band_needs_no_value():
    assert supervisor_with(improvement={"band": "clear"}).result("improvement").score == 10
    assert supervisor_with(improvement="worse").result("improvement").score == 0


@pytest.mark.parametrize(("band", "value", "allowed"), [("good", 5, "6 to 10"), ("good", 10.5, "6 to 10"),
                                                        ("average", 6, "0 to 5"), ("some", 9, "7 to 8")])
def test_a_judged_value_outside_its_band_is_refused(band, value, allowed):
    code = "improvement" if band == "some" else "care_activities"
    with pytest.raises(InputError) as e:
        supervisor_with(**{code: {"band": band, "value": value}})
    assert allowed in str(e.value)
    assert ("工作改进与提高" if code == "improvement" else "关爱活动") in str(e.value)


def test_an_unknown_judged_band_is_refused_with_the_choices():
    with pytest.raises(InputError) as e:
        supervisor_with(care_activities={"band": "excellent", "value": 9})
    message = str(e.value)
    assert "关爱活动" in message and "excellent" in message
    assert all(code in message for code in ("none", "average", "good"))


def test_a_judged_range_band_needs_a_value():
    with pytest.raises(InputError, match="6 to 10"):
        supervisor_with(care_activities={"band": "good"})


# ---------------------------------------------------------------- coefficients


@pytest.mark.parametrize(("sqs", "factor"), [(100, "1.4"), (98, "1.4"), (97.99, "1.2"), (96, "1.2"),
                                             (95.99, "1.0"), (94, "1.0"), (93.9, "0.8"), (0, "0.8")])
def test_sqs_coefficient_steps_include_their_lower_bound(sqs, factor):
    result = compute(DEFAULT_TEMPLATES["sales_care"], {"sqs_factor": sqs})
    (row,) = [c for c in result.coefficients if c.code == "sqs_factor"]
    assert row.factor == D(factor)


@pytest.mark.parametrize(("score", "rate", "factors"), [
    (10, 1.0, ("1.4", "1.4")), (9.8, 0.98, ("1.2", "1.2")), (9.79, 0.979, ("1.0", "1.0")),
    (9.59, 0.959, ("0.8", "0.8")),
])
def test_quick_callback_coefficients_from_the_seed(score, rate, factors):
    result = compute(DEFAULT_TEMPLATES["sales_care"], {"quick_callback_factor": score,
                                                        "quick_callback_rate_factor": rate})
    by_code = {c.code: c.factor for c in result.coefficients}
    assert (by_code["quick_callback_factor"], by_code["quick_callback_rate_factor"]) == tuple(map(D, factors))


def test_a_coefficient_is_shown_beside_the_total_not_counted_in_it():
    inputs = {"sales_callback": 0.9, "greeting": 1, "complaint_handoff": 0.5}
    plain = compute(DEFAULT_TEMPLATES["sales_care"], inputs)
    with_factor = compute(DEFAULT_TEMPLATES["sales_care"], {**inputs, "sqs_factor": 99})
    assert with_factor.total == plain.total == D(27 + 15 + 10)
    (row,) = [c for c in with_factor.coefficients if c.code == "sqs_factor"]
    assert row.adjusted == plain.total * D("1.4")
    assert all(r.rule != "coefficient" for r in with_factor.metrics)


def test_a_missing_coefficient_has_no_factor():
    (row, *_) = compute(DEFAULT_TEMPLATES["sales_care"], {}).coefficients
    assert (row.factor, row.missing) == (None, True)


# ---------------------------------------------------------------- gates


@pytest.mark.parametrize(("dsc", "gated", "score"), [
    (649.9, True, D(0)), (650, False, D(10) * 650 / 700), (700, False, D(10)), (760, False, D(10)),
])
def test_dsc_below_the_650_gate_scores_zero(dsc, gated, score):
    result = compute(DEFAULT_TEMPLATES["care_director"], {"dsc": dsc})
    row = result.result("dsc")
    assert (row.gated, row.score) == (gated, score)
    assert result.result("dsc_gate").gate_open is not gated
    if gated:
        assert row.ungated_score == D(10) * D("649.9") / 700
        assert "650" in result.result("dsc_gate").detail


def test_a_gate_with_its_own_input_zeroes_another_metric():
    switch = {"code": "switch", "name": "Switch", "rule": "gate", "params": {"gates": "main", "min": 650}}
    data = template(linear("main", 60), linear("other", 40), switch)
    assert compute(data, {"main": 1, "other": 1, "switch": 651}).total == 100
    closed = compute(data, {"main": 1, "other": 1, "switch": 649})
    assert closed.total == 40
    assert closed.result("main").gated and not closed.result("other").gated
    unknown = compute(data, {"main": 1, "other": 1})
    assert unknown.total == 40 and unknown.result("switch").missing


# ---------------------------------------------------------------- template validation


def test_points_must_add_up_to_100():
    data = copy.deepcopy(DEFAULT_TEMPLATES["cs_supervisor"])
    data["metrics"][4]["points"] = 5
    with pytest.raises(TemplateError) as e:
        validate_template(data)
    assert e.value.problems == ["Points add up to 95, not 100."]
    assert isinstance(e.value, DomainError)


def _metric(data, code):
    return next(m for m in data["metrics"] if m["code"] == code)


def _set(code, key, value):
    def change(data):
        _metric(data, code)[key] = value
    return change


def _param(code, *path_and_value):
    *path, key, value = path_and_value

    def change(data):
        target = _metric(data, code)["params"]
        for step in path:
            target = target[step]
        target[key] = value
    return change


SUP, DIR, SALES, AFTER = "cs_supervisor", "care_director", "sales_care", "aftersales_care"
INVALID = [
    ("unknown rule", SUP, _set("sales", "rule", "bogus"), "unknown rule bogus"),
    ("duplicate code", SUP, _set("sales", "code", "insurance"), "Duplicate metric code insurance"),
    ("bad code", SUP, _set("sales", "code", "Sales"), "is not a valid code"),
    ("no name", SUP, _set("sales", "name", " "), "needs a name"),
    ("points not a number", SUP, _set("sales", "points", "many"), "points must be a number"),
    ("weights above points", SUP, _param("insurance", "parts", 0, "weight", 20),
     "the weights add up to 22, more than its 20 points"),
    ("capped parts cannot reach", DIR, _param("marketing", "parts", 0, "weight", 5),
     "earns only 9 of its 10 points"),
    ("no parts", SUP, _param("sales", "parts", []), "parts must be a non-empty list"),
    ("weight not a number", SUP, _param("sales", "parts", 1, "weight", "x"), "weight must be a number"),
    ("band gap", SUP, _param("satisfaction", "bands", 1, "from", 25), "gap or overlap between 20 and 25"),
    ("band overlap", SUP, _param("satisfaction", "bands", 1, "from", 15),
     "gap or overlap between 20 and 15"),
    ("band above points", SUP, _param("satisfaction", "bands", 0, "high", 31), "high ≤ 30"),
    ("band not monotone", SUP, _param("satisfaction", "bands", 1, "high", 27),
     "the band 0–20 scores less than the worse band"),
    ("band backwards", SUP, _param("satisfaction", "bands", 3, "to", 80), "from a lower to a higher"),
    ("better unknown", SUP, _param("satisfaction", "better", "down"), "\"better\" must be"),
    ("judged above points", SUP, _param("care_activities", "bands", 2, "max", 12), "max ≤ 10"),
    ("judged min above max", SUP, _param("improvement", "bands", 1, "min", 9), "0 ≤ min ≤ max"),
    ("target equals floor", AFTER, _param("churn", "target", 0.3), "must differ from the floor"),
    ("coefficient with points", SALES, _set("sqs_factor", "points", 5), "carries 0 points"),
    ("coefficient without catch-all", SALES, _param("sqs_factor", "steps", 3, "min", 90),
     "needs \"min\": null"),
    ("coefficient ascending", SALES, _param("sqs_factor", "steps", 1, "min", 99), "from the highest"),
    ("coefficient of unknown", SALES, _param("sqs_factor", "of", "nope"), "unknown metric nope"),
    ("gate unknown metric", DIR, _param("dsc_gate", "gates", "nope"), "unknown metric nope"),
    ("gate on a gate", DIR, _param("dsc_gate", "gates", "dsc_gate"), "cannot refer to dsc_gate"),
    ("gate without min", DIR, _param("dsc_gate", "min", None), "parameter min is missing"),
    ("measured without measure", SUP, _set("complaint_closure", "measure", None), "needs a measure"),
    ("unknown measure", SUP, _set("complaint_closure", "measure", "mood"), "needs a measure"),
    ("judged measured", SUP,
     lambda d: _metric(d, "improvement").update(source="measured", measure="callback_success"),
     "cannot be measured"),
    ("entered with a measure", SUP, _set("satisfaction", "measure", "callback_success"),
     "only a measured metric"),
    ("unknown unit", SUP, _set("satisfaction", "unit", "kg"), "the unit must be"),
    ("params not an object", SUP, _set("complaint_closure", "params", [1]), "params must be an object"),
    ("no metrics", SUP, lambda d: d.update(metrics=[]), "at least one metric"),
    ("no role", SUP, lambda d: d.update(role=""), "needs a role"),
]


@pytest.mark.parametrize(("role", "change", "message"), [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_an_invalid_template_is_refused(role, change, message):
    data = copy.deepcopy(DEFAULT_TEMPLATES[role])
    validate_template(data)                                # valid before the change
    change(data)
    with pytest.raises(TemplateError) as e:
        validate_template(data)
    assert message in str(e.value)


def test_every_problem_is_listed_at_once():
    data = copy.deepcopy(DEFAULT_TEMPLATES["cs_supervisor"])
    data["metrics"][0]["rule"] = "bogus"
    data["metrics"][3]["params"]["bands"][1]["from"] = 25
    with pytest.raises(TemplateError) as e:
        validate_template(data)
    assert len(e.value.problems) == 2


# ---------------------------------------------------------------- the default templates


def test_default_templates_cover_the_seeded_roles():
    seeded = {Role.CARE_DIRECTOR, Role.CS_SUPERVISOR, Role.SALES_CARE, Role.AFTERSALES_CARE}
    assert set(DEFAULT_TEMPLATES) == {r.value for r in seeded}


@pytest.mark.parametrize("role", sorted(DEFAULT_TEMPLATES))
def test_every_default_template_validates(role):
    data = DEFAULT_TEMPLATES[role]
    tpl = validate_template(data)
    assert tpl.role == role
    assert sum(m.points for m in tpl.scoring) == 100
    for m in data["metrics"]:
        assert (m["source"] == "measured") == (m["measure"] is not None)
        assert m["measure"] is None or m["measure"] in MEASURES
        assert m["description"]
    assert validate_template(json.loads(json.dumps(tpl.to_dict()))) == tpl   # the canonical form round-trips


def test_default_template_gives_a_copy():
    copy_ = default_template(Role.CS_SUPERVISOR)
    copy_["metrics"].clear()
    assert DEFAULT_TEMPLATES["cs_supervisor"]["metrics"]
    assert default_template("analyst") is None


@pytest.mark.parametrize(("inputs", "code", "expected"), [
    ({"renewal": 0.4}, "renewal", D(15)), ({"renewal": 0.2}, "renewal", D("7.5")),
    ({"churn": 0.15}, "churn", D(15)), ({"churn": 0.05}, "churn", D(15)), ({"churn": 0.3}, "churn", D(0)),
    ({"churn": 0.225}, "churn", D("7.5")),
])
def test_aftersales_targets_from_the_seed(inputs, code, expected):
    assert compute(DEFAULT_TEMPLATES["aftersales_care"], inputs).result(code).score == expected


# ---------------------------------------------------------------- properties

RATE = st.floats(min_value=-0.5, max_value=3, allow_nan=False, allow_infinity=False)


def _number(low, high):
    return st.floats(min_value=float(low), max_value=float(high), allow_nan=False, allow_infinity=False)


def _input(metric: dict):
    """Any value a month could bring for the metric, out-of-range numbers included."""
    rule, params = metric["rule"], metric.get("params") or {}
    if rule == "linear":
        ends = (params.get("floor", 0), params.get("target", 1))
        span = max(ends) - min(ends)
        return _number(min(ends) - span, max(ends) + span)
    if rule == "weighted_rates":
        return st.fixed_dictionaries({p["code"]: st.none() | RATE for p in params["parts"]})
    if rule == "band_interpolated":
        return _number(params["bands"][0]["from"] - 10, params["bands"][-1]["to"] + 10)
    if rule == "judged":
        return st.sampled_from(params["bands"]).flatmap(
            lambda b: _number(b["min"], b["max"]).map(lambda v: {"band": b["code"], "value": v}))
    if rule == "coefficient":
        mins = [s["min"] for s in params["steps"] if s["min"] is not None]
        return _number(min(mins) - 5, max(mins) + 5)
    return _number(params["min"] - 100, params["min"] + 100)


def _month(data: dict, missing: bool = True):
    values = {m["code"]: (st.none() | _input(m)) if missing else _input(m) for m in data["metrics"]}
    return st.fixed_dictionaries(values)


def _better_direction(metric: dict) -> int:
    """+1 when a larger input is better, -1 when a smaller one is (from the template's own params)."""
    params = metric.get("params") or {}
    if metric["rule"] == "linear":
        return 1 if params.get("target", 1) > params.get("floor", 0) else -1
    if metric["rule"] == "band_interpolated":
        return -1 if params.get("better") == "lower" else 1
    return 1


def _levers(data: dict) -> list[tuple[str, str | None, int]]:
    """(input code, part code or None, better direction) for every rate-like input."""
    levers = []
    for m in data["metrics"]:
        if m["rule"] == "weighted_rates":
            levers += [(m["code"], p["code"], 1) for p in m["params"]["parts"]]
        elif m["rule"] in ("linear", "band_interpolated") \
                or (m["rule"] == "gate" and not m["params"].get("value_of")):
            levers.append((m["code"], None, _better_direction(m)))
    return levers


@pytest.mark.parametrize("role", sorted(DEFAULT_TEMPLATES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_total_lies_between_0_and_100(role, data):
    tpl = DEFAULT_TEMPLATES[role]
    result = compute(tpl, data.draw(_month(tpl)))
    assert 0 <= result.total <= 100
    assert all(0 <= r.score <= r.points for r in result.metrics)


@pytest.mark.parametrize("role", sorted(DEFAULT_TEMPLATES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_better_value_never_lowers_the_total(role, data):
    tpl = DEFAULT_TEMPLATES[role]
    month = data.draw(_month(tpl, missing=False))
    code, part, direction = data.draw(st.sampled_from(_levers(tpl)))
    step = data.draw(st.floats(min_value=1e-6, max_value=500, allow_nan=False)) * direction
    better = copy.deepcopy(month)
    if part is None:
        better[code] = month[code] + step
    else:
        better[code][part] = (month[code][part] or 0) + step
    assert compute(tpl, better).total >= compute(tpl, month).total
