"""A storage for Flask-Limiter (the `limits` library) in CareBoard's own database: `RATELIMIT_STORAGE_URI =
"database://"`. With several gunicorn workers, an in-memory count would be per worker (five failed
log-ins per worker instead of five in all); the database is the one place every worker shares, and it
needs no extra server. Redis (`redis://…`) works as well where one runs.

Only the fixed-window strategy is supported (Flask-Limiter's default): one row per limit and window,
incremented by an atomic upsert, so two workers counting the same key at once never lose a hit.
"""
from __future__ import annotations

import random
import time

from limits.storage import Storage
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from careboard.extensions import db          # extensions imports this module last, once `db` exists
from careboard.models.ratelimit import RateLimitCounter

TABLE = RateLimitCounter.__table__
PRUNE_CHANCE = 0.01          # now and then a hit also deletes windows that ended an hour ago


def _engine():
    return db.engine           # needs the app context, which every request has


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        engine = _engine()
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        ended = TABLE.c.expires_at <= now
        statement = insert(TABLE).values(key=key, count=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=[TABLE.c.key],
            set_={"count": case((ended, amount), else_=TABLE.c.count + amount),
                  "expires_at": case((ended, now + expiry), else_=TABLE.c.expires_at)},
        ).returning(TABLE.c.count)
        with engine.begin() as connection:
            count = connection.execute(statement).scalar_one()
            if random.random() < PRUNE_CHANCE:
                connection.execute(delete(TABLE).where(TABLE.c.expires_at < now - 3600))
        return count

    def get(self, key: str) -> int:
        with _engine().connect() as connection:
            count = connection.execute(select(TABLE.c.count).where(TABLE.c.key == key,
                                                                   TABLE.c.expires_at > time.time())).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        with _engine().connect() as connection:
            expiry = connection.execute(select(TABLE.c.expires_at).where(TABLE.c.key == key)).scalar()
        return expiry if expiry is not None else time.time()

    def check(self) -> bool:
        try:
            with _engine().connect() as connection:
                connection.execute(select(func.count()).select_from(TABLE))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with _engine().begin() as connection:
            return connection.execute(delete(TABLE)).rowcount

    def clear(self, key: str) -> None:
        with _engine().begin() as connection:
            connection.execute(delete(TABLE).where(TABLE.c.key == key))
