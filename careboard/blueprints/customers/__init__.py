from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")

from careboard.blueprints.customers import imports, views  # noqa: E402,F401  (registers the routes)
