"""Asking for work to be done later, by name.

Services never import the job runner: they name a task and its arguments (ids), and the
unit of work hands it to the queue once the transaction has committed. The queue travels
with the session (``session.info``), put there by the session factory of the app, worker or
command that owns the unit of work; ``jobs/`` maps each name to its task.

The outbox stays the guarantee: an enqueue is only the fast path, and work whose enqueue
failed (Redis down) or that ran without a queue (a one-off command) is swept up later.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.database import after_commit
from core.logging import get_logger

log = get_logger("core.tasks")

# Where a session keeps its queue.
QUEUE_KEY = "task_queue"


class TaskName(StrEnum):
    """Every task a service may ask for (the worker registers each under this name)."""

    # Run an outbox event's handlers (notifications, and what later domains add).
    DELIVER_EVENT = "deliver_event"
    # One delivery attempt of a notification on its channel.
    SEND_NOTIFICATION = "send_notification"
    # Issue a learner's certificate for a course (render, store, make it valid).
    ISSUE_CERTIFICATE = "issue_certificate"


class TaskQueue(Protocol):
    def enqueue(self, name: TaskName, *args: Any) -> None: ...


def queue_info(queue: TaskQueue | None) -> dict[str, Any]:
    """The ``info`` a session factory gives its sessions so they can enqueue."""
    return {} if queue is None else {QUEUE_KEY: queue}


def enqueue_after_commit(session: Session | AsyncSession, name: TaskName, *args: Any) -> None:
    """Hand task ``name`` to the queue once this unit of work commits (never if it rolls
    back). Without a queue nothing is enqueued: the outbox sweep hands the work over."""
    queue: TaskQueue | None = session.info.get(QUEUE_KEY)
    if queue is None:
        log.debug("no task queue on this session; left to the sweep", task=name.value)
        return
    after_commit(session, lambda: queue.enqueue(name, *args))
