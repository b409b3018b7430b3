"""Friendly error pages; an htmx request gets a toast instead of a page."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from careboard.extensions import db

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("Your account may not open this page or make this change.")),
    404: (_l("Not found"), _l("There is nothing at this address. It may have been moved or deleted.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Changed by someone else"),
          _l("Someone else changed this in the meantime. Reload to see the current state; "
             "nothing was overwritten.")),
    413: (_l("File too large"), _l("The upload is larger than this server accepts.")),
    422: (_l("Check your input"), _l("Some fields need correcting.")),
    429: (_l("Too many attempts"), _l("Too many attempts in a short time. Please wait a minute and try again.")),
    500: (_l("Something went wrong"),
          _l("The server hit an error. Your last change was not saved; please try again. "
             "If it happens again, tell your administrator.")),
}
CSRF_MESSAGE = _l("This form has expired or was not sent by CareBoard. Reload the page and try again; "
                  "nothing was changed.")


def fail(status: int, message: str):
    """abort() with a message of our own that the error page shows instead of the generic one."""
    error = default_exceptions[status](description=str(message))
    error.careboard_detail = True
    raise error


def render_error(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    context = {"status": status, "title": title, "message": detail or message}
    if request.htmx:
        html = render_template("errors/_toast.html", **context)
        return html, status, {"HX-Retarget": "#toasts", "HX-Reswap": "beforeend", "Vary": "HX-Request"}
    return render_template("errors/error.html", **context), status, {"Vary": "HX-Request"}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.response is not None:             # a view-made response (the login page's 429)
            return error.response
        # A description we wrote ourselves (abort(409, description=...)) is shown as it is.
        detail = error.description if getattr(error, "careboard_detail", False) else None
        return render_error(error.code, detail)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        db.session.rollback()
        app.logger.error("unhandled error on %s %s", request.method, request.path,
                         exc_info=error.original_exception)
        return render_error(500)
