"""Delivering notifications: an outbox event becomes one notification per channel the user
wants, and each is sent under a claim with every attempt logged.

The worker's tasks are thin wrappers around these. ``notify_recipients`` is the handler the
routing table (``jobs/events.py``) gives events that notify someone; ``deliver_notification``
is one attempt of one notification, in two short units of work around the channel's
network call, so no transaction is held open while an SMTP or push server answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import TokenCipher
from core.database import UnitsOfWork, rows_changed
from core.events import ACCOUNT_EMAILS, EventType
from core.settings import Settings
from core.tasks import TaskName, enqueue_after_commit
from integrations.email import RenderedEmail, SmtpMailer, render_email
from integrations.webpush import PushTarget, SubscriptionGone, WebPusher
from models import (
    DeliveryStatus,
    Notification,
    NotificationLog,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    PushSubscription,
    User,
)
from services.notifications import add_notification, get_preferences, push_subscriptions
from services.outbox import unprocessed

EMAIL, IN_APP, PUSH = NotificationType.EMAIL, NotificationType.IN_APP, NotificationType.PUSH
# The frontend page each account email links to.
_ACCOUNT_PAGES = {"password_reset": "reset-password", "verify_email": "verify-email"}
# The sweep hands over at most this many of each kind per run.
_SWEEP_BATCH = 500


# -- fan-out: one event, one notification per channel --------------------------------------


def notify_recipients(session: Session, event: OutboxEvent, settings: Settings) -> None:
    """The event handler: make the event's notifications and send each after the commit."""
    request_id = event.request_id
    for notification_id in fan_out(session, event, push_enabled=settings.webpush.enabled):
        enqueue_after_commit(session, TaskName.SEND_NOTIFICATION, notification_id, request_id)


def fan_out(session: Session, event: OutboxEvent, *, push_enabled: bool) -> list[int]:
    """The notifications an event makes (created once, however often this runs)."""
    payload = event.payload
    if event.event_type == EventType.NOTIFICATION_REQUESTED:
        return [int(payload["notification_id"])]
    user_id = int(payload["user_id"])
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return []
    if event.event_type in ACCOUNT_EMAILS:
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
            add_notification(session, notification)
    except IntegrityError:
        # Another worker made it first: theirs is the one.
        found = session.scalar(
            select(Notification.notification_id).where(Notification.dedupe_key == key)
        )
        assert found is not None
        return found
    return notification.notification_id


# -- sending: claim, attempt, outcome --------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A notification taken to send. ``free`` when nobody held it (never attempted, or its
    last attempt closed), rather than taken over from a worker whose lease ran out."""

    notification: Notification
    free: bool


def claim(session: Session, notification_id: int, *, lease: timedelta) -> Claim | None:
    """Take a notification to send it: None if it is sent, gone, or held by another worker."""
    now = utcnow()
    take = (
        update(Notification)
        .where(
            Notification.notification_id == notification_id,
            Notification.status != NotificationStatus.SENT,
        )
        .values(claimed_until=now + lease)
    )
    # Two statements, each atomic, so the claim knows which it was: only a free one can
    # still have the entry made at its creation waiting for this attempt.
    free = rows_changed(session, take.where(Notification.claimed_until.is_(None))) > 0
    if not free and not rows_changed(session, take.where(Notification.claimed_until < now)):
        return None
    notification = session.get(Notification, notification_id)
    assert notification is not None
    return Claim(notification, free=free)


def start_attempt(session: Session, claimed: Claim) -> NotificationLog:
    """The log entry of this attempt: the first one fills in the entry made with the
    notification; any other adds the next. An entry a dead worker left pending stays as it
    is (whether that attempt reached the user is unknown), and counts as an attempt."""
    notification_id = claimed.notification.notification_id
    entries = list(
        session.scalars(
            select(NotificationLog).where(NotificationLog.notification_id == notification_id)
        )
    )
    if claimed.free and [e.delivery_status for e in entries] == [DeliveryStatus.PENDING]:
        return entries[0]
    entry = NotificationLog(
        notification_id=notification_id,
        delivery_status=DeliveryStatus.PENDING,
        attempt=len(entries) + 1,
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


def prepare(session: Session, claimed: Claim, settings: Settings) -> Delivery:
    """Open an attempt of a claimed notification and gather what sending it needs."""
    notification = claimed.notification
    user = session.get(User, notification.user_id)
    assert user is not None
    entry = start_attempt(session, claimed)
    event = session.get(OutboxEvent, notification.event_id) if notification.event_id else None
    payload = event.payload if event is not None else {}
    targets: tuple[PushTarget, ...] = ()
    if notification.type is PUSH:
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


def render(delivery: Delivery, settings: Settings) -> RenderedEmail:
    """The email of a delivery: an account email with its single-use link, or a message."""
    common = {"name": delivery.name, "platform_name": settings.app.name}
    template = ACCOUNT_EMAILS.get(delivery.event_type or "")  # type: ignore[call-overload]
    if template is not None and delivery.token_ciphertext:
        token = TokenCipher.from_settings(settings).decrypt(delivery.token_ciphertext)
        page = _ACCOUNT_PAGES[template]
        link = f"{settings.frontend_base}/{page}?{urlencode({'token': token})}"
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


def send_on_channel(delivery: Delivery, settings: Settings) -> list[str]:
    """Send on the notification's channel; returns the push endpoints found gone."""
    if delivery.channel is EMAIL:
        SmtpMailer(settings.smtp).send(to=delivery.email, email=render(delivery, settings))
        return []
    if delivery.channel is PUSH:
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


