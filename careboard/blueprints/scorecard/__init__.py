from flask import Blueprint

bp = Blueprint("scorecard", __name__, url_prefix="/scorecard")

from careboard.blueprints.scorecard import views  # noqa: E402,F401
