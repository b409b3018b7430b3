from flask import Blueprint

bp = Blueprint("checklist", __name__, url_prefix="/checklist")

from careboard.blueprints.checklist import views  # noqa: E402,F401
