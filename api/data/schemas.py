"""Pydantic schemas generated from a model and its declaration.

``<Model>Read`` shows every exposed column; ``<Model>Create`` takes the writable ones
(required when the column has no default); ``<Model>Update`` takes them all optionally.
Lengths, precision and enum values come from the columns, further rules from the
declaration's ``field_rules`` (mirroring CHECK constraints), so bad input is a 400 that
names the field, not a database error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, Numeric, String
from sqlalchemy import Enum as SAEnum

from api.schemas.base import CamelModel
from models import Role
from resources import Resource
from resources.writes import text_problem, url_problem

T = TypeVar("T")


class Page(CamelModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPage(CamelModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


class Count(CamelModel):
    count: int


class Deleted(CamelModel):
    message: str


def _python_type(column: Column[Any], *, reading: bool) -> Any:
    kind = column.type
    # Type decorators (UTCDateTime) are described by what they store.
    kind = getattr(kind, "impl", kind) if not isinstance(kind, SAEnum) else kind
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        return kind.enum_class
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Integer):
        return int
    if isinstance(kind, Numeric):
        # Amounts read as JSON numbers (the contract shows 49.99), and are written as exact
        # decimals with the column's precision.
        return float if reading else Decimal
    if isinstance(kind, DateTime):
        return datetime
    if isinstance(kind, String):
        return str
    if isinstance(kind, JSON):
        return Any
    return Any


def _no_bool(value: Any) -> Any:
    # JSON's true is not the number 1: an amount or a count given as a boolean is a mistake.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _checked(check: Any) -> Any:
    def validate(value: str) -> str:
        problem = check(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def _written(resource: Resource) -> bool:
    return any(resource.allows(role, op) for role in Role for op in ("create", "update"))


def _input_type(column: Column[Any], resource: Resource, name: str) -> Any:
    """What a client may send for a column: strict numbers and booleans (no "1" for true, no
    true for 1), text without NUL bytes, http(s) URLs in URL fields, JSON documents of their
    declared shape only."""
    if name in resource.documents:
        return resource.documents[name]
    kind = _python_type(column, reading=False)
    if kind is bool:
        return Annotated[bool, Strict()]
    if kind is int:
        return Annotated[int, Strict()]
    if kind is Decimal:
        return Annotated[Decimal, BeforeValidator(_no_bool)]
    if kind is str:
        check = url_problem if name.endswith("_url") else text_problem
        return Annotated[str, _checked(check)]
    if kind is Any and _written(resource):
        raise TypeError(
            f"{resource.model.__name__}.{name}: a JSON column clients write needs its shape "
            "in the declaration's documents"
        )
    return kind


def _constraints(column: Column[Any], resource: Resource, name: str) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    kind = column.type
    if isinstance(kind, String) and not isinstance(kind, SAEnum) and kind.length:
        rules["max_length"] = kind.length
    if isinstance(kind, Numeric) and kind.precision is not None:
        rules["max_digits"] = kind.precision
        rules["decimal_places"] = kind.scale
    if isinstance(kind, Integer):
        # 32-bit integer columns on every database.
        rules |= {"ge": -(2**31), "le": 2**31 - 1}
    return rules | dict(resource.field_rules.get(name, {}))


def _has_default(column: Column[Any]) -> bool:
    return column.nullable or column.default is not None or column.server_default is not None


_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


@dataclass(frozen=True)
class ResourceSchemas:
    read: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]


@cache
def schemas_for(resource: Resource) -> ResourceSchemas:
    name = resource.model.__name__
    read_fields: dict[str, Any] = {}
    for field_name in resource.exposed:
        column = resource.columns[field_name]
        kind = _python_type(column, reading=True)
        read_fields[field_name] = (kind | None if column.nullable else kind, ...)
    create_fields: dict[str, Any] = {}
    update_fields: dict[str, Any] = {}
    for field_name in resource.writable:
        column = resource.columns[field_name]
        kind = _input_type(column, resource, field_name)
        rules = _constraints(column, resource, field_name)
        optional = kind | None if column.nullable else kind
        # The owner is set from the caller unless an admin names it, derived fields by the
        # domain: neither is required.
        optional_input = field_name == resource.owner or field_name in resource.derived
        default: Any = None if _has_default(column) or optional_input else ...
        create_fields[field_name] = (
            optional | None if default is None else optional,
            Field(default, **rules),
        )
        if field_name not in resource.immutable:
            update_fields[field_name] = (kind | None, Field(None, **rules))
    create_fields |= dict(resource.extra_create_fields)
    return ResourceSchemas(
        read=create_model(
            f"{name}Read",
            __config__=ConfigDict(alias_generator=to_camel, populate_by_name=True),
            **read_fields,
        ),
        create=create_model(f"{name}Create", __config__=_CONFIG, **create_fields),
        update=create_model(f"{name}Update", __config__=_CONFIG, **update_fields),
    )


def is_text(column: Column[Any]) -> bool:
    return isinstance(column.type, String) and not isinstance(column.type, SAEnum)


def value_type(column: Column[Any]) -> Any:
    """The Python type a filter value on this column is parsed into."""
    kind = _python_type(column, reading=False)
    return str if kind is Any else kind
