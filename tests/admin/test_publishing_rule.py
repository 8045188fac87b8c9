"""Publishing runs one rule whichever side asks: a course without a module cannot be
published through the data API, the panel's publish action or the panel's catalog form;
with a module, every side publishes it. A bulk action is one unit of work: when one selected
row is refused, no row changes, and the answer names the refused one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, CourseCatalog, User
from tests.admin.conftest import SignIn
from tests.api.helpers import assert_error, data
from tests.models.factories import make_course, make_module
from tests.world import World

X = "instructor_x"
RULE = "a course needs at least one module before it can be published"


class Listing(NamedTuple):
    course_id: int
    catalog_id: int


def draft_of_x(session: Session, world: World, *, with_module: bool) -> Listing:
    """A new course of instructor_x, listed as a draft (the factory lists it as published)."""
    instructor = session.get(User, world.users[X])
    assert instructor is not None
    course = make_course(session, instructor=instructor, title="A course of X's, in progress")
    if with_module:
        make_module(session, course, title="Its first lesson")
    entry = session.scalars(
        select(CourseCatalog).where(CourseCatalog.course_id == course.course_id)
    ).one()
    entry.is_active = False
    listing = Listing(course.course_id, entry.catalog_id)
    session.commit()
    return listing


def is_published(session: Session, course_id: int) -> bool:
    session.expire_all()
    published = session.scalar(
        select(CourseCatalog.is_active).where(CourseCatalog.course_id == course_id)
    )
    session.rollback()  # end the read: the app writes through its own connections
    return bool(published)


def audited_actions(session: Session) -> list[tuple[str, str, str | None]]:
    """What the log holds besides the world's own entry (an admin's course update)."""
    session.expire_all()
    rows = session.execute(
        select(AuditEntry.action, AuditEntry.table_name, AuditEntry.row_id)
        .where(AuditEntry.actor_email != "root@example.com")
        .order_by(AuditEntry.audit_id)
    ).all()
    session.rollback()
    return [(action, table, row_id) for action, table, row_id in rows]


def error_of(answer: Response) -> str | None:
    """The ``error`` query parameter of an action's redirect (None when it succeeded)."""
    assert answer.status_code == 302, answer.text
    errors = parse_qs(urlsplit(answer.headers["location"]).query).get("error")
    return errors[0] if errors else None


@pytest.fixture
def api(panel_app: FastAPI) -> Iterator[TestClient]:
    """The panel's app, called as the data API (bearer tokens, no cookies). Not entered as a
    context manager: that would run the shared app's lifespan again."""
    with closing(TestClient(panel_app)) as client:
        yield client


@pytest.fixture
def empty_course(panel_world: World, session: Session) -> Listing:
    return draft_of_x(session, panel_world, with_module=False)


@pytest.fixture
def course_with_a_module(panel_world: World, session: Session) -> Listing:
    return draft_of_x(session, panel_world, with_module=True)


class TestPublishingACourseWithoutModules:
    def test_is_refused_by_the_data_api(
        self, api: TestClient, panel_world: World, session: Session, empty_course: Listing
    ) -> None:
        answer = api.patch(
            f"/api/data/course-catalog/{empty_course.catalog_id}",
            json={"isActive": True},
            headers=panel_world.headers(X),
        )

        body = assert_error(answer, 400, "Invalid input data")
        assert body["error"]["details"] == [{"field": "isActive", "message": RULE}]
        assert not is_published(session, empty_course.course_id)
        assert audited_actions(session) == []

    def test_is_refused_by_the_panels_publish_action(
        self, sign_in: SignIn, session: Session, empty_course: Listing
    ) -> None:
        answer = sign_in(X).get(f"/admin/courses/action/publish?pks={empty_course.course_id}")

        error = error_of(answer)
        assert error is not None, "the publish action answered without an error"
        assert error.startswith(f"Course #{empty_course.course_id}: "), error
        assert RULE in error
        assert not is_published(session, empty_course.course_id)
        assert audited_actions(session) == []

    def test_is_refused_by_the_panels_catalog_form(
        self, sign_in: SignIn, session: Session, empty_course: Listing
    ) -> None:
        answer = sign_in(X).post(
            f"/admin/course-catalog/edit/{empty_course.catalog_id}",
            data={"is_active": "y", "save": "Save"},
        )

        assert answer.status_code == 400, answer.text
        assert RULE in answer.text
        assert not is_published(session, empty_course.course_id)
        assert audited_actions(session) == []


