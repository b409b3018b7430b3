"""The KPI entry form (issue 16, item 5): the figures a supervisor types are read by the form, not the view,
as the engine takes them: rates typed in percent become fractions, a judged metric is its band and value, a
weighted rate its parts; text that is not a usable number (NaN, infinity, huge) goes on to the engine, which
refuses it with its message."""
from __future__ import annotations

import pytest

from careboard.blueprints.scorecard.forms import entered_metrics, entries_form
from careboard.services import kpi_engine
from careboard.services.errors import InputError

TEMPLATE = {
    "role": "sales_care", "name": "T", "description": "", "metrics": [
        {"code": "reports", "name": "Reports on time", "points": 30, "rule": kpi_engine.LINEAR, "source": "entered",
         "params": {"floor": 60, "target": 80}, "unit": "rate"},
        {"code": "qs", "name": "QS", "points": 20, "rule": kpi_engine.LINEAR, "source": "entered",
         "params": {"floor": 8, "target": 9}, "unit": "number"},
        {"code": "insurance", "name": "Insurance", "points": 30, "rule": kpi_engine.WEIGHTED_RATES,
         "source": "entered", "params": {"parts": [{"code": "renewal", "label": "Renewal", "weight": 8},
                                                   {"code": "new", "label": "New", "weight": 2}]}},
        {"code": "care", "name": "Care activities", "points": 20, "rule": kpi_engine.JUDGED, "source": "entered",
         "params": {"bands": [{"code": "none", "label": "None", "min": 0, "max": 0},
                              {"code": "good", "label": "Good", "min": 6, "max": 10}]}},
    ]}


@pytest.fixture
def template():
    return kpi_engine.validate_template(TEMPLATE)


def read(app, template, data: dict) -> dict:
    with app.test_request_context("/", method="POST", data=data):
        return entries_form(template).values()


def test_the_form_has_a_field_for_every_figure_of_the_template(app, template):
    assert [m.code for m in entered_metrics(template)] == ["reports", "qs", "insurance", "care"]
    with app.test_request_context("/"):
        names = {field.name for field in entries_form(template)} - {"csrf_token"}
    assert names == {"m-reports", "m-qs", "m-insurance-renewal", "m-insurance-new", "m-care-band", "m-care-value"}


def test_figures_are_read_as_the_engine_takes_them(app, template):
    values = read(app, template, {"m-reports": " 85 % ", "m-qs": "8.5", "m-insurance-renewal": "90",
                                  "m-insurance-new": "", "m-care-band": "good", "m-care-value": "7"})
    assert values == {"reports": 0.85, "qs": 8.5, "insurance": {"renewal": 0.9}, "care": {"band": "good", "value": 7.0}}


def test_empty_fields_are_none(app, template):
    assert read(app, template, {"m-care-value": "7"}) == {"reports": None, "qs": None, "insurance": None,
                                                          "care": None}
    assert read(app, template, {"m-care-band": "none"})["care"] == {"band": "none"}


@pytest.mark.parametrize("typed", ["sNaN", "NaN", "Infinity", "-Infinity", "1e999999999999999999", "9" * 16, "abc"])
def test_text_that_is_no_usable_number_goes_on_to_the_engine(app, template, typed):
    values = read(app, template, {"m-qs": typed, "m-reports": typed, "m-insurance-renewal": typed,
                                  "m-care-band": "good", "m-care-value": typed})
    assert values == {"reports": typed, "qs": typed, "insurance": {"renewal": typed},
                      "care": {"band": "good", "value": typed}}
    with pytest.raises(InputError):
        kpi_engine.compute(template, {"qs": values["qs"]})
