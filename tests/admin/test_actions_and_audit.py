"""Panel actions call the domain functions the API calls; every change is in the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, Course, CourseCatalog, Notification, NotificationStatus
from tests.admin.conftest import SignIn
from tests.world import World


def catalog_titles(client: TestClient) -> set[str]:
    answer = client.get("/api/courses/catalog/list", params={"limit": 100})
    assert answer.status_code == 200
    return {course["title"] for course in answer.json()["data"]["courses"]}


def is_published(session: Session, course_id: int) -> bool:
    session.expire_all()
    return bool(
        session.scalar(select(CourseCatalog.is_active).where(CourseCatalog.course_id == course_id))
    )


def audit_entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


class TestPublishing:
    def test_an_instructor_publishes_their_course_into_the_catalog(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        instructor = sign_in("instructor_y")
        course_id = panel_world.rows["courses"]["instructor_y"]
        assert "Course of instructor_y" not in catalog_titles(instructor)

        answer = instructor.get(f"/admin/courses/action/publish?pks={course_id}")

        assert answer.status_code == 302
        assert "error" not in answer.headers["location"]
        assert is_published(session, course_id)
        assert "Course of instructor_y" in catalog_titles(instructor)
        [entry] = audit_entries(session, "publish")
        assert (entry.table_name, entry.row_id) == ("courses", str(course_id))
        assert entry.actor_email == "y@example.com"

    def test_unpublishing_takes_it_out_again(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]
        instructor.get(f"/admin/courses/action/unpublish?pks={course_id}")
        assert not is_published(session, course_id)
        assert "Course of instructor_x" not in catalog_titles(instructor)

    def test_an_instructor_cannot_publish_another_instructors_course(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_y"]
        answer = sign_in("instructor_x").get(f"/admin/courses/action/publish?pks={course_id}")
        assert "error=" in answer.headers["location"]
        assert not is_published(session, course_id)
        assert audit_entries(session, "publish") == []

    def test_an_admin_publishes_any_course(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_y"]
        sign_in("admin").get(f"/admin/courses/action/publish?pks={course_id}")
        assert is_published(session, course_id)


class TestResendingANotification:
    def fail(self, session: Session, notification_id: int) -> None:
        notification = session.get(Notification, notification_id)
        assert notification is not None
        notification.status = NotificationStatus.FAILED
        session.commit()

    def test_a_failed_notification_is_delivered_again(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        notification_id = panel_world.rows["notifications"]["student_a"]
        self.fail(session, notification_id)

        answer = sign_in("admin").get(f"/admin/notifications/action/resend?pks={notification_id}")

        assert "error" not in answer.headers["location"]
        session.expire_all()
        notification = session.get(Notification, notification_id)
        assert notification is not None
        # The worker ran it (inline here): an in-app notification is delivered at once.
        assert notification.status is NotificationStatus.SENT
        assert [entry.row_id for entry in audit_entries(session, "resend")] == [
            str(notification_id)
        ]

    def test_only_a_failed_notification_can_be_resent(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        notification_id = panel_world.rows["notifications"]["student_a"]
        answer = sign_in("admin").get(f"/admin/notifications/action/resend?pks={notification_id}")
        assert (
            "Only+a+failed" in answer.headers["location"]
            or "Only%20a%20failed" in (answer.headers["location"])
        )
        assert audit_entries(session, "resend") == []

    def test_instructors_cannot_resend(self, sign_in: SignIn, panel_world: World) -> None:
        notification_id = panel_world.rows["notifications"]["student_a"]
        answer = sign_in("instructor_x").get(
            f"/admin/notifications/action/resend?pks={notification_id}"
        )
        assert answer.status_code == 403


class TestWhereAnActionLeadsBack:
    def test_to_the_panel_page_it_was_started_from(
        self, sign_in: SignIn, panel_world: World
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_x"]
        page = f"http://testserver/admin/courses/details/{course_id}"
        answer = sign_in("instructor_x").get(
            f"/admin/courses/action/unpublish?pks={course_id}", headers={"referer": page}
        )
        assert answer.headers["location"] == f"/admin/courses/details/{course_id}"

    def test_never_to_another_site(self, sign_in: SignIn, panel_world: World) -> None:
        course_id = panel_world.rows["courses"]["instructor_x"]
        answer = sign_in("instructor_x").get(
            f"/admin/courses/action/unpublish?pks={course_id}",
            headers={"referer": "https://evil.example/admin/courses/list"},
        )
        assert answer.headers["location"] == "/admin/courses/list"


class TestTheAuditLog:
    def test_records_who_created_changed_and_deleted_what(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        created = instructor.post(
            "/admin/courses/create",
            data={
                "title": "Audited course",
                "description": "Every change is on record",
                "category": "Testing",
                "difficulty": "Beginner",
                "duration": "60",
                "price": "5",
                "cover_image_url": "",
                "save": "Save",
            },
        )
        assert created.status_code == 302, created.text
        course = session.scalars(select(Course).where(Course.title == "Audited course")).one()
        edited = instructor.post(
            f"/admin/courses/edit/{course.course_id}",
            data={
                "title": "Audited course, revised",
                "description": "Every change is on record",
                "category": "Testing",
                "difficulty": "Beginner",
                "duration": "90",
                "price": "5",
                "cover_image_url": "",
                "save": "Save",
            },
        )
        assert edited.status_code == 302, edited.text
        deleted = instructor.delete(f"/admin/courses/delete?pks={course.course_id}")
        assert deleted.status_code == 200
        assert "error" not in deleted.text

        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.row_id == str(course.course_id))
                .order_by(AuditEntry.audit_id)
            )
        )
        assert [entry.action for entry in entries] == ["create", "update", "delete"]
        assert {entry.user_id for entry in entries} == {panel_world.users["instructor_x"]}
        assert entries[0].changes["title"] == "Audited course"
        # Only what changed is recorded on an update.
        assert entries[1].changes == {"title": "Audited course, revised", "duration": 90}
        assert all(entry.created_at is not None for entry in entries)

    def test_a_refused_change_leaves_no_entry_and_no_row(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        logged = session.scalars(select(AuditEntry.audit_id)).all()
        answer = instructor.post(
            "/admin/courses/create",
            data={"title": "", "category": "x", "difficulty": "Beginner", "save": "Save"},
        )
        assert answer.status_code == 400
        assert session.scalars(select(AuditEntry.audit_id)).all() == logged

    def test_a_new_users_password_is_never_logged(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        answer = sign_in("admin").post(
            "/admin/users/create",
            data={
                "email": "new.teacher@example.com",
                "name": "New Teacher",
                "role": "instructor",
                "password": "a-secret-password",
                "is_active": "y",
                "save": "Save",
            },
        )
        assert answer.status_code == 302, answer.text
        [entry] = audit_entries(session, "create")
        assert entry.changes["password"] == "(changed)"
        assert "a-secret-password" not in str(entry.changes)

    def test_is_visible_to_admins_only(self, sign_in: SignIn, panel_world: World) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]
        instructor.get(f"/admin/courses/action/unpublish?pks={course_id}")

        page = sign_in("admin").get("/admin/audit-log/list")
        assert page.status_code == 200
        assert "x@example.com" in page.text
        assert instructor.get("/admin/audit-log/list").status_code == 403
