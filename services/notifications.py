"""Notifications: who hears about what, on which channel, and the record of every attempt.

Domain events (an enrollment, a payment, a certificate, an account email) are written to the
outbox by the functions at the bottom of this module, in the caller's transaction. The
worker turns each event into one notification per channel the user wants (``fan_out``,
idempotent thanks to dedupe keys) and sends each with ``claim`` / ``record_attempt``, so two
workers never send the same notification and every attempt is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import after_commit
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.logging import current_request_id
from models import (
    Certificate,
    Course,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Notification,
    NotificationLog,
    NotificationPreference,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    PaymentGateway,
    ProgressTracking,
    PushSubscription,
    Role,
    User,
)
from services.outbox import emit

EMAIL, IN_APP, PUSH = NotificationType.EMAIL, NotificationType.IN_APP, NotificationType.PUSH
# Account emails go out whatever the preferences say, by email only.
ACCOUNT_EVENTS = {
    "account.password_reset": "password_reset",
    "account.verify_email": "verify_email",
}
DIRECT_EVENT = "notification.requested"


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


# -- fan-out: one event, one notification per channel --------------------------------------


def fan_out(session: Session, event: OutboxEvent, *, push_enabled: bool) -> list[int]:
    """The notifications an event makes (created once, however often this runs)."""
    payload = event.payload
    if event.event_type == DIRECT_EVENT:
        return [int(payload["notification_id"])]
    user_id = int(payload["user_id"])
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return []
    if event.event_type in ACCOUNT_EVENTS:
        channels = [EMAIL]
    else:
        wanted = get_preferences(session, user_id)
        channels = [c for c, on in ((EMAIL, wanted.email), (IN_APP, wanted.in_app)) if on]
        if push_enabled and wanted.push and push_subscriptions(session, user_id):
            channels.append(PUSH)
    return [_notification_for(session, event, channel) for channel in channels]


def _notification_for(session: Session, event: OutboxEvent, channel: NotificationType) -> int:
    key = f"event:{event.event_id}:{channel.value}"
    existing = session.scalar(
        select(Notification.notification_id).where(Notification.dedupe_key == key)
    )
    if existing is not None:
        return existing
    notification = Notification(
        user_id=int(event.payload["user_id"]),
        type=channel,
        subject=str(event.payload.get("subject", ""))[:200] or None,
        message=str(event.payload["message"]),
        dedupe_key=key,
        event_id=event.event_id,
    )
    try:
        with session.begin_nested():
            session.add(notification)
            session.flush()
    except IntegrityError:
        # Another worker made it first: theirs is the one.
        found = session.scalar(
            select(Notification.notification_id).where(Notification.dedupe_key == key)
        )
        assert found is not None
        return found
    return notification.notification_id


# -- sending: claim, attempt, outcome --------------------------------------------------------


def claim(session: Session, notification_id: int, *, lease: timedelta) -> Notification | None:
    """Take a notification to send it: None if it is sent, gone, or held by another worker."""
    now = utcnow()
    taken = _changed(
        session,
        update(Notification)
        .where(
            Notification.notification_id == notification_id,
            Notification.status != NotificationStatus.SENT,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .values(claimed_until=now + lease),
    )
    if not taken:
        return None
    return session.get(Notification, notification_id)


def start_attempt(session: Session, notification: Notification) -> NotificationLog:
    attempts = session.scalar(
        select(func.count()).where(NotificationLog.notification_id == notification.notification_id)
    )
    entry = NotificationLog(
        notification_id=notification.notification_id,
        delivery_status=DeliveryStatus.PENDING,
        attempt=int(attempts or 0) + 1,
    )
    session.add(entry)
    session.flush()
    return entry


def record_outcome(
    session: Session,
    *,
    notification_id: int,
    log_id: int,
    error: str | None,
    final: bool,
) -> None:
    """Close an attempt: sent, or failed with its reason (and the notification failed when
    no retry is left). The claim is released either way."""
    entry = session.get(NotificationLog, log_id)
    notification = session.get(Notification, notification_id)
    assert entry is not None
    assert notification is not None
    if error is None:
        entry.delivery_status = DeliveryStatus.SENT
        entry.delivered_at = utcnow()
        notification.status = NotificationStatus.SENT
    else:
        entry.delivery_status = DeliveryStatus.FAILED
        entry.error = error[:1000]
        if final:
            notification.status = NotificationStatus.FAILED
    notification.claimed_until = None
    session.flush()


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
    notification.claimed_until = None
    session.flush()
    after_commit(session, lambda: _hand_over(notification_id))
    return notification


def _hand_over(notification_id: int) -> None:
    from jobs.notifications import send_notification

    send_notification(notification_id, current_request_id())


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
    return _changed(
        session,
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.type == IN_APP,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow()),
    )


def _changed(session: Session, statement: Any) -> int:
    """Rows an UPDATE changed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


# -- sending on request (the seed's POST /api/notifications/send) ----------------------------


