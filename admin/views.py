"""One panel view per declared model, generated from its declaration.

The declaration gives the labels, the columns listed and shown, the searchable, sortable
and filterable ones, and what each role may do to which rows. Every way sqladmin reaches a
row is scoped to the signed-in user: the list (and its count and export), the details page,
the edit page and the delete (``details_query``, ``form_edit_query``, ``check_can_*``); the
forms offer only the rows the user may refer to, and relationship drop-downs are never
built from the whole table (``form_ajax_refs`` is empty). Writes go through the data API's
write pipeline (``resources.writes``): the same checks, domain functions and audit entry.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, cast

from pydantic import ValidationError
from sqladmin import ModelView
from sqladmin.authorization import custom_action
from sqladmin.filters import BooleanFilter, StaticValuesFilter
from sqladmin.helpers import Writer, secure_filename, stream_to_csv
from sqladmin.models import ModelViewMeta
from sqlalchemy import JSON, Boolean, Select, String, func, select
from sqlalchemy import Enum as SAEnum
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.responses import StreamingResponse
from wtforms import Form

from admin.auth import OPERATIONS, current_request, panel_user
from admin.forms import build_form, is_long_text
from api.data.schemas import schemas_for
from api.errors import problem_message
from api.state import AppState
from core.database import async_unit_of_work
from core.errors import DomainError
from models import Role, User
from resources import Resource
from resources.declaration import Operation, as_clause
from resources.writes import (
    audit,
    create_record_async,
    delete_record_async,
    reaches,
    update_record_async,
)

# A spreadsheet opening a CSV runs a cell starting with one of these as a formula
# (=HYPERLINK(...) exfiltrates, =cmd|... runs). OWASP's "CSV injection" advice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV export cell, never a formula: text that a spreadsheet would run is
    prefixed with a quote, which makes it text. Leading blanks are looked through too
    (Excel ignores leading spaces before "=", and some importers trim cells). Numbers and
    dates are not text and stay as they are, negative numbers included."""
    cell = str(value)
    if isinstance(value, str) and cell.lstrip(" \n").startswith(FORMULA_STARTS):
        return f"'{cell}"
    return cell


class PanelError(Exception):
    """A refusal shown to the panel user on the form (sqladmin displays ``str()``)."""


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem_message(problem)}"
        for problem in error.errors()
    )


