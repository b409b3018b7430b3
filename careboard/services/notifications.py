"""Notifications (the bell): who is told what, each person's choices, and the queries of the bell and its list.

`notify` is the one way a notice is made. It honours the person's choice for the kind (every kind is on until
they turn it off) and never tells a person about their own action. A notice keeps its kind, the parameters of
its sentence, the card or complaint it is about and a link inside the app: the page draws the sentence in the
reader's language (`describe`), and `text` keeps it in the store's default language for old rows and for a
later sender (a chat robot's digest can read kind, text and link).

It sits at the bottom of the services (only errors below it), so every capability can call it.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from careboard.dbtypes import utcnow
from careboard.models import ComplaintStatus, Level, NoticeKind, Notification, NotificationPreference, User
from careboard.services.errors import Forbidden

K = NoticeKind
TEXT_LENGTH = Notification.__table__.c.text.type.length          # 300
EXCERPT = 80                                                      # characters of a comment or a reason
LIST_LENGTH = 100                                                 # notices the page shows, newest first
PANEL_LENGTH = 8                                                  # notices the bell's panel shows

# The sentence of each kind (and variant, params["variant"]); filled with the notice's params when drawn.
MESSAGES = {
    (K.CARD_ASSIGNED, None): _l("%(actor)s assigned “%(title)s” to you."),
    (K.CARD_ASSIGNED, "bulk"): _l("%(actor)s moved the %(count)s open cards of %(from)s to you."),
    (K.CARD_COMMENTED, None): _l("%(actor)s commented on “%(title)s”: %(excerpt)s"),
    (K.RECTIFICATION_SENT_BACK, None): _l("%(actor)s sent back your rectification “%(title)s”: %(excerpt)s"),
    (K.RECTIFICATION_VERIFIED, None): _l("%(actor)s verified your rectification “%(title)s”."),
    (K.COMPLAINT_ESCALATED, None): _l("Complaint #%(id)d is overdue at “%(step)s”."),
    (K.SCORECARD_FINALIZED, None): _l("%(actor)s finalized your scorecard for %(month)s."),
    (K.SCORECARD_REOPENED, None): _l("%(actor)s reopened your scorecard for %(month)s: %(excerpt)s"),
    (K.IMPORT_FINISHED, "checked"): _l("The check of %(file)s is done: look at it and confirm the import."),
    (K.IMPORT_FINISHED, "imported"): _l("The import of %(file)s is done."),
    (K.IMPORT_FINISHED, "failed"): _l("The import of %(file)s stopped: nothing was imported."),
    (K.REPORT_READY, "weekly"): _l("The weekly report for %(period)s is ready."),
    (K.REPORT_READY, "monthly"): _l("The monthly report for %(period)s is ready."),
}

STAFF_KINDS = (K.CARD_ASSIGNED, K.CARD_COMMENTED, K.RECTIFICATION_SENT_BACK, K.RECTIFICATION_VERIFIED,
               K.SCORECARD_FINALIZED, K.SCORECARD_REOPENED)
SUPERVISOR_KINDS = (K.COMPLAINT_ESCALATED, K.ROWS_SKIPPED, K.IMPORT_FINISHED, K.REPORT_READY)


def excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def path(endpoint: str, **values) -> str:
    """A link inside the app, from the URL map (no request needed: the tick and the import jobs make notices
    too); without the script root, which the page adds when it follows the link."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def sentence(kind: NoticeKind, params: dict | None, fallback: str) -> str:
    """The kind's sentence filled with `params`, in the current language; `fallback` where it has none."""
    params = dict(params or {})
    message = MESSAGES.get((kind, params.get("variant")))
    if message is None:
        return fallback
    if "status" in params:
        params["step"] = ComplaintStatus(params["status"]).label
    try:
        return str(message) % params
    except (KeyError, TypeError, ValueError):
        return fallback


def describe(notice: Notification) -> str:
    """The notice as its reader sees it: drawn in their language from its kind and parameters."""
    return sentence(notice.kind, notice.params, notice.text)


def kinds_for(user: User) -> tuple[NoticeKind, ...]:
    """The kinds that can reach this person: supervisors and the director get the department's too."""
    return STAFF_KINDS + SUPERVISOR_KINDS if user.level >= Level.SUPERVISOR else STAFF_KINDS


# ---------------------------------------------------------------- making notices


def _disabled(session: Session, user_ids: list[int], kind: NoticeKind) -> set[int]:
    if not user_ids:
        return set()
    return set(session.scalars(select(NotificationPreference.user_id).where(
        NotificationPreference.kind == kind, NotificationPreference.enabled.is_(False),
        NotificationPreference.user_id.in_(user_ids))))


