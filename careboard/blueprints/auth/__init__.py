from flask import Blueprint

bp = Blueprint("auth", __name__)

from careboard.blueprints.auth import views  # noqa: E402,F401  (registers the routes)
