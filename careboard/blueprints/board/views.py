"""The board: department view, my cards, card detail (drawer), and the changes made from them."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import htmx_flask
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from werkzeug.datastructures import MultiDict
from sqlalchemy import false, or_, select

from careboard import dates, policy
from careboard.blueprints.board import bp
from careboard.blueprints.board.forms import (UNASSIGNED, BulkReassignForm, CallbackOutcomeForm, CommentForm,
                                              CompleteForm, DropForm, EditCardForm, FilterForm, FoldLaneForm, MoveForm,
                                              NewCardForm, ReassignForm, ScriptsForm, UndoForm, VersionForm)
from careboard.blueprints.transaction import attempt, change, say
from careboard.dbtypes import utcnow
from careboard.errors import render_error
from careboard.extensions import db
from careboard.i18n import select_locale, store
from careboard.models import CARE_ROLES, Card, CardKind, Column, Role, SlaState, User
from careboard.services import assigner, board, board_sync, callbacks, checklist, complaints
from careboard.templating import render
from careboard.urls import int_arg, local_url, page_arg

CHANGED = "board-changed"
# The elements that show a card's detail: the drawer of the board and "my cards", and the card's own page.
# Its forms post with hx-target="closest [data-card-host]", so the answer goes where the card is shown.
HOSTS = ("drawer", "card-page")


# ---------------------------------------------------------------- loading


def load_card_or_404(card_id: int) -> Card:
    card = board.get_card(db.session, card_id)
    if card is None:
        abort(404)
    return card


def active_people() -> list[User]:
    return db.session.scalars(select(User).where(User.active.is_(True), User.does_care_work())
                              .order_by(User.role, User.display_name)).all()


def person_or_none(user_id: int | None) -> User | None:
    if not user_id or user_id == UNASSIGNED:
        return None
    person = db.session.get(User, user_id)
    if person is None:
        abort(422)
    return person


def filters_from_request() -> tuple[FilterForm, board.BoardFilters]:
    """The board's filters from the query string, the person checked against the active people (one query)."""
    form = FilterForm(request.args, people=active_people())
    form.validate()
    valid = {name: getattr(form, name).data for name in ("role", "person", "kind", "due", "q", "lanes")
             if not getattr(form, name).errors}
    filters = board.BoardFilters(role=valid.get("role") or None, person=valid.get("person") or None,
                                 kind=valid.get("kind") or None, due=valid.get("due") or None,
                                 q=(valid.get("q") or "").strip() or None,
                                 lanes=valid.get("lanes") if valid.get("lanes") in ("person", "role") else "person")
    return form, filters


def filter_args(args=None) -> dict:
    """The board's filters as they are in its URL, for the URLs of its parts (a lane, the refresh)."""
    args = request.args if args is None else args
    return {name: args[name] for name in ("role", "person", "kind", "due", "q", "lanes") if args.get(name)}


def viewer_scope(page: str) -> str:
    """What besides the data decides a page's HTML: the page and its filters, the viewer, the language, and
    whether it is the whole page or htmx's fragment. (The browser revalidates its cached whole page when htmx
    asks for the fragment: with one ETag for both it got a 304 and put the whole page, header and all, into
    the list.)"""
    part = request.htmx.target if request.htmx and not request.htmx.history_restore_request else "page"
    return f"{page}|{part}|{current_user.id}|{current_user.level}|{select_locale()}"


def collapsed_lanes() -> tuple[str, set[str]]:
    """The lanes this person folded on this browser (board.js keeps them in a cookie per person), so the page
    comes folded as they left it, without a flash: the cookie's text (part of the page's ETag) and its keys."""
    value = request.cookies.get(f"{board.COLLAPSED_COOKIE}{current_user.id}", "")[:4000]
    return value, {key for key in value.split(".") if key}


def keep_collapsed(response, keys: set[str]):
    """The folded lanes in the cookie board.js writes and reads (so not HttpOnly: it is the page's state, no
    secret), for a year."""
    response.set_cookie(f"{board.COLLAPSED_COOKIE}{current_user.id}", ".".join(sorted(keys)), max_age=31536000,
                        path="/", samesite="Lax", secure=request.is_secure, httponly=False)
    return response


