"""The scorecard: the team's ranking for a month, one person's breakdown with the cards behind each
measured figure and a 12-month trend, the supervisor's entries, finalizing, the HR export, and the
director's templates with a what-if."""
from __future__ import annotations

import io
import json

from flask import abort, flash, jsonify, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from careboard import dates, policy
from careboard.blueprints.scorecard import bp
from careboard.blueprints.scorecard.forms import FinalizeForm, ReopenForm, TemplateForm, entered_metrics, entries_form
from careboard.blueprints.scorecard.whatif import rows_of as whatif_rows
from careboard.blueprints.scorecard.whatif import whatif_form
from careboard.blueprints.transaction import change
from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.i18n import store
from careboard.models import CARE_ROLES, Card, Role, User
from careboard.services import kpi, kpi_engine, reports, workbooks
from careboard.services.errors import DomainError
from careboard.services.kpi_templates import DEFAULT_TEMPLATES
from careboard.templating import render

CHART_W, CHART_H, CHART_PAD = 640, 220, 32


# ---------------------------------------------------------------- loading


def this_month() -> str:
    return dates.month_of(dates.local_date(utcnow(), store().zone))


def default_month() -> str:
    """The current month from the store's entry day on, else the last finished one (kpi.default_month)."""
    s = store()
    return kpi.default_month(dates.local_date(utcnow(), s.zone), s)


def month_or_404(text: str | None) -> str:
    try:
        dates.require_month(text or "")
    except DomainError:
        abort(404)
    return text


def person_or_404(username: str) -> User:
    person = db.session.scalar(select(User).where(User.username == username))
    if person is None:
        abort(404)
    if not kpi.may_see(current_user, person):
        abort(403)
    return person


def scorecard_of(person: User, month: str) -> kpi.Scorecard:
    cards = kpi.scorecards(db.session, [person], month, s=store())
    if not cards:
        abort(404)
    return cards[0]


# ---------------------------------------------------------------- the team


@bp.get("/")
@policy.staff
def index():
    month = request.args.get("month") or default_month()
    month = month_or_404(month)
    if not policy.can_see_department(current_user):
        return redirect(url_for("scorecard.show_person", username=current_user.username, month=month), code=303)
    cards = kpi.scorecards(db.session, kpi.scorable_people(db.session), month, s=store())
    return render("scorecard/index.html", month=month, ranked=kpi.ranked(cards),
                  finalized=kpi.is_finalized(db.session, month), events=kpi.month_events(db.session, month),
                  months=dates.previous_months(this_month(), 12)[::-1],
                  reopen_form=ReopenForm(), Role=Role)


@bp.get("/months/<month>/finalize")
@policy.director
def confirm_finalize(month: str):
    """The confirmation before finalizing: what it freezes, then the POST button."""
    month = month_or_404(month)
    if kpi.is_finalized(db.session, month):
        flash(_("%(month)s is finalized already.", month=month), "error")
        return redirect(url_for("scorecard.index", month=month), code=303)
    return render("scorecard/finalize.html", preview=kpi.finalize_preview(db.session, month, s=store()),
                  form=FinalizeForm(), Role=Role)


@bp.post("/months/<month>/finalize")
@policy.director
def finalize_month(month: str):
    month = month_or_404(month)
    form = FinalizeForm()
    if not form.validate_on_submit():
        abort(400)
    with change() as outcome:
        n = kpi.finalize(db.session, actor=current_user, month=month, s=store(), note=form.note.data)
    if outcome.refused:
        flash(outcome.refusal.text, "error")
        return redirect(url_for("scorecard.index", month=month), code=303)
    flash(_("%(month)s finalized: %(n)d scorecards frozen.", month=month, n=n), "success")
    return redirect(url_for("scorecard.index", month=month), code=303)


@bp.post("/months/<month>/reopen")
@policy.director
def reopen_month(month: str):
    month = month_or_404(month)
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(_("Say why the month is reopened; it is kept in the record."), "error")
        return redirect(url_for("scorecard.index", month=month), code=303)
    with change() as outcome:
        kpi.reopen(db.session, actor=current_user, month=month, reason=form.reason.data)
    if outcome.refused:
        flash(outcome.refusal.text, "error")
        return redirect(url_for("scorecard.index", month=month), code=303)
    flash(_("%(month)s reopened; figures can be changed until it is finalized again.", month=month), "success")
    return redirect(url_for("scorecard.index", month=month), code=303)


