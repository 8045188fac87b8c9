"""Sign-in sessions: ``refresh_tokens``, hashed and single-use, grouped in families.

A family is one sign-in (a device). Each refresh spends its token and issues the next one in
the same family; presenting a spent token again means it was stolen or replayed, and the
whole family is revoked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[str] = mapped_column(String(36))
    # SHA-256 of the token: the token itself is never stored (it is as good as a password).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
