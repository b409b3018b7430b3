"""`flask --app careboard kpi compute`: the worked example as JSON, and each refusal on stderr with
nothing on stdout."""
from __future__ import annotations

import copy
import json

import pytest

from careboard.models import KpiTemplate
from careboard.services.errors import InputError, TemplateError
from careboard.services.kpi_engine import compute, validate_template
from careboard.services.kpi_templates import DEFAULT_TEMPLATES
from tests.test_kpi_engine import WORKED_INPUTS


def write_json(folder, name, data) -> str:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def kpi_compute(app, *args):
    return app.test_cli_runner().invoke(args=["kpi", "compute", *args])


def refused(result, message: str) -> None:
    assert result.exit_code != 0
    assert result.stdout == ""
    assert message in result.stderr


def test_the_worked_example_prints_the_whole_computation(app, tmp_path):
    inputs = write_json(tmp_path, "inputs.json", WORKED_INPUTS)
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", inputs)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 76.7
    assert data == json.loads(json.dumps(compute(DEFAULT_TEMPLATES["cs_supervisor"], WORKED_INPUTS).as_dict()))
    by_code = {m["code"]: m for m in data["metrics"]}
    assert by_code["insurance"]["raw"] == {"renewal": 0.9, "new_insurance": 0.5}
    assert by_code["satisfaction"]["score"] == 27.5
    assert "保险业务" in result.stdout                     # ensure_ascii=False: names as written
    assert result.stdout.startswith('{\n  "role": "cs_supervisor"')


def test_the_role_template_saved_in_the_database_is_used(app, session, tmp_path):
    saved = copy.deepcopy(DEFAULT_TEMPLATES["cs_supervisor"])
    saved["metrics"][0]["params"]["parts"][0]["weight"] = 10          # 10 × 90% + 2 × 50% = 10
    session.add(KpiTemplate(role="cs_supervisor", definition=saved))
    session.commit()
    inputs = write_json(tmp_path, "inputs.json", WORKED_INPUTS)
    data = json.loads(kpi_compute(app, "--role", "cs_supervisor", "--inputs", inputs).stdout)
    assert data["metrics"][0]["score"] == 10
    assert data["total"] == 78.5


def test_a_template_file_replaces_the_role_template(app, tmp_path):
    template = copy.deepcopy(DEFAULT_TEMPLATES["cs_supervisor"])
    template["metrics"][4]["params"] = {"target": 0.95}            # complaint closure: 95% is the target
    path = write_json(tmp_path, "template.json", template)
    inputs = write_json(tmp_path, "inputs.json", WORKED_INPUTS)
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", inputs, "--template", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 77.2


def test_a_judged_value_out_of_its_band_is_refused_with_the_message(app, tmp_path):
    bad = {**WORKED_INPUTS, "care_activities": {"band": "good", "value": 11}}
    with pytest.raises(InputError) as expected:
        compute(DEFAULT_TEMPLATES["cs_supervisor"], bad)
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", write_json(tmp_path, "inputs.json", bad))
    refused(result, str(expected.value))
    assert "11" in result.stderr


def test_a_template_file_not_adding_up_to_100_is_refused(app, tmp_path):
    template = copy.deepcopy(DEFAULT_TEMPLATES["cs_supervisor"])
    template["metrics"][1]["points"] = 15
    with pytest.raises(TemplateError) as expected:
        validate_template(template)
    assert "105" in str(expected.value)
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", write_json(tmp_path, "in.json", WORKED_INPUTS),
                         "--template", write_json(tmp_path, "template.json", template))
    refused(result, str(expected.value))


def test_a_role_without_a_template_is_refused(app, tmp_path):
    result = kpi_compute(app, "--role", "phone_reception", "--inputs", write_json(tmp_path, "in.json", {}))
    refused(result, "phone_reception")
    assert "template" in result.stderr


@pytest.mark.parametrize("content, option", [
    ('{"insurance": {"renewal": 0.9,', "--inputs"),           # cut off
    ("satisfaction: 10", "--inputs"),                         # not JSON
    ("\xff\xfe", "--inputs"),                                 # not UTF-8
    ('{"role": "cs_supervisor", "metrics": [', "--template"),
])
def test_a_broken_json_file_is_refused(app, tmp_path, content, option):
    broken = tmp_path / "broken.json"
    broken.write_bytes(content.encode("latin-1"))
    good = write_json(tmp_path, "good.json", WORKED_INPUTS)
    args = ["--inputs", str(broken)] if option == "--inputs" else ["--inputs", good, "--template", str(broken)]
    result = kpi_compute(app, "--role", "cs_supervisor", *args)
    refused(result, f"{option} {broken}: not valid JSON")


def test_a_missing_file_is_refused(app, tmp_path):
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", str(tmp_path / "nowhere.json"))
    refused(result, "cannot be read")


def test_inputs_that_are_not_an_object_are_refused(app, tmp_path):
    result = kpi_compute(app, "--role", "cs_supervisor", "--inputs", write_json(tmp_path, "in.json", [1, 2]))
    refused(result, "must be a JSON object")
