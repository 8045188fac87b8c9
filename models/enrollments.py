"""Who learns what: ``enrollments`` and their per-module ``progress_tracking``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base, db_enum
from models.courses import Course, CourseModule
from models.enums import EnrollmentStatus
from models.payments import Payment
from models.users import User


class Enrollment(Base):
    __tablename__ = "enrollments"
    # The one place that decides "a student may not enroll twice": concurrent requests
    # race to this constraint and exactly one wins.
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    enrollment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # RESTRICT on users, courses and payments: learning history is never deleted by accident.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="RESTRICT"), index=True
    )
    # Unique: one payment pays for one enrollment (NULLs, free courses, are not compared).
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_gateway.payment_id", ondelete="RESTRICT"), index=True, unique=True
    )
    enrollment_date: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    status: Mapped[EnrollmentStatus] = mapped_column(
        db_enum(EnrollmentStatus, "enrollment_status", native=False),
        default=EnrollmentStatus.IN_PROGRESS,
        server_default=EnrollmentStatus.IN_PROGRESS.value,
    )
    # When every module and quiz was done: set once, with the status, and kept.
    completed_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")
    payment: Mapped[Payment | None] = relationship(lazy="raise")
    progress: Mapped[list[ProgressTracking]] = relationship(
        back_populates="enrollment", lazy="raise", passive_deletes=True
    )


class ProgressTracking(Base):
    """How far a learner is in one module: one row per (enrollment, module), upserted."""

    __tablename__ = "progress_tracking"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "module_id"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        CheckConstraint("time_spent >= 0", name="time_spent_not_negative"),
    )

    progress_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.enrollment_id", ondelete="CASCADE")
    )
    # RESTRICT: a module learners have progress in is not silently dropped from a course.
    module_id: Mapped[int] = mapped_column(
        ForeignKey("course_modules.module_id", ondelete="RESTRICT"), index=True
    )
    # Percent complete, 0-100.
    progress: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    last_accessed: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Seconds.
    time_spent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    enrollment: Mapped[Enrollment] = relationship(back_populates="progress", lazy="raise")
    module: Mapped[CourseModule] = relationship(lazy="raise")
