"""Idempotency keys: a client's retry of a request that has effects (a payment) gets the
first answer again instead of a second effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base, JSONDocument


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    idempotency_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Keys are per user: two users' "1" are two keys.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # A keyed HMAC of the route and body (never the body itself: it may hold a card number).
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The first answer, once there is one; null while the first request is still running.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
