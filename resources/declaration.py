"""The shape of a declaration: who may do what to which rows, and which fields show."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import JSON, Column, false, inspect, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models import Role, User

Operation = Literal["list", "read", "create", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("list", "read", "create", "update", "delete")

# A scope is the rows a caller reaches: every row (True), none (False) or a condition.
Condition = ColumnElement[bool] | bool
Scope = Callable[[User], Condition]


def all_rows(_: User) -> Condition:
    return True


def as_clause(condition: Condition) -> ColumnElement[bool]:
    """A scope as SQL, for a ``WHERE`` that takes no Python booleans."""
    if condition is True:
        return true()
    if condition is False:
        return false()
    return condition


# Domain functions a declaration may name. They take the sync session (they run inside the
# request's transaction through ``run_sync``), flush, and raise DomainErrors.
Creator = Callable[[Session, dict[str, Any], User], Any]
Updater = Callable[[Session, Any, dict[str, Any], User], None]
Deleter = Callable[[Session, Any, User], None]
Validator = Callable[[Session, dict[str, Any], User, Any | None], None]
# Slow work on the input before any SQL (hashing a password); run in a worker thread, never
# on the event loop. Takes and returns the values.
Preparer = Callable[[dict[str, Any]], dict[str, Any]]

# Columns clients never write, whatever the declaration says.
SERVER_MANAGED = frozenset({"created_at", "updated_at"})


def _kebab(name: str) -> str:
    return re.sub(r"[_\s]+", "-", name).lower()


# English plurals a suffix rule gets wrong; a declaration's ``label`` covers any other.
_IRREGULAR = {"quizzes": "quiz", "people": "person", "children": "child"}
_UNCOUNTED = frozenset({"analytics", "news", "series", "species"})


def singular(table_name: str) -> str:
    """The title of one row of a table named in the plural: "course_modules" -> "Course
    module", "addresses" -> "Address", "categories" -> "Category", "statuses" -> "Status"."""
    *head, word = table_name.split("_")
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    elif word in _UNCOUNTED or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        pass
    elif word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes")) or re.search(r"[^aeiou]uses$", word):
        word = word[:-2]
    else:
        word = word[:-1]
    return " ".join([*head, word]).capitalize()


# eq=False: a declaration is identified by itself (it is hashed to cache its schemas).
@dataclass(frozen=True, eq=False)
class Resource:
    """How one model is exposed.

    ``permissions`` maps each role to the operations it may perform (``list`` covers the
    count too). ``rows`` maps each role to the rows it reaches for reading, and
    ``writable_rows`` to those it may update or delete (defaults to ``rows``); a role
    missing from a mapping reaches nothing. A row outside the reader's scope answers 404, as
    if it did not exist; a readable row outside the writable scope answers 403.
    """

    model: type[Any]
    permissions: Mapping[Role, frozenset[Operation]]
    rows: Mapping[Role, Scope]
    writable_rows: Mapping[Role, Scope] | None = None
    # What each role reaches in the admin panel. The panel is for running the platform, not
    # for learning: admins reach what ``rows`` gives them, instructors only what is declared
    # here (the rows of their own courses), students nothing. A role missing here has no
    # view of the model in the panel.
    panel_rows: Mapping[Role, Scope] | None = None
    # Never exposed, never filterable, never writable (password hashes, tokens, card data).
    hidden: frozenset[str] = frozenset()
    # Exposed but never written by clients (beyond the primary key and timestamps).
    read_only: frozenset[str] = frozenset()
    # Written at creation, fixed afterwards (a module's course, for instance).
    immutable: frozenset[str] = frozenset()
    # The column naming the row's owner: set from the caller on create; only an admin may
    # set or change it.
    owner: str | None = None
    # Filled in by the domain function when the client leaves them out (a username).
    derived: frozenset[str] = frozenset()
    # None: every exposed column.
    filterable: frozenset[str] | None = None
    sortable: frozenset[str] | None = None
    # Extra validation for fields, as pydantic Field arguments (mirrors CHECK constraints).
    field_rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The shape of each writable JSON column, as a pydantic type (a quiz's questions): the
    # data API's schema and the write pipeline both validate against it. A JSON column
    # clients write must have one: arbitrary nesting is never accepted.
    documents: Mapping[str, Any] = field(default_factory=dict)
    # Write-only inputs that are not columns (a new user's password), as (type, Field).
    extra_create_fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    create_with: Creator | None = None
    update_with: Updater | None = None
    delete_with: Deleter | None = None
    validate: Validator | None = None
    prepare: Preparer | None = None
    # Singular label for messages and the admin panel ("Course module").
    label: str | None = None
    name: str | None = None

    @cached_property
    def path(self) -> str:
        return self.name or _kebab(self.table_name)

    @cached_property
    def table_name(self) -> str:
        return str(self.model.__table__.name)

    @cached_property
    def title(self) -> str:
        return self.label or singular(self.table_name)

    @cached_property
    def columns(self) -> dict[str, Column[Any]]:
        """Attribute name -> column, for every mapped column."""
        mapper = inspect(self.model)
        return {attr.key: attr.columns[0] for attr in mapper.column_attrs}

    @cached_property
    def primary_key(self) -> str:
        keys = [name for name, column in self.columns.items() if column.primary_key]
        if len(keys) != 1:
            raise TypeError(f"{self.model.__name__}: the data API needs a single-column key")
        return keys[0]

    @cached_property
    def exposed(self) -> list[str]:
        return [name for name in self.columns if name not in self.hidden]

    @cached_property
    def never_written(self) -> frozenset[str]:
        return self.hidden | self.read_only | SERVER_MANAGED | {self.primary_key}

    @cached_property
    def writable(self) -> list[str]:
        return [name for name in self.exposed if name not in self.never_written]

    @cached_property
    def filter_fields(self) -> frozenset[str]:
        # JSON documents (a quiz's questions) are not compared as a whole.
        documents = {name for name, column in self.columns.items() if isinstance(column.type, JSON)}
        return (self.filterable or frozenset(self.exposed)) - self.hidden - documents

    @cached_property
    def sort_fields(self) -> frozenset[str]:
        return (self.sortable or frozenset(self.exposed)) - self.hidden

    def allows(self, role: Role, operation: Operation) -> bool:
        return operation in self.permissions.get(role, frozenset())

    def read_scope(self, user: User) -> Condition:
        scope = self.rows.get(user.role)
        return scope(user) if scope is not None else False

    def in_panel(self, role: Role) -> bool:
        if self.panel_rows is not None:
            return role in self.panel_rows
        return role is Role.ADMIN and role in self.rows

    def panel_scope(self, user: User) -> Condition:
        scopes = self.panel_rows if self.panel_rows is not None else {Role.ADMIN: all_rows}
        scope = scopes.get(user.role)
        if scope is None:
            return False
        reach = scope(user)
        read = self.read_scope(user)
        # Never more than the data API gives the same user.
        if read is True or reach is False:
            return reach
        if reach is True or read is False:
            return read
        return reach & read

    def write_scope(self, user: User) -> Condition:
        scopes = self.writable_rows if self.writable_rows is not None else self.rows
        scope = scopes.get(user.role)
        return scope(user) if scope is not None else False


def ops(*names: Operation) -> frozenset[Operation]:
    return frozenset(names)


READ: frozenset[Operation] = ops("list", "read")
EVERYTHING: frozenset[Operation] = frozenset(OPERATIONS)
