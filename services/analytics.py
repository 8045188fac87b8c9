"""Usage records in ``analytics``: what happened, to whom, in which course, written in the
transaction of the change itself (a payment's record exists exactly when it settled)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from models import Analytics, CourseModule


def record(
    session: Session,
    event_type: EventType,
    *,
    user_id: int | None,
    course_id: int | None,
    data: dict[str, Any],
    at: datetime | None = None,
) -> Analytics:
    """``at``: when it happened, if not now (a certificate is issued as of its reservation)."""
    row = Analytics(
        event_type=event_type.value,
        user_id=user_id,
        course_id=course_id,
        event_data=data,
        recorded_at=at or utcnow(),
    )
    session.add(row)
    return row


def record_in_module(
    session: Session,
    event_type: EventType,
    *,
    user_id: int,
    module_id: int,
    data: dict[str, Any],
) -> None:
    """Record an event in the course of ``module_id``, in one statement (INSERT ... SELECT
    the module's course): the hot progress path writes it without reading the module first."""
    table = Analytics.__table__
    source = select(
        literal(event_type.value, table.c.event_type.type),
        CourseModule.course_id,
        literal(user_id),
        literal(data, table.c.event_data.type),
        literal(utcnow(), table.c.recorded_at.type),
    ).where(CourseModule.module_id == module_id)
    session.execute(
        insert(Analytics).from_select(
            ["event_type", "course_id", "user_id", "event_data", "recorded_at"], source
        )
    )
