"""Who may do what: every view declares its policy here, templates ask the same functions.

A view gets exactly one of the decorators below. `create_app` refuses to start when a view has none,
so a new route cannot slip through without a decision (tests/test_authorization_matrix.py walks the URL map
against a written-down level for every route).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, abort
from flask_login import current_user

from careboard.extensions import login
from careboard.models import CardKind, Level, Role, User

PUBLIC = "public"


def require(level: Level | None) -> Callable:
    """Allow users of at least `level`; None makes the view public (login page, health check)."""

    def decorate(view: Callable) -> Callable:
        if level is None:
            view.policy = PUBLIC
            return view

        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login.unauthorized()
            if current_user.level < level:
                abort(403)
            return view(*args, **kwargs)

        guarded.policy = level
        return guarded

    return decorate


public = require(None)
staff = require(Level.STAFF)
supervisor = require(Level.SUPERVISOR)
director = require(Level.DIRECTOR)
admin = require(Level.ADMIN)


def check_every_view_has_a_policy(app: Flask) -> None:
    missing = [name for name, view in app.view_functions.items()
               if name != "static" and not hasattr(view, "policy")]
    if missing:
        raise RuntimeError(f"views without a policy decorator from careboard.policy: {sorted(missing)}")


# Capabilities, asked by views and templates alike.

def can_manage_accounts(user: User) -> bool:
    return user.is_authenticated and user.level >= Level.ADMIN


def can_see_department(user: User) -> bool:
    return user.is_authenticated and user.level >= Level.SUPERVISOR


def can_reassign(user: User) -> bool:
    """Move cards between people, bulk reassign: supervisors and up."""
    return user.is_authenticated and user.level >= Level.SUPERVISOR


def can_change_card(user: User, card) -> bool:
    """Move, edit, complete, reopen: one's own cards (or an unassigned card of one's role); supervisors any."""
    if not user.is_authenticated:
        return False
    if user.level >= Level.SUPERVISOR:
        return True
    if card.assignee_id is None:
        return card.role == user.role
    return card.assignee_id == user.id


def can_edit_scripts(user: User) -> bool:
    """The callback scripts (话术) are the director's."""
    return user.is_authenticated and user.level >= Level.DIRECTOR


# made only by logging a complaint or a failed 5S item
WORKFLOW_KINDS = frozenset({CardKind.COMPLAINT, CardKind.RECTIFICATION})


def can_create_kind(user: User, kind: CardKind | str) -> bool:
    """Staff create task cards; the other kinds come from rules or from supervisors. Nobody creates a
    complaint or rectification card by hand: such a card would have no complaint or 5S check behind it, so
    no workflow, no SLA and no place in the closure rate (complaint intake and the checklist make them)."""
    if kind in WORKFLOW_KINDS:
        return False
    return user.is_authenticated and (kind == CardKind.TASK or user.level >= Level.SUPERVISOR)


def can_edit_customers(user: User) -> bool:
    """Create and edit customers and vehicles, record deliveries and service visits: supervisors and up,
    and the staff whose work is with the customer; everyone else only searches and reads."""
    editing_roles = {Role.DELIVERY, Role.SALES_CARE, Role.AFTERSALES_CARE, Role.AFTERSALES_SERVICE,
                     Role.PHONE_RECEPTION, Role.INSURANCE_RENEWAL}
    return user.is_authenticated and (user.level >= Level.SUPERVISOR or user.role in editing_roles)


def can_edit_checklists(user: User) -> bool:
    """The 5S areas and their items: supervisors and the director."""
    return user.is_authenticated and user.level >= Level.SUPERVISOR


def can_verify_rectification(user: User) -> bool:
    """A rectification (限时整改) is verified by a supervisor, from its before and after photos."""
    return user.is_authenticated and user.level >= Level.SUPERVISOR


def can_enter_kpi(user: User, person: User) -> bool:
    """The month's figures the board cannot know: supervisors and up, for people below their own level.

    Nobody enters figures for their own scorecard or for someone at or above their own level: supervisors
    enter their staff's, the director the supervisors', and the director's come from the level above
    (an administrator). The scorecard's other writes are the month's, not a person's: finalizing and
    reopening (can_finalize_kpi) and the templates (can_edit_kpi) are the director's."""
    return (user.is_authenticated and user.level >= Level.SUPERVISOR
            and person.id != user.id and person.level < user.level)


def can_edit_kpi(user: User) -> bool:
    """KPI templates: the director."""
    return user.is_authenticated and user.level >= Level.DIRECTOR


def can_finalize_kpi(user: User) -> bool:
    """Finalizing (and reopening) a month's scores: the director."""
    return user.is_authenticated and user.level >= Level.DIRECTOR


def can_move_complaint(user: User, card) -> bool:
    """The complaint's responsible person (its card's assignee) and supervisors move it."""
    return user.is_authenticated and (user.level >= Level.SUPERVISOR or card.assignee_id == user.id)


def can_close_complaint(user: User) -> bool:
    """Closing a complaint and changing its deadlines: supervisor or director."""
    return user.is_authenticated and user.level >= Level.SUPERVISOR
