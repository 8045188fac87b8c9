"""Routes generated from the declarations: list, count, read, create, update, delete.

fastcrud runs the reads (lists, counts, single rows) under a per-request ``PolicyConfig``
built from the declaration and the caller, so every query (and every filter, sort and id the
caller sends) is confined to the rows that caller reaches. Writes go through the write
pipeline the admin panel uses too (``resources.writes``): the declaration's checks, the
declared domain function, constraint errors mapped to 4xx, and an audit log entry.

This module deliberately has no ``from __future__ import annotations``: FastAPI reads the
handlers' annotations at runtime, and they name schemas generated per resource.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastcrud import FastCRUD
from fastcrud.core.config.policy_configs import PolicyConfig
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import OptionalUser
from api.data.query import CUSTOM_FILTERS, encode_cursor, operators_for, parse_list_query
from api.data.schemas import Count, CursorPage, Deleted, Page, schemas_for
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import RowId
from core.errors import Forbidden, InvalidInput, Unauthorized
from models import Role, User
from resources import Operation, Resource
from resources.writes import (
    create_record_async,
    delete_record_async,
    not_found,
    update_record_async,
)


def _camel(name: str) -> str:
    return to_camel(name)


class ResourceRoutes:
    def __init__(self, resource: Resource, registry: dict[str, Resource]) -> None:
        self.resource = resource
        self.registry = registry
        self.schemas = schemas_for(resource)
        self.crud: FastCRUD[Any, Any, Any, Any, Any, Any] = FastCRUD(
            resource.model, custom_filters=CUSTOM_FILTERS
        )
        self.pk = resource.primary_key
        self.pk_column = resource.columns[self.pk]

    # -- who may do what ------------------------------------------------------------------

    def requires(self, operation: Operation) -> Any:
        """A dependency: the caller, allowed to perform ``operation`` (401/403 otherwise).

        As a dependency it runs before the body is validated, so a caller without the
        right learns nothing about what a valid body would be.
        """

        async def dependency(user: OptionalUser) -> User:
            if user is None:
                raise Unauthorized()
            if not self.resource.allows(user.role, operation):
                raise Forbidden()
            return user

        return Depends(dependency)

    def policy(self, user: User) -> PolicyConfig:
        """fastcrud's reach for the reads: the caller's rows, never a hidden column. It makes
        no write (those go through ``resources.writes``), so it is given no write scope."""
        return PolicyConfig(
            read=self.resource.read_scope(user), hidden_columns=self.resource.hidden
        )

    async def read_row(self, session: AsyncSession, user: User, item_id: int) -> BaseModel:
        crud = self.crud.with_policy(self.policy(user))
        row = await crud.get(
            session, schema_to_select=self.schemas.read, where=self.pk_column == item_id
        )
        if row is None:
            raise not_found(self.resource)
        return self.schemas.read.model_validate(row)

    # -- handlers -------------------------------------------------------------------------

    def handlers(self) -> dict[str, Callable[..., Any]]:
        read_schema = self.schemas.read
        create_schema = self.schemas.create
        update_schema = self.schemas.update
        resource = self.resource

        async def list_items(
            request: Request,
            session: SessionDep,
            state: StateDep,
            actor: Annotated[User, self.requires("list")],
        ) -> Any:
            query = parse_list_query(resource, request.query_params, state.settings.api)
            crud = self.crud.with_policy(self.policy(actor))
            if query.cursor_mode:
                result = await crud.get_multi_by_cursor(
                    session,
                    cursor=query.cursor,
                    limit=query.limit + 1,
                    schema_to_select=read_schema,
                    sort_column=self.pk,
                    sort_order="asc",
                    **query.filters,
                )
                rows = result["data"]
                more = len(rows) > query.limit
                rows = rows[: query.limit]
                next_cursor = encode_cursor(rows[-1][self.pk]) if more and rows else None
                items = [read_schema.model_validate(row) for row in rows]
                return ok(CursorPage[read_schema](items=items, next_cursor=next_cursor))
            result = await crud.get_multi(
                session,
                offset=query.offset,
                limit=query.limit,
                schema_to_select=read_schema,
                sort_columns=query.sort_columns,
                sort_orders=query.sort_orders,
                return_total_count=True,
                **query.filters,
            )
            items = [read_schema.model_validate(row) for row in result["data"]]
            page = Page[read_schema](
                items=items, total=result["total_count"], limit=query.limit, offset=query.offset
            )
            return ok(page)

        async def count_items(
            request: Request,
            session: SessionDep,
            state: StateDep,
            actor: Annotated[User, self.requires("list")],
        ) -> Any:
            query = parse_list_query(resource, request.query_params, state.settings.api)
            crud = self.crud.with_policy(self.policy(actor))
            return ok(Count(count=await crud.count(session, **query.filters)))

        async def read_item(
            item_id: RowId, session: SessionDep, actor: Annotated[User, self.requires("read")]
        ) -> Any:
            return ok(await self.read_row(session, actor, item_id))

        async def create_item(
            body: Annotated[create_schema, Body()],
            session: SessionDep,
            actor: Annotated[User, self.requires("create")],
        ) -> Any:
            values = body.model_dump(exclude_unset=True)
            row = await create_record_async(session, resource, self.registry, actor, values)
            return ok(await self.read_row(session, actor, getattr(row, self.pk)))

        async def update_item(
            item_id: RowId,
            body: Annotated[update_schema, Body()],
            session: SessionDep,
            actor: Annotated[User, self.requires("update")],
        ) -> Any:
            values = body.model_dump(exclude_unset=True)
            if not values:
                raise InvalidInput("give at least one field to change", field="body")
            await update_record_async(session, resource, self.registry, actor, item_id, values)
            return ok(await self.read_row(session, actor, item_id))

        async def delete_item(
            item_id: RowId, session: SessionDep, actor: Annotated[User, self.requires("delete")]
        ) -> Any:
            await delete_record_async(session, resource, actor, item_id)
            return ok(Deleted(message=f"{resource.title} deleted"))

        return {
            "list": list_items,
            "count": count_items,
            "read": read_item,
            "create": create_item,
            "update": update_item,
            "delete": delete_item,
        }

    # -- documentation --------------------------------------------------------------------

    def paging_parameters(self) -> list[dict[str, Any]]:
        """The list's own query parameters: page size, offset, sort order and cursor."""
        resource = self.resource
        return [
            _param("limit", "integer", "Page size (default 20, at most 100)"),
            _param("offset", "integer", "Rows to skip"),
            _param(
                "sort",
                "string",
                "Comma-separated fields, `-` for descending, e.g. "
                f"`-{_camel(next(iter(sorted(resource.sort_fields))))}`: "
                + ", ".join(sorted(_camel(n) for n in resource.sort_fields)),
            ),
            _param("cursor", "string", "Keyset paging: empty to start, then `nextCursor`"),
        ]

    def filter_parameters(self) -> list[dict[str, Any]]:
        """One query parameter per filterable field: the list's and the count's."""
        resource = self.resource
        parameters = []
        for name in sorted(resource.filter_fields):
            others = sorted(operators_for(resource.columns[name]) - {"eq"})
            if not others:
                continue
            alias = _camel(name)
            also = ", ".join(f"`{alias}__{operator}`" for operator in others)
            parameters.append(
                _param(alias, "string", f"Equals. Also {also} (`__in`: comma-separated)")
            )
        return parameters


