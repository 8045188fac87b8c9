"""Messages to users: ``notifications`` and every delivery attempt in ``notification_log``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAtMixin, db_enum
from models.enums import DeliveryStatus, NotificationStatus, NotificationType
from models.users import User


class Notification(CreatedAtMixin, Base):
    __tablename__ = "notifications"

    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # CASCADE: a user's messages are theirs alone and go with them.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[NotificationType] = mapped_column(db_enum(NotificationType, "notification_type"))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[NotificationStatus] = mapped_column(
        db_enum(NotificationStatus, "notification_status", native=False),
        default=NotificationStatus.PENDING,
        server_default=NotificationStatus.PENDING.value,
    )

    user: Mapped[User] = relationship(lazy="raise")
    log: Mapped[list[NotificationLog]] = relationship(
        back_populates="notification", lazy="raise", passive_deletes=True
    )


class NotificationLog(Base):
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

    notification: Mapped[Notification] = relationship(back_populates="log", lazy="raise")
