"""Course reviews: a learner's rating (1-5) and comment, one per enrollment."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, bounded_text
from models.courses import Course
from models.users import User

COMMENT_MAX = 2000


class CourseReview(TimestampMixin, Base):
    __tablename__ = "course_reviews"
    __table_args__ = (
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
        # A course's reviews, newest first: the public listing.
        Index("ix_course_reviews_course_id_created_at", "course_id", "created_at"),
    )

    review_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique: one review per enrollment, edited rather than repeated.
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.enrollment_id", ondelete="CASCADE"), unique=True
    )
    # The enrollment's course and learner, kept here so the listing and the average need
    # no join (an enrollment never changes either).
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.course_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(bounded_text(COMMENT_MAX))
    # Hidden by a moderator: left out of the listing and of the course's rating.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    course: Mapped[Course] = relationship(lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")
