"""Entry point for gunicorn: `gunicorn wsgi:app`. Production settings come from the environment."""
from careboard import create_app
from careboard.config import ProductionConfig

app = create_app(ProductionConfig)
