"""Declarative base shared by every model.

The naming convention gives every constraint a stable name, so migrations written on SQLite
and PostgreSQL name things identically and a later migration can drop a constraint by name.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones and hands back naive values,
    so values are normalised to UTC on the way in and marked UTC on the way out. A naive
    datetime is refused: it is always a bug (whose local time would it be?).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bounded_text(length: int) -> TypeEngine[str]:
    """Long text with a maximum length (a description, a message): ``VARCHAR(length)`` on
    PostgreSQL, which enforces it; plain TEXT on SQLite, which enforces no length anyway.
    The API's schemas and the panel's forms read the length from here."""
    return String(length).with_variant(Text(), "sqlite")


# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def db_enum(enum_class: type[enum.Enum], name: str, *, native: bool = True) -> Enum:
    """An enum column storing the members' values.

    ``native`` enums become PostgreSQL types (the seed's ENUM columns); the others are
    VARCHAR with a CHECK constraint (the seed's VARCHAR status columns), which stays easy to
    extend. SQLite gets VARCHAR + CHECK in both cases.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=native,
        create_constraint=True,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}

    def __repr__(self) -> str:
        keys = ", ".join(
            f"{attr.key}={getattr(self, attr.key)!r}"
            for attr in self.__mapper__.column_attrs
            if any(column.primary_key for column in attr.columns)
        )
        return f"<{type(self).__name__} {keys}>"

    def __str__(self) -> str:
        """How a row is named to people (the admin panel's drop-downs and links)."""
        keys = [
            str(getattr(self, attr.key))
            for attr in self.__mapper__.column_attrs
            if any(column.primary_key for column in attr.columns)
        ]
        for label in ("title", "name", "email"):
            value = self.__dict__.get(label)
            if isinstance(value, str) and value:
                return f"{value} (#{', '.join(keys)})"
        return f"{type(self).__name__} #{', '.join(keys)}"


# Python-side defaults keep the values on the object after a flush (no reload needed in
# async code); the server defaults cover rows written by raw SQL.
class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )
