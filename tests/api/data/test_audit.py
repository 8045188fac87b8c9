"""Writes through the data API land in the audit log, exactly as the admin panel's do: one
entry per create, update and delete, naming who did what to which row; secrets are named as
changed but never written; a refused write leaves no entry."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, User
from tests.api.helpers import assert_error, data, invalid_fields
from tests.world import World

X, Y, ADMIN = "instructor_x", "instructor_y", "admin"
NEW_COURSE = {
    "title": "Audited through the API",
    "category": "Testing",
    "difficulty": "Beginner",
    "price": 10,
    "duration": 45,
}
SECRET = "a-secret-password-42"


def logged_ids(session: Session) -> set[int]:
    ids = set(session.scalars(select(AuditEntry.audit_id)))
    session.rollback()  # end the read: the app writes through its own connections
    return ids


def new_entries(session: Session, before: set[int]) -> list[AuditEntry]:
    """What the log gained since ``before``, oldest first."""
    session.expire_all()
    entries = [
        entry
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.audit_id))
        if entry.audit_id not in before
    ]
    session.rollback()
    return entries


def who_what_where(entry: AuditEntry) -> tuple[Any, ...]:
    return (entry.user_id, entry.actor_email, entry.action, entry.table_name, entry.row_id)


class TestCreating:
    def test_writes_one_entry_with_the_actor_the_table_and_the_new_row(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        before = logged_ids(session)

        course = data(api.post("/api/data/courses", json=NEW_COURSE, headers=world.headers(X)), 201)

        [entry] = new_entries(session, before)
        assert who_what_where(entry) == (
            world.users[X],
            "x@example.com",
            "create",
            "courses",
            str(course["courseId"]),
        )
        assert entry.changes["title"] == "Audited through the API"
        assert entry.changes["duration"] == 45
        assert entry.created_at is not None


class TestUpdating:
    def test_writes_one_entry_with_only_the_fields_that_changed(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        course_id = world.rows["courses"][X]
        path = f"/api/data/courses/{course_id}"
        current = data(api.get(path, headers=world.headers(X)))
        before = logged_ids(session)

        # The duration is sent as it already is: it did not change, so it is not logged.
        api_answer = api.patch(
            path,
            json={"title": "Renamed course", "duration": current["duration"]},
            headers=world.headers(X),
        )

        assert data(api_answer)["title"] == "Renamed course"
        [entry] = new_entries(session, before)
        assert who_what_where(entry) == (
            world.users[X],
            "x@example.com",
            "update",
            "courses",
            str(course_id),
        )
        assert entry.changes == {"title": "Renamed course"}

    def test_an_update_that_changes_nothing_logs_nothing(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        course_id = world.rows["courses"][X]
        path = f"/api/data/courses/{course_id}"
        current = data(api.get(path, headers=world.headers(X)))
        before = logged_ids(session)

        data(api.patch(path, json={"title": current["title"]}, headers=world.headers(X)))

        assert new_entries(session, before) == []


class TestDeleting:
    def test_writes_one_entry_naming_the_deleted_row(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        course = data(api.post("/api/data/courses", json=NEW_COURSE, headers=world.headers(X)), 201)
        before = logged_ids(session)

        data(api.delete(f"/api/data/courses/{course['courseId']}", headers=world.headers(X)))

        [entry] = new_entries(session, before)
        assert who_what_where(entry) == (
            world.users[X],
            "x@example.com",
            "delete",
            "courses",
            str(course["courseId"]),
        )
        assert entry.changes == {}


class TestANewUsersPassword:
    def test_is_logged_as_changed_and_never_in_clear_or_hashed(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        before = logged_ids(session)

        created = data(
            api.post(
                "/api/data/users",
                headers=world.headers(ADMIN),
                json={
                    "email": "audited.teacher@example.com",
                    "name": "Audited Teacher",
                    "role": "instructor",
                    "password": SECRET,
                },
            ),
            201,
        )

        [entry] = new_entries(session, before)
        assert who_what_where(entry) == (
            world.users[ADMIN],
            "root@example.com",
            "create",
            "users",
            str(created["userId"]),
        )
        assert entry.changes["password"] == "(changed)"
        assert entry.changes["email"] == "audited.teacher@example.com"
        stored = session.get(User, created["userId"])
        assert stored is not None
        assert stored.password_hash.startswith("$argon2")
        logged = json.dumps(entry.changes)
        for secret in (SECRET, stored.password_hash, "$argon2"):
            assert secret not in logged, f"the audit log shows {secret!r}"
        session.rollback()


class TestARefusedWrite:
    def test_invalid_input_logs_nothing(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        before = logged_ids(session)
        # Refused by the pipeline's own check (an instructor naming another instructor).
        refused = api.post(
            "/api/data/courses",
            json=NEW_COURSE | {"instructorId": world.users[Y]},
            headers=world.headers(X),
        )
        assert invalid_fields(refused) == ["instructorId"]
        assert new_entries(session, before) == []

    def test_a_forbidden_change_logs_nothing(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        # Y reads X's published course but may not change it.
        course_id = world.rows["courses"][X]
        before = logged_ids(session)
        refused = api.patch(
            f"/api/data/courses/{course_id}", json={"title": "Taken"}, headers=world.headers(Y)
        )
        assert_error(refused, 403, "Access denied")
        assert new_entries(session, before) == []

    def test_a_conflict_logs_nothing(self, api: TestClient, world: World, session: Session) -> None:
        before = logged_ids(session)
        # Refused by the domain function, after the pipeline's checks passed.
        duplicate = api.post(
            "/api/data/users",
            headers=world.headers(ADMIN),
            json={"email": "a@example.com", "name": "Copy", "password": SECRET},
        )
        assert_error(duplicate, 409, "Email already registered")
        # Refused by the database (X's course has learners), inside the write's savepoint.
        still_used = api.delete(
            f"/api/data/courses/{world.rows['courses'][X]}", headers=world.headers(ADMIN)
        )
        assert still_used.status_code == 409, still_used.text
        assert new_entries(session, before) == []
