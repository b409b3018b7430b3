"""URL helpers shared by the blueprints."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1          # ids, versions and positions are INTEGER columns: 32 bits on PostgreSQL


class IdConverter(IntegerConverter):
    """`<int:…>` of every route: an id beyond 2**31 − 1 matches no route (404) instead of overflowing the
    database driver (500; SQLite stops at 2**63 − 1, PostgreSQL's integer at 2**31 − 1). Registered as "int"
    in create_app, before the blueprints."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def refuse_nul_bytes() -> None:
    """before_request: a NUL character in the path, the query or a form is no one's input (PostgreSQL
    cannot even store it in text): 400 for all of them, instead of a 500 wherever it reaches the database."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400)


def int_arg(name: str, default: int | None = None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The query parameter `name` as an int in low..high (an id, a cursor); `default` for anything else, so
    ?before=99999999999999999999 never reaches the database driver."""
    value = request.args.get(name, type=int)
    return value if value is not None and low <= value <= high else default


def page_arg(per_page: int) -> int:
    """?page= for db.paginate: 1 unless a page whose offset the database can still take."""
    return int_arg("page", 1, low=1, high=MAX_ID // per_page)


def local_url(target: str | None) -> str | None:
    """`target` if it is a path on this site (for ?next= and form `next` fields), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
