"""Messages to users: ``notifications`` (one per event and channel), every delivery attempt
in ``notification_log``, web-push subscriptions and each user's channel preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base, CreatedAtMixin, bounded_text, db_enum
from models.enums import DeliveryStatus, NotificationStatus, NotificationType
from models.users import User


class Notification(CreatedAtMixin, Base):
    __tablename__ = "notifications"

    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # CASCADE: a user's messages are theirs alone and go with them.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    # The channel: email, in-app or web push.
    type: Mapped[NotificationType] = mapped_column(db_enum(NotificationType, "notification_type"))
    message: Mapped[str] = mapped_column(bounded_text(5000))
    status: Mapped[NotificationStatus] = mapped_column(
        db_enum(NotificationStatus, "notification_status", native=False),
        default=NotificationStatus.PENDING,
        server_default=NotificationStatus.PENDING.value,
    )
    subject: Mapped[str | None] = mapped_column(String(200))
    # "<event>:<channel>": one notification per event and channel, however often the
    # event is delivered to the worker.
    dedupe_key: Mapped[str | None] = mapped_column(String(150), unique=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_events.event_id", ondelete="SET NULL"), index=True
    )
    # In-app notifications: when the user read it.
    read_at: Mapped[datetime | None] = mapped_column()
    # A worker sending it holds it until then, so two workers never send it twice.
    claimed_until: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="raise")
    log: Mapped[list[NotificationLog]] = relationship(
        back_populates="notification", lazy="raise", passive_deletes=True
    )


class NotificationLog(Base):
    """One row per delivery attempt: pending, then sent (with the time) or failed (why)."""

    __tablename__ = "notification_log"

    log_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.notification_id", ondelete="CASCADE"), index=True
    )
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        db_enum(DeliveryStatus, "delivery_status", native=False),
        default=DeliveryStatus.PENDING,
        server_default=DeliveryStatus.PENDING.value,
    )
    # Null until delivered.
    delivered_at: Mapped[datetime | None] = mapped_column()
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    error: Mapped[str | None] = mapped_column(bounded_text(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    notification: Mapped[Notification] = relationship(back_populates="log", lazy="raise")


class PushSubscription(CreatedAtMixin, Base):
    """A browser's web-push subscription (the PWA), as the Push API hands it over."""

    __tablename__ = "push_subscriptions"

    subscription_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))


class NotificationPreference(Base):
    """Which channels a user wants; no row means every channel."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    in_app: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    push: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