@bp.get("/months/<month>/export.xlsx")
@policy.supervisor
def export_month(month: str):
    month = month_or_404(month)
    xlsx = reports.scorecard_workbook(db.session, month, s=store())
    return send_file(io.BytesIO(xlsx), mimetype=workbooks.MIMETYPE, as_attachment=True,
                     download_name=f"scorecard-{month}.xlsx")


# ---------------------------------------------------------------- one person


def chart(points: list[tuple[str, float | None]]) -> dict:
    """Coordinates of the trend chart (0–100 on the y axis), drawn as SVG by the template."""
    step = (CHART_W - 2 * CHART_PAD) / max(len(points) - 1, 1)
    dots = []
    for i, (month, total) in enumerate(points):
        x = CHART_PAD + i * step
        y = None if total is None else CHART_H - CHART_PAD - (CHART_H - 2 * CHART_PAD) * min(max(total, 0), 100) / 100
        dots.append({"month": month, "total": total, "x": round(x, 1), "y": None if y is None else round(y, 1)})
    line = " ".join(f"{d['x']},{d['y']}" for d in dots if d["y"] is not None)
    grid = [{"value": v, "y": round(CHART_H - CHART_PAD - (CHART_H - 2 * CHART_PAD) * v / 100, 1)}
            for v in (0, 25, 50, 75, 100)]
    return {"width": CHART_W, "height": CHART_H, "pad": CHART_PAD, "dots": dots, "line": line, "grid": grid}


@bp.get("/<username>/<month>")
@policy.staff
def show_person(username: str, month: str):
    if month.endswith(".json"):
        return person_json(username, month[:-5])
    month = month_or_404(month)
    person = person_or_404(username)
    if kpi.template_for(db.session, person.role) is None:     # no dead end behind the navigation's link
        return render("scorecard/no_template.html", person=person, month=month, Role=Role)
    card = scorecard_of(person, month)
    points = kpi.trend(db.session, person, month, s=store())
    return render("scorecard/person.html", card=card, person=person, month=month, chart=chart(points),
                  may_enter=policy.can_enter_kpi(current_user, person) and not card.finalized, Role=Role,
                  months=dates.previous_months(this_month(), 12)[::-1])


def person_json(username: str, month: str):
    month = month_or_404(month)
    person = person_or_404(username)
    card = scorecard_of(person, month)
    return jsonify({"username": person.username, "name": person.display_name, "role": person.role,
                    "month": month, "finalized": card.finalized, **card.computation, "measures": card.measures,
                    "trend": [{"month": m, "total": t} for m, t in kpi.trend(db.session, person, month, s=store())]})


@bp.get("/<username>/<month>/measures/<code>")
@policy.staff
def measure_cards(username: str, month: str, code: str):
    """The cards behind a measured figure: a score anyone can trace."""
    month = month_or_404(month)
    person = person_or_404(username)
    card = scorecard_of(person, month)
    measured = card.measures.get(code)
    if measured is None:
        abort(404)
    ids = measured["cards"][:2000]
    cards = {c.id: c for c in db.session.scalars(select(Card).where(Card.id.in_(ids)))} if ids else {}
    return render("scorecard/measure.html", person=person, month=month, code=code, measured=measured,
                  metric=next(m for m in card.computation["metrics"] + card.computation["coefficients"]
                              if m["code"] == code),
                  cards=[cards[i] for i in ids if i in cards])


# ---------------------------------------------------------------- entries


@bp.route("/entries/<month>/<username>", methods=["GET", "POST"])
@policy.supervisor
def enter_figures(month: str, username: str):
    month = month_or_404(month)
    person = person_or_404(username)
    if not policy.can_enter_kpi(current_user, person):
        abort(403)                                    # nobody enters their own or a higher level's figures
    template = kpi.template_for(db.session, person.role)
    if template is None:
        abort(404)
    form = entries_form(template)
    error, status = None, 200
    current = kpi.entries_of(db.session, [person.id], month)[person.id]
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = form.values()
        with change() as outcome:
            kpi.save_entries(db.session, actor=current_user, person=person, month=month, values=values)
        if outcome.refused:
            error, status = outcome.refusal.text, outcome.refusal.status
            current = {**current, **{k: v for k, v in values.items() if v is not None}}
        else:
            flash(_("Figures of %(name)s for %(month)s saved.", name=person.display_name, month=month), "success")
            return redirect(url_for("scorecard.show_person", username=person.username, month=month), code=303)
    response = render("scorecard/entries.html", person=person, month=month, kpi_template=template,
                      fields=entered_metrics(template), current=current, form=form, error=error,
                      finalized=kpi.is_finalized(db.session, month), WEIGHTED=kpi_engine.WEIGHTED_RATES,
                      JUDGED=kpi_engine.JUDGED, Role=Role)
    response.status_code = status
    return response


