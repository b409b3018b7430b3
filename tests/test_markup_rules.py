"""What the Nu Html Checker holds the templates to, checked without it (issue 17, item 15): `<time datetime>`
values it accepts, and forms whose hidden inputs neither repeat an id nor claim `required`."""
from __future__ import annotations

import re
from pathlib import Path
from datetime import UTC, date, datetime, timedelta, timezone

from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired

from careboard.fields import AppForm
from careboard.templating import isodatetime

# HTML's global date and time string, as Nu checks it: at most three digits of a second
VALID = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$")


def test_isodatetime_is_utc_to_the_second_or_a_day():
    shanghai = timezone(timedelta(hours=8))
    assert isodatetime(datetime(2026, 12, 1, 19, 40, 38, 749666, tzinfo=UTC)) == "2026-12-01T19:40:38Z"
    assert isodatetime(datetime(2026, 12, 2, 3, 40, tzinfo=shanghai)) == "2026-12-01T19:40:00Z"
    assert isodatetime(datetime(2026, 12, 1, 19, 40, 38, 5)) == "2026-12-01T19:40:38Z"      # naive: stored UTC
    assert isodatetime(date(2026, 2, 28)) == "2026-02-28"
    assert isodatetime(None) == ""
    for value in (datetime(2026, 12, 1, 19, 40, 38, 749666, tzinfo=UTC), date(2026, 2, 28)):
        assert VALID.match(isodatetime(value))
    assert not VALID.match(datetime(2026, 12, 1, 19, 40, 38, 749666, tzinfo=UTC).isoformat())   # what it replaces


class Sample(AppForm):
    version = IntegerField(validators=[InputRequired()])
    title = StringField(validators=[InputRequired()])
    pick = SelectField(choices=[("a", "A"), ("b", "B")], validators=[InputRequired()])
    maybe = SelectField(choices=[("", "—"), ("b", "B")], validators=[InputRequired()])


def test_hidden_inputs_have_no_id_and_are_not_required(app):
    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context():
        form = Sample(formdata=None, data={"version": 3})
        token, version = str(form.csrf_token), str(form.version(type="hidden"))
        assert 'id="' not in token and 'name="csrf_token"' in token
        assert 'id="' not in version and "required" not in version and 'value="3"' in version
        assert 'id="v3"' in str(form.version(type="hidden", id="v3"))                  # an id asked for is kept
        # what is shown keeps its id (its label points at it) and its `required`
        assert 'id="title"' in str(form.title) and "required" in str(form.title)
        # a menu whose first option is a value always has one: `required` says nothing (and Nu refuses it)
        assert "required" not in str(form.pick) and "required" in str(form.maybe)


def test_every_form_of_the_app_derives_from_appform():
    """A form on FlaskForm would bring back the repeated hidden ids and `required` on hidden inputs."""
    root = Path(__file__).resolve().parent.parent / "careboard"
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "fields.py" and re.search(r"\(\s*FlaskForm\s*\)", path.read_text(encoding="utf-8"))]
    assert offenders == []
