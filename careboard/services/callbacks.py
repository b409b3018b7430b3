"""Callbacks: their scripts (话术), their outcomes, the retry of an unreached customer, and the complaint a
dissatisfied one opens. The care rules make callback cards (care_rules.py); this module finishes them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard import policy
from careboard.dates import due_at, local_date
from careboard.models import CallbackResult, CallbackScript, Card, CardKind, Column, Complaint, Role, User
from careboard.models.cards import OPEN_COLUMNS
from careboard.services import board as board_service
from careboard.services import complaints
from careboard.services.errors import CallbackError, DomainError, Forbidden
from careboard.services.settings import StoreSettings
from careboard.services.texts import is_visible

# The standard scripts (话术) by callback rule; the director may replace them (CallbackScript rows).
DEFAULT_SCRIPTS = {
    "sale_3d": "您好，我是{store}的客户关爱专员。感谢您选择我们，您的新车使用三天了，用车还顺利吗？"
               "交车时的讲解是否清楚？对销售顾问的服务是否满意（1–10 分）？有什么需要我们帮助的吗？",
    "sale_3m": "您好，我是{store}的客户关爱专员。您的爱车已经陪伴您三个月了，用车有没有遇到问题？"
               "首次保养的时间和里程还记得吗？需要帮您预约吗？",
    "sale_6m": "您好，我是{store}的客户关爱专员。您的爱车已经使用半年，想了解一下您的整体满意度（1–10 分），"
               "以及对我们的服务有什么建议。",
    "service_3d": "您好，我是{store}售后关爱专员。您三天前在我店做了维修保养，车辆使用是否正常？"
                  "对服务顾问和维修质量是否满意（1–10 分）？交车时是否洗车、讲解是否清楚？",
    "winback": "您好，我是{store}的客户关爱专员。您的爱车已经有半年没有回店保养了，最近用车还好吗？"
               "我们本月有保养优惠，需要帮您预约吗？如有不满意的地方，也请告诉我们。",
}



def script_for(session: Session, rule: str, store_name: str) -> str | None:
    row = session.get(CallbackScript, rule)
    text = row.body if row else DEFAULT_SCRIPTS.get(rule)
    return text.replace("{store}", store_name) if text else None


def save_script(session: Session, *, actor: User, rule: str, body: str) -> CallbackScript:
    if not policy.can_edit_scripts(actor):
        raise Forbidden("scripts")
    if rule not in DEFAULT_SCRIPTS:
        raise DomainError(_("Unknown callback type."))
    body = (body or "").strip()
    if not body:
        raise DomainError(_("A script cannot be empty."))
    row = session.get(CallbackScript, rule) or CallbackScript(kind=rule)
    row.body, row.updated_by_id = body, actor.id
    session.add(row)
    return row


def check_done(session: Session, card: Card, actor: User, note: str | None) -> None:
    """The board asks before a callback goes to Done by a drag or the Done button: it needs its outcome."""
    if not (note or "").strip():
        raise DomainError(_("A callback needs its outcome before it is done: write what the customer said."))


board_service.register_workflow((CardKind.CALLBACK,), board_service.Workflow(completion="outcome",
                                                                             check_done=check_done))


def record_callback(session: Session, card: Card, *, actor: User, seen_version: int, reached: bool,
                    satisfaction: int | None, comments: str | None, problems: str | None,
                    settings: StoreSettings, now: datetime) -> Card | None:
    """Complete a callback with its outcome. Not reached: a retry card for the next day, until the last
    attempt, which counts as failed. Reached at or below the satisfaction threshold: flagged for a
    complaint. Returns the retry card, if one was made."""
    if card.kind != CardKind.CALLBACK:
        raise CallbackError(_("Only a callback has a callback outcome."))
    comments = (comments or "").strip() if is_visible(comments) else ""
    problems = (problems or "").strip() if is_visible(problems) else None
    retry = None
    if reached:
        if satisfaction is None or not 1 <= int(satisfaction) <= 10:
            raise CallbackError(_("Give the customer's satisfaction from 1 to 10."))
        card.callback_result = CallbackResult.REACHED
        card.satisfaction = int(satisfaction)
        card.complaint_flag = card.satisfaction <= settings.satisfaction_threshold
        note = comments or _("Reached; satisfaction %(n)d.", n=card.satisfaction)
    else:
        card.satisfaction = None
        last = card.attempt >= settings.callback_attempts
        card.callback_result = CallbackResult.FAILED if last else CallbackResult.NOT_REACHED
        note = comments or _("Not reached (attempt %(n)d of %(total)d).", n=card.attempt,
                             total=settings.callback_attempts)
    card.problems = problems
    board_service.complete_card(session, card, actor=actor, seen_version=seen_version, note=note)
    if not reached and card.callback_result == CallbackResult.NOT_REACHED:
        retry = _retry(session, card, actor, settings, now)
    if card.complaint_flag:
        _open_complaint(session, card, actor, comments, problems, settings, now)
    return retry


def _open_complaint(session: Session, card: Card, actor: User, comments: str, problems: str | None,
                    s: StoreSettings, now: datetime):
    """A dissatisfied callback opens a complaint with the callback linked: one complaint per callback. A
    reopened callback completed dissatisfied again keeps the complaint it opened the first time."""
    opened = session.scalar(select(Complaint).where(Complaint.callback_card_id == card.id)
                            .order_by(Complaint.id).limit(1))
    if opened is not None:
        return opened
    aftersales = card.role in (Role.AFTERSALES_CARE, Role.AFTERSALES_SERVICE)
    text = "\n".join(part for part in (
        _("Dissatisfied callback (satisfaction %(n)d): %(title)s", n=card.satisfaction, title=card.title),
        comments, problems or "") if part)
    return complaints.log_complaint(
        session, actor=actor, channel="callback", category="service" if aftersales else "sales",
        department="aftersales" if aftersales else "sales", description=text, received_at=now,
        customer_id=card.customer_id, callback_card=card, s=s)


def _retry(session: Session, card: Card, actor: User, s: StoreSettings, now: datetime) -> Card:
    """The next attempt's card, made once per callback: a reopened callback completed "not reached" again
    finds the retry it made the first time."""
    key = f"retry:{card.id}"
    made = session.scalar(select(Card).where(Card.rule_key == key))
    if made is not None:
        return made
    tomorrow = local_date(now, s.zone) + timedelta(days=1)
    retry = board_service.create_card(
        session, actor=None, kind=CardKind.CALLBACK, title=retry_title(card.title, card.attempt + 1),
        role=card.role, assignee=card.assignee if card.assignee and card.assignee.active else None,
        details=card.details, due_at=due_at(tomorrow, s.zone), priority=card.priority, source=card.source,
        rule_key=key, customer_id=card.customer_id)
    retry.vehicle_id = card.vehicle_id
    retry.attempt = card.attempt + 1
    return retry


def retry_title(title: str, attempt: int) -> str:
    """The title of the next attempt's card, e.g. "…（第2次拨打）": the callback's title shortened to fit
    the column, the attempt kept."""
    suffix = f"（第{attempt}次拨打）"
    base = title.split("（第")[0].rstrip()
    return base[:board_service.TITLE_LENGTH - len(suffix)].rstrip() + suffix


def flagged_callbacks():
    """Reached callbacks at or below the threshold: what the complaints issue turns into complaints."""
    return select(Card).where(Card.kind == CardKind.CALLBACK, Card.complaint_flag.is_(True),
                              Card.column == Column.DONE)


def open_callbacks_of(customer_id: int):
    return select(Card).where(Card.customer_id == customer_id, Card.kind == CardKind.CALLBACK,
                              Card.column.in_(OPEN_COLUMNS))

