"""SQL building blocks shared by the queries of every layer."""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression

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
