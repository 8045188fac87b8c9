"""The catalog: courses, their listing in the catalog, their modules and quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from models import Course, CourseCatalog, CourseModule, Difficulty, Role, User


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


def set_published(session: Session, *, course_id: int, published: bool) -> CourseCatalog:
    """Publish or unpublish a course (creating its catalog entry if it has none)."""
    entry = session.scalars(
        select(CourseCatalog).where(CourseCatalog.course_id == course_id)
    ).one_or_none()
    if entry is None:
        entry = CourseCatalog(course_id=course_id)
        session.add(entry)
    entry.is_active = published
    session.flush()
    return entry


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


def _contains(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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
        pattern = _contains(query.search)
        statement = statement.where(
            Course.title.ilike(pattern, escape="\\")
            | Course.description.ilike(pattern, escape="\\")
        )
    order = [
        CATALOG_SORTS[name].desc().nulls_last() if descending else CATALOG_SORTS[name].asc()
        for name, descending in query.sort
    ]
    statement = statement.order_by(*order, Course.course_id).limit(query.limit).offset(query.offset)
    return list((await session.execute(statement)).all())
