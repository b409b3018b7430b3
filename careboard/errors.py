"""Friendly error pages; an htmx request gets a toast instead of a page.

When the database cannot be reached (PostgreSQL down or restarting, the SQLite file unreadable) every page
answers 503 with a page of its own, and every htmx call a toast, instead of the server's bare error; both are
drawn without the database, and the next request tries it again, so the app recovers by itself.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from careboard.extensions import db, login
from careboard.services.settings import StoreSettings

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
    503: (_l("The database cannot be reached right now"),
          _l("Your last change may not have been saved. Wait a moment and try again: CareBoard carries on "
             "by itself as soon as the database is back. If this lasts more than a few minutes, tell your "
             "administrator.")),
}
CSRF_MESSAGE = _l("This form has expired or was not sent by CareBoard. Reload the page and try again; "
                  "nothing was changed.")
RETRY_AFTER_SECONDS = 30                # a 503 tells clients (and proxies) to wait this long before asking again


def fail(status: int, message: str):
    """abort() with a message of our own that the error page shows instead of the generic one."""
    error = default_exceptions[status](description=str(message))
    error.careboard_detail = True
    raise error


def render_error(status: int, detail: str | None = None):
    """The error page, or for htmx the toast; the 503 page instead when drawing the page's frame finds the
    database unreachable (a 404 for a visitor while it is down)."""
    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    context = {"status": status, "title": title, "message": detail or message}
    try:
        if request.htmx:
            html = render_template("errors/_toast.html", **context)
            return html, status, {"HX-Retarget": "#toasts", "HX-Reswap": "beforeend", "Vary": "HX-Request"}
        return render_template("errors/error.html", **context), status, {"Vary": "HX-Request"}
    except DBAPIError as error:
        if not is_database_unreachable(error):
            raise
        return render_database_unavailable(error)


def is_database_unreachable(error: BaseException | None) -> bool:
    """The database did not answer (down, restarting, its file unreadable), as opposed to a statement it
    refused: SQLAlchemy's OperationalError and InterfaceError, and any error that cost the connection."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def render_database_unavailable(error: BaseException):
    """503 with a hint to retry: the page for a page, a toast for htmx. Neither reads the database."""
    release_connection()
    current_app.extensions["careboard_outage"].failed(error)
    _render_without_database()
    title, message = MESSAGES[503]
    if request.htmx:
        # The board polls: while the database is down each poll would add a toast; this one replaces them.
        html = render_template("errors/_toast.html", status=503, title=title, message=message)
        headers = {"HX-Retarget": "#toasts", "HX-Reswap": "innerHTML"}
    else:
        retry = request.full_path.rstrip("?") if request.method == "GET" else None
        html = render_template("errors/error.html", status=503, title=title, message=message, retry_url=retry)
        headers = {}
    return html, 503, {**headers, "Retry-After": str(RETRY_AFTER_SECONDS), "Vary": "HX-Request"}


def release_connection() -> None:
    """End the request's transaction. On a lost connection the rollback fails as well; closing the session
    then hands the connection back to the pool, which discards it, so the next request connects afresh."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.close()


def _render_without_database() -> None:
    """The page's frame reads the database for the user's name, menu and badges and for the store's name:
    draw it for an anonymous visitor (the session cookie is kept) with the store as configured."""
    login._update_request_context_with_user()          # anonymous for the rest of this request only
    if "store" not in g:
        g.store = StoreSettings(store_name=current_app.config["CAREBOARD_STORE_NAME"],
                                timezone=current_app.config["CAREBOARD_TIMEZONE"])


class OutageLog:
    """One log line when the database becomes unreachable, not one per request, and one when a connection
    succeeds again, with the number of requests answered 503 meanwhile."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self.refused = 0

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.refused += 1
            first = self.refused == 1
        if first:
            self._logger.error("the database cannot be reached (%s, on %s %s): answering 503 until it is back",
                               _summary(error), request.method, request.path)

    def connected(self, *_event) -> None:
        """A pool checkout: a connection works (after its pre-ping, where the engine has one)."""
        if not self.refused:                            # the usual case: nothing to lock or log
            return
        with self._lock:
            refused, self.refused = self.refused, 0
        if refused:
            self._logger.warning("the database is reachable again (%d %s answered 503 meanwhile)", refused,
                                 "request was" if refused == 1 else "requests were")


def _summary(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"


def init_app(app: Flask) -> None:
    outage = app.extensions["careboard_outage"] = OutageLog(app.logger)
    with app.app_context():
        event.listen(db.engine, "checkout", outage.connected)

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

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_error(error: DBAPIError):
        return render_database_unavailable(error)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        # A lost connection that SQLAlchemy reports as another DBAPIError, or one in an after_request hook.
        if is_database_unreachable(error.original_exception):
            return render_database_unavailable(error.original_exception)
        release_connection()
        app.logger.error("unhandled error on %s %s", request.method, request.path,
                         exc_info=error.original_exception)
        return render_error(500)
