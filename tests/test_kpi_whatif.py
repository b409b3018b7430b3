"""The director's what-if (issue 17, item 9): a form built from the template's metrics instead of JSON, filled
in with the targets, computed live by htmx (`/scorecard/templates/<role>/try`) and by the Compute button
without JavaScript; a bad figure is refused next to its field and nothing is computed from it."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careboard.models import KpiTemplate

PAGE = "/scorecard/templates/cs_supervisor"
TRY = "/scorecard/templates/cs_supervisor/try"

# DESIGN.md's worked example for 客服主管, typed as a director types it (rates in percent).
WORKED = {"m-insurance-renewal": "90", "m-insurance-new_insurance": "50",
          "m-care_activities-band": "good", "m-care_activities-value": "8",
          "m-sales-sales_completion": "100", "m-sales-referral": "30", "m-satisfaction": "10",
          "m-complaint_closure": "95", "m-improvement-band": "some", "m-improvement-value": "7"}


def worked_total() -> Decimal:
    """The worked example's arithmetic, done here rather than by the engine."""
    d = Decimal
    insurance = 8 * d("0.9") + 2 * d("0.5")                          # 8.2
    activities = d(8)                                                 # "good" at 8
    sales = 15 * d("1.0") + 5 * d("0.3")                              # 16.5
    satisfaction = 25 + (1 - (d(10) - 0) / (20 - 0)) * (30 - 25)      # 10 in the 0–20 band, lower is better: 27.5
    closure = 10 * d("0.95")                                          # 9.5
    improvement = d(7)                                                # "some" at 7
    return insurance + activities + sales + satisfaction + closure + improvement


def heading(html: str) -> str:
    found = re.search(r'<h3 class="whatif-total">([^<]*)</h3>', html)
    return found.group(1) if found else ""


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="err-{name}"[^>]*>([^<]*)</p>', html)
    assert found, name
    return found.group(1).strip()


def test_the_form_has_a_field_for_every_metric_filled_in_with_its_targets(client, auth, people):
    auth.login("director")
    page = client.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="inputs"' not in html                                # no JSON to type
    for name in ("m-insurance-renewal", "m-insurance-new_insurance", "m-sales-sales_completion",
                 "m-sales-referral", "m-satisfaction", "m-complaint_closure", "m-care_activities-value",
                 "m-improvement-value"):
        assert 'type="number"' in re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0), name
        assert f'<label for="{name}">' in html, name
    improvement = re.search(r'<select[^>]*name="m-improvement-band"[^>]*>.*?</select>', html).group(0)
    assert '<option selected value="clear">' in improvement                 # the best band, at its top
    assert "较有进步 (7–8)" in improvement
    satisfaction = re.search(r'<input[^>]*name="m-satisfaction"[^>]*>', html).group(0)
    assert 'min="0"' in satisfaction and 'max="100"' in satisfaction and 'value="0"' in satisfaction
    renewal = re.search(r'<input[^>]*name="m-insurance-renewal"[^>]*>', html).group(0)
    assert 'value="100"' in renewal and 'max="1000"' in renewal            # percent, the target
    # the targets score: 8 + 2 of insurance's 20, every other metric its points
    assert "90" in heading(html) and "100" in heading(html)
    assert 'hx-post="/scorecard/templates/cs_supervisor/try"' in html


def test_a_gate_on_another_metric_has_no_field_of_its_own(client, auth, people):
    auth.login("director")
    html = client.get("/scorecard/templates/care_director").get_data(as_text=True)
    assert 'name="m-dsc"' in html and 'name="m-dsc_gate"' not in html
    sales = client.get("/scorecard/templates/sales_care").get_data(as_text=True)
    sqs = re.search(r'<input[^>]*name="m-sqs_factor"[^>]*>', sales).group(0)
    assert 'value="94"' in sqs                                        # the neutral factor, × 1
    assert "× 1" in sales


