"""The transactional outbox: events written in the same transaction as the change that
caused them, delivered by the job worker afterwards. Nothing is lost when the queue or the
worker is down at commit time: unprocessed events are swept up and delivered later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base, JSONDocument


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_processed_at_created_at", "processed_at", "created_at"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # Events that must happen once per something (a reminder per enrollment and period).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The correlation id of the request that caused it, for the logs of its delivery.
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Set once its notifications exist; the sweeper re-sends events still unset.
    processed_at: Mapped[datetime | None] = mapped_column()
