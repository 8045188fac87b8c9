"""The panel's editable views and rows made awkward to edit, for the edit-form tests (over
the test client in tests/admin, through Chromium in tests/browser)."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Numeric, String, Text, func, select
from sqlalchemy.orm import Session

from admin.overrides import OVERRIDES
from admin.views import ResourceView
from models import AuditEntry, Role
from resources import Resource
from resources.registry import RESOURCES
from tests.world import World

MULTILINE = "First line.\nSecond line.\n\nA paragraph after a blank line."


def editable(resource: Resource) -> bool:
    view = OVERRIDES.get(resource.model, ResourceView)
    return view.can_edit and any(
        resource.in_panel(role) and resource.allows(role, "update") for role in Role
    )


# Every view whose rows the panel edits, by its URL name.
EDITABLE = {resource.path: resource for resource in RESOURCES if editable(resource)}


def awkward_row(session: Session, world: World, resource: Resource) -> Any:
    """instructor_x's row of ``resource``, every form field at a value that is easy to lose:
    drop-downs not at their first choice, nullable columns NULL, a price with a trailing
    zero, texts (descriptions, messages: long strings) over several lines."""
    table = resource.table_name
    row_id = world.users["instructor_x"] if table == "users" else world.rows[table]["instructor_x"]
    row = session.get(resource.model, row_id)
    for name in resource.writable:
        column = resource.columns[name]
        kind = column.type
        if isinstance(kind, SAEnum) and kind.enum_class is not None:
            members: list[enum.Enum] = list(kind.enum_class)
            # Not the first choice; for users, still a panel user (an instructor).
            setattr(row, name, members[1] if table == "users" else members[-1])
        elif column.foreign_keys:
            continue  # a reference keeps its row: not the drop-down's first choice either
        elif column.nullable:
            setattr(row, name, None)
        elif isinstance(kind, Numeric):
            setattr(row, name, Decimal("19.90"))
        elif isinstance(kind, Text) or (isinstance(kind, String) and (kind.length or 0) > 255):
            setattr(row, name, MULTILINE)
    session.commit()
    return row


def snapshot(session: Session, resource: Resource, row_id: Any) -> dict[str, Any]:
    """Every column of the row, as stored now."""
    session.expire_all()
    fresh = session.get(resource.model, row_id)
    return {name: getattr(fresh, name) for name in resource.columns}


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def stored(value: Any) -> str:
    """A value as a form field holds it."""
    return value.value if isinstance(value, enum.Enum) else str(value)
