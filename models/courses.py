"""The catalog side: ``courses``, their ``course_catalog`` entry and their ``course_modules``."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, bounded_text, db_enum
from models.enums import Difficulty

if TYPE_CHECKING:
    from models.users import User


class Course(TimestampMixin, Base):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 0 AND rating <= 5)", name="rating_range"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("duration >= 0", name="duration_not_negative"),
    )

    course_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    # RESTRICT: an instructor with courses cannot vanish; reassign the courses first.
    instructor_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="RESTRICT"), index=True
    )
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    duration: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    category: Mapped[str] = mapped_column(String(50), index=True)
    cover_image_url: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(bounded_text(20_000), default="", server_default="")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0), server_default="0")
    difficulty: Mapped[Difficulty] = mapped_column(
        db_enum(Difficulty, "course_difficulty", native=False), index=True
    )

    instructor: Mapped[User] = relationship(back_populates="courses", lazy="raise")
    catalog_entry: Mapped[CourseCatalog | None] = relationship(
        back_populates="course",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    modules: Mapped[list[CourseModule]] = relationship(
        back_populates="course",
        lazy="raise",
        order_by="CourseModule.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CourseCatalog(Base):
    """Whether a course is offered: one entry per course, inactive until published."""

    __tablename__ = "course_catalog"

    catalog_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), unique=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    course: Mapped[Course] = relationship(back_populates="catalog_entry", lazy="raise")


class CourseModule(Base):
    """A lesson of a course, in order; progress is tracked per module."""

    __tablename__ = "course_modules"
    __table_args__ = (
        UniqueConstraint("course_id", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("duration >= 0", name="duration_not_negative"),
    )

    module_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.course_id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    # Minutes, like courses.duration.
    duration: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    course: Mapped[Course] = relationship(back_populates="modules", lazy="raise")