def not_modified(etag: str):
    """A bodyless 304 when the client's copy is current, else None. The ETag is sent weak: it names the HTML,
    whatever the encoding, so the gzip, brotli and plain answers share it and a poll that saw a compressed one
    is matched here, before the board is built (a strong one, Flask-Compress would suffix per encoding, and
    nginx's gzip would weaken). If-None-Match compares weakly anyway (RFC 9110 13.1.2)."""
    if not request.if_none_match.contains_weak(etag):
        return None
    response = current_app.response_class(status=304)
    response.set_etag(etag, weak=True)
    response.vary.add("HX-Request")
    return response


_card_texts: dict[str, dict] = {}


def card_text() -> dict:
    """Labels every card repeats, translated once per process and language instead of once per card (the
    catalogues do not change while the process runs). Read only: every request of that language shares it."""
    locale = str(get_locale())
    text = _card_texts.get(locale)
    if text is None:
        text = _card_texts[locale] = {
            "kind": {k.value: k.label for k in CardKind}, "column": {c.value: c.label for c in Column},
            "sla": {s: f"{s.icon} {s.label}" for s in SlaState},
            "high": "‼ " + _("High"), "unassigned": _("Unassigned")}
    return text


def cacheable(response, etag: str):
    response.set_etag(etag, weak=True)                   # weak: see not_modified
    response.headers["Cache-Control"] = "no-cache, private"
    return response


# ---------------------------------------------------------------- pages


@bp.get("/")
@policy.staff
def index():
    """The board. Its first answer holds the lanes that fit the first screen or two; the others come as they
    scroll into view (`lane`), folded lanes with their counts only; `all=1` draws every lane (to print)."""
    # The ETag is checked before anything else is built: an unchanged poll costs a few queries only.
    folded, collapsed = collapsed_lanes()
    etag = board.board_version(db.session, now=utcnow(), settings=store(),
                               scope=viewer_scope(f"index|{request.query_string.decode()}|{folded}"))
    if unchanged := not_modified(etag):
        return unchanged
    form, filters = filters_from_request()
    everything = request.args.get("all") == "1"
    view = board.build_board(db.session, viewer=current_user._get_current_object(), filters=filters,
                             now=utcnow(), settings=store(), collapsed=collapsed,
                             first_screen=None if everything else board.FIRST_SCREEN_CARDS)
    response = render("board/index.html", fragments={"board": "board"}, view=view, form=form,
                      everything=everything, token=board_token(filters), **board_context(filters, collapsed))
    return cacheable(response, etag)


def board_context(filters: board.BoardFilters, collapsed: set[str], args=None) -> dict:
    """What the board's parts (templates/board/_lanes.html) need besides the lanes: drawn alone (a lane, the
    refresh, the drop's answer) or with the page."""
    return dict(collapsed=collapsed, filter_args=filter_args(args), lane_mode=filters.lanes,
                board_url=url_for("board.index", **filter_args(args)),
                lanes_cookie=f"{board.COLLAPSED_COOKIE}{current_user.id}",
                columns=list(Column), can_reassign=policy.can_reassign(current_user), text=card_text())


def board_token(filters: board.BoardFilters) -> str:
    """The version of the board drawn now, for its refresh element (#board-sync)."""
    return board_sync.board_token(db.session, now=utcnow(), settings=store(), scope=sync_scope(filters))


def sync_scope(filters: board.BoardFilters) -> str:
    """What besides the cards decides which cells a refresh draws: the filters, the viewer and the language."""
    return f"{filters.key()}|{current_user.id}|{current_user.level}|{select_locale()}"


@bp.get("/lanes/<key>")
@policy.staff
def lane(key: str):
    """One lane, loaded (htmx, as it scrolls into view or is unfolded)."""
    _, filters = filters_from_request()
    _, collapsed = collapsed_lanes()
    try:
        view = board.build_board(db.session, viewer=current_user._get_current_object(), filters=filters,
                                 now=utcnow(), settings=store(), only=key)
    except ValueError:
        abort(404)
    if not view.lanes:
        abort(404)
    context = board_context(filters, collapsed - {key})
    return render_block("board/lane.html", "lane", lane=view.lanes[0], **context)


