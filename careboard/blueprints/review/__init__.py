from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from careboard.blueprints.review import reports, views  # noqa: E402,F401
