"""Proof of completion: ``certificates``, one per learner and course."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base
from models.courses import Course
from models.users import User


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    certificate_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="RESTRICT"), index=True
    )
    certificate_url: Mapped[str | None] = mapped_column(String(255))
    issue_date: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Unguessable public identifier used in verification links.
    unique_id: Mapped[str] = mapped_column(String(50), unique=True)
    verification_url: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")