@bp.get("/changes")
@policy.staff
def changes():
    """The tablets' refresh (htmx, every few seconds and after each change): 204 while nothing on this board
    changed since its token; else the changed cells, their lanes' heads and the columns' counts as out-of-band
    swaps, with the refresh itself again (its new token); the whole board when more changed than cells."""
    filters = light_filters(request.args)
    sync = board_sync.changes_since(db.session, request.args.get("since", ""), filters=filters, now=utcnow(),
                                    settings=store(), scope=sync_scope(filters))
    if sync.unchanged:
        return current_app.response_class(status=204)
    if sync.whole:
        return whole_board()
    html = redraw_cells(filters, sync.cells, loaded=lane_list("loaded"), shown=lane_list("lanes"))
    if html is None:
        return whole_board()
    return html + render_block("board/index.html", "sync", token=sync.token, filter_args=filter_args(), sync_oob=True)


def lane_list(name: str) -> set[str] | None:
    """Lane keys the refresh sent (board.js: the lanes on the tablet's board, those of them loaded)."""
    return set(request.args[name].split(".")) - {""} if name in request.args else None


def light_filters(args) -> board.BoardFilters:
    """A board's filters from its URL, read as FilterForm would but without building it (the refresh and the
    drop answer in a few milliseconds): a value that is no choice is left out, a person taken as the number
    it is."""
    def choice(name: str, allowed) -> str | None:
        value = args.get(name) or None
        return value if value in allowed else None

    person = args.get("person", "")
    return board.BoardFilters(role=choice("role", FILTER_ROLES), kind=choice("kind", FILTER_KINDS),
                              person=int(person) if person.isdigit() and 0 < int(person) < 2**31 else None,
                              due=choice("due", ("today", "overdue")),
                              q=(args.get("q") or "").strip()[:100] or None,
                              lanes=choice("lanes", ("person", "role")) or "person")


FILTER_ROLES = frozenset(role.value for role in CARE_ROLES)
FILTER_KINDS = frozenset(kind.value for kind in CardKind)


