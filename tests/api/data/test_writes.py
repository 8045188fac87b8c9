"""Creating, changing and deleting through the data API: the same rules for every resource,
and the catalog's own rules (courses listed as drafts, unique module positions, media in
upload order, admins managing users)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CourseCatalog, RefreshToken, User
from tests.api.helpers import assert_error, data, invalid_fields
from tests.world import World

X, Y, A, ADMIN = "instructor_x", "instructor_y", "student_a", "admin"
NEW_COURSE = {
    "title": "Testing in Python",
    "category": "Programming",
    "difficulty": "Beginner",
    "price": 25.5,
    "duration": 90,
}


class TestCourses:
    def test_an_instructor_creates_their_own_course_as_a_draft(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        course = data(api.post("/api/data/courses", json=NEW_COURSE, headers=world.headers(X)), 201)
        assert course["instructorId"] == world.users[X]
        assert course["price"] == 25.5
        entry = session.scalars(
            select(CourseCatalog).where(CourseCatalog.course_id == course["courseId"])
        ).one()
        assert entry.is_active is False
        listed = data(api.get("/api/courses/catalog/list?q=Testing in Python"))["courses"]
        assert listed == []

    def test_publishing_the_catalog_entry_lists_it(self, api: TestClient, world: World) -> None:
        course = data(api.post("/api/data/courses", json=NEW_COURSE, headers=world.headers(X)), 201)
        entry = data(
            api.get(
                f"/api/data/course-catalog?courseId={course['courseId']}", headers=world.headers(X)
            )
        )["items"][0]
        module = {"courseId": course["courseId"], "title": "Welcome", "position": 0}
        data(api.post("/api/data/course-modules", json=module, headers=world.headers(X)), 201)
        published = api.patch(
            f"/api/data/course-catalog/{entry['catalogId']}",
            json={"isActive": True},
            headers=world.headers(X),
        )
        assert data(published)["isActive"] is True
        listed = data(api.get("/api/courses/catalog/list?q=Testing in Python"))["courses"]
        assert [c["courseId"] for c in listed] == [course["courseId"]]

    def test_an_instructor_cannot_claim_someone_elses_name(
        self, api: TestClient, world: World
    ) -> None:
        response = api.post(
            "/api/data/courses",
            json=NEW_COURSE | {"instructorId": world.users[Y]},
            headers=world.headers(X),
        )
        assert invalid_fields(response) == ["instructorId"]

    def test_an_admin_names_an_instructor(self, api: TestClient, world: World) -> None:
        headers = world.headers(ADMIN)
        missing = api.post("/api/data/courses", json=NEW_COURSE, headers=headers)
        assert invalid_fields(missing) == ["instructorId"]
        student = api.post(
            "/api/data/courses", json=NEW_COURSE | {"instructorId": world.users[A]}, headers=headers
        )
        assert invalid_fields(student) == ["instructorId"]
        made = api.post(
            "/api/data/courses", json=NEW_COURSE | {"instructorId": world.users[Y]}, headers=headers
        )
        assert data(made, 201)["instructorId"] == world.users[Y]

    def test_values_are_checked_against_the_columns(self, api: TestClient, world: World) -> None:
        cases = [
            ({"rating": 4.5}, "rating"),
            ({"price": -1}, "price"),
            ({"price": 12.345}, "price"),
            ({"title": "x" * 101}, "title"),
            ({"difficulty": "Expert"}, "difficulty"),
            ({"duration": "long"}, "duration"),
            ({"courseId": 99}, "courseId"),
            ({"createdAt": "2020-01-01T00:00:00Z"}, "createdAt"),
        ]
        for change, field in cases:
            response = api.post(
                "/api/data/courses", json=NEW_COURSE | change, headers=world.headers(X)
            )
            assert invalid_fields(response) == [field], change
        assert invalid_fields(
            api.post("/api/data/courses", json={"title": "No category"}, headers=world.headers(X))
        )

    def test_patch_answers_with_the_changed_row(self, api: TestClient, world: World) -> None:
        course_id = world.rows["courses"][X]
        changed = data(
            api.patch(
                f"/api/data/courses/{course_id}", json={"price": 12.5}, headers=world.headers(X)
            )
        )
        assert (changed["courseId"], changed["price"]) == (course_id, 12.5)
        assert changed["title"] == "Course of instructor_x"

    def test_patch_refuses_nulls_and_empty_bodies(self, api: TestClient, world: World) -> None:
        path = f"/api/data/courses/{world.rows['courses'][X]}"
        assert invalid_fields(api.patch(path, json={"title": None}, headers=world.headers(X))) == [
            "title"
        ]
        assert invalid_fields(api.patch(path, json={}, headers=world.headers(X))) == ["body"]
        assert invalid_fields(
            api.patch(path, json={"instructorId": world.users[Y]}, headers=world.headers(X))
        ) == ["instructorId"]

    def test_a_course_with_learners_cannot_be_deleted(self, api: TestClient, world: World) -> None:
        response = api.delete(
            f"/api/data/courses/{world.rows['courses'][X]}", headers=world.headers(ADMIN)
        )
        assert_error(
            response, 409, "This course is still referenced by other records and cannot be deleted"
        )

    def test_a_course_without_learners_is_deleted_with_its_modules(
        self, api: TestClient, world: World
    ) -> None:
        course = data(api.post("/api/data/courses", json=NEW_COURSE, headers=world.headers(X)), 201)
        data(
            api.post(
                "/api/data/course-modules",
                headers=world.headers(X),
                json={"courseId": course["courseId"], "title": "Intro", "position": 0},
            ),
            201,
        )
        deleted = api.delete(f"/api/data/courses/{course['courseId']}", headers=world.headers(X))
        assert data(deleted) == {"message": "Course deleted"}
        gone = api.get(
            f"/api/data/course-modules?courseId={course['courseId']}", headers=world.headers(X)
        )
        assert data(gone)["items"] == []


class TestModulesMediaQuizzes:
    def test_module_positions_are_unique_per_course(self, api: TestClient, world: World) -> None:
        course_id = world.rows["courses"][X]
        body = {"courseId": course_id, "title": "Again", "position": 0}
        response = api.post("/api/data/course-modules", json=body, headers=world.headers(X))
        assert_error(
            response, 409, "A course module with this courseId and position already exists"
        )
        moved = body | {"position": 1}
        assert data(api.post("/api/data/course-modules", json=moved, headers=world.headers(X)), 201)

    def test_children_go_only_under_your_own_courses(self, api: TestClient, world: World) -> None:
        for path, body in [
            ("course-modules", {"title": "Sneaky", "position": 5}),
            ("media-repository", {"mediaType": "image", "mediaUrl": "https://x.example.com/a.png"}),
            ("quizzes", {"title": "Sneaky", "questions": []}),
        ]:
            for course_id in (world.rows["courses"][Y], 999_999):
                response = api.post(
                    f"/api/data/{path}",
                    json=body | {"courseId": course_id},
                    headers=world.headers(X),
                )
                assert invalid_fields(response) == ["courseId"], (path, course_id)

    def test_media_is_numbered_in_upload_order(self, api: TestClient, world: World) -> None:
        course_id = world.rows["courses"][X]
        indexes = []
        for number in range(3):
            made = api.post(
                "/api/data/media-repository",
                headers=world.headers(X),
                json={
                    "courseId": course_id,
                    "mediaType": "video",
                    "mediaUrl": f"https://cdn.example.com/v{number}.mp4",
                },
            )
            indexes.append(data(made, 201)["index"])
        assert indexes == [1, 2, 3]  # the world's course already holds index 0
        listed = data(
            api.get(
                f"/api/data/media-repository?courseId={course_id}&sort=index",
                headers=world.headers(X),
            )
        )["items"]
        assert [m["index"] for m in listed] == [0, 1, 2, 3]
        assert all(m["instructorId"] == world.users[X] for m in listed)

    def test_a_quiz_module_belongs_to_the_quiz_course(self, api: TestClient, world: World) -> None:
        mine = world.rows["courses"][X]
        other_module = world.rows["course_modules"][Y]
        response = api.post(
            "/api/data/quizzes",
            headers=world.headers(X),
            json={"courseId": mine, "moduleId": other_module, "title": "Mixed up"},
        )
        assert invalid_fields(response) == ["moduleId"]
        response = api.post(
            "/api/data/quizzes",
            headers=world.headers(X),
            json={
                "courseId": mine,
                "moduleId": world.rows["course_modules"][X],
                "title": "Fine",
                "passMark": 101,
            },
        )
        assert invalid_fields(response) == ["passMark"]

    def test_a_module_with_progress_cannot_be_deleted(self, api: TestClient, world: World) -> None:
        response = api.delete(
            f"/api/data/course-modules/{world.rows['course_modules'][X]}", headers=world.headers(X)
        )
        assert response.status_code == 409


class TestUsers:
    def test_an_admin_creates_an_instructor_without_leaking_the_hash(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        response = api.post(
            "/api/data/users",
            headers=world.headers(ADMIN),
            json={
                "email": "New.Teacher@Example.com",
                "name": "New Teacher",
                "role": "instructor",
                "password": "a-long-password",
            },
        )
        user = data(response, 201)
        assert (user["email"], user["role"]) == ("new.teacher@example.com", "instructor")
        assert "passwordHash" not in user
        assert "password" not in response.text.lower().replace('"passwordhash"', "")
        stored = session.get(User, user["userId"])
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")

    def test_duplicate_emails_are_409(self, api: TestClient, world: World) -> None:
        response = api.post(
            "/api/data/users",
            headers=world.headers(ADMIN),
            json={"email": "a@example.com", "name": "Copy"},
        )
        assert_error(response, 409, "Email already registered")

    def test_deactivating_a_user_ends_their_sessions(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        from datetime import timedelta

        from services.sessions import issue_refresh_token

        issue_refresh_token(session, user_id=world.users[A], lifetime=timedelta(days=1))
        session.commit()
        response = api.patch(
            f"/api/data/users/{world.users[A]}",
            json={"isActive": False},
            headers=world.headers(ADMIN),
        )
        assert data(response)["isActive"] is False
        session.expire_all()
        tokens = session.scalars(
            select(RefreshToken).where(RefreshToken.user_id == world.users[A])
        ).all()
        assert tokens
        assert all(token.revoked_at is not None for token in tokens)
        assert api.get("/api/auth/user/profile", headers=world.headers(A)).status_code == 401
