"""The admin panel's audit log: who changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base, JSONDocument


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_table_name_row_id", "table_name", "row_id"),
        Index("ix_audit_log_created_at", "created_at"),
    )

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The actor's id and email at the time: the entry outlives the account.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.user_id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(255))
    # create, update, delete, or an action's name (publish, deactivate, resend, ...).
    action: Mapped[str] = mapped_column(String(40))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str | None] = mapped_column(String(64))
    # The values written, never a hidden one (no password hashes, tokens or card data).
    changes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    def __str__(self) -> str:
        return f"{self.action} {self.table_name} {self.row_id or ''} by {self.actor_email}"
