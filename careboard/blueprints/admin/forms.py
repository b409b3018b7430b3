from functools import partial

from flask_babel import lazy_gettext as _l
from careboard.fields import AppForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from careboard.services import settings
from careboard.services.errors import DomainError

from careboard.i18n import LANGUAGE_NAMES
from careboard.models import Level, RobotKind, Role


def role_choices():
    return [SelectChoice(r.value, r.label) for r in Role]


def level_choices():
    return [SelectChoice(int(lv), lv.label) for lv in Level]


class UserForm(AppForm):
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


class ResetPasswordForm(AppForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})


class ActiveForm(AppForm):
    active = HiddenField(validators=[DataRequired()])


class Checked:
    """A field validated by a service's parser: its DomainError is the field's message."""

    def __init__(self, parse) -> None:
        self.parse = parse

    def __call__(self, form, field) -> None:
        try:
            self.parse(field.data)
        except DomainError as error:
            raise ValidationError(str(error)) from None


OPENING_HOURS_ONLY = _l("Opening hours only")
CALENDAR_TIME = _l("Calendar time, day and night")


def ClockField(label, opening=OPENING_HOURS_ONLY, calendar=CALENDAR_TIME) -> SelectField:  # noqa: N802 - a field
    """How a time limit counts: opening hours (stops while the store is closed) or calendar time."""
    return SelectField(label, choices=[SelectChoice(settings.Clock.OPENING.value, opening),
                                       SelectChoice(settings.Clock.CALENDAR.value, calendar)],
                       validators=[InputRequired()])


