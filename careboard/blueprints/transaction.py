"""How every view that changes something runs the change: in the request's transaction, committed when it
went through, rolled back when it was refused. No view writes a rollback of its own.

    with change() as outcome:                  # a block: its results are used after it
        user = accounts.create_user(db.session, ...)
    if outcome.refused:
        form.username.errors.append(outcome.refusal.text)

    refusal = attempt(lambda: board.add_comment(db.session, card, ...))     # one call, only the refusal matters

A view whose change no rule can refuse (logging out, a delivery) calls the service and commits.

A plain form post that went through redirects (303) and says what it did with `say(message, undo=...)`:
the next page shows it as a toast, the same as htmx's answer (board/_toast.html), with its "Undo" form where
the change can be taken back, so the answer and the undo work without JavaScript too."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import abort, flash
from sqlalchemy.orm.exc import StaleDataError

from careboard.errors import MESSAGES
from careboard.extensions import db
from careboard.services.errors import Conflict, DomainError, Forbidden


@dataclass(frozen=True)
class Refusal:
    """Why a change did not go through: 409 (the page was stale) or 422 (a rule refused, `message`; `error` is
    the DomainError itself, for a view that shows more of it, such as the field a FieldError names)."""

    status: int
    message: str = ""
    error: DomainError | None = field(default=None, compare=False)

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def text(self) -> str:
        """The message to show: the rule's, or for a stale page the general one."""
        return self.message or str(MESSAGES[409][1])


class Outcome:
    """What `change()` made of its block: `refusal` is None when the change was committed."""

    refusal: Refusal | None = None

    @property
    def refused(self) -> bool:
        return self.refusal is not None


@contextmanager
def change() -> Iterator[Outcome]:
    """Run the block as one change: flush and commit when it went through. When the page was stale
    (Conflict, or a version check failing on the flush) or a rule refused (DomainError), roll back and keep
    the Refusal on the outcome for the view to show; the exception ends the block and goes no further.
    A change the user may not make (Forbidden) is rolled back and answered 403."""
    outcome = Outcome()
    try:
        yield outcome
        db.session.flush()
    except (Conflict, StaleDataError):
        db.session.rollback()
        outcome.refusal = Refusal(409)
    except Forbidden:
        db.session.rollback()
        abort(403)
    except DomainError as error:
        db.session.rollback()
        outcome.refusal = Refusal(422, str(error), error)
    else:
        db.session.commit()


def attempt(run: Callable[[], object]) -> Refusal | None:
    """`run` as one change (see `change`): None when it was committed, the Refusal when it was not."""
    with change() as outcome:
        run()
    return outcome.refusal


TOAST = "toast"                         # the flash category base.html shows as a toast, not in the page's flashes


def say(message: str, undo: dict | None = None) -> None:
    """Say on the next page what a plain form post did: a toast, with the fields of its undo form (what,
    column, assignee, position, version and the url to post them to) when the change can be taken back."""
    flash({"text": str(message), "undo": undo}, TOAST)