def _teaches(session: Session, instructor_id: int, learner_id: int) -> bool:
    query = (
        select(func.count())
        .select_from(Enrollment)
        .join(Course, Course.course_id == Enrollment.course_id)
        .where(Enrollment.user_id == learner_id, Course.instructor_id == instructor_id)
    )
    return bool(session.scalar(query))


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
    if session.get(User, user_id) is None:
        raise InvalidInput("is not a user of the platform", field="user_id")
    allowed = (
        sender.role is Role.ADMIN
        or sender.user_id == user_id
        or (sender.role is Role.INSTRUCTOR and _teaches(session, sender.user_id, user_id))
    )
    if not allowed:
        raise Forbidden()
    if channel is PUSH and not (push_enabled and push_subscriptions(session, user_id)):
        raise InvalidInput("the user has no web-push subscription", field="type")
    notification = Notification(
        user_id=user_id, type=channel, message=message.strip(), subject="A message for you"
    )
    session.add(notification)
    session.flush()
    emit(session, DIRECT_EVENT, {"notification_id": notification.notification_id})
    return notification


# -- the platform's events -------------------------------------------------------------------


def _notify(
    session: Session,
    event_type: str,
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


def enrollment_created(session: Session, enrollment: Enrollment, *, base_url: str) -> None:
    course = session.get(Course, enrollment.course_id)
    assert course is not None
    _notify(
        session,
        "enrollment.created",
        user_id=enrollment.user_id,
        subject=f"Welcome to {course.title}",
        message=f"You are enrolled in {course.title}. Your first module is ready when you are.",
        link=f"{base_url}/courses/{course.course_id}",
    )


def payment_settled(session: Session, payment: PaymentGateway, *, base_url: str) -> None:
    course = session.get(Course, payment.course_id)
    title = course.title if course else "your course"
    succeeded = payment.payment_status.value == "success"
    _notify(
        session,
        "payment.succeeded" if succeeded else "payment.failed",
        user_id=payment.user_id,
        subject=f"Receipt: {title}" if succeeded else f"Payment failed: {title}",
        message=(
            f"We received {payment.amount} {payment.currency} for {title} "
            f"(transaction {payment.transaction_id})."
            if succeeded
            else f"Your payment of {payment.amount} {payment.currency} for {title} did not "
            "go through. You have not been charged; you can try again."
        ),
        link=f"{base_url}/payments/{payment.transaction_id}",
    )


def certificate_issued(session: Session, certificate: Certificate) -> None:
    course = session.get(Course, certificate.course_id)
    title = course.title if course else "your course"
    _notify(
        session,
        "certificate.issued",
        user_id=certificate.user_id,
        subject=f"Your certificate for {title}",
        message=(
            f"Congratulations on completing {title}! Download your certificate: "
            f"{certificate.certificate_url}. Anyone can verify it at "
            f"{certificate.verification_url}."
        ),
        link=certificate.certificate_url,
    )


def account_email(session: Session, kind: str, *, user_id: int, token_ciphertext: str) -> None:
    """A password-reset or verification email; the token travels encrypted and is never
    part of a stored message."""
    messages = {
        "account.password_reset": (
            "Reset your password",
            "We sent you a link to reset your password.",
        ),
        "account.verify_email": (
            "Confirm your email address",
            "We sent you a link to confirm your email.",
        ),
    }
    subject, message = messages[kind]
    _notify(
        session, kind, user_id=user_id, subject=subject, message=message, token=token_ciphertext
    )


def last_activity() -> Any:
    """Per enrollment, the last time its learner did something (progress, or enrolling)."""
    return (
        select(
            ProgressTracking.enrollment_id.label("enrollment_id"),
            func.max(ProgressTracking.last_accessed).label("last_accessed"),
        )
        .group_by(ProgressTracking.enrollment_id)
        .subquery()
    )


def remind_idle_learners(
    session: Session, *, now: datetime, idle_days: int, period_days: int, base_url: str
) -> int:
    """Nudge learners whose in-progress enrollment has been idle for ``idle_days``: at most
    one reminder per enrollment per period of ``period_days``."""
    latest = last_activity()
    cutoff = now - timedelta(days=idle_days)
    activity = func.coalesce(latest.c.last_accessed, Enrollment.enrollment_date)
    rows = session.execute(
        select(Enrollment.enrollment_id, Enrollment.user_id, Course.course_id, Course.title)
        .join(Course, Course.course_id == Enrollment.course_id)
        .join(User, User.user_id == Enrollment.user_id)
        .outerjoin(latest, latest.c.enrollment_id == Enrollment.enrollment_id)
        .where(
            and_(
                Enrollment.status == EnrollmentStatus.IN_PROGRESS,
                User.is_active.is_(True),
                activity < cutoff,
            )
        )
    ).all()
    period = int(now.timestamp() // (period_days * 86400))
    sent = 0
    for enrollment_id, user_id, course_id, title in rows:
        event = _notify(
            session,
            "course.reminder",
            user_id=user_id,
            subject=f"Pick up {title} where you left off",
            message=f"It has been a while since you worked on {title}. Your place is saved.",
            link=f"{base_url}/courses/{course_id}",
            dedupe_key=f"reminder:{enrollment_id}:{period}",
        )
        sent += event is not None
    return sent
