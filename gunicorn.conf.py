"""gunicorn settings for CareBoard: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment without editing this file (systemd's Environment=).
Workers share nothing in memory that matters: sessions are signed cookies, the login rate limit is kept
in the database (or Redis), and the automatic tick is claimed in the database, so any worker count works.
"""
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Loopback only: the reverse proxy (nginx, see deploy/nginx.conf) terminates HTTPS in front of it.
bind = os.environ.get("CAREBOARD_BIND", "127.0.0.1:8000")

# Processes, not threads, carry the load: rendering the board is CPU work under the GIL, and in the load test
# (bench/README.md) one thread per worker gave the shortest tail. 2 × cores + 1 is gunicorn's rule; gthread
# keeps idle keep-alive connections of the tablets off the workers.
workers = _int("CAREBOARD_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9))
worker_class = "gthread"
threads = _int("CAREBOARD_THREADS", 1)

# A request that takes longer than this is a bug or a stuck database: the worker is restarted.
# The XLSX import of a large DMS export is the slowest request (about 10 s for 20,000 rows).
timeout = _int("CAREBOARD_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then, so a slow leak can never take the server down.
max_requests = 2000
max_requests_jitter = 200

# The app is built once before forking (faster start, less memory); each worker opens its own database
# connections, because SQLAlchemy's pool is disposed after the fork (see post_fork).
preload_app = True

accesslog = os.environ.get("CAREBOARD_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("CAREBOARD_LOG_LEVEL", "info")
# Behind nginx: the client's address is in X-Forwarded-For (CAREBOARD_PROXY_FIX_X_FOR=1 in the app).
forwarded_allow_ips = "127.0.0.1,::1"
proc_name = "careboard"
# gunicorn 27's control socket defaults to ~/.gunicorn/gunicorn.ctl, shared by every gunicorn of the user
# (a second instance replaces it); CareBoard does not use it.
control_socket_disable = True


def post_fork(server, worker):
    """Connections opened by the parent (migrations check, preload) must not be shared with children."""
    from careboard.extensions import db
    app = worker.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)
