from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from careboard.i18n import LANGUAGE_NAMES
from careboard.models import Level, Role


def role_choices():
    return [SelectChoice(r.value, r.label) for r in Role]


def level_choices():
    return [SelectChoice(int(lv), lv.label) for lv in Level]


class UserForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    level = SelectField(_l("Permission level"), coerce=int)
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
        self.level.choices = level_choices()


class NewUserForm(UserForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(min=2, max=40)],
                           render_kw={"autocapitalize": "none", "autocomplete": "off"})
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[DataRequired()])


class SettingsForm(FlaskForm):
    store_name = StringField(_l("Store name"), validators=[DataRequired(), Length(max=120)])
    timezone = SelectField(_l("Time zone"))
