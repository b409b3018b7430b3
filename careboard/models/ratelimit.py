"""Rate-limit counters kept in the database, so every gunicorn worker sees the same count."""
from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from careboard.extensions import db


class RateLimitCounter(db.Model):
    """One fixed window of one limit (e.g. failed log-ins of one user name from one address)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)     # Unix time, as the limits library counts
