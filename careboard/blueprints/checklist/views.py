"""The 5S checklist: today's runs, the run page (one tap per item, photos), rectifications with their
before and after photos, the areas' template, the history, and the photos themselves."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from careboard import dates, policy
from careboard.blueprints.checklist import bp
from careboard.blueprints.checklist.forms import (AnswerForm, AreaForm, EmptyForm, PhotoForm, RectifyForm, SendBackForm,
                                                  VersionForm)
from careboard.blueprints.transaction import attempt, change, say
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import (Card, CardKind, ChecklistArea, Column, FiveS, Photo, PhotoLink, PhotoStage, Result,
                              RunAnswer, RunStatus, User)
from careboard.services import board, checklist, photos
from careboard.services.errors import Incomplete
from careboard.templating import render
from careboard.urls import int_arg

PHOTO_BOX = "checklist/_photo_box.html"


# ---------------------------------------------------------------- loading


def load_run_or_404(run_id: int):
    run = checklist.get_run(db.session, run_id)
    if run is None:
        abort(404)
    return run


def load_answer_or_404(run, answer_id: int) -> RunAnswer:
    answer = next((a for a in run.answers if a.id == answer_id), None)
    if answer is None:
        abort(404)
    return answer


def load_rectification_or_404(card_id: int) -> tuple[Card, RunAnswer]:
    card = board.get_card(db.session, card_id)
    answer = checklist.answer_of_card(db.session, card_id) if card else None
    if card is None or answer is None or card.kind != CardKind.RECTIFICATION:
        abort(404)
    return card, answer


def load_area_or_404(area_id: int) -> ChecklistArea:
    area = db.session.scalar(checklist.areas_query(include_inactive=True).where(ChecklistArea.id == area_id))
    if area is None:
        abort(404)
    return area


# ---------------------------------------------------------------- today


@bp.get("/")
@policy.staff
def index():
    today = dates.local_date(utcnow(), store().zone)
    return render("checklist/index.html", today=today, runs=checklist.today_runs(db.session, today),
                  rectifications=checklist.open_rectifications(db.session),
                  areas=db.session.scalars(checklist.areas_query()).all(),
                  may_edit=policy.can_edit_checklists(current_user), defaults_form=EmptyForm(),
                  Result=Result, RunStatus=RunStatus)


# ---------------------------------------------------------------- a run


def _run_context(run, *, error: str | None = None, incomplete: Incomplete | None = None) -> dict:
    card = checklist.run_card(db.session, run)
    links = checklist.photos_of(db.session, [a.id for a in run.answers])
    return dict(run=run, card=card, answers=run.answers, links=links, error=error, incomplete=incomplete,
                may_answer=checklist.may_answer(current_user, run, card), submit_form=EmptyForm(),
                answer_form=AnswerForm(formdata=None), photo_form=PhotoForm(formdata=None),
                remove_form=EmptyForm(), Result=Result, RunStatus=RunStatus, FiveS=FiveS, PhotoStage=PhotoStage)


@bp.get("/runs/<int:run_id>")
@policy.staff
def show_run(run_id: int):
    return render("checklist/run.html", **_run_context(load_run_or_404(run_id)))


def _answer_response(run, answer: RunAnswer, *, error: str | None = None, status: int = 200,
                     part: str = "checklist/_answer.html"):
    """The item's fragment (or its photo box) for htmx; a plain form post goes back to the run page at the item."""
    if not request.htmx:
        if error:
            flash(error, "error")
        return redirect(url_for("checklist.show_run", run_id=run.id, _anchor=f"answer-{answer.id}"), code=303)
    response = render(part, **_run_context(run), answer=answer, item_error=error, photo_error=error)
    response.status_code = status
    return response


def _run_change(run, answer: RunAnswer, change, part: str = "checklist/_answer.html"):
    refusal = attempt(change)
    if refusal is not None:
        db.session.refresh(answer)
        return _answer_response(run, answer, error=refusal.message, status=refusal.status, part=part)
    return _answer_response(run, answer, part=part)


