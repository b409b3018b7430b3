"""Forms of the board. Every write carries the card's version, so a stale form is refused (409)."""
from __future__ import annotations


from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from careboard.dates import InRange
from careboard.fields import AppForm, DbIntegerField
from careboard.models import CARE_ROLES, CardKind, Column, Priority
from careboard.services.callbacks import DEFAULT_SCRIPTS
from careboard.services.care_rules import RULE_LABELS

UNASSIGNED = 0


def priority_choices():
    return [SelectChoice(int(p), p.label) for p in Priority]


def person_choices(people, *, unassigned: bool = True):
    choices = [SelectChoice(UNASSIGNED, _l("Unassigned"))] if unassigned else []
    return choices + [SelectChoice(p.id, f"{p.display_name} · {p.role.label}") for p in people]


class VersionForm(AppForm):
    """A button-only write: carries the CSRF token and the version the page was drawn from."""
    version = DbIntegerField(validators=[InputRequired()])


class CardFieldsForm(AppForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    details = TextAreaField(_l("Details"), validators=[Length(max=8000)])
    due_at = DateTimeLocalField(_l("Due"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                validators=[Optional(), InRange()])
    priority = SelectField(_l("Priority"), coerce=int, default=int(Priority.NORMAL))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.priority.choices = priority_choices()


class NewCardForm(CardFieldsForm):
    kind = SelectField(_l("Kind"), default=CardKind.TASK.value)
    role = SelectField(_l("Role (lane)"))
    assignee = SelectField(_l("Assignee"), coerce=int, default=UNASSIGNED)

    def __init__(self, *args, kinds=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k.value, k.label) for k in kinds]
        self.role.choices = [SelectChoice(r.value, r.label) for r in CARE_ROLES]
        self.assignee.choices = person_choices(people)


class EditCardForm(CardFieldsForm):
    version = DbIntegerField(validators=[InputRequired()])


class MoveForm(AppForm):
    column = SelectField(_l("Column"), choices=[SelectChoice(c.value, c.label) for c in Column])
    assignee = DbIntegerField(validators=[Optional()])            # absent: keep the current assignee
    position = DbIntegerField(validators=[Optional()])            # absent or -1: the end of the lane
    version = DbIntegerField(validators=[InputRequired()])


class DropForm(MoveForm):
    """A drag and drop on the board: the card travels in the form."""
    card = DbIntegerField(validators=[InputRequired()])


class ReassignForm(AppForm):
    assignee = SelectField(_l("Assign to"), coerce=int)
    version = DbIntegerField(validators=[InputRequired()])

    def __init__(self, *args, people=(), load=None, **kwargs):
        """`load` (user id → board.Load): the menu groups people by role and shows each one's open and overdue
        cards; without it, the plain list."""
        super().__init__(*args, **kwargs)
        if load is None:
            self.assignee.choices = person_choices(people)
            return
        groups: dict[str, list[SelectChoice]] = {str(_l("Unassigned")): [SelectChoice(UNASSIGNED, _l("Unassigned"))]}
        for person in people:
            figures = load.get(person.id)
            label = _l("%(name)s · %(open)d open · %(overdue)d overdue", name=person.display_name,
                       open=figures.open if figures else 0, overdue=figures.overdue if figures else 0)
            groups.setdefault(person.role.label, []).append(SelectChoice(person.id, str(label)))
        self.assignee.choices = groups


class FoldLaneForm(AppForm):
    """A lane's fold button without JavaScript: the lane, and the board's address to come back to."""
    lane = StringField(validators=[InputRequired(), Regexp(r"^(user-[0-9]+|(role|unassigned)-[a-z_]+)$")])
    next = StringField(validators=[Optional(), Length(max=2000)])


class UndoForm(AppForm):
    """Take back the change a toast names: where the card was before it, and the version the change left."""
    what = SelectField(choices=[SelectChoice("done", "done"), SelectChoice("move", "move"),
                                SelectChoice("reassign", "reassign")])
    column = SelectField(choices=[SelectChoice(c.value, c.label) for c in Column])
    assignee = DbIntegerField(validators=[Optional()])             # UNASSIGNED (0) or a person
    position = DbIntegerField(validators=[Optional()])
    version = DbIntegerField(validators=[InputRequired()])


class CompleteForm(AppForm):
    note = TextAreaField(_l("Outcome"), validators=[Length(max=4000)])
    version = DbIntegerField(validators=[InputRequired()])


class CallbackOutcomeForm(CompleteForm):
    """Completing a callback: reached or not, satisfaction 1–10, the customer's comments, problems found."""
    reached = RadioField(_l("Did you reach the customer?"), validators=[InputRequired()],
                         choices=[SelectChoice("yes", _l("Reached")), SelectChoice("no", _l("Not reached"))])
    satisfaction = SelectField(_l("Satisfaction (1–10)"), default="",   # "" (—) is a choice; see validate_satisfaction
                               choices=[SelectChoice("", "—")] + [SelectChoice(str(n), str(n))
                                                                  for n in range(10, 0, -1)])
    note = TextAreaField(_l("What the customer said"), validators=[Length(max=4000)])
    problems = TextAreaField(_l("Problems found"), validators=[Length(max=4000)])

    def validate_satisfaction(self, field):
        """The service refuses it too; said here, at the field, so the page can point at it."""
        if self.reached.data == "yes" and not field.data:
            raise ValidationError(str(_l("Give the customer's satisfaction from 1 to 10.")))

    def satisfaction_value(self) -> int | None:
        return int(self.satisfaction.data) if self.satisfaction.data else None


class CommentForm(AppForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])


class BulkReassignForm(AppForm):
    from_user = SelectField(_l("All open cards of"), coerce=int)
    to_user = SelectField(_l("Move to"), coerce=int)

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.from_user.choices = person_choices(people, unassigned=False)
        self.to_user.choices = person_choices(people, unassigned=False)


class FilterForm(AppForm):
    """GET filters; no CSRF needed for reading."""

    class Meta:
        csrf = False

    role = SelectField(_l("Role"), validators=[Optional()])
    person = SelectField(_l("Person"), coerce=int, validators=[Optional()], default=0)
    kind = SelectField(_l("Kind"), validators=[Optional()])
    due = SelectField(_l("Due"), validators=[Optional()])
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    lanes = SelectField(_l("Swimlanes"), validators=[Optional()], default="person")

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice("", _l("All roles"))] + [SelectChoice(r.value, r.label) for r in CARE_ROLES]
        self.person.choices = [SelectChoice(0, _l("Everyone"))] + [SelectChoice(p.id, p.display_name)
                                                                  for p in people]
        self.kind.choices = [SelectChoice("", _l("All kinds"))] + [SelectChoice(k.value, k.label)
                                                                  for k in CardKind]
        self.due.choices = [SelectChoice("", _l("Any time")), SelectChoice("today", _l("Due today")),
                            SelectChoice("overdue", _l("Overdue"))]
        self.lanes.choices = [SelectChoice("person", _l("By person")), SelectChoice("role", _l("By role"))]


class ScriptsForm(AppForm):
    """One text per callback rule; built from callbacks.DEFAULT_SCRIPTS."""


for _rule in DEFAULT_SCRIPTS:
    setattr(ScriptsForm, _rule, TextAreaField(RULE_LABELS[_rule], validators=[DataRequired(), Length(max=4000)]))
