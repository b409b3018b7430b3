"""One service call in the request's transaction, as every view that changes something runs it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort
from sqlalchemy.orm.exc import StaleDataError

from careboard.extensions import db
from careboard.services import DomainError
from careboard.services.board import Conflict, Forbidden


@dataclass(frozen=True)
class Refusal:
    """Why a change did not go through: 409 (the page was stale) or 422 (a rule refused, `message`)."""

    status: int
    message: str = ""

    @property
    def conflict(self) -> bool:
        return self.status == 409


def attempt(change: Callable[[], object]) -> Refusal | None:
    """Run `change`; commit and return None when it went through. When the page was stale or a rule
    refused, roll back and return the Refusal for the view to show; a change the user may not make is 403."""
    try:
        change()
        db.session.flush()
    except (Conflict, StaleDataError):
        db.session.rollback()
        return Refusal(409)
    except Forbidden:
        db.session.rollback()
        abort(403)
    except DomainError as error:
        db.session.rollback()
        return Refusal(422, str(error))
    db.session.commit()
    return None
