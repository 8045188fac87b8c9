"""Panel forms built per request from a declaration and the signed-in user.

Plain columns are converted by sqladmin's own converter. References (foreign keys) are
drop-downs of the rows this user may point at, never the whole table: a module's course
lists only the instructor's own courses, a course's instructor only instructors. The same
rule (``resources.writes.reference_scope``) is checked again when the form is saved, so a
forged post cannot reach further than the drop-down.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from sqladmin.forms import ModelConverter, converts, get_model_form
from sqlalchemy import Column, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.types import TypeEngine
from wtforms import Field, Form, PasswordField, SelectField, StringField, validators
from wtforms.fields.core import UnboundField

from models import Role, User
from resources import Resource
from resources.declaration import as_clause
from resources.writes import reference_scope

if TYPE_CHECKING:
    from admin.views import ResourceView

# Drop-downs are for choosing among a user's own rows; beyond this, the list is cut.
MAX_CHOICES = 500
# A string column longer than this is prose (a description), not a line (a title).
LINE_LENGTH = 255


def is_long_text(kind: TypeEngine[Any]) -> bool:
    """Text, or a string too long for one line (``bounded_text``: VARCHAR(n) or TEXT)."""
    if isinstance(kind, Text):
        return True
    return isinstance(kind, String) and (kind.length or 0) > LINE_LENGTH


# What a checkbox sends: its value when ticked, nothing when not ("false" from scripts).
CHECKBOX_VALUES = frozenset({"y", "false"})


def _checkbox(_form: Form, field: Field) -> None:
    """A boolean is a ticked box or not, as the API takes only true or false: a forged
    ``is_active=0`` is refused, never read as "ticked"."""
    if field.raw_data and field.raw_data[0] not in CHECKBOX_VALUES:
        raise validators.ValidationError("Not a valid boolean value.")


def _enum_value(value: Any) -> Any:
    """A choice as the database stores it: an enum member's value (``"instructor"``)."""
    if isinstance(value, enum.Enum):
        return value.value
    return value if value is None else str(value)


class PanelConverter(ModelConverter):
    """sqladmin's converter, fixed so that a form saved unchanged changes nothing.

    - Enum drop-downs show the row's current value. sqladmin offers an enum column's stored
      values (``db_enum`` stores ``"instructor"``) but coerced the row's member to its *name*
      (``"INSTRUCTOR"``), so no option matched, none was selected, and the browser sent the
      first one: saving a user made them a student.
    - Long strings are text areas: a one-line ``<input>`` drops a description's line breaks.
    - A boolean takes what its checkbox sends, nothing else.
    """

    @converts("Boolean")  # type: ignore[untyped-decorator]  # sqladmin ships no types
    def conv_boolean(
        self, model: type, prop: ColumnProperty[Any], kwargs: dict[str, Any]
    ) -> UnboundField[Any]:
        if not prop.columns[0].nullable:  # a nullable one is a drop-down, not a checkbox
            kwargs.setdefault("validators", []).append(_checkbox)
        field: UnboundField[Any] = super().conv_boolean(model, prop, kwargs)
        return field

    @converts("String", "CHAR")  # type: ignore[untyped-decorator]  # sqladmin ships no types
    def conv_string(
        self, model: type, prop: ColumnProperty[Any], kwargs: dict[str, Any]
    ) -> UnboundField[Any]:
        convert = self.conv_text if is_long_text(prop.columns[0].type) else super().conv_string
        field: UnboundField[Any] = convert(model, prop, kwargs)
        return field

    @converts("Enum")  # type: ignore[untyped-decorator]  # sqladmin ships no types
    def conv_enum(
        self, model: type, prop: ColumnProperty[Any], kwargs: dict[str, Any]
    ) -> UnboundField[Any]:
        kwargs["coerce"] = _enum_value
        field: UnboundField[Any] = super().conv_enum(model, prop, kwargs)
        return field


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
                render_kw={"class": "form-control"},
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
        form_converter=PanelConverter,
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
