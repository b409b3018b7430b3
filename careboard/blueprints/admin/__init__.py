from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from careboard.blueprints.admin import robots, views  # noqa: E402,F401
