"""Usage records in ``analytics``: what happened, to whom, in which course, written in the
transaction of the change itself (a payment's record exists exactly when it settled)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from models import Analytics


def record(
    session: Session,
    event_type: EventType,
    *,
    user_id: int | None,
    course_id: int | None,
    data: dict[str, Any],
) -> Analytics:
    row = Analytics(
        event_type=event_type.value,
        user_id=user_id,
        course_id=course_id,
        event_data=data,
        recorded_at=utcnow(),
    )
    session.add(row)
    return row
