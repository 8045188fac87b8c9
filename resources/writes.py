"""The write pipeline of the declared resources: the one way the data API and the admin
panel create, change and delete a row.

Each operation is one function (``create_record``, ``update_record``, ``delete_record``,
with ``*_async`` entry points for async callers) that both call inside their unit of work:
check the declaration's rules, take a savepoint, write through the declared domain function
(or a plain insert/update/delete), turn a constraint's refusal into the rule it broke, and
record the change in the audit log. A course created in the panel therefore obeys exactly
the rules of one created through ``POST /api/data/courses``, and is logged the same way.

Slow preparation (hashing a new user's password) is the declaration's ``prepare``: the async
entry points run it in a worker thread before any SQL, so it never runs on the event loop
or inside ``AsyncSession.run_sync``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio.to_thread
from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import Column, delete, exists, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.db_errors import classify
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.urls import web_url_problem
from models import Role, User
from resources.declaration import Condition, Resource
from services.audit import record

Registry = Mapping[str, Resource]


def reaches(
    session: Session, resource: Resource, row_id: Any, condition: Condition, column: Any = None
) -> bool:
    """Whether row ``row_id`` (by ``column``, the primary key by default) meets ``condition``."""
    key = column if column is not None else resource.columns[resource.primary_key]
    if condition is False:
        return False
    where = [key == row_id] if condition is True else [key == row_id, condition]
    return bool(session.scalar(select(exists().where(*where))))


def not_found(resource: Resource) -> NotFound:
    return NotFound(f"{resource.title} not found")


def writable_row(session: Session, resource: Resource, user: User, row_id: Any) -> Any:
    """The row to change: 404 if the caller cannot see it, 403 if they may only read it."""
    if not reaches(session, resource, row_id, resource.read_scope(user)):
        raise not_found(resource)
    if not reaches(session, resource, row_id, resource.write_scope(user)):
        raise Forbidden()
    return session.get(resource.model, row_id)


def text_problem(value: str) -> str | None:
    """Why a text value cannot be stored: PostgreSQL refuses NUL bytes, and no name or title
    needs one."""
    return "must not contain NUL characters" if "\x00" in value else None


def url_problem(value: str) -> str | None:
    """A URL field (``*_url``) holds an absolute http(s) URL, or nothing."""
    return text_problem(value) or (web_url_problem(value) if value else None)


def _value_problem(resource: Resource, name: str, value: Any) -> str | None:
    """The rules every writer shares beyond the column's type: the data API's schemas check
    them too, the panel's forms only through here."""
    if name in resource.documents:
        try:
            _document_adapter(resource.documents[name]).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            return f"{where}: {first['msg']}" if where else str(first["msg"])
        return None
    if isinstance(value, str):
        return url_problem(value) if name.endswith("_url") else text_problem(value)
    return None


_ADAPTERS: dict[int, TypeAdapter[Any]] = {}


