"""SQL building blocks shared by the queries of every layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

# The escape character of our LIKE patterns (the SQL standard leaves LIKE without one).
LIKE_ESCAPE = "\\"


def contains_pattern(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, its ``%`` and ``_`` taken literally (a
    search for "100%" must not match everything). Use it with ``escape=LIKE_ESCAPE``."""
    escaped = (
        value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", f"{LIKE_ESCAPE}%")
        .replace("_", f"{LIKE_ESCAPE}_")
    )
    return f"%{escaped}%"


def contains(
    column: SQLColumnExpression[str | None], value: str, *, ignore_case: bool = False
) -> ColumnElement[bool]:
    """``column`` holds ``value`` (literally) somewhere."""
    pattern = contains_pattern(value)
    if ignore_case:
        return column.ilike(pattern, escape=LIKE_ESCAPE)
    return column.like(pattern, escape=LIKE_ESCAPE)


def insert_unless_present(
    session: Session, model: type[Any], values: Mapping[str, Any], *, unique: Sequence[str]
) -> Any | None:
    """INSERT a row unless one with the same ``unique`` columns exists; its primary key, or
    None when the row was already there. One statement, so two writers racing on the same
    key insert once (the second waits for the first's commit, then inserts nothing)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    primary_key = model.__mapper__.primary_key[0]
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    return session.execute(statement.returning(primary_key)).scalar_one_or_none()


def json_array_length(session: Session, column: Any) -> ColumnElement[int]:
    """The number of items of a JSON array column (JSONB on PostgreSQL, JSON on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_array_length(column)
    return func.json_array_length(column)
