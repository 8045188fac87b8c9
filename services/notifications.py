"""Notifications: what users hear and see, and how it is asked for.

Domain events (an enrollment, a payment, a certificate, an account email) are written to
the outbox by each domain's own emitters through :func:`notify`, in the caller's
transaction. The worker turns each event into one notification per channel the user wants
and sends it (``services/delivery.py``). This module holds the rest: channel preferences,
web-push subscriptions, making a notification (with its pending log entry), the in-app inbox,
the delivery log, sending on request, and an admin's resend of a failed notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import rows_changed
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.logging import current_request_id
from core.tasks import TaskName, enqueue_after_commit
from models import (
    DeliveryStatus,
    Notification,
    NotificationLog,
    NotificationPreference,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    PushSubscription,
    Role,
    User,
)
from services.access import teaches
from services.outbox import emit

IN_APP, PUSH = NotificationType.IN_APP, NotificationType.PUSH


class NotificationNotFound(NotFound):
    message = "Notification not found"


class NoLogsFound(NotFound):
    message = "No logs found"


# -- preferences and subscriptions ------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email: bool = True
    in_app: bool = True
    push: bool = True


def get_preferences(session: Session, user_id: int) -> Preferences:
    row = session.get(NotificationPreference, user_id)
    if row is None:
        return Preferences()
    return Preferences(email=row.email, in_app=row.in_app, push=row.push)


def set_preferences(session: Session, user_id: int, **changes: bool) -> Preferences:
    row = session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id, email=True, in_app=True, push=True)
        session.add(row)
    for channel, enabled in changes.items():
        setattr(row, channel, enabled)
    session.flush()
    return get_preferences(session, user_id)


def subscribe_push(session: Session, *, user_id: int, endpoint: str, p256dh: str, auth: str) -> int:
    """Keep a browser's subscription; the same endpoint moves to whoever subscribes it last."""
    existing = session.scalars(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).one_or_none()
    if existing is None:
        existing = PushSubscription(user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        session.add(existing)
    else:
        existing.user_id, existing.p256dh, existing.auth = user_id, p256dh, auth
    session.flush()
    return existing.subscription_id


def unsubscribe_push(session: Session, *, user_id: int, endpoint: str) -> bool:
    row = session.scalars(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user_id
        )
    ).one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def push_subscriptions(session: Session, user_id: int) -> list[PushSubscription]:
    return list(
        session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id))
    )


# -- new notifications ----------------------------------------------------------------------


def add_notification(session: Session, notification: Notification) -> Notification:
    """Store a new notification with the first entry of its delivery log, pending: the log
    shows it from the moment it exists, not only once a worker has tried it. The first
    attempt fills in that entry (``services/delivery.py``); a retry adds its own."""
    session.add(notification)
    session.flush()
    session.add(
        NotificationLog(
            notification_id=notification.notification_id,
            delivery_status=DeliveryStatus.PENDING,
            attempt=1,
        )
    )
    session.flush()
    return notification


# -- what users and admins see --------------------------------------------------------------


def logs_for(session: Session, *, viewer: User, user_id: int) -> list[NotificationLog]:
    """A user's delivery log (their own, or anyone's for an admin); others' answer 404."""
    if viewer.role is not Role.ADMIN and viewer.user_id != user_id:
        raise NoLogsFound()
    rows = list(
        session.scalars(
            select(NotificationLog)
            .join(Notification, Notification.notification_id == NotificationLog.notification_id)
            .where(Notification.user_id == user_id)
            .order_by(NotificationLog.log_id)
        )
    )
    if not rows:
        raise NoLogsFound()
    return rows


def _in_app(user_id: int) -> Select[tuple[Notification]]:
    return select(Notification).where(Notification.user_id == user_id, Notification.type == IN_APP)


def in_app_page(
    session: Session, *, user_id: int, unread_only: bool, limit: int, offset: int
) -> tuple[list[Notification], int]:
    query = _in_app(user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Notification.notification_id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def unread_count(session: Session, user_id: int) -> int:
    query = _in_app(user_id).where(Notification.read_at.is_(None))
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def mark_read(session: Session, *, user_id: int, notification_id: int) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id or notification.type != IN_APP:
        raise NotificationNotFound()
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, *, user_id: int) -> int:
    return rows_changed(
        session,
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.type == IN_APP,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow()),
    )


# -- sending on request (the seed's POST /api/notifications/send) ----------------------------


def request_notification(
    session: Session,
    *,
    sender: User,
    user_id: int,
    channel: NotificationType,
    message: str,
    push_enabled: bool,
) -> Notification:
    """Admins write to anyone, instructors to their own learners, students to themselves."""
    if not message.strip():
        raise InvalidInput("must not be empty", field="message")
    # Who may write to whom is decided before whether the user exists: a student must not
    # learn which ids are accounts (an unknown id and someone else's both answer 403).
    allowed = (
        sender.role is Role.ADMIN
        or sender.user_id == user_id
        or (
            sender.role is Role.INSTRUCTOR
            and teaches(session, instructor_id=sender.user_id, learner_id=user_id)
        )
    )
    if not allowed:
        raise Forbidden()
    if session.get(User, user_id) is None:
        raise InvalidInput("is not a user of the platform", field="user_id")
    if channel is PUSH and not (push_enabled and push_subscriptions(session, user_id)):
        raise InvalidInput("the user has no web-push subscription", field="type")
    notification = add_notification(
        session,
        Notification(
            user_id=user_id, type=channel, message=message.strip(), subject="A message for you"
        ),
    )
    emit(
        session, EventType.NOTIFICATION_REQUESTED, {"notification_id": notification.notification_id}
    )
    return notification


def resend(session: Session, notification_id: int) -> Notification:
    """An admin sends a failed notification again: it becomes pending and goes to the worker
    after the commit (the sweeper picks it up if the queue is down). It gets one more
    attempt; if that fails too, it is failed again."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotificationNotFound()
    if notification.status is not NotificationStatus.FAILED:
        raise Conflict("Only a failed notification can be sent again")
    notification.status = NotificationStatus.PENDING
    # A lease that has already run out: free to claim now, and picked up by the sweep
    # should the hand-over after the commit not reach the queue.
    notification.claimed_until = utcnow()
    session.flush()
    enqueue_after_commit(session, TaskName.SEND_NOTIFICATION, notification_id, current_request_id())
    return notification


def notify(
    session: Session,
    event_type: EventType,
    *,
    user_id: int,
    subject: str,
    message: str,
    link: str | None = None,
    dedupe_key: str | None = None,
    **extra: Any,
) -> OutboxEvent | None:
    payload = {"user_id": user_id, "subject": subject, "message": message, "link": link} | extra
    return emit(session, event_type, payload, dedupe_key=dedupe_key)
