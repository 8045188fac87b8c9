"""Every task of the platform, by name, and the periodic ones: ``build_jobs`` registers them
on the queue of the settings it is given (the API to enqueue, the worker to run them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import crontab

from core.settings import Settings
from core.tasks import TaskName
from jobs import certificates, notifications, payments
from jobs.runtime import Jobs

Task = Callable[..., None]

TASKS: dict[TaskName, Task] = {
    TaskName.DELIVER_EVENT: notifications.deliver_event,
    TaskName.SEND_NOTIFICATION: notifications.send_notification,
    TaskName.ISSUE_CERTIFICATE: certificates.issue_certificate,
}

# Tasks the queue retries when they raise: (retries, seconds between). A notification
# schedules its own retries (its backoff grows); a certificate whose store is down is tried
# again for a few minutes, then left to the sweep.
RETRIES: dict[TaskName, tuple[int, int]] = {
    TaskName.ISSUE_CERTIFICATE: (5, 30),
}

# (name, schedule, task): the sweep every minute, payment reconciliation every five,
# certificates still owed every fifteen, course reminders hourly.
PERIODIC: tuple[tuple[str, Any, Callable[[Jobs], object]], ...] = (
    ("sweep_outbox", crontab(minute="*"), notifications.sweep),
    ("reconcile_payments", crontab(minute="*/5"), payments.reconcile_payments),
    ("finish_certificates", crontab(minute="*/15"), certificates.finish_certificates),
    ("course_reminders", crontab(minute="5"), notifications.send_reminders),
)


def _bound(jobs: Jobs, task: Callable[..., object]) -> Callable[..., None]:
    def run(*args: Any) -> None:
        task(jobs, *args)

    return run


def build_jobs(settings: Settings) -> Jobs:
    """The queue of ``settings`` with every task registered on it."""
    jobs = Jobs(settings)
    for name, task in TASKS.items():
        retries, delay = RETRIES.get(name, (0, 0))
        register = jobs.huey.task(name=name.value, retries=retries, retry_delay=delay)
        jobs.tasks[name] = register(_bound(jobs, task))
    for periodic_name, schedule, periodic in PERIODIC:
        jobs.huey.periodic_task(schedule, name=periodic_name)(_bound(jobs, periodic))
    return jobs
