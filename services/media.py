"""Course media: files attached to a course, numbered in upload order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from models import Course, MediaRepository, User

# Concurrent uploads to one course race for the next index; the unique (course_id, index)
# index decides, and the loser takes the following number.
_INDEX_ATTEMPTS = 5


class CourseNotFound(NotFound):
    message = "Course not found"


def next_index(session: Session, course_id: int) -> int:
    current = session.scalar(
        select(func.max(MediaRepository.index)).where(MediaRepository.course_id == course_id)
    )
    return 0 if current is None else int(current) + 1


def add_media(session: Session, values: dict[str, Any], actor: User) -> MediaRepository:
    """Record a file of a course; it takes the next index and the course's instructor."""
    course = session.get(Course, values["course_id"])
    if course is None:
        raise CourseNotFound()
    for _ in range(_INDEX_ATTEMPTS):
        media = MediaRepository(
            course_id=course.course_id,
            instructor_id=course.instructor_id,
            media_type=values["media_type"],
            media_url=values["media_url"],
            index=next_index(session, course.course_id),
        )
        try:
            with session.begin_nested():
                session.add(media)
                session.flush()
        except IntegrityError:
            continue
        return media
    raise Conflict("Too many simultaneous uploads to this course; try again")