class TestPublishingACourseWithAModule:
    def test_the_data_api_publishes_it(
        self,
        api: TestClient,
        panel_world: World,
        session: Session,
        course_with_a_module: Listing,
    ) -> None:
        answer = api.patch(
            f"/api/data/course-catalog/{course_with_a_module.catalog_id}",
            json={"isActive": True},
            headers=panel_world.headers(X),
        )

        assert data(answer)["isActive"] is True
        assert is_published(session, course_with_a_module.course_id)
        assert audited_actions(session) == [
            ("update", "course_catalog", str(course_with_a_module.catalog_id))
        ]

    def test_the_panels_publish_action_publishes_it(
        self, sign_in: SignIn, session: Session, course_with_a_module: Listing
    ) -> None:
        answer = sign_in(X).get(
            f"/admin/courses/action/publish?pks={course_with_a_module.course_id}"
        )

        assert error_of(answer) is None
        assert is_published(session, course_with_a_module.course_id)
        assert audited_actions(session) == [
            ("publish", "courses", str(course_with_a_module.course_id))
        ]

    def test_the_panels_catalog_form_publishes_it(
        self, sign_in: SignIn, session: Session, course_with_a_module: Listing
    ) -> None:
        answer = sign_in(X).post(
            f"/admin/course-catalog/edit/{course_with_a_module.catalog_id}",
            data={"is_active": "y", "save": "Save"},
        )

        assert answer.status_code == 302, answer.text
        assert is_published(session, course_with_a_module.course_id)
        assert audited_actions(session) == [
            ("update", "course_catalog", str(course_with_a_module.catalog_id))
        ]


class TestABulkAction:
    def unpublish_the_worlds_course_of_x(self, session: Session, world: World) -> int:
        """The world's course of X has a module and is published: make it a draft again."""
        course_id = world.rows["courses"][X]
        entry = session.scalars(
            select(CourseCatalog).where(CourseCatalog.course_id == course_id)
        ).one()
        entry.is_active = False
        session.commit()
        return course_id

    def test_changes_no_row_when_one_is_refused_and_names_that_one(
        self, sign_in: SignIn, panel_world: World, session: Session, empty_course: Listing
    ) -> None:
        ready = self.unpublish_the_worlds_course_of_x(session, panel_world)

        # The course that may be published comes first: it is written before the refusal.
        answer = sign_in(X).get(
            f"/admin/courses/action/publish?pks={ready},{empty_course.course_id}"
        )

        error = error_of(answer)
        assert error is not None, "the bulk action answered without an error"
        assert error.startswith(f"Course #{empty_course.course_id}: "), error
        assert RULE in error
        assert f"#{ready}" not in error
        assert not is_published(session, ready)
        assert not is_published(session, empty_course.course_id)
        assert audited_actions(session) == []

    def test_changes_every_row_when_none_is_refused(
        self,
        sign_in: SignIn,
        panel_world: World,
        session: Session,
        course_with_a_module: Listing,
    ) -> None:
        ready = self.unpublish_the_worlds_course_of_x(session, panel_world)

        answer = sign_in(X).get(
            f"/admin/courses/action/publish?pks={ready},{course_with_a_module.course_id}"
        )

        assert error_of(answer) is None
        assert is_published(session, ready)
        assert is_published(session, course_with_a_module.course_id)
        assert sorted(audited_actions(session)) == sorted(
            [
                ("publish", "courses", str(ready)),
                ("publish", "courses", str(course_with_a_module.course_id)),
            ]
        )
