"""Delivering events: fan an outbox event out into notifications, send each on its channel,
log every attempt, retry with backoff; and the periodic sweeps that make sure nothing waits
forever (events whose hand-over failed, course reminders).

Tasks carry ids only and reload what they need; each is safe to run twice: notifications are
made once per event and channel (dedupe keys) and sent under a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from huey import crontab
from huey.exceptions import RetryTask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import TokenCipher
from core.logging import get_logger
from core.settings import Settings, get_settings
from integrations.email import RenderedEmail, SmtpMailer, render_email
from integrations.webpush import PushTarget, SubscriptionGone, WebPusher
from jobs.context import correlated, job_unit_of_work
from jobs.queue import huey
from models import (
    Notification,
    NotificationLog,
    NotificationType,
    OutboxEvent,
    PushSubscription,
    User,
)
from services.notifications import (
    ACCOUNT_EVENTS,
    claim,
    fan_out,
    push_subscriptions,
    record_outcome,
    remind_idle_learners,
    start_attempt,
)
from services.outbox import mark_processed, unprocessed

log = get_logger("jobs.notifications")

_ACCOUNT_PAGES = {"password_reset": "reset-password", "verify_email": "verify-email"}


@huey.task()
def deliver_event(event_id: int) -> None:
    """Make the event's notifications (once), then send each."""
    settings = get_settings()
    with job_unit_of_work() as session:
        event = session.get(OutboxEvent, event_id)
        if event is None:
            return
        request_id = event.request_id
        with correlated(request_id):
            notification_ids = fan_out(session, event, push_enabled=settings.webpush.enabled)
            mark_processed(session, event_id)
    with correlated(request_id):
        log.info("event delivered", event_id=event_id, notifications=len(notification_ids))
        for notification_id in notification_ids:
            send_notification(notification_id, request_id)


@dataclass(frozen=True)
class Delivery:
    """Everything one attempt needs, read in one short transaction."""

    notification_id: int
    event_id: int | None
    log_id: int
    attempt: int
    channel: NotificationType
    email: str
    name: str
    subject: str
    message: str
    link: str | None
    event_type: str | None
    token_ciphertext: str | None
    targets: tuple[PushTarget, ...]


def _prepare(session: Session, notification: Notification, settings: Settings) -> Delivery:
    user = session.get(User, notification.user_id)
    assert user is not None
    entry = start_attempt(session, notification)
    event = session.get(OutboxEvent, notification.event_id) if notification.event_id else None
    payload = event.payload if event is not None else {}
    targets: tuple[PushTarget, ...] = ()
    if notification.type is NotificationType.PUSH:
        targets = tuple(
            PushTarget(s.endpoint, s.p256dh, s.auth)
            for s in push_subscriptions(session, user.user_id)
        )
    return Delivery(
        notification_id=notification.notification_id,
        event_id=notification.event_id,
        log_id=entry.log_id,
        attempt=entry.attempt,
        channel=notification.type,
        email=user.email,
        name=user.name,
        subject=notification.subject or settings.app.name,
        message=notification.message,
        link=payload.get("link"),
        event_type=event.event_type if event is not None else None,
        token_ciphertext=payload.get("token"),
        targets=targets,
    )


def _email(delivery: Delivery, settings: Settings) -> RenderedEmail:
    common = {"name": delivery.name, "platform_name": settings.app.name}
    template = ACCOUNT_EVENTS.get(delivery.event_type or "")
    if template is not None and delivery.token_ciphertext:
        token = TokenCipher.from_settings(settings).decrypt(delivery.token_ciphertext)
        page = _ACCOUNT_PAGES[template]
        link = f"{settings.app.frontend_url.rstrip('/')}/{page}?{urlencode({'token': token})}"
        return render_email(
            template,
            link=link,
            valid_minutes=settings.security.reset_token_minutes,
            valid_hours=settings.security.verify_token_hours,
            **common,
        )
    return render_email(
        "notification",
        subject=delivery.subject,
        message=delivery.message,
        link=delivery.link,
        **common,
    )


