"""Writing a row of a declared resource: the rules every write follows, wherever it comes from.

The data API and the admin panel both call these, inside their unit of work (the API through
``AsyncSession.run_sync``), so a course created in the panel obeys exactly the rules of one
created through ``POST /api/data/courses``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Column, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db_errors import classify
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models import Role, User
from resources.declaration import Condition, Resource


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
    condition: Condition = True
    if referenced is not None:
        parent = name in resource.immutable or name == "course_id"
        condition = referenced.write_scope(user) if parent else referenced.read_scope(user)
    if not reaches(session, resource, value, condition, column=target):
        raise InvalidInput("refers to a record that does not exist or is not yours", field=name)


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


def delete_row(session: Session, resource: Resource, row_id: Any) -> None:
    key = resource.columns[resource.primary_key]
    session.execute(delete(resource.model).where(key == row_id))


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
