"""The catalog: courses, their listing in the catalog, their modules and quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from core.sql import contains
from integrations.storage import session_storage
from models import Course, CourseCatalog, CourseModule, Difficulty, Role, User
from services.media import forget_course_files


def check_instructor(session: Session, user_id: int, *, field: str = "instructor_id") -> None:
    role = session.scalar(select(User.role).where(User.user_id == user_id))
    if role not in (Role.INSTRUCTOR, Role.ADMIN):
        raise InvalidInput("must be an instructor's user id", field=field)


def create_course(session: Session, values: dict[str, Any], actor: User) -> Course:
    """A new course, owned by its instructor and listed in the catalog as a draft.

    An instructor always creates their own course; an admin names the instructor.
    """
    values = dict(values)
    if actor.role is Role.ADMIN:
        if values.get("instructor_id") is None:
            raise InvalidInput("is required when an admin creates a course", field="instructor_id")
        check_instructor(session, values["instructor_id"])
    else:
        values["instructor_id"] = actor.user_id
    course = Course(**values)
    session.add(course)
    session.flush()
    # Unpublished until an instructor or admin sets isActive on its catalog entry.
    session.add(CourseCatalog(course_id=course.course_id, is_active=False))
    session.flush()
    return course


class NothingToLearn(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "a course needs at least one module before it can be published", field="is_active"
        )


class AlreadyListed(Conflict):
    message = "This course already has a catalog entry"


def set_published(session: Session, *, course_id: int, published: bool) -> CourseCatalog:
    """Publish or unpublish a course (creating its catalog entry if it has none).

    The one way a course enters or leaves the catalog, whether from the data API, the admin
    panel's form or its publish actions: a course is published only once it has something to
    learn (a module), so a learner never enrolls in an empty course.
    """
    if published and not session.scalar(
        select(exists().where(CourseModule.course_id == course_id))
    ):
        raise NothingToLearn()
    entry = session.scalars(
        select(CourseCatalog).where(CourseCatalog.course_id == course_id)
    ).one_or_none()
    if entry is None:
        entry = CourseCatalog(course_id=course_id)
        session.add(entry)
    entry.is_active = published
    session.flush()
    return entry


def delete_course(session: Session, course: Course, actor: User) -> None:
    """Delete a course with everything in it (the database cascades to its modules, media
    rows, catalog entry...), and its stored files once that is committed: the cascade
    removes rows no domain function sees, and their files would stay in storage."""
    forget_course_files(session, session_storage(session), course.course_id)
    session.execute(delete(Course).where(Course.course_id == course.course_id))


class LastModuleOfAPublishedCourse(Conflict):
    message = "This is the only module of a published course: unpublish the course first"


def delete_module(session: Session, module: CourseModule, actor: User) -> None:
    """A published course keeps at least one module (the rule ``set_published`` starts)."""
    published = session.scalar(
        select(CourseCatalog.is_active).where(CourseCatalog.course_id == module.course_id)
    )
    others = session.scalar(
        select(
            exists().where(
                CourseModule.course_id == module.course_id,
                CourseModule.module_id != module.module_id,
            )
        )
    )
    if published and not others:
        raise LastModuleOfAPublishedCourse()
    # A statement, not session.delete: the database's ON DELETE rules take it from here.
    session.execute(delete(CourseModule).where(CourseModule.module_id == module.module_id))


def create_catalog_entry(session: Session, values: dict[str, Any], actor: User) -> CourseCatalog:
    """An admin lists a course that has no entry (every new course gets one as a draft)."""
    course_id = values["course_id"]
    if session.scalar(select(exists().where(CourseCatalog.course_id == course_id))):
        raise AlreadyListed()
    return set_published(session, course_id=course_id, published=bool(values.get("is_active")))


def update_catalog_entry(
    session: Session, entry: CourseCatalog, values: dict[str, Any], actor: User
) -> None:
    if "is_active" in values:
        set_published(session, course_id=entry.course_id, published=bool(values["is_active"]))


def check_course_instructor_change(
    session: Session, values: dict[str, Any], actor: User, existing: Any | None
) -> None:
    if values.get("instructor_id") is not None:
        check_instructor(session, values["instructor_id"])


def check_quiz_module(
    session: Session, values: dict[str, Any], actor: User, existing: Any | None
) -> None:
    """A quiz's module, when it has one, belongs to the quiz's course."""
    module_id = values.get("module_id", getattr(existing, "module_id", None))
    course_id = values.get("course_id", getattr(existing, "course_id", None))
    if module_id is None:
        return
    module_course = session.scalar(
        select(CourseModule.course_id).where(CourseModule.module_id == module_id)
    )
    if module_course != course_id:
        raise InvalidInput("must be a module of the quiz's course", field="module_id")


@dataclass(frozen=True)
class CatalogQuery:
    category: str | None = None
    difficulty: Difficulty | None = None
    max_duration: int | None = None
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = 20
    offset: int = 0


CATALOG_SORTS: dict[str, Any] = {
    "courseId": Course.course_id,
    "title": Course.title,
    "rating": Course.rating,
    "price": Course.price,
    "duration": Course.duration,
    "createdAt": Course.created_at,
}


async def list_catalog(session: AsyncSession, query: CatalogQuery) -> list[Row[Any]]:
    """Published courses with their instructor's name: one statement, whatever the page size."""
    statement = (
        select(Course, User.name.label("instructor_name"))
        .join(CourseCatalog, CourseCatalog.course_id == Course.course_id)
        .join(User, User.user_id == Course.instructor_id)
        .where(CourseCatalog.is_active.is_(True))
    )
    if query.category is not None:
        statement = statement.where(Course.category == query.category)
    if query.difficulty is not None:
        statement = statement.where(Course.difficulty == query.difficulty)
    if query.max_duration is not None:
        statement = statement.where(Course.duration <= query.max_duration)
    if query.min_price is not None:
        statement = statement.where(Course.price >= query.min_price)
    if query.max_price is not None:
        statement = statement.where(Course.price <= query.max_price)
    if query.search:
        statement = statement.where(
            contains(Course.title, query.search, ignore_case=True)
            | contains(Course.description, query.search, ignore_case=True)
        )
    order = [
        CATALOG_SORTS[name].desc().nulls_last() if descending else CATALOG_SORTS[name].asc()
        for name, descending in query.sort
    ]
    statement = statement.order_by(*order, Course.course_id).limit(query.limit).offset(query.offset)
    return list((await session.execute(statement)).all())
