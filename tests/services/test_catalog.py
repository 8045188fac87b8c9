"""Publishing a course: the catalog's one rule (a course is published only once it has a
module, and keeps one while it is), and the catalog entry's create and update, which both go
through it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from models import Course, CourseCatalog, CourseModule, Role, User
from services.catalog import (
    AlreadyListed,
    LastModuleOfAPublishedCourse,
    create_catalog_entry,
    delete_module,
    set_published,
    update_catalog_entry,
)
from tests.models.factories import make_course, make_module, make_user

RULE = "a course needs at least one module before it can be published"


@pytest.fixture
def session(db: Session) -> Session:
    """These tests talk to the database through this one session only: each runs in a
    transaction that is rolled back afterwards (``db`` in tests/conftest.py), no wipe."""
    return db


def draft(session: Session) -> Course:
    """A course listed as a draft (the factory lists its courses as published)."""
    course = make_course(session)
    entry = catalog_entry(session, course)
    assert entry is not None
    entry.is_active = False
    session.flush()
    return course


def unlisted(session: Session) -> Course:
    """A course with no catalog entry at all."""
    course = make_course(session)
    session.execute(delete(CourseCatalog).where(CourseCatalog.course_id == course.course_id))
    session.expire_all()
    return course


def catalog_entry(session: Session, course: Course) -> CourseCatalog | None:
    return session.scalars(
        select(CourseCatalog).where(CourseCatalog.course_id == course.course_id)
    ).one_or_none()


def entries_of(session: Session, course: Course) -> list[CourseCatalog]:
    return list(
        session.scalars(select(CourseCatalog).where(CourseCatalog.course_id == course.course_id))
    )


def assert_nothing_to_learn(error: pytest.ExceptionInfo[InvalidInput]) -> None:
    assert error.value.status_code == 400
    assert error.value.field == "is_active"
    assert error.value.problem == RULE


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, role=Role.ADMIN)


class TestSetPublished:
    def test_refuses_a_course_without_modules(self, session: Session) -> None:
        course = draft(session)

        with pytest.raises(InvalidInput) as refused:
            set_published(session, course_id=course.course_id, published=True)

        assert_nothing_to_learn(refused)
        session.expire_all()
        entry = catalog_entry(session, course)
        assert entry is not None
        assert entry.is_active is False

    def test_publishes_a_course_with_one_module(self, session: Session) -> None:
        course = draft(session)
        make_module(session, course)

        entry = set_published(session, course_id=course.course_id, published=True)

        assert entry.is_active is True
        session.expire_all()
        stored = catalog_entry(session, course)
        assert stored is not None
        assert (stored.catalog_id, stored.is_active) == (entry.catalog_id, True)

    def test_unpublishing_needs_no_module(self, session: Session) -> None:
        course = make_course(session)  # listed as published, and empty

        entry = set_published(session, course_id=course.course_id, published=False)

        assert entry.is_active is False
        session.expire_all()
        stored = catalog_entry(session, course)
        assert stored is not None
        assert stored.is_active is False

    def test_creates_the_entry_when_the_course_has_none(self, session: Session) -> None:
        course = unlisted(session)
        make_module(session, course)

        entry = set_published(session, course_id=course.course_id, published=True)

        assert entry.course_id == course.course_id
        assert [(e.catalog_id, e.is_active) for e in entries_of(session, course)] == [
            (entry.catalog_id, True)
        ]

    def test_refuses_to_list_an_unlisted_empty_course_as_published(self, session: Session) -> None:
        course = unlisted(session)

        with pytest.raises(InvalidInput) as refused:
            set_published(session, course_id=course.course_id, published=True)

        assert_nothing_to_learn(refused)
        assert entries_of(session, course) == []


class TestCreateCatalogEntry:
    def test_lists_a_course_that_has_no_entry(self, session: Session, admin: User) -> None:
        course = unlisted(session)

        entry = create_catalog_entry(session, {"course_id": course.course_id}, admin)

        assert (entry.course_id, entry.is_active) == (course.course_id, False)
        assert [e.catalog_id for e in entries_of(session, course)] == [entry.catalog_id]

    def test_lists_it_published_when_it_has_a_module(self, session: Session, admin: User) -> None:
        course = unlisted(session)
        make_module(session, course)

        entry = create_catalog_entry(
            session, {"course_id": course.course_id, "is_active": True}, admin
        )

        assert entry.is_active is True

    def test_refuses_to_list_an_empty_course_as_published(
        self, session: Session, admin: User
    ) -> None:
        course = unlisted(session)

        with pytest.raises(InvalidInput) as refused:
            create_catalog_entry(session, {"course_id": course.course_id, "is_active": True}, admin)

        assert_nothing_to_learn(refused)
        assert entries_of(session, course) == []

    def test_a_second_entry_for_a_course_is_a_conflict(self, session: Session, admin: User) -> None:
        course = draft(session)  # every course gets its entry when it is made

        with pytest.raises(AlreadyListed) as refused:
            create_catalog_entry(session, {"course_id": course.course_id}, admin)

        assert isinstance(refused.value, Conflict)
        assert refused.value.status_code == 409
        assert refused.value.message == "This course already has a catalog entry"
        assert len(entries_of(session, course)) == 1


class TestUpdateCatalogEntry:
    def test_refuses_to_publish_a_course_without_modules(
        self, session: Session, admin: User
    ) -> None:
        course = draft(session)
        entry = catalog_entry(session, course)
        assert entry is not None

        with pytest.raises(InvalidInput) as refused:
            update_catalog_entry(session, entry, {"is_active": True}, admin)

        assert_nothing_to_learn(refused)
        session.expire_all()
        stored = catalog_entry(session, course)
        assert stored is not None
        assert stored.is_active is False

    def test_publishes_a_course_with_a_module(self, session: Session, admin: User) -> None:
        course = draft(session)
        make_module(session, course)
        entry = catalog_entry(session, course)
        assert entry is not None

        update_catalog_entry(session, entry, {"is_active": True}, admin)

        session.expire_all()
        stored = catalog_entry(session, course)
        assert stored is not None
        assert stored.is_active is True

    def test_unpublishes_an_empty_course(self, session: Session, admin: User) -> None:
        course = make_course(session)
        entry = catalog_entry(session, course)
        assert entry is not None

        update_catalog_entry(session, entry, {"is_active": False}, admin)

        session.expire_all()
        stored = catalog_entry(session, course)
        assert stored is not None
        assert stored.is_active is False


class TestDeleteModule:
    def test_the_only_module_of_a_published_course_stays(
        self, session: Session, admin: User
    ) -> None:
        course = make_course(session)  # published by the factory
        module = make_module(session, course)
        with pytest.raises(LastModuleOfAPublishedCourse) as refused:
            delete_module(session, module, admin)
        assert refused.value.status_code == 409
        assert session.get(CourseModule, module.module_id) is not None

    def test_one_of_several_modules_goes(self, session: Session, admin: User) -> None:
        course = make_course(session)
        first, second = make_module(session, course), make_module(session, course, position=1)
        delete_module(session, first, admin)
        session.expire_all()
        assert session.get(CourseModule, first.module_id) is None
        assert session.get(CourseModule, second.module_id) is not None

    def test_the_last_module_of_a_draft_goes(self, session: Session, admin: User) -> None:
        course = draft(session)
        module = make_module(session, course)
        delete_module(session, module, admin)
        session.expire_all()
        assert session.get(CourseModule, module.module_id) is None
