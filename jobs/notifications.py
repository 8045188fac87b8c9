"""The tasks of events and notifications: thin wrappers that load by id and call a service.

Each is safe to run twice: an event's handlers are idempotent and a processed event is
skipped; a notification is sent under a claim. The periodic sweep makes sure nothing waits
forever when an enqueue after a commit failed (the queue was down).
"""

from __future__ import annotations

from datetime import timedelta

from huey.exceptions import RetryTask

from core.clock import utcnow
from core.logging import get_logger
from core.tasks import TaskName
from jobs.context import correlated
from jobs.events import handlers_for
from jobs.runtime import Jobs
from services.delivery import backlog, deliver_notification
from services.enrollments import remind_idle_learners
from services.outbox import mark_processed, pending_event

log = get_logger("jobs.notifications")


def deliver_event(jobs: Jobs, event_id: int) -> None:
    """Run the event's handlers and mark it processed, in one unit of work."""
    with jobs.unit_of_work() as session:
        event = pending_event(session, event_id)
        if event is None:
            return
        request_id, event_type = event.request_id, event.event_type
        with correlated(request_id):
            for handler in handlers_for(event_type):
                handler(session, event, jobs.settings)
            mark_processed(session, event_id)
    with correlated(request_id):
        log.info("event delivered", event_id=event_id, event_type=event_type)


def send_notification(jobs: Jobs, notification_id: int, request_id: str | None = None) -> None:
    """One delivery attempt, logged; retried with exponential backoff until the last."""
    with correlated(request_id):
        outcome = deliver_notification(jobs.units, notification_id, jobs.settings)
        if outcome is None:
            return
        if outcome.error is None:
            log.info(
                "notification sent",
                notification_id=notification_id,
                channel=outcome.channel.value,
                attempt=outcome.attempt,
            )
            return
        log.warning(
            "notification failed",
            notification_id=notification_id,
            channel=outcome.channel.value,
            attempt=outcome.attempt,
            error=outcome.error,
            final=outcome.retry_in is None,
        )
        if outcome.retry_in is not None:
            raise RetryTask(delay=outcome.retry_in)


def sweep(jobs: Jobs) -> int:
    """Hand over again what never reached the worker; how many were handed over."""
    grace = timedelta(seconds=jobs.settings.notifications.sweep_grace_seconds)
    with jobs.unit_of_work() as session:
        found = backlog(session, grace=grace)
    for event_id in found.events:
        jobs.enqueue(TaskName.DELIVER_EVENT, event_id)
    for notification_id in found.notifications:
        jobs.enqueue(TaskName.SEND_NOTIFICATION, notification_id)
    handed = len(found.events) + len(found.notifications)
    if handed:
        log.info("outbox swept", handed_over=handed)
    return handed


def send_reminders(jobs: Jobs) -> int:
    """Course reminders for idle learners; how many were queued."""
    settings = jobs.settings
    config = settings.notifications
    with jobs.unit_of_work() as session:
        reminded = remind_idle_learners(
            session,
            now=utcnow(),
            idle_days=config.reminder_idle_days,
            period_days=config.reminder_period_days,
            base_url=settings.frontend_base,
        )
    if reminded:
        log.info("course reminders queued", reminders=reminded)
    return reminded
