"""Writing events into the outbox, in the caller's transaction.

``emit`` adds the event to the session: it commits or rolls back with the change that caused
it. After the commit the event is handed to the worker at once (the fast path); if the
queue is down at that moment, the sweep hands it over later (the slow path). The worker
runs the handlers the routing table (``jobs/events.py``) names for its type; they are
idempotent, so an event handed over twice still notifies once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from core.logging import current_request_id, get_logger
from core.sql import insert_unless_present
from core.tasks import TaskName, enqueue_after_commit
from models import OutboxEvent

log = get_logger("services.outbox")


def emit(
    session: Session,
    event_type: EventType,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
) -> OutboxEvent | None:
    """Record an event; None when an event with the same ``dedupe_key`` already exists."""
    values = {
        "event_type": event_type,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "request_id": current_request_id(),
        "created_at": utcnow(),
    }
    if dedupe_key is not None:
        event_id = insert_unless_present(session, OutboxEvent, values, unique=["dedupe_key"])
        if event_id is None:
            return None
        event = session.get(OutboxEvent, event_id)
    else:
        event = OutboxEvent(**values)
        session.add(event)
        session.flush()
    assert event is not None
    enqueue_after_commit(session, TaskName.DELIVER_EVENT, event.event_id)
    return event


def pending_event(session: Session, event_id: int) -> OutboxEvent | None:
    """The event, unless it is gone or its handlers have already run."""
    event = session.get(OutboxEvent, event_id)
    if event is None or event.processed_at is not None:
        return None
    return event


def unprocessed(session: Session, *, older_than: timedelta, limit: int = 500) -> list[int]:
    """Events whose delivery never ran: the fast path failed or has not run yet."""
    cutoff: datetime = utcnow() - older_than
    return list(
        session.scalars(
            select(OutboxEvent.event_id)
            .where(OutboxEvent.processed_at.is_(None), OutboxEvent.created_at <= cutoff)
            .order_by(OutboxEvent.event_id)
            .limit(limit)
        )
    )


def mark_processed(session: Session, event_id: int) -> None:
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.event_id == event_id, OutboxEvent.processed_at.is_(None))
        .values(processed_at=utcnow())
    )
