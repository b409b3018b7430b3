"""Column types shared by the models."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stored as UTC; always comes back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_type: type[enum.StrEnum], length: int) -> Enum:
    """A StrEnum column stored as the member's value in a plain VARCHAR(length), as before the enum was
    typed: no database enum type, no CHECK constraint, so the DDL is String(length). Rows load as members
    (a stored string that is no member's value raises LookupError), and only members' values are written."""
    return Enum(enum_type, native_enum=False, values_callable=_values, length=length, create_constraint=False,
                validate_strings=True)


def _values(enum_type: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in enum_type]


@event.listens_for(Mapper, "mapper_configured")
def _members_when_set(mapper: Mapper, class_: type) -> None:
    """A str_enum attribute holds a member as soon as it is set: a plain value given to it (`kind="task"`) is
    converted at once (ValueError if it is no member's value), so `.label` works before the row is reloaded."""
    for prop in mapper.column_attrs:
        type_ = prop.columns[0].type
        if isinstance(type_, Enum) and type_.enum_class is not None and not type_.native_enum:
            event.listen(prop.class_attribute, "set", _to_member(type_.enum_class), retval=True)


def _to_member(enum_type: type[enum.StrEnum]):
    def convert(target, value, oldvalue, initiator):
        return enum_type(value) if isinstance(value, str) else value
    return convert


def utcnow() -> datetime:
    return datetime.now(UTC)


def render_item(type_: str, obj, autogen_context):
    """Alembic autogenerate: write UTCDateTime as a plain DateTime and a str_enum as the String it is stored
    in, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Enum) and not obj.native_enum:
        return f"sa.String(length={obj.length})"
    return False