# ---------------------------------------------------------------- templates and the what-if


@bp.get("/templates")
@policy.director
def list_templates():
    roles = sorted(set(DEFAULT_TEMPLATES) | set(db.session.scalars(select(kpi.KpiTemplate.role))))
    return render("scorecard/templates.html", roles=[(Role(r), kpi.template_for(db.session, r),
                                                       kpi.template_row(db.session, r)) for r in roles])


def care_role_or_404(role: str) -> str:
    try:
        role = Role(role).value
    except ValueError:
        abort(404)
    if Role(role) not in CARE_ROLES:                        # an account without a care role is never scored
        abort(404)
    return role


def template_of(text: str) -> kpi_engine.Template:
    """The template in the editor: JSON the engine validates (DomainError naming every problem)."""
    return kpi_engine.validate_template(_json_field(text, _("The template")))


def what_if(template: kpi_engine.Template, formdata=None) -> dict:
    """The what-if of a template on the figures posted (or its defaults): the form, and the computation when
    every figure is right; nothing is computed from a field in error."""
    form = whatif_form(template, formdata)
    inputs = form.inputs()
    computation = None if inputs is None else kpi_engine.compute(template, inputs)
    return {"whatif": form, "computation": computation,
            "rows": whatif_rows(template, computation) if computation else [],
            "total": kpi_engine.fmt(computation.total_rounded, 1) if computation else None}


@bp.route("/templates/<role>", methods=["GET", "POST"])
@policy.director
def edit_template(role: str):
    """The template of a role: the what-if (a form built from its metrics, computed live through
    `try_template`, or by the Compute button without JavaScript) and the template's JSON, saved here."""
    role = care_role_or_404(role)
    row = kpi.template_row(db.session, role)
    data = kpi.template_data(db.session, role) or {"role": role, "name": "", "description": "", "metrics": []}
    form = TemplateForm(data={"definition": json.dumps(data, ensure_ascii=False, indent=2),
                              "version": row.version if row else None},
                        formdata=None if request.method == "GET" else request.form)
    error, status, figures = None, 200, None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("action") == "save":
            with change() as outcome:
                kpi.save_template(db.session, actor=current_user, role=role, seen_version=form.version.data,
                                  data=_json_field(form.definition.data, _("The template")))
            if not outcome.refused:
                flash(_("The template of %(role)s is saved; open months are scored with it.",
                        role=Role(role).label), "success")
                return redirect(url_for("scorecard.edit_template", role=role), code=303)
            status = outcome.refusal.status
            error = _("Someone else saved this template in the meantime; nothing was saved. Reload to "
                      "see theirs.") if outcome.refusal.conflict else outcome.refusal.text
        figures = request.form                          # the figures typed stay as they were
    try:                                                # the what-if only reads: nothing to commit or roll back
        template = template_of(form.definition.data)
    except DomainError as problem:                      # a role without a template yet has no what-if
        template = None
        if request.method == "POST":
            status, error = 422, error or str(problem)
    context = what_if(template, figures) if template else {"whatif": None, "computation": None, "rows": [],
                                                                "total": None}
    if template and context["computation"] is None and status == 200:
        status = 422
    response = render("scorecard/template_form.html", role=Role(role), form=form, error=error,
                      saved=row is not None, **context)
    response.status_code = status
    return response


@bp.post("/templates/<role>/try")
@policy.director
def try_template(role: str):
    """The what-if's result for htmx: the breakdown, and each field's message swapped in beside it (422 while
    a figure is wrong). The template is the one in the editor, so a change is tried before it is saved."""
    role = care_role_or_404(role)
    text = request.form.get("definition")
    if text is None:
        text = json.dumps(kpi.template_data(db.session, role) or {}, ensure_ascii=False)
    try:
        template = template_of(text)
    except DomainError as problem:
        response = render("scorecard/_whatif_result.html", whatif=None, computation=None, rows=[],
                          total=None, error=str(problem))
        response.status_code = 422
        return response
    context = what_if(template, request.form)
    response = render("scorecard/_whatif_result.html", error=None, oob=True, **context)
    response.status_code = 200 if context["computation"] else 422
    return response


def _json_field(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError as problem:                     # the place, not the parser's English text
        line, column = getattr(problem, "lineno", None), getattr(problem, "colno", None)
        if line is None:
            raise DomainError(_("%(what)s is not valid JSON.", what=what)) from None
        raise DomainError(_("%(what)s is not valid JSON: look at line %(line)d, column %(column)d.",
                            what=what, line=line, column=column)) from None
