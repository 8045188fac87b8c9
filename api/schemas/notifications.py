"""Requests and answers of the Notification Service (the seed's, plus in-app and push)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, StrictBool

from api.schemas.base import CamelModel, RowId
from models import DeliveryStatus, NotificationStatus, NotificationType


class SendRequest(CamelModel):
    # Strict, as the data API's bodies are: "7" or true is not a user id (true was user 1).
    user_id: Annotated[RowId, Strict()]
    type: NotificationType
    message: str = Field(min_length=1, max_length=5000)


class SendResult(CamelModel):
    notification_id: int
    message: str


class LogEntry(CamelModel):
    log_id: int
    notification_id: int
    delivery_status: DeliveryStatus
    delivered_at: datetime | None


class LogList(CamelModel):
    logs: list[LogEntry]


class InAppNotification(CamelModel):
    notification_id: int
    subject: str | None
    message: str
    status: NotificationStatus
    created_at: datetime
    read_at: datetime | None


class InAppPage(CamelModel):
    items: list[InAppNotification]
    total: int
    limit: int
    offset: int


class UnreadCount(CamelModel):
    count: int


class ReadAll(CamelModel):
    marked: int


class PreferencesBody(CamelModel):
    email: bool
    in_app: bool
    push: bool


class PreferencesUpdate(CamelModel):
    # true or false only: 0 and "true" are not a choice the user made.
    email: StrictBool | None = None
    in_app: StrictBool | None = None
    push: StrictBool | None = None


class PushKeys(CamelModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscribe(CamelModel):
    endpoint: str = Field(min_length=1, max_length=1000, pattern=r"^https?://")
    keys: PushKeys


class PushUnsubscribe(CamelModel):
    endpoint: str = Field(min_length=1, max_length=1000)


class PushSubscribed(CamelModel):
    subscription_id: int
    message: str


class PushKey(CamelModel):
    public_key: str
