"""Usage events in ``analytics``: append-only, time-ordered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base, JSONDocument


class Analytics(Base):
    __tablename__ = "analytics"
    __table_args__ = (
        Index("ix_analytics_course_id_recorded_at", "course_id", "recorded_at"),
        Index("ix_analytics_user_id_recorded_at", "user_id", "recorded_at"),
        Index("ix_analytics_event_type_recorded_at", "event_type", "recorded_at"),
    )

    analytic_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SET NULL: events are history; deleting a course or a user anonymises them, never loses them.
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.course_id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.user_id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(50))
    event_data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
