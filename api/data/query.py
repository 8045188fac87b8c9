"""The list query language of the data API (a contract with the frontend):

- filters: ``?courseId=3``, ``?price__lte=100``, ``?title__icontains=python``,
  ``?category__in=Design,Programming`` (camelCase field, optional ``__operator``);
- sorting: ``?sort=-rating,title`` (``-`` for descending);
- paging: ``?limit=20&offset=40``, or ``?cursor=`` (empty to start) for keyset paging.

Only declared fields may be filtered or sorted on; anything else is a 400 naming the
parameter, and nothing from the query string reaches SQL unchecked.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import Column
from starlette.datastructures import QueryParams

from api.data.schemas import is_text, value_type
from api.schemas.base import INT32_MAX
from core.errors import InvalidInput
from core.settings import ApiSettings
from core.sql import contains
from resources import Resource
from resources.writes import text_problem

PAGING = frozenset({"limit", "offset", "sort", "cursor"})
OPERATORS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "icontains"})
EQUALITY = frozenset({"eq", "ne", "in"})
ORDERED = EQUALITY | {"lt", "lte", "gt", "gte"}
TEXT = ORDERED | {"contains", "icontains"}


# fastcrud's own "contains" does not escape LIKE wildcards: a search for "100%" must not
# match everything. These replace it, and add the case-insensitive variant.
CUSTOM_FILTERS: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    "contains": lambda column: lambda value: contains(column, value),
    "icontains": lambda column: lambda value: contains(column, value, ignore_case=True),
}


@dataclass
class ListQuery:
    filters: dict[str, Any] = field(default_factory=dict)
    sort_columns: list[str] = field(default_factory=list)
    sort_orders: list[str] = field(default_factory=list)
    limit: int = 20
    offset: int = 0
    cursor: Any = None
    cursor_mode: bool = False


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([value]).encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> Any:
    if not raw:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("is not a cursor this API issued", parameter="cursor") from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != 1
        or not isinstance(decoded[0], int)
        or abs(decoded[0]) > INT32_MAX
    ):
        raise InvalidInput("is not a cursor this API issued", parameter="cursor")
    return decoded[0]


def _by_alias(names: frozenset[str]) -> dict[str, str]:
    return {to_camel(name): name for name in names}


def _parse_value(column: Column[Any], raw: str, parameter: str) -> Any:
    # The rule the writes keep: no stored text has a NUL, and PostgreSQL refuses one in a
    # comparison as it does in a row.
    problem = text_problem(raw)
    if problem is not None:
        raise InvalidInput(problem, parameter=parameter)
    kind = value_type(column)
    try:
        value = TypeAdapter(kind).validate_python(raw) if kind is not str else raw
    except ValidationError as exc:
        message = exc.errors()[0].get("msg", "invalid value")
        raise InvalidInput(f"invalid value {raw!r}: {message}", parameter=parameter) from exc
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT32_MAX:
        raise InvalidInput(f"{raw!r} is out of range", parameter=parameter)
    return value


def operators_for(column: Column[Any]) -> frozenset[str]:
    """The operators a column's type supports: booleans and enums compare for equality only,
    numbers and dates also order, text also matches parts; JSON documents are not filtered."""
    if is_text(column):
        return TEXT
    kind = value_type(column)
    if kind is bool or (isinstance(kind, type) and issubclass(kind, Enum)):
        return EQUALITY
    if kind in (int, Decimal, datetime):
        return ORDERED
    return frozenset()


def _parse_int(raw: str | None, name: str, *, minimum: int) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput("must be a whole number", parameter=name) from exc
    if value < minimum:
        raise InvalidInput(f"must be at least {minimum}", parameter=name)
    if value > INT32_MAX:
        raise InvalidInput(f"must be at most {INT32_MAX}", parameter=name)
    return value


def _parse_filter(
    resource: Resource, parameter: str, raw: str, filterable: dict[str, str]
) -> tuple[str, Any]:
    alias, _, operator = parameter.partition("__")
    operator = operator or "eq"
    name = filterable.get(alias)
    if name is None:
        raise InvalidInput("is not a field this list can be filtered on", parameter=parameter)
    if operator not in OPERATORS:
        raise InvalidInput(
            f"unknown operator {operator!r}; use one of {', '.join(sorted(OPERATORS))}",
            parameter=parameter,
        )
    column = resource.columns[name]
    allowed = operators_for(column)
    if operator not in allowed:
        raise InvalidInput(
            f"{operator} does not apply to this field; use one of {', '.join(sorted(allowed))}"
            if allowed
            else "this field cannot be filtered on",
            parameter=parameter,
        )
    if operator == "in":
        values = [_parse_value(column, part.strip(), parameter) for part in raw.split(",")]
        return f"{name}__in", values
    value = _parse_value(column, raw, parameter)
    return (name if operator == "eq" else f"{name}__{operator}"), value


def _parse_sort(resource: Resource, raw: str) -> tuple[list[str], list[str]]:
    sortable = _by_alias(resource.sort_fields)
    columns: list[str] = []
    orders: list[str] = []
    for part in (piece.strip() for piece in raw.split(",")):
        descending = part.startswith("-")
        name = sortable.get(part.lstrip("-+"))
        if name is None:
            raise InvalidInput(f"cannot sort on {part.lstrip('-+')!r}", parameter="sort")
        if name in columns:
            raise InvalidInput(f"{part.lstrip('-+')!r} is given twice", parameter="sort")
        columns.append(name)
        orders.append("desc" if descending else "asc")
    return columns, orders


def parse_list_query(resource: Resource, params: QueryParams, api: ApiSettings) -> ListQuery:
    query = ListQuery()
    filterable = _by_alias(resource.filter_fields)
    seen: set[str] = set()
    for parameter, raw in params.multi_items():
        if parameter in seen:
            raise InvalidInput("is given more than once", parameter=parameter)
        seen.add(parameter)
        if parameter in PAGING:
            continue
        key, value = _parse_filter(resource, parameter, raw, filterable)
        query.filters[key] = value
    query.limit = api.page_size(_parse_int(params.get("limit"), "limit", minimum=1))
    query.offset = _parse_int(params.get("offset"), "offset", minimum=0) or 0
    if "cursor" in params:
        if "sort" in params or "offset" in params:
            raise InvalidInput(
                "cursor paging follows the key order; drop sort and offset", parameter="cursor"
            )
        query.cursor_mode = True
        query.cursor = _decode_cursor(params["cursor"])
    elif params.get("sort"):
        query.sort_columns, query.sort_orders = _parse_sort(resource, params["sort"])
    # The key last, so pages are stable when the sort fields tie.
    if not query.cursor_mode and resource.primary_key not in query.sort_columns:
        query.sort_columns.append(resource.primary_key)
        query.sort_orders.append("asc")
    return query