@bp.post("/runs/<int:run_id>/answers/<int:answer_id>")
@policy.staff
def save_answer(run_id: int, answer_id: int):
    run = load_run_or_404(run_id)
    answer = load_answer_or_404(run, answer_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _answer_response(run, answer, error=_("Choose pass, fail or n/a."), status=422)
    return _run_change(run, answer, lambda: checklist.answer_item(
        db.session, run, answer, actor=current_user, result=form.result.data or None, note=form.note.data))


@bp.post("/runs/<int:run_id>/answers/<int:answer_id>/photos")
@policy.staff
def add_photo(run_id: int, answer_id: int):
    run = load_run_or_404(run_id)
    answer = load_answer_or_404(run, answer_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        return _answer_response(run, answer, error=_("Choose or take a photo."), status=422, part=PHOTO_BOX)

    def change():                                                  # checks first, the file is read after them
        checklist.add_before_photo(db.session, run, answer, actor=current_user, upload=form.photo.data.stream,
                                   filename=form.photo.data.filename)
    return _run_change(run, answer, change, PHOTO_BOX)


@bp.post("/runs/<int:run_id>/photos/<int:link_id>/remove")
@policy.staff
def remove_photo(run_id: int, link_id: int):
    run = load_run_or_404(run_id)
    link = db.session.get(PhotoLink, link_id)
    answer = next((a for a in run.answers if link and a.id == link.answer_id), None)
    if link is None or answer is None or link.stage != PhotoStage.BEFORE:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _run_change(run, answer, lambda: checklist.remove_photo(db.session, run, link, actor=current_user),
                       PHOTO_BOX)


@bp.post("/runs/<int:run_id>/submit")
@policy.staff
def submit_run(run_id: int):
    run = load_run_or_404(run_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with change() as outcome:
        cards = checklist.submit_run(db.session, run, actor=current_user, s=store())
    if outcome.refused:
        missing = outcome.refusal.error if isinstance(outcome.refusal.error, Incomplete) else None
        response = render("checklist/run.html", **_run_context(load_run_or_404(run_id), incomplete=missing,
                                                                error=outcome.refusal.text))
        response.status_code = outcome.refusal.status
        return response
    if cards:
        flash(_("Checklist submitted. %(n)d rectification cards were sent to the people responsible.",
                n=len(cards)), "success")
    else:
        flash(_("Checklist submitted: everything in order."), "success")
    return redirect(url_for("checklist.show_run", run_id=run.id), code=303)


# ---------------------------------------------------------------- rectification


def _rectification_page(card: Card, answer: RunAnswer, *, error: str | None = None, status: int = 200):
    links = checklist.photos_of(db.session, [answer.id])[answer.id]
    response = render(
        "checklist/rectification.html", card=card, answer=answer, run=answer.run, error=error,
        before=[link for link in links if link.stage == PhotoStage.BEFORE],
        after=[link for link in links if link.stage == PhotoStage.AFTER],
        sla=card.sla_state(utcnow(), store().due_soon),
        may_rectify=policy.can_change_card(current_user, card)
        and card.column not in (Column.WAITING, Column.DONE),
        may_verify=policy.can_verify_rectification(current_user) and card.column == Column.WAITING,
        photo_form=PhotoForm(formdata=None), rectify_form=RectifyForm(data={"version": card.version}, formdata=None),
        verify_form=VersionForm(data={"version": card.version}, formdata=None),
        send_back_form=SendBackForm(data={"version": card.version}, formdata=None), Column=Column)
    response.status_code = status
    return response


@bp.get("/rectifications/<int:card_id>")
@policy.staff
def show_rectification(card_id: int):
    card, answer = load_rectification_or_404(card_id)
    return _rectification_page(card, answer)


def _rectification_change(card: Card, answer: RunAnswer, form, change, said: str):
    """One step of a rectification; `said` answers it (a toast on the page it comes back to)."""
    if not form.validate_on_submit():
        errors = "; ".join(e for es in form.errors.values() for e in es)
        return _rectification_page(card, answer, error=errors, status=422)
    refusal = attempt(change)
    if refusal is not None:
        card, answer = load_rectification_or_404(card.id)
        return _rectification_page(card, answer, status=refusal.status, error=refusal.message or _(
            "Someone else changed this card in the meantime. Below is how it is now; nothing was overwritten."))
    say(said)
    return redirect(url_for("checklist.show_rectification", card_id=card.id), code=303)


@bp.post("/rectifications/<int:card_id>/photos")
@policy.staff
def add_after_photo(card_id: int):
    card, answer = load_rectification_or_404(card_id)
    form = PhotoForm()

    def change():                                                  # checks first, the file is read after them
        checklist.add_after_photo(db.session, card, answer, actor=current_user, upload=form.photo.data.stream,
                                  filename=form.photo.data.filename)
    return _rectification_change(card, answer, form, change, _("After photo added."))


@bp.post("/rectifications/<int:card_id>/complete")
@policy.staff
def complete_rectification(card_id: int):
    card, answer = load_rectification_or_404(card_id)
    form = RectifyForm()
    return _rectification_change(card, answer, form, lambda: checklist.complete_rectification(
        db.session, card, answer, actor=current_user, seen_version=form.version.data, note=form.note.data),
        _("Sent for verification: %(title)s", title=card.title))


@bp.post("/rectifications/<int:card_id>/verify")
@policy.supervisor
def verify_rectification(card_id: int):
    card, answer = load_rectification_or_404(card_id)
    form = VersionForm()
    return _rectification_change(card, answer, form, lambda: checklist.verify_rectification(
        db.session, card, actor=current_user, seen_version=form.version.data),
        _("Verified: %(title)s", title=card.title))


@bp.post("/rectifications/<int:card_id>/send-back")
@policy.supervisor
def send_back(card_id: int):
    card, answer = load_rectification_or_404(card_id)
    form = SendBackForm()
    return _rectification_change(card, answer, form, lambda: checklist.send_back(
        db.session, card, answer, actor=current_user, seen_version=form.version.data, reason=form.reason.data),
        _("Sent back for rectification: %(title)s", title=card.title))


# ---------------------------------------------------------------- photos


@bp.get("/photos/<int:photo_id>")
@bp.get("/photos/<int:photo_id>/thumb", endpoint="photo_thumb", defaults={"thumb": True})
@policy.staff
def photo(photo_id: int, thumb: bool = False):
    """Only to logged-in users, and only by the photo's id: the path comes from the stored hash."""
    found = db.session.get(Photo, photo_id)
    if found is None:
        abort(404)
    path = photos.path_of(found.sha256, thumb=thumb)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=7 * 24 * 3600, etag=found.sha256[:32])
    response.headers["Cache-Control"] = "private, max-age=604800, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- the areas (template)


def _people() -> list[User]:
    return db.session.scalars(select(User).where(User.active.is_(True), User.does_care_work())
                              .order_by(User.role, User.display_name)).all()


def _person(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def _item_id(text: str | None) -> int | None:
    """A row's item id; None for a new row. Digits that are no database id ("²", more than 18 of them) name
    no item of the area (0), which the service refuses with its message."""
    text = text or ""
    if not text.isdigit():
        return None
    return int(text) if text.isascii() and len(text) <= 18 else 0


def _items(form: AreaForm) -> list[checklist.ItemInput]:
    return [checklist.ItemInput(id=_item_id(row.item_id.data), text=row.text.data or "",
                                category=row.category.data or FiveS.SHINE, active=bool(row.active.data))
            for row in form.items]


@bp.get("/areas")
@policy.supervisor
def list_areas():
    return render("checklist/areas.html", areas=db.session.scalars(checklist.areas_query(include_inactive=True)).all(),
                  defaults_form=EmptyForm())


@bp.post("/areas/defaults")
@policy.supervisor
def load_defaults():
    if not EmptyForm().validate_on_submit():
        abort(400)
    made = checklist.ensure_default_areas(db.session)
    db.session.commit()
    flash(_("%(n)d default areas loaded.", n=made) if made else _("There are areas already; nothing was loaded."),
          "success" if made else "info")
    return redirect(url_for("checklist.list_areas"), code=303)


def _area_page(form: AreaForm, area: ChecklistArea | None, *, error: str | None = None, status: int = 200):
    response = render("checklist/area_form.html", form=form, area=area, error=error)
    response.status_code = status
    return response


@bp.route("/areas/new", methods=["GET", "POST"])
@policy.supervisor
def new_area():
    form = AreaForm(people=_people())
    if request.method == "GET":
        for _n in range(4):
            form.items.append_entry()
    if form.validate_on_submit():
        with change() as outcome:
            area = checklist.create_area(
                db.session, actor=current_user, name=form.name.data, responsible_role=form.responsible_role.data,
                inspector_role=form.inspector_role.data, responsible=_person(form.responsible.data),
                inspector=_person(form.inspector.data), items=_items(form))
        if outcome.refused:
            return _area_page(form, None, error=outcome.refusal.text, status=outcome.refusal.status)
        flash(_("Area “%(name)s” saved; it is checked from tomorrow's round (or the next tick today).",
                name=area.name), "success")
        return redirect(url_for("checklist.list_areas"), code=303)
    return _area_page(form, None, status=422 if form.errors else 200)


@bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@policy.supervisor
def edit_area(area_id: int):
    area = load_area_or_404(area_id)
    form = AreaForm(people=_people())
    if request.method == "GET":
        form.process(data={"name": area.name, "responsible_role": area.responsible_role,
                           "responsible": area.responsible_id or 0, "inspector_role": area.inspector_role,
                           "inspector": area.inspector_id or 0, "active": area.active, "version": area.version,
                           "items": [{"item_id": str(i.id), "text": i.text, "category": i.category, "active": i.active}
                                     for i in area.items]})
        for _n in range(3):
            form.items.append_entry()
    if form.validate_on_submit():
        with change() as outcome:
            checklist.update_area(
                db.session, area, actor=current_user, seen_version=form.version.data or 0, name=form.name.data,
                responsible_role=form.responsible_role.data, inspector_role=form.inspector_role.data,
                responsible=_person(form.responsible.data), inspector=_person(form.inspector.data),
                active=form.active.data, items=_items(form))
        if outcome.refused:
            return _area_page(form, load_area_or_404(area_id), status=outcome.refusal.status, error=_(
                "Someone else saved this area in the meantime; your changes were not saved. Reload the page to "
                "see theirs, then make yours again.") if outcome.refusal.conflict else outcome.refusal.text)
        flash(_("Area “%(name)s” saved. Past checks keep the items they had.", name=area.name), "success")
        return redirect(url_for("checklist.list_areas"), code=303)
    return _area_page(form, area, status=422 if form.errors else 200)


# ---------------------------------------------------------------- history


@bp.get("/history")
@policy.staff
def history():
    today = dates.local_date(utcnow(), store().zone)
    shown_month = dates.parse_month(request.args.get("month")) or f"{today.year:04d}-{today.month:02d}"
    year, month = int(shown_month[:4]), int(shown_month[5:])
    areas = db.session.scalars(checklist.areas_query(include_inactive=True)).all()
    area_id = int_arg("area")
    shown = [a for a in areas if a.id == area_id] or areas
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = following - timedelta(days=1)
    start, end = dates.day_bounds(first, store().zone)[0], dates.day_bounds(following, store().zone)[0]
    return render(
        "checklist/history.html", year=year, month=month, today=today, areas=areas, area_id=area_id,
        months=[checklist.area_month(db.session, a, year, month) for a in shown],
        failing=checklist.most_failed(db.session, start=first, end=last,
                                      area_id=area_id if area_id in {a.id for a in areas} else None),
        on_time=checklist.rectification_on_time(db.session, start=start, end=end, now=utcnow()),
        completion=checklist.checklist_completion(db.session, start=first, end=min(today, last), s=store()),
        previous=f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}",
        following=f"{year + (month == 12)}-{month % 12 + 1:02d}")

