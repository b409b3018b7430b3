from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")

from careboard.blueprints.board import views  # noqa: E402,F401
