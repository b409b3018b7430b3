"""The login rate limit counts in the database, so gunicorn's workers share one count."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import time_machine
from limits.storage import storage_from_string

from careboard.extensions import db
from careboard.models import RateLimitCounter
from careboard.ratelimit import DatabaseStorage

ROOT = Path(__file__).resolve().parents[1]

# One "worker": its own process and app, posting wrong passwords for sales1 and printing the statuses.
WORKER = textwrap.dedent("""
    import json, sys
    from careboard import create_app
    from careboard.config import TestConfig
    uri, storage, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = type("Worker", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": storage})
    client = create_app(config).test_client()
    print(json.dumps([client.post("/login", data={"username": "sales1", "password": "wrong"}).status_code
                      for _ in range(attempts)]))
""")


def _worker(uri: str, storage: str, attempts: int) -> list[int]:
    done = subprocess.run([sys.executable, "-c", WORKER, uri, storage, str(attempts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_worker_processes_share_the_failed_login_count(app_config, people, session):
    session.commit()
    uri = app_config.SQLALCHEMY_DATABASE_URI
    first = _worker(uri, "database://", 3)
    second = _worker(uri, "database://", 3)
    assert first == [401, 401, 401]
    assert second == [401, 401, 429]                   # the sixth attempt in all, in the other worker
    counts = {row.key: row.count for row in session.scalars(db.select(RateLimitCounter))}
    per_user = [count for key, count in counts.items() if "|sales1/" in key]
    assert per_user == [5]                             # failed attempts only: the refused one is not counted
    assert sorted(counts.values()) == [5, 6]           # and every attempt from the address


def test_in_memory_counts_would_be_per_worker(app_config, people, session):
    """Why the default is the database: with memory:// each worker counts alone."""
    session.commit()
    uri = app_config.SQLALCHEMY_DATABASE_URI
    assert _worker(uri, "memory://", 3) + _worker(uri, "memory://", 3) == [401] * 6


@pytest.fixture
def storage(app):
    return storage_from_string("database://")


def test_the_scheme_gives_the_database_storage(storage):
    assert isinstance(storage, DatabaseStorage) and storage.check()


def test_concurrent_hits_on_one_key_are_all_counted(app, storage):
    def hit():
        with app.app_context():
            for _ in range(25):
                storage.incr("login/10.0.0.1|sales1", 60)

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get("login/10.0.0.1|sales1") == 150


def test_a_window_ends_and_starts_again(storage):
    with time_machine.travel(1_800_000_000, tick=False):
        assert storage.incr("k", 60) == 1
        assert storage.incr("k", 60) == 2
        assert storage.get_expiry("k") == pytest.approx(1_800_000_060)
    with time_machine.travel(1_800_000_059, tick=False):
        assert storage.get("k") == 2
    with time_machine.travel(1_800_000_061, tick=False):
        assert storage.get("k") == 0
        assert storage.incr("k", 60) == 1              # a new window, not 3
        assert storage.get_expiry("k") == pytest.approx(1_800_000_121)


def test_clear_and_reset(storage):
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    assert storage.reset() == 1
    assert storage.get("b") == 0