class ResourceView(ModelView):
    """The base of every generated view; its class attributes are set per generated view, so
    two apps in one process (tests) never share one."""

    resource: ClassVar[Resource]
    registry: ClassVar[Mapping[str, Resource]]
    state: ClassVar[AppState]
    sessions: ClassVar[async_sessionmaker[AsyncSession]]
    # Custom actions (``@action`` slugs) and the roles that may run them.
    action_roles: ClassVar[Mapping[str, frozenset[Role]]] = {}

    can_import = False
    page_size = 25
    form_ajax_refs: ClassVar[dict[str, Any]] = {}

    # -- who may do what ------------------------------------------------------------------

    def permits(self, role: Role, action: str) -> bool:
        if not self.resource.in_panel(role):
            return False
        for slug, roles in self.action_roles.items():
            if action == custom_action(slug):
                return role in roles
        operation = OPERATIONS.get(action)
        return operation is not None and self.resource.allows(role, operation)

    def reach(self, request: Request) -> ColumnElement[bool]:
        return as_clause(self.resource.panel_scope(panel_user(request)))

    def list_query(self, request: Request) -> Select[Any]:
        return select(self.model).where(self.reach(request))

    def count_query(self, request: Request) -> Select[Any]:
        return (
            select(func.count(self.pk_columns[0]))
            .select_from(self.model)
            .where(self.reach(request))
        )

    def details_query(self, request: Request) -> Select[Any]:
        return super().details_query(request).where(self.reach(request))

    def form_edit_query(self, request: Request) -> Select[Any]:
        user = panel_user(request)
        return (
            super()
            .form_edit_query(request)
            .where(self.reach(request), as_clause(self.resource.write_scope(user)))
        )

    async def _writable(self, request: Request, row: Any) -> bool:
        user = panel_user(request)
        resource = self.resource
        row_id = getattr(row, resource.primary_key)
        async with self.sessions() as session:
            return await session.run_sync(
                lambda sync: reaches(sync, resource, row_id, resource.write_scope(user))
            )

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        return model is not None and await super().check_can_view_details(request, model)

    async def check_can_edit(self, request: Request, model: Any) -> bool:
        return (
            model is not None
            and await super().check_can_edit(request, model)
            and await self._writable(request, model)
        )

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        return (
            model is not None
            and await super().check_can_delete(request, model)
            and await self._writable(request, model)
        )

    # -- forms ----------------------------------------------------------------------------

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        request = current_request.get()
        if request is None:  # sqladmin builds no form outside a signed-in request
            raise PanelError("No signed-in request")
        editing = "pk" in request.path_params
        return await build_form(self, panel_user(request), editing=editing)

    def form_values(self, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """The form's values, checked by the data API's schema for the same operation."""
        resource = self.resource
        schemas = schemas_for(resource)
        schema = schemas.create if creating else schemas.update
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in schema.model_fields:
                continue
            column = resource.columns.get(name)
            if value in ("", None) and (name in resource.derived or name == resource.owner):
                continue  # left to the domain: a username from the email, the owner
            if value == "" and (column is None or column.nullable):
                value = None
            if isinstance(value, str):
                # Browsers send a text area's line breaks as CR LF: without this, saving a
                # form unchanged would rewrite every multi-line text.
                value = value.replace("\r\n", "\n")
            values[name] = value
        try:
            checked = schema.model_validate(values)
        except ValidationError as exc:
            raise PanelError(describe(exc)) from exc
        return checked.model_dump(exclude_unset=True)

    # -- exports --------------------------------------------------------------------------

    async def export_data(
        self, data: list[Any], export_type: str = "csv", request: Request | None = None
    ) -> StreamingResponse:
        """Every view's CSV export, its text cells neutralised (``csv_cell``). JSON is data,
        not a spreadsheet: it is exported as stored."""
        if export_type != "csv":
            return await super().export_data(data, export_type=export_type, request=request)
        names = list(self._export_prop_names)

        async def rows(writer: Writer) -> AsyncGenerator[Any, None]:
            yield writer.writerow(names)
            for row in data:
                yield writer.writerow(
                    [csv_cell(await self.get_prop_value(row, name)) for name in names]
                )

        filename = secure_filename(self.get_export_name(export_type="csv"))
        return StreamingResponse(
            content=stream_to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment;filename={filename}"},
        )

    # -- writes: the data API's pipeline, one transaction, one audit entry ------------------

    async def write(
        self, request: Request, work: Callable[[AsyncSession, User], Awaitable[Any]]
    ) -> Any:
        """Run ``work`` in one unit of work; a refusal is shown on the page."""
        user = panel_user(request)
        try:
            async with async_unit_of_work(self.sessions) as session:
                return await work(session, user)
        except DomainError as exc:
            raise PanelError(str(exc)) from exc

    async def in_transaction(self, request: Request, work: Callable[[Session, User], Any]) -> Any:
        """Run the domain function ``work`` (sync) in one unit of work (the panel's actions)."""
        return await self.write(
            request, lambda session, user: session.run_sync(lambda sync: work(sync, user))
        )

    def audit(
        self, session: Session, user: User, action: str, row_id: Any, changes: dict[str, Any]
    ) -> None:
        audit(session, self.resource, user, action, row_id, changes)

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        values = self.form_values(data, creating=True)
        resource, registry = self.resource, self.registry
        return await self.write(
            request,
            lambda session, user: create_record_async(session, resource, registry, user, values),
        )

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        values = self.form_values(data, creating=False)
        resource, registry = self.resource, self.registry
        return await self.write(
            request,
            lambda session, user: update_record_async(
                session, resource, registry, user, int(pk), values
            ),
        )

    async def delete_model(self, request: Request, pk: Any) -> None:
        resource = self.resource
        await self.write(
            request, lambda session, user: delete_record_async(session, resource, user, int(pk))
        )


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize().replace(" id", " ID").replace("url", "URL")


def _listed(resource: Resource) -> list[str]:
    """List pages show the short columns; long text and documents are on the details page."""
    return [
        name
        for name in resource.exposed
        if not is_long_text(resource.columns[name].type)
        and not isinstance(resource.columns[name].type, JSON)
    ]


def _filters(resource: Resource) -> list[Any]:
    filters: list[Any] = []
    for name in sorted(resource.filter_fields):
        column = getattr(resource.model, name)
        kind = resource.columns[name].type
        if isinstance(kind, Boolean):
            filters.append(BooleanFilter(column, title=_humanize(name)))
        elif isinstance(kind, SAEnum) and kind.enum_class is not None:
            values = [(member.value, str(member.value).title()) for member in kind.enum_class]
            filters.append(StaticValuesFilter(column, values=values, title=_humanize(name)))
    return filters


def view_for(
    resource: Resource,
    *,
    registry: Mapping[str, Resource],
    state: AppState,
    base: type[ResourceView] = ResourceView,
) -> type[ResourceView]:
    """A view class for ``resource`` (``base`` carries a model's actions, when it has any)."""
    searchable = [
        name
        for name in sorted(resource.filter_fields)
        if isinstance(resource.columns[name].type, String)
        and not isinstance(resource.columns[name].type, SAEnum)
    ]
    operations: dict[str, Operation] = {"create": "create", "edit": "update", "delete": "delete"}
    attributes: dict[str, Any] = {
        "resource": resource,
        "registry": registry,
        "state": state,
        "sessions": state.sessions,
        "name": resource.title,
        "name_plural": _plural(resource.title),
        "identity": resource.path,
        "column_list": _listed(resource),
        "column_details_list": list(resource.exposed),
        "column_export_list": list(resource.exposed),
        "column_labels": {name: _humanize(name) for name in resource.exposed},
        "column_searchable_list": searchable,
        "column_sortable_list": sorted(resource.sort_fields),
        "column_filters": _filters(resource),
        "column_default_sort": [(resource.primary_key, True)],
        "form_columns": list(resource.writable),
    }
    for flag, operation in operations.items():
        # A per-model override may switch an operation off (media is uploaded, not edited).
        attributes[f"can_{flag}"] = getattr(base, f"can_{flag}") and any(
            resource.in_panel(role) and resource.allows(role, operation) for role in Role
        )
    name = f"{resource.model.__name__}View"
    view = cast(type[ResourceView], ModelViewMeta(name, (base,), attributes, model=resource.model))
    # The metaclass names the view after the model; the panel's URLs use the API's names.
    view.identity = resource.path
    return view


def _plural(title: str) -> str:
    if title.endswith("y") and not title.endswith(("ay", "ey", "oy")):
        return f"{title[:-1]}ies"
    if title.endswith(("s", "x")):
        return f"{title}es"
    if title.endswith("z"):
        return f"{title}zes"  # Quiz, Quizzes
    return f"{title}s"


__all__ = ["PanelError", "ResourceView", "view_for"]