class SettingsForm(AppForm):
    store_name = StringField(_l("Store name"), validators=[DataRequired(), Length(max=120)])
    timezone = SelectField(_l("Time zone"))
    due_soon_hours = IntegerField(_l("\"Due soon\" warning, hours before the due time"),
                                  validators=[InputRequired(), NumberRange(0, 72)])
    poll_seconds = IntegerField(_l("Board refresh on tablets, seconds"),
                                validators=[InputRequired(), NumberRange(5, 600)])
    wip_limit_todo = IntegerField(_l("Limit per person: To do (0 = none)"),
                                  validators=[InputRequired(), NumberRange(0, 500)])
    wip_limit_doing = IntegerField(_l("Limit per person: Doing (0 = none)"),
                                   validators=[InputRequired(), NumberRange(0, 500)])
    wip_limit_waiting = IntegerField(_l("Limit per person: Waiting (0 = none)"),
                                     validators=[InputRequired(), NumberRange(0, 500)])

    callback_lead_days = IntegerField(_l("Callback cards appear, days before due"),
                                      validators=[InputRequired(), NumberRange(0, 14)])
    backfill_days = IntegerField(_l("Catch up at most, days back"), validators=[InputRequired(), NumberRange(0, 60)])
    first_maintenance_lead_days = IntegerField(_l("First maintenance reminder, days ahead"),
                                               validators=[InputRequired(), NumberRange(0, 90)])
    maintenance_interval_months = IntegerField(_l("Regular maintenance every, months after a visit"),
                                               validators=[InputRequired(), NumberRange(1, 24)])
    maintenance_lead_days = IntegerField(_l("Regular maintenance reminder, days ahead"),
                                         validators=[InputRequired(), NumberRange(0, 90)])
    warranty_lead_days = IntegerField(_l("Warranty expiry reminder, days ahead"),
                                      validators=[InputRequired(), NumberRange(0, 180)])
    inspection_lead_days = IntegerField(_l("Annual inspection reminder, days ahead"),
                                        validators=[InputRequired(), NumberRange(0, 180)])
    insurance_lead_days = IntegerField(_l("Insurance renewal reminder, days ahead"),
                                       validators=[InputRequired(), NumberRange(0, 180)])
    birthday_lead_days = IntegerField(_l("Birthday greeting, days ahead"),
                                      validators=[InputRequired(), NumberRange(0, 30)])
    holiday_lead_days = IntegerField(_l("Holiday greeting, days ahead"),
                                     validators=[InputRequired(), NumberRange(0, 30)])
    reminder_due_days = IntegerField(_l("A reminder is due, days after it appears"),
                                     validators=[InputRequired(), NumberRange(0, 30)])
    winback_months = IntegerField(_l("Win-back after, months without a visit"),
                                  validators=[InputRequired(), NumberRange(1, 36)])
    callback_attempts = IntegerField(_l("Callback attempts before it counts as failed"),
                                     validators=[InputRequired(), NumberRange(1, 10)])
    satisfaction_threshold = IntegerField(_l("Satisfaction at or below this flags a complaint"),
                                          validators=[InputRequired(), NumberRange(0, 10)])
    rectification_days = IntegerField(_l("A failed 5S item is put right by the end of the day, days after the check"),
                                      validators=[InputRequired(), NumberRange(0, 14)])
    scorecard_entry_day = IntegerField(_l("The scorecard opens on the current month from this day of the month"),
                                       validators=[InputRequired(), NumberRange(1, 28)])
    holidays = TextAreaField(_l("Holidays (one per line: 2026-10-01 国庆节; empty: the built-in list)"))

    complaint_response_minutes = IntegerField(_l("Complaint: first response within, minutes"),
                                              validators=[InputRequired(), NumberRange(1, 1440)])
    complaint_handoff_hours = IntegerField(_l("Complaint: handed to the department within, hours"),
                                           validators=[InputRequired(), NumberRange(1, 72)])
    complaint_handoff_aftersales_hours = IntegerField(_l("Complaint: handed to after-sales within, hours"),
                                                      validators=[InputRequired(), NumberRange(1, 72)])
    complaint_solution_hours = IntegerField(_l("Complaint: a solution within, hours after the hand-off"),
                                            validators=[InputRequired(), NumberRange(1, 240)])
    complaint_resolve_hours = IntegerField(_l("Complaint: resolved within, hours after the solution"),
                                           validators=[InputRequired(), NumberRange(1, 240)])
    complaint_second_callback_hours = IntegerField(_l("Complaint: second callback within, hours after resolving"),
                                                   validators=[InputRequired(), NumberRange(1, 240)])
    clock_complaint_response = ClockField(_l("The first response counts"))
    clock_complaint_handoff = ClockField(_l("The hand-off counts"))
    clock_complaint_solution = ClockField(_l("The solution counts"))
    clock_complaint_resolve = ClockField(_l("Resolving counts"))
    clock_complaint_second_callback = ClockField(_l("The second callback counts"))
    clock_rectification = ClockField(_l("The rectification days count"), opening=_l("Open days only"),
                                     calendar=_l("Every day"))
    clock_care_cards = ClockField(_l("A callback due on a closed day"), opening=_l("falls due on the next open day"),
                                  calendar=_l("stays due on its own day"))

    hours_mon = StringField(_l("Monday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_tue = StringField(_l("Tuesday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_wed = StringField(_l("Wednesday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_thu = StringField(_l("Thursday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_fri = StringField(_l("Friday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_sat = StringField(_l("Saturday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    hours_sun = StringField(_l("Sunday"), validators=[Length(max=20), Checked(settings.parse_hours)])
    store_closed_days = TextAreaField(_l("The store's own closed days (one per line: 2026-12-31 盘点)"),
                                      validators=[Checked(partial(settings.parse_day_list, official=False))])
    store_open_days = TextAreaField(_l("Public holidays on which the store opens (one per line: 2026-10-03)"),
                                    validators=[Checked(partial(settings.parse_day_list, official=False))])
    official_holidays = TextAreaField(_l("Official holidays of a year not yet in the calendar (one per line: "
                                         "2027-02-06 春节)"),
                                      validators=[Checked(partial(settings.parse_day_list, official=True))])
    official_workdays = TextAreaField(_l("Adjusted working days (调休) of a year not yet in the calendar (one per "
                                         "line: 2027-02-20 春节)"),
                                      validators=[Checked(partial(settings.parse_day_list, official=True))])

    SETTINGS = ("store_name", "timezone", "due_soon_hours", "poll_seconds", "wip_limit_todo", "wip_limit_doing",
                "wip_limit_waiting", "callback_lead_days", "backfill_days", "first_maintenance_lead_days",
                "maintenance_interval_months", "maintenance_lead_days", "warranty_lead_days", "inspection_lead_days",
                "insurance_lead_days", "birthday_lead_days", "holiday_lead_days", "reminder_due_days",
                "winback_months", "callback_attempts", "satisfaction_threshold", "holidays", "rectification_days",
                "scorecard_entry_day", *settings.HOURS_KEYS, *settings.DAY_LISTS,
                "complaint_response_minutes", "complaint_handoff_hours", "complaint_handoff_aftersales_hours",
                "complaint_solution_hours", "complaint_resolve_hours", "complaint_second_callback_hours",
                *settings.CLOCK_DEFAULTS)

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in self.SETTINGS}

    def validate_hours_mon(self, field) -> None:
        """Seven closed weekdays: said on the first of them (save() refuses it too)."""
        try:
            week = [settings.parse_hours(getattr(self, key).data) for key in settings.HOURS_KEYS]
        except DomainError:
            return                                         # the bad field says so itself
        if not any(week):
            raise ValidationError(_l("The store must open on at least one weekday."))


def robot_role_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("The whole department"))] + [SelectChoice(r.value, r.label) for r in Role
                                                              if r is not Role.NONE]


class RobotForm(AppForm):
    """A chat robot. The webhook address and the secret are never filled in from the stored ones: empty keeps
    them."""
    name = StringField(_l("Name (e.g. the chat group's)"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("Kind"), choices=lambda: [SelectChoice(k.value, k.label) for k in RobotKind])
    webhook = StringField(_l("Webhook address"), validators=[Length(max=500)])
    secret = PasswordField(_l("DingTalk signing secret (加签, starts with SEC)"), validators=[Length(max=200)])
    clear_secret = BooleanField(_l("Remove the stored secret"))
    role = SelectField(_l("Whose work it reports"), choices=robot_role_choices)
    send_escalations = BooleanField(_l("Complaint escalations, as they happen"), default=True)
    send_digest = BooleanField(_l("Morning digest at opening time"), default=True)
    send_weekly = BooleanField(_l("The weekly report, when it is made"), default=True)
    active = BooleanField(_l("Switched on"), default=True)
    version = HiddenField()


class RobotActionForm(AppForm):
    """Test, retry or delete: the CSRF token and the version seen."""
    version = HiddenField()