def _document_adapter(shape: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(id(shape))
    if adapter is None:
        adapter = _ADAPTERS[id(shape)] = TypeAdapter(shape)
    return adapter


def check_write(
    session: Session,
    resource: Resource,
    registry: Mapping[str, Resource],
    user: User,
    values: dict[str, Any],
    existing: Any | None,
) -> None:
    """The declaration's rules for ``values`` (a create when ``existing`` is None)."""
    owner = resource.owner
    if owner is not None and owner in values and user.role is not Role.ADMIN:
        raise InvalidInput("is set from the signed-in user", field=owner)
    for name, value in values.items():
        column = resource.columns.get(name)
        if column is None:
            continue
        if value is None and not column.nullable and existing is not None:
            raise InvalidInput("must not be null", field=name)
        problem = _value_problem(resource, name, value) if value is not None else None
        if problem is not None:
            raise InvalidInput(problem, field=name)
        if existing is not None and name in resource.immutable and value != getattr(existing, name):
            raise InvalidInput("cannot be changed once set", field=name)
        if value is not None and column.foreign_keys:
            _check_reference(session, resource, registry, user, name, column, value)
    if resource.validate is not None:
        resource.validate(session, values, user, existing)


def _check_reference(
    session: Session,
    resource: Resource,
    registry: Mapping[str, Resource],
    user: User,
    name: str,
    column: Column[Any],
    value: Any,
) -> None:
    """A reference must name a row that exists and that the caller reaches; the parent of a
    catalog row (a module's course, say) must be one the caller may change."""
    target = next(iter(column.foreign_keys)).column
    referenced = registry.get(target.table.name)
    condition = reference_scope(resource, name, referenced, user) if referenced else True
    if not reaches(session, resource, value, condition, column=target):
        raise InvalidInput("refers to a record that does not exist or is not yours", field=name)


def reference_scope(resource: Resource, name: str, referenced: Resource, user: User) -> Condition:
    """The rows field ``name`` may point at: a parent (what the row belongs to, fixed once
    set, or a course) must be one the user may change; any other reference one they read."""
    parent = name in resource.immutable or name == "course_id"
    return referenced.write_scope(user) if parent else referenced.read_scope(user)


def insert_row(session: Session, resource: Resource, user: User, values: dict[str, Any]) -> Any:
    """A new row, through the declaration's domain function when it names one."""
    values = dict(values)
    if resource.create_with is not None:
        return resource.create_with(session, values, user)
    if resource.owner is not None and (
        user.role is not Role.ADMIN or values.get(resource.owner) is None
    ):
        values[resource.owner] = user.user_id
    row = resource.model(**values)
    # The ORM leaves a None out of the INSERT when its column has a default: a null the
    # caller wrote (a quiz with no attempt limit) must be stored as NULL, not the default.
    for name, value in values.items():
        column = resource.columns.get(name)
        if value is None and column is not None and (column.default or column.server_default):
            setattr(row, name, null())
    session.add(row)
    session.flush()
    return row


def update_row(
    session: Session, resource: Resource, user: User, row: Any, values: dict[str, Any]
) -> None:
    if resource.update_with is not None:
        resource.update_with(session, row, values, user)
        return
    key = resource.columns[resource.primary_key]
    row_id = getattr(row, resource.primary_key)
    session.execute(
        update(resource.model)
        .where(key == row_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()


def delete_row(session: Session, resource: Resource, user: User, row: Any) -> None:
    if resource.delete_with is not None:
        resource.delete_with(session, row, user)
        return
    key = resource.columns[resource.primary_key]
    session.execute(delete(resource.model).where(key == getattr(row, resource.primary_key)))


def integrity_error(resource: Resource, error: IntegrityError, action: str) -> Exception:
    """What a constraint's refusal means for the client (409 or 400, naming the field)."""
    violation = classify(error, resource.model.__table__)
    fields = [to_camel(column) for column in violation.columns]
    first = fields[0] if fields else None
    title = resource.title.lower()
    if violation.kind == "unique":
        return Conflict(f"A {title} with this {' and '.join(fields) or 'value'} already exists")
    if violation.kind == "foreign_key" and action == "delete":
        return Conflict(f"This {title} is still referenced by other records and cannot be deleted")
    if violation.kind == "foreign_key":
        return InvalidInput("refers to a record that does not exist", field=first)
    if violation.kind == "not_null":
        return InvalidInput("is required", field=first)
    if violation.kind == "check":
        return InvalidInput(
            f"breaks the rule {violation.constraint or 'of this field'}", field=first
        )
    return Conflict("The request conflicts with existing data")


# -- the pipeline ----------------------------------------------------------------------------


def _guarded(session: Session, resource: Resource, action: str, write: Callable[[], Any]) -> Any:
    """Run a write in a savepoint; a constraint's refusal becomes the rule it broke (and the
    savepoint keeps the rest of the unit of work usable)."""
    try:
        with session.begin_nested():
            return write()
    except IntegrityError as error:
        raise integrity_error(resource, error, action) from error


def audit(
    session: Session,
    resource: Resource,
    user: User,
    action: str,
    row_id: Any,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Log a change to a row of ``resource``, its secret fields masked."""
    record(
        session,
        actor=user,
        action=action,
        table_name=resource.table_name,
        row_id=row_id,
        changes=changes,
        hidden=resource.hidden,
    )


def create_record(
    session: Session,
    resource: Resource,
    registry: Registry,
    user: User,
    values: dict[str, Any],
    *,
    as_given: Mapping[str, Any] | None = None,
) -> Any:
    """Create a row: the declaration's checks, the write, the audit entry (of the values
    ``as_given`` by the user when they were prepared: "password changed", not its hash)."""
    check_write(session, resource, registry, user, values, None)
    row = _guarded(session, resource, "create", lambda: insert_row(session, resource, user, values))
    logged = values if as_given is None else as_given
    audit(session, resource, user, "create", getattr(row, resource.primary_key), logged)
    return row


def update_record(
    session: Session,
    resource: Resource,
    registry: Registry,
    user: User,
    row_id: Any,
    values: dict[str, Any],
) -> Any:
    """Change the fields of ``values`` that differ from the row's; the changed row."""
    row = writable_row(session, resource, user, row_id)
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if changed:
        check_write(session, resource, registry, user, changed, row)
        _guarded(
            session, resource, "update", lambda: update_row(session, resource, user, row, changed)
        )
        audit(session, resource, user, "update", row_id, changed)
        session.refresh(row)
    return row


def delete_record(session: Session, resource: Resource, user: User, row_id: Any) -> None:
    row = writable_row(session, resource, user, row_id)
    _guarded(session, resource, "delete", lambda: delete_row(session, resource, user, row))
    audit(session, resource, user, "delete", row_id)


async def _prepared(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    if resource.prepare is None:
        return values
    return await anyio.to_thread.run_sync(resource.prepare, dict(values))


async def create_record_async(
    session: AsyncSession,
    resource: Resource,
    registry: Registry,
    user: User,
    values: dict[str, Any],
) -> Any:
    prepared = await _prepared(resource, values)
    return await session.run_sync(
        lambda sync: create_record(sync, resource, registry, user, prepared, as_given=values)
    )


async def update_record_async(
    session: AsyncSession,
    resource: Resource,
    registry: Registry,
    user: User,
    row_id: Any,
    values: dict[str, Any],
) -> Any:
    prepared = await _prepared(resource, values)
    return await session.run_sync(
        lambda sync: update_record(sync, resource, registry, user, row_id, prepared)
    )


async def delete_record_async(
    session: AsyncSession, resource: Resource, user: User, row_id: Any
) -> None:
    await session.run_sync(lambda sync: delete_record(sync, resource, user, row_id))