@pytest.mark.parametrize("url", [TRY, PAGE])
def test_the_worked_example_scores_what_the_design_says(client, auth, people, session, url):
    auth.login("director")
    expected = worked_total().normalize()
    assert expected == Decimal("76.7")                               # DESIGN.md's total
    answer = client.post(url, data={**WORKED, "action": "try"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert heading(html) == f"结果：{expected} / 100"
    assert "8 × 90% + 2 × 50% = 8.2" in html and "15 × 100% + 5 × 30% = 16.5" in html
    assert session.scalar(select(func.count(KpiTemplate.id))) == 0      # trying saves nothing


def test_the_fragment_tries_the_template_being_edited(client, auth, people):
    import json

    from careboard.services.kpi_templates import default_template
    auth.login("director")
    template = default_template("cs_supervisor")
    template["metrics"][4]["params"] = {"target": 0.5}               # closure: full points at 50 %
    edited = client.post(TRY, data={**WORKED, "m-complaint_closure": "50",
                                    "definition": json.dumps(template, ensure_ascii=False)})
    assert edited.status_code == 200                                  # 76.7 − 9.5 + 10
    assert heading(edited.get_data(as_text=True)) == "结果：77.2 / 100"
    saved = client.post(TRY, data={**WORKED, "m-complaint_closure": "50"})
    assert heading(saved.get_data(as_text=True)) == "结果：72.2 / 100"         # 76.7 − 9.5 + 5
    broken = client.post(TRY, data={**WORKED, "definition": '{"role": '})
    text = broken.get_data(as_text=True)
    assert broken.status_code == 422 and "第 1 行" in text and "Expecting" not in text


@pytest.mark.parametrize("url", [TRY, PAGE])
@pytest.mark.parametrize("name, typed, message", [
    ("m-satisfaction", "abc", "请输入数字。"),
    ("m-satisfaction", "120", "请输入 0 到 100 之间的数字。"),
    ("m-insurance-renewal", "-5", "请输入 0 到 1000 之间的数字。"),
    ("m-care_activities-value", "12", "请输入 0 到 10 之间的数字。"),
    ("m-improvement-value", "9", "较有进步的范围是 7 到 8。"),
    ("m-satisfaction", "NaN", "请输入数字。"),
])
def test_a_bad_figure_is_refused_beside_its_field_and_nothing_is_computed(client, auth, people, url, name, typed,
                                                                         message):
    auth.login("director")
    answer = client.post(url, data={**WORKED, name: typed, "action": "try"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert field_error(html, name) == message
    assert heading(html) == ""                                        # no total from bad input
    assert "以上标出的数字改正后才会计算。" in html
    for other in ("m-complaint_closure", "m-sales-referral"):
        assert field_error(html, other) == ""
    assert "InvalidOperation" not in html and "could not convert" not in html


def test_a_missing_value_in_a_wide_band_is_asked_for(client, auth, people):
    auth.login("director")
    answer = client.post(TRY, data={**WORKED, "m-care_activities-value": ""})
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "m-care_activities-value") == \
        "开展,效果不错请填写 6 到 10 之间的分值。"
    no_band = client.post(TRY, data={**WORKED, "m-improvement-band": ""})
    assert field_error(no_band.get_data(as_text=True), "m-improvement-band") == "请选择这个分值所在的档位。"


def test_an_empty_figure_scores_zero_and_is_shown_missing(client, auth, people):
    auth.login("director")
    answer = client.post(TRY, data={**WORKED, "m-satisfaction": ""})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "49.2" in heading(html)                                    # 76.7 − 27.5
    assert 'class="missing"' in html


@pytest.mark.parametrize("username", ["supervisor", "sales1"])
def test_only_the_director_tries_templates(client, auth, people, username):
    """As before the what-if became a form: the director's level and above (the matrix's DIRECTOR)."""
    auth.login(username)
    assert client.get(PAGE).status_code == 403
    assert client.post(TRY, data=WORKED).status_code == 403
    assert client.post(PAGE, data={**WORKED, "action": "try"}).status_code == 403


def test_a_role_without_a_template_has_no_what_if_and_no_role_is_not_found(client, auth, people):
    auth.login("director")
    page = client.get("/scorecard/templates/analyst")
    assert page.status_code == 200 and 'class="whatif"' not in page.get_data(as_text=True)
    tried = client.post("/scorecard/templates/analyst/try", data=WORKED)
    assert tried.status_code == 422 and "至少需要一个指标" in tried.get_data(as_text=True)
    assert client.post("/scorecard/templates/none/try", data=WORKED).status_code == 404
    assert client.post("/scorecard/templates/nobody/try", data=WORKED).status_code == 404