def move_redraw(before: Before, card: Card, *, dragged: bool = False) -> str:
    """A move's answer on the board it was made on (its URL, htmx's HX-Current-URL), as out-of-band swaps,
    nothing elsewhere: the two cells it changed (where the card was, where it is now) drawn again, with their
    lanes' heads and the columns' counts. `dragged`: the tablet shows the card where it was dropped already,
    so the answer holds the card itself (its new version and state) with those heads and counts, and not the
    cells; the board's refresh that the answer's board-changed starts draws the cells, as on the other tablets
    (and puts the card where the server placed it, should a filter or a role's lane place it elsewhere)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path != url_for("board.index"):
        return ""
    args = MultiDict(parse_qsl(current.query))
    filters = light_filters(args)
    cells = {board_sync.Cell.of(filters, before.column, before.assignee_id, card.role),
             board_sync.Cell.of(filters, card.column, card.assignee_id, card.role)}
    return redraw_cells(filters, cells, args=args, card_id=card.id if dragged else None) or ""


def drag_redraw(before: Before, card: Card) -> str:
    return move_redraw(before, card, dragged=True)


def whole_board():
    """The whole board again, as an out-of-band swap of the element the refresh belongs to."""
    _, collapsed = collapsed_lanes()
    form, filters = filters_from_request()
    view = board.build_board(db.session, viewer=current_user._get_current_object(), filters=filters,
                             now=utcnow(), settings=store(), collapsed=collapsed,
                             first_screen=board.FIRST_SCREEN_CARDS)
    return render_block("board/index.html", "board", view=view, form=form, everything=False, oob=True,
                        token=board_token(filters), **board_context(filters, collapsed))


def redraw_cells(filters: board.BoardFilters, cells: set, *, loaded: set[str] | None = None,
                 shown: set[str] | None = None, args=None, card_id: int | None = None) -> str | None:
    """The given cells drawn again (those of the lanes in `loaded`, if given), with their lanes' heads and the
    columns' counts, as out-of-band swaps. None when a changed lane is one the board does not show (`shown`:
    a role's first unassigned card): then the board must be drawn whole. `card_id`: that card instead of the
    cells (a drag's answer)."""
    _, collapsed = collapsed_lanes()
    keys = {cell.lane for cell in cells}
    drawn = {cell for cell in cells if loaded is None or cell.lane in loaded}
    if card_id is not None:
        where = Card.id == card_id
    else:
        where = or_(*(cell.where for cell in drawn)) if drawn else false()
    view = board.build_board(db.session, viewer=current_user._get_current_object(), filters=filters,
                             now=utcnow(), settings=store(), collapsed=collapsed, cards_where=where, lanes_of=keys)
    if shown is not None and any(lane.key in keys and lane.key not in shown for lane in view.lanes):
        return None
    return render_block("board/lane.html", "cells", view=view, lane_keys=keys, moved=card_id is not None,
                        drawn={(cell.lane, cell.column) for cell in drawn}, **board_context(filters, collapsed, args))


@bp.post("/lanes/fold")
@policy.staff
def fold_lane():
    """Fold or unfold a lane without JavaScript: its button posts here, and the board comes back at that lane,
    folded as asked. (With JavaScript board.js folds it in place and keeps the same cookie; nothing is posted.)"""
    form = FoldLaneForm()
    if not form.validate_on_submit():
        abort(400)
    _, keys = collapsed_lanes()
    keys ^= {form.lane.data}
    target = local_url(form.next.data) or url_for("board.index")
    return keep_collapsed(redirect(f"{target.split('#')[0].rstrip('?')}#lane-{form.lane.data}", code=303), keys)


@bp.get("/mine")
@policy.staff
def mine():
    # Scoped to the person's own cards: a supervisor's drag elsewhere leaves the tablets' polls at 304.
    etag = board.mine_version(db.session, viewer=current_user._get_current_object(), now=utcnow(),
                              settings=store(), scope=viewer_scope("mine"))
    if unchanged := not_modified(etag):
        return unchanged
    cards = board.my_open_cards(db.session, current_user, utcnow(), store())
    response = render("board/mine.html", fragments={"mine": "mine"}, cards=cards, text=card_text())
    return cacheable(response, etag)


@bp.get("/archive")
@policy.staff
def archive():
    form, filters = filters_from_request()
    page = db.paginate(board.archive_query(filters, utcnow(), store()), page=page_arg(50), per_page=50,
                       error_out=False)
    args = {key: value for key, value in request.args.items() if key != "page"}
    return render_template("board/archive.html", page=page, form=form, filters=filters, args=args)


@bp.get("/cards/<int:card_id>")
@policy.staff
def show_card(card_id: int):
    """The card; `before` pages through its history: the "show older" link loads the next page into the
    drawer (htmx), or opens the card's page at that page without JavaScript."""
    card = load_card_or_404(card_id)
    return detail_response(card, before=int_arg("before", low=1))


def detail_response(card: Card, *, status: int = 200, error: str | None = None, conflict: bool = False,
                    forms: dict | None = None, before: int | None = None):
    """The card's detail: the drawer fragment for htmx, the whole page otherwise; the older history
    alone for the drawer's "show older" link."""
    context = detail_context(card, error=error, conflict=conflict, forms=forms, before=before)
    response = render("board/detail.html", fragments={**dict.fromkeys(HOSTS, "drawer"),
                                                      f"history-more-{card.id}": "events"}, **context)
    response.status_code = status
    return response


def detail_context(card: Card, *, error: str | None = None, conflict: bool = False, forms: dict | None = None,
                   before: int | None = None) -> dict:
    zone = store().zone
    can_reassign = policy.can_reassign(current_user)
    people = active_people() if can_reassign else []
    forms = forms or {}
    return dict(
        card=card, error=error, conflict=conflict,
        sla=card.sla_state(utcnow(), store().due_soon),
        history=board.card_history(db.session, card, before=before), before=before,
        may_change=policy.can_change_card(current_user, card),
        can_reassign=policy.can_reassign(current_user),
        columns=list(Column),
        edit_form=forms.get("edit") or EditCardForm(
            data={"title": card.title, "details": card.details, "due_at": dates.utc_to_local_naive(card.due_at, zone),
                  "priority": card.priority, "version": card.version}, formdata=None),
        complete_form=forms.get("complete") or (
            CallbackOutcomeForm if card.kind == CardKind.CALLBACK else CompleteForm)(
            data={"version": card.version}, formdata=None),
        script=callbacks.script_for(db.session, card.source, store().store_name)
        if card.kind == CardKind.CALLBACK else None,
        complaint_id=complaints.complaint_id_of_card(db.session, card.id)
        if card.kind == CardKind.COMPLAINT else None,
        checklist_run=checklist.run_of_card(db.session, card.id) if card.kind == CardKind.INSPECTION else None,
        rectification=checklist.answer_of_card(db.session, card.id)
        if card.kind == CardKind.RECTIFICATION else None,
        comment_form=forms.get("comment") or CommentForm(formdata=None),
        reassign_form=reassign_form(card, people if can_reassign else None),
        version_form=VersionForm(data={"version": card.version}, formdata=None),
        own_page=on_own_page(card),
    )


def on_own_page(card: Card) -> bool:
    """Whether the detail is drawn for the card's own page (its title is the page's h1) rather than for the
    drawer over a list (an h2 below the list's h1): a whole page, or htmx from that page."""
    if not request.htmx:
        return True
    return urlsplit(request.headers.get("HX-Current-URL", "")).path == url_for("board.show_card", card_id=card.id)


def reassign_form(card: Card, people: list[User] | None) -> ReassignForm | None:
    """The reassign menu, grouped by role with each person's open and overdue cards; None for staff."""
    if people is None:
        return None
    form = ReassignForm(data={"assignee": card.assignee_id or UNASSIGNED, "version": card.version}, formdata=None,
                        people=people, load=board.people_load(db.session, utcnow()))
    form.assignee.id = form.assignee.label.field_id = f"reassign-{card.id}"    # unlike the page's own fields
    return form


@bp.route("/cards/new", methods=["GET", "POST"])
@policy.staff
def new_card():
    kinds = [k for k in CardKind if policy.can_create_kind(current_user, k)]
    people = active_people() if policy.can_reassign(current_user) else [current_user]
    form = NewCardForm(kinds=kinds, people=people)
    if request.method == "GET":
        form.role.data = current_user.role
        form.assignee.data = current_user.id
    if form.validate_on_submit():
        with change() as outcome:
            card = board.create_card(
                db.session, actor=current_user, kind=form.kind.data, title=form.title.data,
                details=form.details.data, role=form.role.data, assignee=person_or_none(form.assignee.data),
                due_at=dates.local_to_utc(form.due_at.data, store().zone), priority=form.priority.data)
        if outcome.refused:
            form.title.errors.append(outcome.refusal.text)
        else:
            flash(_("Card “%(title)s” created.", title=card.title), "success")
            return redirect(url_for("board.show_card", card_id=card.id), code=303)
    return render_template("board/new.html", form=form), 422 if form.errors else 200


# ---------------------------------------------------------------- changes


@dataclass(frozen=True)
class Before:
    """Where the card was before a change, for the toast's undo."""
    column: str
    assignee_id: int | None
    position: int

    @classmethod
    def of(cls, card: Card) -> Before:
        return cls(card.column, card.assignee_id, card.position)

    def undo(self, card: Card, what: str) -> dict:
        """The toast's undo form: back to this place, if the card is still at the version the change left."""
        return {"url": url_for("board.undo_change", card_id=card.id), "what": what, "column": self.column,
                "assignee": self.assignee_id or UNASSIGNED, "position": self.position, "version": card.version}


def apply_change(card: Card, change, form=None, form_name: str | None = None, *, said=None, undo: str | None = None,
                 refresh_detail: bool = False, redraw=None):
    """Run one service call on the card and answer it where the person is looking: the card's detail (the
    drawer or the card's page) with a toast; a toast alone for a drag or a quick action of a list; without
    htmx a redirect with a flash. `said(card)` is the toast's text; `undo` ("done", "move", "reassign") offers
    to take the change back; `redraw(before, card)`, the parts of the list to draw again with a drag's toast.
    After Done the drawer closes: the list behind it is what comes next.
    409 with the card as it is now when the page was stale; 422 with the message when a rule refused."""
    if form is not None and not form.validate_on_submit():
        message = "; ".join(e for errors in form.errors.values() for e in errors)
        return refused(card, 422, message, forms={form_name: form} if form_name else None)
    before, card_id = Before.of(card), card.id      # the id read now: after the commit it would be read again
    refusal = attempt(change)
    if refusal is not None and refusal.conflict:
        return refused(load_card_or_404(card_id), 409, conflict_message(), conflict=True)
    if refusal is not None:
        return refused(load_card_or_404(card_id), 422, refusal.message,
                       forms={form_name: form} if form_name else None)
    card = load_card_or_404(card_id)
    message = said(card) if said else _("Saved.")
    undo_fields = before.undo(card, undo) if undo and policy.can_change_card(current_user, card) else None
    if not request.htmx:
        say(message, undo_fields)
        return redirect(local_url(request.form.get("next")) or url_for("board.show_card", card_id=card.id), code=303)
    toast = render_template("board/_toast.html", message=message, undo=undo_fields)
    if request.htmx.target not in HOSTS:
        if refresh_detail:          # the card's drawer or page, wherever it is open, shows it as it is now
            toast += render_block("board/detail.html", "drawer", oob=True, **detail_context(card))
        if redraw is not None:
            toast += redraw(before, card)
        return htmx_flask.make_response(toast, trigger=CHANGED)
    oob = f'<div hx-swap-oob="beforeend:#toasts">{toast}</div>'
    if request.htmx.target == "drawer" and card.column == Column.DONE and before.column != Column.DONE:
        # The drawer empties; board.js opens the next card of the list it was opened from (card-done), or
        # leaves it closed when none is left.
        return htmx_flask.make_response(oob, trigger={CHANGED: None, "card-done": {"card": card.id}})
    response = detail_response(card)
    response.set_data(response.get_data(as_text=True) + oob)
    return htmx_flask.make_response(response, trigger=CHANGED)


def conflict_message() -> str:
    return _("Someone else changed this card in the meantime. Below is how it is now; "
             "nothing was overwritten. Check it and try again.")


def refused(card: Card, status: int, message: str, *, conflict: bool = False, forms: dict | None = None):
    if request.htmx and request.htmx.target not in HOSTS:
        html, code, headers = render_error(status, message)
        return htmx_flask.make_response(html, code, headers, trigger=CHANGED)
    response = detail_response(card, status=status, error=message, conflict=conflict, forms=forms)
    if request.htmx:
        response.headers["HX-Trigger"] = CHANGED
    return response


def column_label(card: Card) -> str:
    return Column(card.column).label


@bp.post("/cards/<int:card_id>/edit")
@policy.staff
def edit_card(card_id: int):
    card = load_card_or_404(card_id)
    form = EditCardForm()
    return apply_change(card, lambda: board.edit_card(
        db.session, card, actor=current_user, seen_version=form.version.data, title=form.title.data,
        details=form.details.data, due_at=dates.local_to_utc(form.due_at.data, store().zone),
        priority=form.priority.data), form, "edit", said=lambda c: _("Changes saved."))


@bp.post("/cards/<int:card_id>/move")
@policy.staff
def move_card(card_id: int):
    return move(load_card_or_404(card_id), MoveForm(), move_redraw)


@bp.post("/drop")
@policy.staff
def drop_card():
    form = DropForm()
    if form.card.data is None:
        abort(400)
    return move(load_card_or_404(form.card.data), form, drag_redraw)


def move(card: Card, form: MoveForm, redraw):
    assignee = card.assignee if form.assignee.data is None else person_or_none(form.assignee.data)
    done = form.column.data == Column.DONE and card.column != Column.DONE
    before = Before.of(card)
    return apply_change(card, lambda: board.move_card(
        db.session, card, actor=current_user, to_column=form.column.data, to_assignee=assignee,
        position=form.position.data, seen_version=form.version.data), form,
        said=lambda c: moved_message(c, before),
        undo=None if card.column == Column.DONE else "done" if done else "move", redraw=redraw)


def outcome_message(card: Card) -> str:
    said = _("Outcome recorded: %(title)s", title=card.title)
    return f"{said} · ⚠ {_('Dissatisfied: to be handled as a complaint')}" if card.complaint_flag else said


def moved_message(card: Card, before: Before) -> str:
    if card.column == Column.DONE:
        return _("Done: %(title)s", title=card.title)
    if card.assignee_id == before.assignee_id:
        return _("Moved to %(column)s: %(title)s", column=column_label(card), title=card.title)
    if card.column == before.column:
        return reassigned_message(card)
    return _("Moved to %(column)s and reassigned to %(name)s: %(title)s", column=column_label(card),
             name=card.assignee.display_name if card.assignee else _("Unassigned"), title=card.title)


@bp.post("/cards/<int:card_id>/reassign")
@policy.supervisor
def reassign_card(card_id: int):
    card = load_card_or_404(card_id)
    form = ReassignForm(people=active_people())
    return apply_change(card, lambda: board.reassign_card(
        db.session, card, actor=current_user, to_assignee=person_or_none(form.assignee.data),
        seen_version=form.version.data), form, said=reassigned_message, undo="reassign")


def reassigned_message(card: Card) -> str:
    return _("Reassigned to %(name)s: %(title)s",
             name=card.assignee.display_name if card.assignee else _("Unassigned"), title=card.title)


@bp.post("/cards/<int:card_id>/complete")
@policy.staff
def complete_card(card_id: int):
    card = load_card_or_404(card_id)
    if card.kind == CardKind.CALLBACK:
        form = CallbackOutcomeForm()
        return apply_change(card, lambda: callbacks.record_callback(
            db.session, card, actor=current_user, seen_version=form.version.data,
            reached=form.reached.data == "yes", satisfaction=form.satisfaction_value(), comments=form.note.data,
            problems=form.problems.data, settings=store(), now=utcnow()), form, "complete",
            said=outcome_message)
    form = CompleteForm()
    return apply_change(card, lambda: board.complete_card(
        db.session, card, actor=current_user, seen_version=form.version.data, note=form.note.data),
        form, "complete", said=lambda c: _("Done: %(title)s", title=c.title), undo="done")


@bp.post("/cards/<int:card_id>/reopen")
@policy.staff
def reopen_card(card_id: int):
    card = load_card_or_404(card_id)
    form = VersionForm()
    return apply_change(card, lambda: board.reopen_card(
        db.session, card, actor=current_user, seen_version=form.version.data), form,
        said=lambda c: _("Reopened: %(title)s", title=c.title))


@bp.post("/cards/<int:card_id>/comments")
@policy.staff
def add_comment(card_id: int):
    card = load_card_or_404(card_id)
    form = CommentForm()
    return apply_change(card, lambda: board.add_comment(db.session, card, actor=current_user,
                                                       body=form.body.data), form, "comment",
                        said=lambda c: _("Comment added."))


@bp.post("/cards/<int:card_id>/undo")
@policy.staff
def undo_change(card_id: int):
    """The toast's "Undo": Done, a move or a reassignment taken back, if nobody changed the card since."""
    card = load_card_or_404(card_id)
    form = UndoForm()
    if form.what.data == "reassign" and not policy.can_reassign(current_user):
        abort(403)
    assignee = person_or_none(form.assignee.data)

    def run():
        if form.what.data == "done":
            board.undo_done(db.session, card, actor=current_user, seen_version=form.version.data,
                            to_column=form.column.data, position=form.position.data)
        elif form.what.data == "reassign":
            board.undo_reassign(db.session, card, actor=current_user, seen_version=form.version.data,
                                to_assignee=assignee, position=form.position.data)
        else:
            board.undo_move(db.session, card, actor=current_user, seen_version=form.version.data,
                            to_column=form.column.data, to_assignee=assignee, position=form.position.data)

    return apply_change(card, run, form, refresh_detail=True,
                        said=lambda c: _("Undone: %(title)s is back in %(column)s.", title=c.title,
                                         column=column_label(c)))


@bp.route("/reassign-all", methods=["GET", "POST"])
@policy.supervisor
def bulk_reassign():
    people = active_people()
    form = BulkReassignForm(people=people)
    if form.validate_on_submit():
        with change() as outcome:
            moved = board.bulk_reassign(db.session, actor=current_user, from_user=person_or_none(form.from_user.data),
                                        to_user=person_or_none(form.to_user.data))
        if outcome.refused:
            form.to_user.errors.append(outcome.refusal.text)
        else:
            flash(_("%(n)d open cards reassigned.", n=moved), "success")
            return redirect(url_for("board.index"), code=303)
    load = {p.id: 0 for p in people}
    for role in {p.role for p in people}:
        load.update(assigner.open_load(db.session, role))
    return render_template("board/bulk.html", form=form, people=people, load=load, Role=Role), \
        422 if form.errors else 200


@bp.route("/scripts", methods=["GET", "POST"])
@policy.director
def edit_scripts():
    """The callback scripts (话术) shown on callback cards; the director keeps them."""
    rules = list(callbacks.DEFAULT_SCRIPTS)
    form = ScriptsForm()
    if request.method == "GET":
        for rule in rules:
            form[rule].data = callbacks.script_for(db.session, rule, "{store}")
    if form.validate_on_submit():
        with change() as outcome:
            for rule in rules:
                callbacks.save_script(db.session, actor=current_user, rule=rule, body=form[rule].data)
        if outcome.refused:
            flash(outcome.refusal.text, "error")
        else:
            flash(_("The scripts were saved."), "success")
            return redirect(url_for("board.edit_scripts"), code=303)
    return render_template("board/scripts.html", form=form, rules=rules), 422 if form.errors else 200