def _param(name: str, kind: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind},
        "description": description,
    }


_WRITES: dict[str, Operation] = {"create": "create", "update": "update", "delete": "delete"}


def _plural(resource: Resource) -> str:
    return resource.path.replace("-", " ")


def build_data_router(resources: Sequence[Resource]) -> APIRouter:
    """The /api/data routes of ``resources``: one declaration, one complete resource."""
    router = APIRouter(prefix="/api/data")
    registry = {resource.table_name: resource for resource in resources}
    for resource in resources:
        routes = ResourceRoutes(resource, registry)
        handlers = routes.handlers()
        read = routes.schemas.read
        base = f"/{resource.path}"
        item = f"{base}/{{item_id}}"
        title = resource.title.lower()
        plural = _plural(resource)
        paging, filters = routes.paging_parameters(), routes.filter_parameters()
        # (operation, path, method, status, response model, summary, errors, query parameters)
        table: list[tuple[str, str, str, int, Any, str, tuple[int, ...], list[Any] | None]] = [
            (
                "list",
                base,
                "GET",
                200,
                Envelope[Page[read] | CursorPage[read]],
                f"List {plural}",
                (400, 401, 403),
                paging + filters,
            ),
            (
                "count",
                f"{base}/count",
                "GET",
                200,
                Envelope[Count],
                f"Count {plural}",
                (400, 401, 403),
                filters,
            ),
            ("read", item, "GET", 200, Envelope[read], f"Read a {title}", (401, 403, 404), None),
            (
                "create",
                base,
                "POST",
                201,
                Envelope[read],
                f"Create a {title}",
                (400, 401, 403, 409),
                None,
            ),
            (
                "update",
                item,
                "PATCH",
                200,
                Envelope[read],
                f"Change a {title}",
                (400, 401, 403, 404, 409),
                None,
            ),
            (
                "delete",
                item,
                "DELETE",
                200,
                Envelope[Deleted],
                f"Delete a {title}",
                (401, 403, 404, 409),
                None,
            ),
        ]
        for operation, path, method, status, model, summary, errors, parameters in table:
            # Writes nobody may perform get no route at all (405): workflow tables.
            if operation in _WRITES and not any(
                resource.allows(role, _WRITES[operation]) for role in Role
            ):
                continue
            router.add_api_route(
                path,
                handlers[operation],
                methods=[method],
                tags=[f"data: {resource.path}"],
                status_code=status,
                response_model=model,
                summary=summary,
                responses=error_responses(*errors),
                openapi_extra={"parameters": parameters} if parameters is not None else None,
                operation_id=f"{operation}_{resource.table_name}",
            )
    return router