def _send(delivery: Delivery, settings: Settings) -> list[str]:
    """Send on the notification's channel; returns the push endpoints found gone."""
    if delivery.channel is NotificationType.EMAIL:
        SmtpMailer(settings.smtp).send(to=delivery.email, email=_email(delivery, settings))
        return []
    if delivery.channel is NotificationType.PUSH:
        pusher = WebPusher(settings.webpush)
        gone: list[str] = []
        failures: list[str] = []
        message = {"title": delivery.subject, "body": delivery.message, "url": delivery.link}
        for target in delivery.targets:
            try:
                pusher.send(target, message)
            except SubscriptionGone:
                gone.append(target.endpoint)
            except Exception as exc:
                failures.append(str(exc))
        # Delivered to at least one device: done (a retry would repeat it on the others).
        if failures and len(failures) + len(gone) == len(delivery.targets):
            raise RuntimeError("; ".join(failures))
        return gone
    # In-app: the stored notification is the delivery.
    return []


def scrub_token(session: Session, event_id: int) -> None:
    """An account email went out: its token has no reason to stay in the database."""
    event = session.get(OutboxEvent, event_id)
    if event is not None and "token" in event.payload:
        event.payload = {key: value for key, value in event.payload.items() if key != "token"}


def _forget(session: Session, endpoints: list[str]) -> None:
    for endpoint in endpoints:
        row = session.scalars(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        ).one_or_none()
        if row is not None:
            session.delete(row)


@huey.task()
def send_notification(notification_id: int, request_id: str | None = None) -> None:
    """One delivery attempt, logged; retried with exponential backoff until the last."""
    settings = get_settings()
    config = settings.notifications
    with correlated(request_id):
        with job_unit_of_work() as session:
            lease = timedelta(seconds=config.claim_seconds)
            notification = claim(session, notification_id, lease=lease)
            if notification is None:
                return
            delivery = _prepare(session, notification, settings)
        error: str | None = None
        gone: list[str] = []
        try:
            gone = _send(delivery, settings)
        except Exception as exc:  # any failure of the channel is logged and retried
            error = f"{type(exc).__name__}: {exc}"
        final = error is None or delivery.attempt >= config.max_attempts
        with job_unit_of_work() as session:
            record_outcome(
                session,
                notification_id=notification_id,
                log_id=delivery.log_id,
                error=error,
                final=final,
            )
            _forget(session, gone)
            if error is None and delivery.token_ciphertext and delivery.event_id is not None:
                scrub_token(session, delivery.event_id)
        if error is None:
            log.info(
                "notification sent",
                notification_id=notification_id,
                channel=delivery.channel.value,
                attempt=delivery.attempt,
            )
            return
        log.warning(
            "notification failed",
            notification_id=notification_id,
            channel=delivery.channel.value,
            attempt=delivery.attempt,
            error=error,
            final=final,
        )
        if not final:
            raise RetryTask(delay=config.retry_base_seconds * 2 ** (delivery.attempt - 1))


def sweep() -> int:
    """Hand over again what never reached the worker: events not processed after the grace
    period, and notifications never attempted. Returns how many were handed over."""
    settings = get_settings()
    grace = timedelta(seconds=settings.notifications.sweep_grace_seconds)
    with job_unit_of_work() as session:
        events = unprocessed(session, older_than=grace)
        cutoff = utcnow() - grace
        # Never attempted, or held by a worker that died mid-send (its lease ran out; a
        # normal failure releases the lease and leaves the retry to Huey).
        never_tried = list(
            session.scalars(
                select(Notification.notification_id)
                .where(
                    Notification.status == "pending",
                    Notification.created_at <= cutoff,
                    or_(
                        Notification.claimed_until < utcnow(),
                        ~select(NotificationLog.log_id)
                        .where(NotificationLog.notification_id == Notification.notification_id)
                        .exists(),
                    ),
                )
                .limit(500)
            )
        )
    for event_id in events:
        deliver_event(event_id)
    for notification_id in never_tried:
        send_notification(notification_id)
    return len(events) + len(never_tried)


@huey.periodic_task(crontab(minute="*"))
def sweep_outbox() -> None:
    handed = sweep()
    if handed:
        log.info("outbox swept", handed_over=handed)


def send_reminders() -> int:
    settings = get_settings()
    config = settings.notifications
    with job_unit_of_work() as session:
        return remind_idle_learners(
            session,
            now=utcnow(),
            idle_days=config.reminder_idle_days,
            period_days=config.reminder_period_days,
            base_url=settings.app.frontend_url.rstrip("/"),
        )


@huey.periodic_task(crontab(minute="5"))
def course_reminders() -> None:
    reminded = send_reminders()
    if reminded:
        log.info("course reminders queued", reminders=reminded)
