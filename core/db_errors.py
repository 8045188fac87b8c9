"""What a database refusal means, on PostgreSQL and SQLite alike.

Services check what they can before writing; the database's constraints decide the races.
This turns an IntegrityError back into the rule that refused it and the columns involved,
so the client hears 409 for a duplicate or a row still referenced, 400 for a bad value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError

Kind = Literal["unique", "foreign_key", "check", "not_null", "unknown"]

_PG_STATES: dict[str, Kind] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23514": "check",
    "23502": "not_null",
}
_SQLITE_PREFIXES: dict[str, Kind] = {
    "UNIQUE constraint failed": "unique",
    "FOREIGN KEY constraint failed": "foreign_key",
    "CHECK constraint failed": "check",
    "NOT NULL constraint failed": "not_null",
}


@dataclass(frozen=True)
class Violation:
    kind: Kind
    # Attribute names of the columns involved, when the database says which.
    columns: tuple[str, ...]
    constraint: str | None


def classify(error: IntegrityError, table: Table) -> Violation:
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state in _PG_STATES:
        diag = getattr(original, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        column = getattr(diag, "column_name", None)
        columns = _constraint_columns(table, constraint) or ((column,) if column else ())
        return Violation(_PG_STATES[state], columns, constraint)
    message = str(original)
    for prefix, kind in _SQLITE_PREFIXES.items():
        if message.startswith(prefix):
            detail = message[len(prefix) :].strip(": ")
            # SQLite names "table.column, table.column" for UNIQUE and NOT NULL, the
            # constraint for CHECK, nothing for FOREIGN KEY.
            columns = tuple(
                part.split(".")[-1] for part in re.split(r",\s*", detail) if "." in part
            )
            constraint = detail if kind == "check" else None
            return Violation(kind, columns or _constraint_columns(table, constraint), constraint)
    return Violation("unknown", (), None)


def _constraint_columns(table: Table, name: str | None) -> tuple[str, ...]:
    if not name:
        return ()
    for item in (*table.constraints, *table.indexes):
        if getattr(item, "name", None) == name:
            return tuple(column.key for column in getattr(item, "columns", ()))
    return ()
