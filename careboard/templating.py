"""Template helpers: the render() that picks page or fragment, navigation, filters."""
from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import parse_pattern
from flask import Flask, current_app, g, has_request_context, render_template, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from careboard import i18n, policy
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.lru import LruCache
from careboard.models import CallbackResult, Column, Level, Priority, Role
from careboard.services import notifications
from careboard.services.board import completion_mode, overdue_count
from careboard.services.care_rules import rule_label
from careboard.services.settings import unknown_coming_year

# (endpoint, label). Shown when the endpoint exists and its policy admits the user.
NAVIGATION = [
    ("board.mine", _l("My cards")),
    ("board.index", _l("Board")),
    ("customers.index", _l("Customers")),
    ("complaints.index", _l("Complaints")),
    ("checklist.index", _l("5S checklist")),
    ("scorecard.index", _l("Scorecard")),
    ("review.index", _l("Weekly review")),
    ("board.edit_scripts", _l("Scripts")),
    ("admin.list_users", _l("Accounts")),
    ("admin.edit_settings", _l("Settings")),
]


def allowed(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    rule = getattr(view, "policy", None)
    if rule == policy.PUBLIC:
        return True
    return current_user.is_authenticated and current_user.level >= rule


def render(template: str, *, fragments: dict[str, str] | None = None, **context):
    """The whole page, or one named block when an htmx request targets that block's element id.

    `fragments` maps an element id (HX-Target) to the block that renders it.
    """
    block = None
    if request.htmx and not request.htmx.history_restore_request and fragments:
        block = fragments.get(request.htmx.target or "")
    html = render_block(template, block, **context) if block else render_template(template, **context)
    response = current_app.make_response(html)
    response.vary.add("HX-Request")
    return response


def localtime(value: datetime | None, fmt: str = "short") -> str:
    """A UTC datetime in the store's time zone and the user's language.

    Same output as flask_babel.format_datetime; the locale, zone and parsed pattern are looked up once
    per request (a board shows thousands of times)."""
    if value is None:
        return ""
    cache = g.get("_localtime")
    if cache is None:
        cache = g._localtime = {"zone": i18n.store().zone, "locale": get_locale()}
    pattern = cache.get(fmt)
    if pattern is None:
        locale = cache["locale"]
        if fmt not in ("short", "medium", "long", "full"):
            return format_datetime(value, fmt)
        joined = (str(locale.datetime_formats[fmt]).replace("{1}", locale.date_formats[fmt].pattern)
                  .replace("{0}", locale.time_formats[fmt].pattern))
        pattern = cache[fmt] = parse_pattern(joined)
    return pattern.apply(value.astimezone(cache["zone"]), cache["locale"])


def isodatetime(value: datetime | date | None) -> str:
    """A datetime or a date as a `<time datetime>` value: UTC to the second ("2026-12-01T08:30:00Z"; HTML
    allows at most three digits of a second and a stored time has six) or the day ("2026-12-01")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


# Rendered board cards, per worker process: the department board re-renders up to a few thousand cards after
# every drag, and almost all of them are unchanged. The key holds every value the card's HTML is made of, so
# a hit is exactly what the macro would render now. Bounded: past the limit the least recently shown card goes.
BOARD_CARD_CACHE_SIZE = 10_000
_board_cards = LruCache(BOARD_CARD_CACHE_SIZE)


def _board_card_context() -> tuple:
    context = g.get("_board_card_context")
    if context is None:
        context = g._board_card_context = (str(get_locale()), str(i18n.store().zone), request.script_root)
    return context


def board_card(macro, item, text: dict, show_assignee: bool, context: tuple | None = None,
               oob: bool = False) -> Markup:
    """`macro(item, text, show_assignee, oob)` (board/_card.html), rendered once per process for the same card
    version, SLA state, lock, language, time zone and URL root."""
    context = context or _board_card_context()
    c = item.card
    key = (c.id, c.version, c.kind, c.title, c.priority, c.due_at, c.assignee_name if show_assignee else None,
           item.sla, item.may_change, show_assignee, oob, context)
    html = _board_cards.get(key)
    if html is None:
        html = Markup(macro(item, text, show_assignee, oob))
        _board_cards.put(key, html)
    return html


def board_cell_cards(macro, items, text: dict, show_assignee: bool, oob: bool = False) -> Markup:
    """A cell's cards, each as board_card renders it, in one call from the template (a Jinja loop calling a
    global per card cost more than the cached cards themselves); `oob`: each replaces the card of its id."""
    context = _board_card_context()
    return Markup("").join(board_card(macro, item, text, show_assignee, context, oob) for item in items)


def overdue_badge(oob: bool = False, count: int | None = None) -> Markup:
    """The header's count of overdue cards (one's own for staff, the department's for supervisors); `count`
    when the caller has read it already (services.board.redraw_counts)."""
    if not current_user.is_authenticated or not allowed("board.index"):
        return Markup("")
    if count is None:
        count = overdue_count(db.session, current_user, utcnow())
    return Markup(render_template("board/_overdue_badge.html", count=count, oob=oob))


def bell() -> Markup:
    """The header's bell: this person's unread notifications (escalations among them), a panel of the latest."""
    if not current_user.is_authenticated or not allowed("notifications.index"):
        return Markup("")
    return Markup(render_template("notifications/_bell_menu.html",
                                  count=notifications.unread_count(db.session, current_user),
                                  poll_seconds=current_app.config["NOTIFICATION_POLL_SECONDS"]))


def calendar_notice() -> Markup:
    """Supervisors and above, from December on: the coming year's official holidays are not known yet."""
    if not current_user.is_authenticated or not policy.can_see_department(current_user):
        return Markup("")
    year = unknown_coming_year(i18n.store(), utcnow())
    return Markup(render_template("admin/_calendar_notice.html", year=year)) if year else Markup("")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["isodatetime"] = isodatetime
    app.jinja_env.globals.update(allowed=allowed, completion_mode=completion_mode, policy=policy, Level=Level,
                                 Role=Role, Column=Column,
                                 Priority=Priority, CallbackResult=CallbackResult, LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
                                 overdue_badge=overdue_badge, bell=bell,
                                 notifications_describe=notifications.describe,
                                 calendar_notice=calendar_notice,
                                 rule_label=rule_label, board_cell_cards=board_cell_cards)

    @app.context_processor
    def shell():
        """The page's frame (navigation, store, language): worked out once per request, however many templates
        the request renders (a drop's answer renders four)."""
        if not has_request_context():
            return _shell(app)
        if "_shell" not in g:
            g._shell = _shell(app)
        return g._shell


def _shell(app: Flask) -> dict:
    navigation = [(endpoint, label) for endpoint, label in NAVIGATION if allowed(endpoint)]
    return {"store": i18n.store(), "navigation": navigation, "current_locale": i18n.select_locale(),
            "idle_ms": app.config["IDLE_LOGOUT_MINUTES"] * 60 * 1000}
