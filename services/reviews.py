"""Course reviews: an enrolled learner rates a course (1-5, with an optional comment), once
per enrollment and editable; ``courses.rating`` is the average of the visible reviews.

Every write that changes what the average is made of (posting, deleting, hiding, showing)
first locks the course's row, then writes the review, then recomputes the average in one
UPDATE ... SET rating = (SELECT avg ...). Of two reviews of one course written at the same
moment the second waits for the first's commit, and on PostgreSQL's READ COMMITTED its
statements then read anew: the average it writes counts both. Without the lock each would
average without the other's uncommitted review, and the last commit would win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import rows_changed
from core.errors import Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.sql import insert_unless_present
from models import Course, CourseReview, Enrollment, EnrollmentStatus, User
from models.reviews import COMMENT_MAX
from services.access import CourseNotFound, published_courses
from services.analytics import record

MIN_RATING, MAX_RATING = 1, 5
# Enrollments whose learner may review the course: a dropped one may not.
REVIEWING = (EnrollmentStatus.IN_PROGRESS, EnrollmentStatus.COMPLETED)


class ReviewNotFound(NotFound):
    message = "Review not found"


class NotEnrolled(Forbidden):
    message = "Only learners enrolled in this course can review it"


@dataclass(frozen=True)
class PublicReview:
    review_id: int
    rating: int
    comment: str | None
    reviewer_name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ReviewsPage:
    reviews: Sequence[PublicReview]
    total: int
    # The course's average rating (null: no visible review yet).
    rating: Decimal | None


def clean_comment(comment: str | None) -> str | None:
    """A comment as stored: without surrounding blanks, None when nothing is left."""
    if comment is None:
        return None
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"must be at most {COMMENT_MAX} characters", field="comment")
    return comment or None


def _check_rating(rating: int) -> None:
    # bool is an int in Python; True is not a rating someone gave.
    if isinstance(rating, bool) or not MIN_RATING <= rating <= MAX_RATING:
        raise InvalidInput(
            f"must be a whole number from {MIN_RATING} to {MAX_RATING}", field="rating"
        )


def _lock_course(session: Session, course_id: int) -> None:
    """Lock the course's row for the rest of the transaction (404 if there is none).

    FOR NO KEY UPDATE, the lock an UPDATE of the rating takes anyway: reviewers of one
    course queue behind each other, while rows that merely refer to the course (a new
    enrollment, progress) are not held up. SQLite has no row locks; its writers hold the
    database's write lock from their first statement, which serializes them already.
    """
    found = session.scalar(
        select(Course.course_id)
        .where(Course.course_id == course_id)
        .with_for_update(key_share=True)
    )
    if found is None:
        raise CourseNotFound()


def refresh_rating(session: Session, course_id: int) -> Decimal | None:
    """Set the course's rating to the average of its visible reviews, to 2 decimals (NULL
    when there is none), in one statement; the new rating."""
    average = (
        select(func.round(func.avg(CourseReview.rating), 2))
        .where(CourseReview.course_id == course_id, CourseReview.hidden.is_(False))
        .scalar_subquery()
    )
    rating: Decimal | None = session.execute(
        update(Course)
        .where(Course.course_id == course_id)
        .values(rating=average)
        .returning(Course.rating)
    ).scalar_one()
    return rating


def course_rating(session: Session, course_id: int) -> Decimal | None:
    rating: Decimal | None = session.scalar(
        select(Course.rating).where(Course.course_id == course_id)
    )
    return rating


def post_review(
    session: Session, *, learner: User, course_id: int, rating: int, comment: str | None
) -> tuple[CourseReview, bool]:
    """The learner's review of the course, created or (when they reviewed it before) edited;
    whether it was created. An edit keeps a moderator's decision: a hidden review stays
    hidden. The learner's enrollment must be in progress or completed."""
    _check_rating(rating)
    comment = clean_comment(comment)
    _lock_course(session, course_id)
    enrollment_id = session.scalar(
        select(Enrollment.enrollment_id).where(
            Enrollment.user_id == learner.user_id,
            Enrollment.course_id == course_id,
            Enrollment.status.in_(REVIEWING),
        )
    )
    if enrollment_id is None:
        raise NotEnrolled()
    now = utcnow()
    # One statement decides "one review per enrollment": a second first post (the same
    # learner's, from two tabs) inserts nothing and becomes an edit below.
    created = (
        insert_unless_present(
            session,
            CourseReview,
            {
                "enrollment_id": enrollment_id,
                "course_id": course_id,
                "user_id": learner.user_id,
                "rating": rating,
                "comment": comment,
                "created_at": now,
                "updated_at": now,
            },
            unique=["enrollment_id"],
        )
        is not None
    )
    review = session.scalars(
        select(CourseReview)
        .where(CourseReview.enrollment_id == enrollment_id)
        .execution_options(populate_existing=True)
    ).one()
    if not created:
        review.rating = rating
        review.comment = comment
        # Set even when nothing else changed: the learner saved it again.
        review.updated_at = now
        session.flush()
    refresh_rating(session, course_id)
    record(
        session,
        EventType.REVIEW_POSTED,
        user_id=learner.user_id,
        course_id=course_id,
        data={"reviewId": review.review_id, "rating": rating, "edited": not created},
    )
    session.flush()
    return review, created


def delete_own_review(session: Session, *, learner: User, course_id: int) -> Decimal | None:
    """Remove the learner's review of the course; the course's new rating."""
    review_id = session.scalar(
        select(CourseReview.review_id).where(
            CourseReview.user_id == learner.user_id, CourseReview.course_id == course_id
        )
    )
    if review_id is None:
        raise ReviewNotFound()
    _lock_course(session, course_id)
    # Gone meanwhile (the same learner deleting twice at once): the second finds nothing.
    if not rows_changed(session, delete(CourseReview).where(CourseReview.review_id == review_id)):
        raise ReviewNotFound()
    return refresh_rating(session, course_id)


def set_hidden(session: Session, *, review_id: int, hidden: bool) -> CourseReview:
    """A moderator hides a review (out of the listing and the average) or shows it again."""
    course_id = session.scalar(
        select(CourseReview.course_id).where(CourseReview.review_id == review_id)
    )
    if course_id is None:
        raise ReviewNotFound()
    _lock_course(session, course_id)
    review = session.scalars(
        select(CourseReview)
        .where(CourseReview.review_id == review_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if review is None:
        raise ReviewNotFound()
    review.hidden = hidden
    session.flush()
    refresh_rating(session, course_id)
    return review


def reviews_page(session: Session, *, course_id: int, limit: int, offset: int) -> ReviewsPage:
    """A published course's visible reviews, newest first, with their reviewers' names; the
    number of them and the course's rating. Three statements whatever the page size."""
    found = session.execute(
        select(Course.course_id, Course.rating).where(
            Course.course_id == course_id, Course.course_id.in_(published_courses())
        )
    ).one_or_none()
    if found is None:
        raise CourseNotFound()
    visible = (CourseReview.course_id == course_id, CourseReview.hidden.is_(False))
    rows = session.execute(
        select(CourseReview, User.name)
        .join(User, User.user_id == CourseReview.user_id)
        .where(*visible)
        .order_by(CourseReview.created_at.desc(), CourseReview.review_id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(select(func.count()).select_from(CourseReview).where(*visible)) or 0
    reviews = [
        PublicReview(
            review_id=review.review_id,
            rating=review.rating,
            comment=review.comment,
            reviewer_name=name,
            created_at=review.created_at,
            updated_at=review.updated_at,
        )
        for review, name in rows
    ]
    return ReviewsPage(reviews=reviews, total=total, rating=found.rating)
