"""Panel forms built per request from a declaration and the signed-in user.

Plain columns are converted by sqladmin's own converter. References (foreign keys) are
drop-downs of the rows this user may point at, never the whole table: a module's course
lists only the instructor's own courses, a course's instructor only instructors. The same
rule (``resources.writes.reference_scope``) is checked again when the form is saved, so a
forged post cannot reach further than the drop-down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqladmin.forms import get_model_form
from sqlalchemy import Column, select
from sqlalchemy.ext.asyncio import AsyncSession
from wtforms import Form, PasswordField, SelectField, StringField, validators

from models import Role, User
from resources import Resource
from resources.declaration import as_clause
from resources.writes import reference_scope

if TYPE_CHECKING:
    from admin.views import ResourceView

# Drop-downs are for choosing among a user's own rows; beyond this, the list is cut.
MAX_CHOICES = 500


def form_fields(resource: Resource, user: User, *, editing: bool) -> list[str]:
    """The columns a user fills in: writable ones, not the owner unless an admin, and the
    fixed-at-creation ones only when creating."""
    names = []
    for name in resource.writable:
        if name == resource.owner and user.role is not Role.ADMIN:
            continue
        if editing and name in resource.immutable:
            continue
        names.append(name)
    return names


def _coerce_id(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


async def _choices(
    session: AsyncSession, view: ResourceView, user: User, name: str, column: Column[Any]
) -> list[tuple[str, str]]:
    resource = view.resource
    target = next(iter(column.foreign_keys)).column
    referenced = view.registry.get(target.table.name)
    model: Any = referenced.model if referenced is not None else None
    if referenced is None or model is None:
        return []
    # The same reach as the save-time check, never beyond what the user reaches in the panel.
    scope = reference_scope(resource, name, referenced, user)
    statement = select(model).where(as_clause(scope), as_clause(referenced.panel_scope(user)))
    if name == resource.owner:
        statement = statement.where(User.role.in_((Role.INSTRUCTOR, Role.ADMIN)))
    statement = statement.order_by(target.desc()).limit(MAX_CHOICES)
    rows = (await session.scalars(statement)).all()
    return [(str(getattr(row, target.key)), str(row)) for row in rows]


async def build_form(view: ResourceView, user: User, *, editing: bool) -> type[Form]:
    resource = view.resource
    names = form_fields(resource, user, editing=editing)
    references = [name for name in names if resource.columns[name].foreign_keys]
    labels = dict(view._column_labels)
    # References first: they say what the row belongs to (a module's course).
    reference_fields: dict[str, Any] = {}
    async with view.sessions() as session:
        for name in references:
            column = resource.columns[name]
            required = not column.nullable and name != resource.owner
            reference_fields[name] = SelectField(
                labels.get(name, name),
                choices=[("", "—")] + await _choices(session, view, user, name, column),
                coerce=_coerce_id,
                validators=[validators.InputRequired() if required else validators.Optional()],
            )
    if not editing and "password" in resource.extra_create_fields:
        reference_fields["password"] = PasswordField(
            "Password",
            description="Leave empty to let the user choose one through a reset email.",
            validators=[validators.Optional(), validators.Length(min=8, max=128)],
        )
    base = type(f"{resource.model.__name__}References", (Form,), reference_fields)
    plain = [name for name in names if name not in references]
    form: type[Form] = await get_model_form(
        model=resource.model,
        session_maker=view.sessions,
        only=plain,
        column_labels=labels,
        form_class=base,
    )
    # Filled in by the domain when left empty (a username from the email): optional here,
    # whatever the column says.
    for name in resource.derived & set(plain):
        setattr(
            form,
            name,
            StringField(
                labels.get(name, name),
                description="Leave empty to have one made for you.",
                validators=[validators.Optional()],
            ),
        )
    return form
