"""Entry point for gunicorn: `gunicorn wsgi:app`. Production settings come from the environment."""
import gc

from careboard import create_app
from careboard.config import ProductionConfig

app = create_app(ProductionConfig)

# Everything built at start-up lives as long as the process: keep it out of the garbage collector's
# full collections, which otherwise cost tens of milliseconds on large pages (see bench/README.md).
gc.collect()
gc.freeze()
