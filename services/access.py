"""Who reaches what: the access rules several domains share.

The resource declarations (the data API and the admin panel), the services and the panel's
forms all ask these questions; each is answered here once. The row sets are subqueries, so
a declaration's scope stays a single SQL condition whatever the number of rows.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from models import Course, CourseCatalog, Enrollment, Role, User


class CourseNotFound(NotFound):
    """A course that is not there, or not there for the caller (a draft, to a learner)."""

    message = "Course not found"


def own_courses(user: User) -> Select[tuple[int]]:
    """The courses ``user`` teaches."""
    return select(Course.course_id).where(Course.instructor_id == user.user_id)


def published_courses() -> Select[tuple[int]]:
    """The courses listed in the catalog."""
    return select(CourseCatalog.course_id).where(CourseCatalog.is_active.is_(True))


def published_course(session: Session, course_id: int) -> Course:
    """The course, if the catalog lists it; CourseNotFound otherwise."""
    course = session.scalars(
        select(Course)
        .join(CourseCatalog, CourseCatalog.course_id == Course.course_id)
        .where(Course.course_id == course_id, CourseCatalog.is_active.is_(True))
    ).one_or_none()
    if course is None:
        raise CourseNotFound()
    return course


def enrolled_courses(user: User) -> Select[tuple[int]]:
    """The courses ``user`` is enrolled in."""
    return select(Enrollment.course_id).where(Enrollment.user_id == user.user_id)


def own_enrollments(user: User) -> Select[tuple[int]]:
    return select(Enrollment.enrollment_id).where(Enrollment.user_id == user.user_id)


def enrollments_in_own_courses(user: User) -> Select[tuple[int]]:
    """The enrollments of the learners in the courses ``user`` teaches."""
    return select(Enrollment.enrollment_id).where(Enrollment.course_id.in_(own_courses(user)))


def teaches(session: Session, *, instructor_id: int, learner_id: int) -> bool:
    """Whether the learner is enrolled in a course the instructor teaches."""
    query = (
        select(Enrollment.enrollment_id)
        .join(Course, Course.course_id == Enrollment.course_id)
        .where(Enrollment.user_id == learner_id, Course.instructor_id == instructor_id)
    )
    return bool(session.scalar(select(exists(query))))


def may_change_course(user: User, course: Course) -> bool:
    """A course (and what is in it) is changed by its instructor or by an admin."""
    return user.role is Role.ADMIN or course.instructor_id == user.user_id


def visible_enrollment(session: Session, *, viewer: User, enrollment_id: int) -> Enrollment | None:
    """The enrollment, if ``viewer`` is its learner, the course's instructor or an admin."""
    query = select(Enrollment).where(Enrollment.enrollment_id == enrollment_id)
    if viewer.role is not Role.ADMIN:
        query = query.where(
            (Enrollment.user_id == viewer.user_id) | Enrollment.course_id.in_(own_courses(viewer))
        )
    return session.scalars(query).one_or_none()