def forget_endpoints(session: Session, endpoints: list[str]) -> None:
    """Push subscriptions the push service says are gone for good."""
    for endpoint in endpoints:
        row = session.scalars(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        ).one_or_none()
        if row is not None:
            session.delete(row)


@dataclass(frozen=True)
class Outcome:
    """How one attempt went; ``retry_in`` is set when another attempt is due."""

    notification_id: int
    channel: NotificationType
    attempt: int
    error: str | None
    retry_in: float | None


def deliver_notification(
    units: UnitsOfWork, notification_id: int, settings: Settings
) -> Outcome | None:
    """One attempt, logged: None when the notification is sent, gone or held elsewhere."""
    config = settings.notifications
    with units() as session:
        claimed = claim(session, notification_id, lease=timedelta(seconds=config.claim_seconds))
        if claimed is None:
            return None
        delivery = prepare(session, claimed, settings)
    error: str | None = None
    gone: list[str] = []
    try:
        gone = send_on_channel(delivery, settings)
    except Exception as exc:  # any failure of the channel is logged and retried
        error = f"{type(exc).__name__}: {exc}"
    final = error is None or delivery.attempt >= config.max_attempts
    with units() as session:
        record_outcome(
            session,
            notification_id=notification_id,
            log_id=delivery.log_id,
            error=error,
            final=final,
        )
        forget_endpoints(session, gone)
        if error is None and delivery.token_ciphertext and delivery.event_id is not None:
            scrub_token(session, delivery.event_id)
    retry_in = None if final else config.retry_base_seconds * 2 ** (delivery.attempt - 1)
    return Outcome(notification_id, delivery.channel, delivery.attempt, error, retry_in)


# -- the sweep: what never reached the worker ----------------------------------------------


@dataclass(frozen=True)
class Backlog:
    events: list[int]
    notifications: list[int]


def backlog(session: Session, *, grace: timedelta) -> Backlog:
    """Events not processed after the grace period, and notifications never attempted (or
    held by a worker that died mid-send: its lease ran out). A normal failure releases the
    lease and leaves the retry to the queue, so it is not here."""
    cutoff = utcnow() - grace
    # Never attempted: never claimed, and its log (the pending entry made with it, or
    # nothing for a notification older than that entry) has no outcome yet. A released
    # claim is also null, but after a failure the log says so.
    never_attempted = and_(
        Notification.claimed_until.is_(None),
        ~select(NotificationLog.log_id)
        .where(
            NotificationLog.notification_id == Notification.notification_id,
            NotificationLog.delivery_status != DeliveryStatus.PENDING,
        )
        .exists(),
    )
    notifications = session.scalars(
        select(Notification.notification_id)
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.created_at <= cutoff,
            or_(Notification.claimed_until < utcnow(), never_attempted),
        )
        .order_by(Notification.notification_id)
        .limit(_SWEEP_BATCH)
    )
    return Backlog(
        events=unprocessed(session, older_than=grace, limit=_SWEEP_BATCH),
        notifications=list(notifications),
    )
