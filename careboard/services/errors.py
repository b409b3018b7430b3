"""Every refusal a service can raise, in one place that imports nothing else of CareBoard.

A view catches these in one helper (blueprints/transaction.py): `Conflict` → 409 with the card as it
is now, `Forbidden` → 403, any `DomainError` → 422 with its message, which is already translated. Each
service raises the class that says why; none defines its own, so a service never imports another only
to name its error.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from flask_babel import gettext as _

if TYPE_CHECKING:                                   # for the annotations only: errors import no model at run time
    from careboard.models import Card, RunAnswer


class Report(Protocol):
    """What ImportRefused needs of the import's report (customer_import.ImportReport), without importing it."""

    errors: Sequence[object]


class DomainError(Exception):
    """A rule refused the change; the message is shown to the user as it is (already translated)."""


class Conflict(Exception):
    """The card changed after the form was drawn; carries the card as it is now."""

    def __init__(self, card: Card):
        super().__init__(f"card {card.id} is at version {card.version}")
        self.card = card


class Forbidden(Exception):
    """The actor may not make this change."""


# ---------------------------------------------------------------- board and complaints


class IllegalStep(DomainError):
    """A step the workflow does not allow from where the complaint is."""


class FollowsComplaint(DomainError):
    """A change of a complaint's card on the board that only the complaint's steps may make."""

    def __init__(self, complaint_id: int):
        super().__init__(_("This card follows complaint #%(id)d and changes only through its steps: "
                           "open the complaint to move it on.", id=complaint_id))
        self.complaint_id = complaint_id


class CallbackError(DomainError):
    """An outcome that cannot be recorded (missing satisfaction, not a callback…)."""


# ---------------------------------------------------------------- customers and their import


class FieldError(DomainError):
    """A value refused, with the field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class ImportRefused(DomainError):
    """The file has bad rows (or could not be read): nothing was imported. Carries the report."""

    def __init__(self, report: Report):
        super().__init__(_("The file was not imported: %(errors)d errors. Nothing was changed.",
                           errors=len(report.errors)))
        self.report = report


# ---------------------------------------------------------------- 5S checklist and photos


class Incomplete(DomainError):
    """A run cannot be submitted yet: `unanswered` and `without_photo` list the items."""

    def __init__(self, message: str, unanswered: list[RunAnswer], without_photo: list[RunAnswer]):
        super().__init__(message)
        self.unanswered = unanswered
        self.without_photo = without_photo


class PhotoRefused(DomainError):
    """The upload is not a photo we keep; the message says why. Nothing was stored."""


# ---------------------------------------------------------------- scorecard


class MonthClosed(DomainError):
    """The month is finalized: its figures are read-only until the director reopens it."""


class TemplateError(DomainError):
    """A KPI template cannot be used; `problems` lists every message, str() joins them."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))


class InputError(DomainError):
    """A month's input for one metric is refused; the message names the metric and what is allowed."""


# ---------------------------------------------------------------- backups


class BackupError(DomainError):
    """The backup or the restore cannot be made; the message says why and whether anything was changed."""