def _text(kind: NoticeKind, params: dict | None, text: str | None) -> str:
    if text is None:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = sentence(kind, params, "")
    return text[:TEXT_LENGTH]


def notify_all(session: Session, *, user_ids: Iterable[int], kind: NoticeKind, link: str | None,
               params: dict | None = None, text: str | None = None, actor_id: int | None = None,
               card_id: int | None = None, complaint_id: int | None = None,
               now: datetime | None = None) -> list[Notification]:
    """One notice of `kind` to each of these people who wants it, the actor left out. `text` is the notice
    itself for a kind without a sentence; else it is made from the sentence in the store's default language."""
    kind = NoticeKind(kind)
    ids = list(dict.fromkeys(uid for uid in user_ids if uid is not None and uid != actor_id))
    off = _disabled(session, ids, kind)
    ids = [uid for uid in ids if uid not in off]
    if not ids:
        return []
    stored = _text(kind, params, text)
    notices = [Notification(user_id=uid, kind=kind, link=link, params=params, text=stored, actor_id=actor_id,
                            card_id=card_id, complaint_id=complaint_id, created_at=now or utcnow())
               for uid in ids]
    session.add_all(notices)
    return notices


def notify(session: Session, *, user_id: int | None, kind: NoticeKind, link: str | None, params: dict | None = None,
           text: str | None = None, actor_id: int | None = None, card_id: int | None = None,
           complaint_id: int | None = None, now: datetime | None = None) -> Notification | None:
    """A notice to one person, unless it is their own action or they turned the kind off; None then."""
    made = notify_all(session, user_ids=[user_id] if user_id is not None else [], kind=kind, link=link,
                      params=params, text=text, actor_id=actor_id, card_id=card_id, complaint_id=complaint_id,
                      now=now)
    return made[0] if made else None


def retract(session: Session, *, user_id: int, kind: NoticeKind, card_id: int) -> int:
    """Take back the unread notices of a change that was undone (a reassignment taken back at once)."""
    return session.execute(delete(Notification).where(
        Notification.user_id == user_id, Notification.kind == kind, Notification.card_id == card_id,
        Notification.read_at.is_(None))).rowcount


def supervisors(session: Session) -> list[int]:
    """The active supervisors and the director: who hears of the department's events."""
    return list(session.scalars(select(User.id).where(User.active.is_(True),
                                                      User.level.in_((Level.SUPERVISOR, Level.DIRECTOR)))))


# ---------------------------------------------------------------- reading


def unread_count(session: Session, user: User) -> int:
    """The bell's number: one COUNT over the (user_id, read_at) index."""
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notices_of(user: User, *, kind: NoticeKind | None = None, unread_only: bool = False) -> Select:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_notifications(user: User, kind: NoticeKind | None = None) -> Select:
    return notices_of(user, kind=kind, unread_only=True)


def own_notice(session: Session, notice_id: int, user: User) -> Notification | None:
    """The notice if it is this person's; None for another person's as for one that does not exist."""
    notice = session.get(Notification, notice_id)
    return notice if notice is not None and notice.user_id == user.id else None


def mark_read(session: Session, notification: Notification, *, user: User, now: datetime) -> None:
    if notification.user_id != user.id:
        raise Forbidden(notification.id)
    notification.read_at = notification.read_at or now


def mark_all_read(session: Session, *, user: User, now: datetime) -> int:
    """Every unread notice of this person, read now: one UPDATE (notices carry no version; none to check)."""
    return session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now)
        .execution_options(synchronize_session=False)).rowcount


def safe_link(notice: Notification) -> str | None:
    """The notice's link if it is a path inside the app (never another site)."""
    link = notice.link or ""
    return link if link.startswith("/") and not link.startswith("//") and "\\" not in link else None


# ---------------------------------------------------------------- choices


def preferences(session: Session, user: User) -> dict[NoticeKind, bool]:
    """Each kind that can reach this person, on or off."""
    chosen = dict(session.execute(select(NotificationPreference.kind, NotificationPreference.enabled)
                                  .where(NotificationPreference.user_id == user.id)).all())
    return {kind: chosen.get(kind, True) for kind in kinds_for(user)}


def save_preferences(session: Session, *, user: User, enabled: Iterable[NoticeKind | str]) -> None:
    """The person's choice: the kinds given are on, the others that can reach them off."""
    on = {NoticeKind(k) for k in enabled}
    rows = {row.kind: row for row in session.scalars(select(NotificationPreference)
                                                     .where(NotificationPreference.user_id == user.id))}
    for kind in kinds_for(user):
        row = rows.get(kind)
        if row is None:
            session.add(NotificationPreference(user_id=user.id, kind=kind, enabled=kind in on))
        else:
            row.enabled = kind in on
    session.flush()
