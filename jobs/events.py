"""Which handlers run for each event: the one routing table of the platform's events.

A handler is a domain function ``(session, event, settings)``; the worker runs an event's
handlers in one unit of work and marks the event processed in it, so they all happen or
none does, and a retry runs them again. Handlers must therefore be idempotent (a
notification is made once per event and channel; later domains key their work the same
way). A new kind of event is a line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from core.events import ANALYTICS_ONLY, EventType
from core.settings import Settings
from models import OutboxEvent
from services.certificates import request_certificate
from services.delivery import notify_recipients

Handler = Callable[[Session, OutboxEvent, Settings], None]

HANDLERS: Mapping[EventType, tuple[Handler, ...]] = {
    EventType.ACCOUNT_PASSWORD_RESET: (notify_recipients,),
    EventType.ACCOUNT_VERIFY_EMAIL: (notify_recipients,),
    EventType.ENROLLMENT_CREATED: (notify_recipients,),
    EventType.COURSE_REMINDER: (notify_recipients,),
    # The learner hears of it, and their certificate is issued (by a task of its own).
    EventType.COURSE_COMPLETED: (notify_recipients, request_certificate),
    EventType.PAYMENT_SUCCEEDED: (notify_recipients,),
    EventType.PAYMENT_FAILED: (notify_recipients,),
    EventType.PAYMENT_REFUNDED: (notify_recipients,),
    EventType.CERTIFICATE_ISSUED: (notify_recipients,),
    EventType.NOTIFICATION_REQUESTED: (notify_recipients,),
}


class UnroutedEvent(LookupError):
    """An event type nobody routed: a programming error, kept in the outbox for a fix."""


def handlers_for(event_type: str) -> tuple[Handler, ...]:
    try:
        kind = EventType(event_type)
    except ValueError:
        raise UnroutedEvent(f"unknown event type {event_type!r}") from None
    if kind in ANALYTICS_ONLY:
        return ()
    if kind not in HANDLERS:
        raise UnroutedEvent(f"no handlers for {kind.value!r}")
    return HANDLERS[kind]
