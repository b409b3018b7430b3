"""The standard scripts (话术) the callback people read from; the defaults live in services/callbacks.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careboard.dbtypes import UTCDateTime, utcnow
from careboard.extensions import db


class CallbackScript(db.Model):
    """The standard script (话术) of one callback type; defaults live in services/callbacks.py."""

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
