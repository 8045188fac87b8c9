"""The Enrollment Service: enroll (the seed's), an enrollment (the seed's), a learner's
courses, dropping a course and coming back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from models import (
    Analytics,
    Course,
    CourseCatalog,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    PaymentStatus,
    ProgressTracking,
    Role,
    User,
)
from services.enrollments import remind_idle_learners
from tests.api.helpers import TIMESTAMP, assert_error, data, invalid_fields
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.world import token_for


def auth(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


@dataclass
class School:
    learner: User
    other: User
    teacher: User
    admin: User
    free: Course
    paid: Course


@pytest.fixture
def school(session: Session) -> School:
    teacher = make_user(session, role=Role.INSTRUCTOR)
    school = School(
        learner=make_user(session),
        other=make_user(session),
        teacher=teacher,
        admin=make_user(session, role=Role.ADMIN),
        free=make_course(session, instructor=teacher, price=Decimal(0)),
        paid=make_course(session, instructor=teacher, price=Decimal("5000.00")),
    )
    session.commit()
    return school


def enroll(
    client: TestClient, session: Session, actor: User, course: Course, **body: object
) -> object:
    payload = {"courseId": course.course_id, "userId": actor.user_id} | body
    return client.post("/api/enrollments/enroll", json=payload, headers=auth(session, actor))


def events(session: Session, kind: EventType) -> list[Analytics]:
    session.expire_all()
    return list(session.scalars(select(Analytics).where(Analytics.event_type == kind.value)))


class TestEnrollInAFreeCourse:
    def test_answers_201_with_the_seeds_shape_and_writes_the_event_and_the_welcome(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        body = data(enroll(client, session, school.learner, school.free), 201)
        assert set(body) == {"enrollmentId", "message"}
        assert body["message"] == "Enrollment successful"
        enrollment = session.get_one(Enrollment, body["enrollmentId"])
        assert (enrollment.user_id, enrollment.course_id) == (
            school.learner.user_id,
            school.free.course_id,
        )
        assert enrollment.status is EnrollmentStatus.IN_PROGRESS
        assert enrollment.payment_id is None
        [recorded] = events(session, EventType.ENROLLMENT_CREATED)
        assert recorded.event_data["enrollmentId"] == body["enrollmentId"]
        welcome = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == EventType.ENROLLMENT_CREATED)
        ).one()
        assert welcome.payload["user_id"] == school.learner.user_id

    def test_the_learner_defaults_to_the_caller(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        response = client.post(
            "/api/enrollments/enroll",
            json={"courseId": school.free.course_id},
            headers=auth(session, school.learner),
        )
        enrollment = session.get_one(Enrollment, data(response, 201)["enrollmentId"])
        assert enrollment.user_id == school.learner.user_id

    def test_a_second_enrollment_is_409_and_writes_nothing(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        data(enroll(client, session, school.learner, school.free), 201)
        assert_error(
            enroll(client, session, school.learner, school.free), 409, "User already enrolled"
        )
        assert len(events(session, EventType.ENROLLMENT_CREATED)) == 1

    def test_a_payment_for_a_free_course_is_refused(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        session.commit()
        response = enroll(
            client, session, school.learner, school.free, paymentId=payment.payment_id
        )
        assert invalid_fields(response) == ["paymentId"]


class TestWhoMayEnroll:
    def test_a_student_may_not_enroll_someone_else(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        response = enroll(client, session, school.learner, school.free, userId=school.other.user_id)
        assert_error(response, 403, "Access denied")
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0

    def test_an_admin_enrolls_anyone(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        body = data(
            enroll(client, session, school.admin, school.free, userId=school.learner.user_id), 201
        )
        assert session.get_one(Enrollment, body["enrollmentId"]).user_id == school.learner.user_id

    def test_an_admin_naming_no_user_is_400(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        response = enroll(client, session, school.admin, school.free, userId=2_000_000_000)
        assert invalid_fields(response) == ["userId"]

    def test_an_unpublished_or_missing_course_is_404(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        entry = session.scalars(
            select(CourseCatalog).where(CourseCatalog.course_id == school.free.course_id)
        ).one()
        entry.is_active = False
        session.commit()
        assert_error(enroll(client, session, school.learner, school.free), 404, "Course not found")
        response = client.post(
            "/api/enrollments/enroll",
            json={"courseId": 2_000_000_000},
            headers=auth(session, school.learner),
        )
        assert_error(response, 404, "Course not found")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"courseId": "one"}, "courseId"),
            ({"courseId": 0}, "courseId"),
            ({}, "courseId"),
            ({"courseId": 1, "paymentId": -1}, "paymentId"),
            ({"courseId": 1, "userId": 2**40}, "userId"),
            ({"courseId": 1, "extra": True}, "extra"),
        ],
    )
    def test_a_malformed_request_is_400_naming_the_field(
        self,
        client: TestClient,
        session: Session,
        school: School,
        body: dict[str, object],
        field: str,
    ) -> None:
        response = client.post(
            "/api/enrollments/enroll", json=body, headers=auth(session, school.learner)
        )
        assert field in invalid_fields(response)

    def test_without_a_token_is_401(self, client: TestClient, school: School) -> None:
        response = client.post("/api/enrollments/enroll", json={"courseId": school.free.course_id})
        assert response.status_code == 401


class TestEnrollInAPaidCourse:
    def test_needs_a_payment(self, client: TestClient, session: Session, school: School) -> None:
        response = enroll(client, session, school.learner, school.paid)
        assert_error(
            response, 402, "This course is paid: pay for it, then enroll with the payment's id"
        )

    def test_with_the_learners_successful_payment_links_it(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        session.commit()
        body = data(
            enroll(client, session, school.learner, school.paid, paymentId=payment.payment_id), 201
        )
        assert session.get_one(Enrollment, body["enrollmentId"]).payment_id == payment.payment_id

    def test_enrolling_again_with_the_same_payment_is_200_with_the_same_enrollment(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        """A successful payment enrolls its learner itself; the frontend's enroll call that
        follows must not fail."""
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        session.commit()
        first = data(
            enroll(client, session, school.learner, school.paid, paymentId=payment.payment_id), 201
        )
        again = data(
            enroll(client, session, school.learner, school.paid, paymentId=payment.payment_id), 200
        )
        assert again == first
        assert len(events(session, EventType.ENROLLMENT_CREATED)) == 1

    @pytest.mark.parametrize(
        ("status", "message"),
        [
            (PaymentStatus.PENDING, "The payment has not succeeded (it is pending)"),
            (PaymentStatus.FAILED, "The payment has not succeeded (it is failed)"),
            (PaymentStatus.REFUNDED, "The payment has not succeeded (it is refunded)"),
        ],
    )
    def test_a_payment_that_did_not_succeed_is_402(
        self,
        client: TestClient,
        session: Session,
        school: School,
        status: PaymentStatus,
        message: str,
    ) -> None:
        payment = make_payment(session, school.learner, school.paid, payment_status=status)
        session.commit()
        response = enroll(
            client, session, school.learner, school.paid, paymentId=payment.payment_id
        )
        assert_error(response, 402, message)

    def test_someone_elses_payment_or_another_courses_is_400_naming_the_problem(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        theirs = make_payment(
            session, school.other, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        other_course = make_course(session, price=Decimal(100))
        elsewhere = make_payment(
            session, school.learner, other_course, payment_status=PaymentStatus.SUCCESS
        )
        session.commit()
        for payment, problem in (
            (theirs, "was made by another user"),
            (elsewhere, "is for another course"),
        ):
            body = assert_error(
                enroll(client, session, school.learner, school.paid, paymentId=payment.payment_id),
                400,
                "Invalid input data",
            )
            assert body["error"]["details"] == [{"field": "paymentId", "message": problem}]
        missing = enroll(client, session, school.learner, school.paid, paymentId=2_000_000_000)
        assert invalid_fields(missing) == ["paymentId"]
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0

    def test_a_payment_already_used_by_another_enrollment_is_400(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        # Linked by hand to the learner's enrollment elsewhere: no flow makes such a link.
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        make_enrollment(session, school.learner, school.free, payment_id=payment.payment_id)
        session.commit()
        response = enroll(
            client, session, school.learner, school.paid, paymentId=payment.payment_id
        )
        body = assert_error(response, 400, "Invalid input data")
        assert body["error"]["details"] == [
            {"field": "paymentId", "message": "is already used by another enrollment"}
        ]


class TestReadAnEnrollment:
    def test_has_the_seeds_shape_for_the_learner_the_instructor_and_an_admin(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        enrollment = make_enrollment(session, school.learner, school.free)
        session.commit()
        for viewer in (school.learner, school.teacher, school.admin):
            body = data(
                client.get(
                    f"/api/enrollments/{enrollment.enrollment_id}", headers=auth(session, viewer)
                )
            )
            assert body["enrollmentId"] == enrollment.enrollment_id
            assert body["userId"] == school.learner.user_id
            assert body["courseId"] == school.free.course_id
            assert body["status"] == "in_progress"
            assert TIMESTAMP.match(body["enrollmentDate"])
            assert body["completedAt"] is None

    def test_is_404_to_anyone_else(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        enrollment = make_enrollment(session, school.learner, school.free)
        stranger = make_user(session, role=Role.INSTRUCTOR)
        session.commit()
        for viewer in (school.other, stranger):
            response = client.get(
                f"/api/enrollments/{enrollment.enrollment_id}", headers=auth(session, viewer)
            )
            assert_error(response, 404, "Enrollment not found")
        assert_error(
            client.get("/api/enrollments/2000000000", headers=auth(session, school.admin)),
            404,
            "Enrollment not found",
        )


class TestMyEnrollments:
    def test_lists_the_callers_own_with_progress_and_where_to_resume(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        first, second = (
            make_module(session, school.free, position=p, title=f"M{p}") for p in (0, 1)
        )
        started = make_enrollment(session, school.learner, school.free)
        untouched = make_enrollment(
            session, school.learner, school.paid, enrollment_date=utcnow() + timedelta(seconds=1)
        )
        make_enrollment(session, school.other, school.free)
        now = utcnow()
        session.add_all(
            [
                ProgressTracking(
                    enrollment_id=started.enrollment_id,
                    module_id=first.module_id,
                    progress=Decimal(100),
                    last_accessed=now - timedelta(hours=1),
                ),
                ProgressTracking(
                    enrollment_id=started.enrollment_id,
                    module_id=second.module_id,
                    progress=Decimal(50),
                    last_accessed=now,
                ),
            ]
        )
        session.commit()
        body = data(client.get("/api/enrollments", headers=auth(session, school.learner)))
        assert (body["total"], body["offset"]) == (2, 0)
        newest, older = body["enrollments"]
        assert newest["enrollmentId"] == untouched.enrollment_id
        assert (newest["progress"], newest["resume"]) == (0.0, None)
        assert older["enrollmentId"] == started.enrollment_id
        assert older["courseTitle"] == school.free.title
        assert older["progress"] == 0.75
        assert older["resume"]["moduleId"] == second.module_id
        assert older["resume"]["title"] == "M1"

    def test_pages_and_filters_by_status(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        make_enrollment(session, school.learner, school.free)
        make_enrollment(session, school.learner, school.paid, status=EnrollmentStatus.DROPPED)
        session.commit()
        headers = auth(session, school.learner)
        page = data(client.get("/api/enrollments?limit=1&offset=1", headers=headers))
        assert (page["total"], len(page["enrollments"]), page["limit"]) == (2, 1, 1)
        dropped = data(client.get("/api/enrollments?status=dropped", headers=headers))
        assert [e["courseId"] for e in dropped["enrollments"]] == [school.paid.course_id]
        assert invalid_fields(client.get("/api/enrollments?status=paused", headers=headers)) == [
            "status"
        ]


class TestDropAndComeBack:
    def test_the_learner_drops_and_is_no_longer_reminded(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        enrollment = make_enrollment(
            session, school.learner, school.free, enrollment_date=utcnow() - timedelta(days=30)
        )
        session.commit()
        body = data(
            client.post(
                f"/api/enrollments/{enrollment.enrollment_id}/drop",
                headers=auth(session, school.learner),
            )
        )
        assert body == {
            "enrollmentId": enrollment.enrollment_id,
            "status": "dropped",
            "message": "Enrollment dropped",
        }
        assert [e.event_data["reason"] for e in events(session, EventType.ENROLLMENT_DROPPED)] == [
            "learner"
        ]
        reminded = remind_idle_learners(
            session, now=utcnow(), idle_days=7, period_days=7, base_url="https://app.example.com"
        )
        assert reminded == 0
        again = client.post(
            f"/api/enrollments/{enrollment.enrollment_id}/drop",
            headers=auth(session, school.learner),
        )
        assert data(again)["status"] == "dropped"
        assert len(events(session, EventType.ENROLLMENT_DROPPED)) == 1

    def test_coming_back_revives_the_same_enrollment_with_its_progress(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        module = make_module(session, school.free)
        enrollment = make_enrollment(
            session,
            school.learner,
            school.free,
            status=EnrollmentStatus.DROPPED,
            enrollment_date=utcnow() - timedelta(days=30),
        )
        session.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=module.module_id,
                progress=Decimal(40),
                last_accessed=utcnow() - timedelta(days=30),
            )
        )
        session.commit()
        body = data(enroll(client, session, school.learner, school.free), 201)
        assert body["enrollmentId"] == enrollment.enrollment_id
        session.expire_all()
        revived = session.get_one(Enrollment, enrollment.enrollment_id)
        assert revived.status is EnrollmentStatus.IN_PROGRESS
        assert revived.enrollment_date > utcnow() - timedelta(minutes=1)
        assert session.scalar(select(ProgressTracking.progress)) == Decimal(40)
        [created] = events(session, EventType.ENROLLMENT_CREATED)
        assert created.event_data["returning"] is True
        # Coming back counts as activity: no reminder for the month-old progress.
        reminded = remind_idle_learners(
            session, now=utcnow(), idle_days=7, period_days=7, base_url="https://app.example.com"
        )
        assert reminded == 0

    def test_coming_back_to_a_paid_course_needs_a_payment_that_still_holds(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        refunded = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.REFUNDED
        )
        make_enrollment(
            session,
            school.learner,
            school.paid,
            payment_id=refunded.payment_id,
            status=EnrollmentStatus.DROPPED,
        )
        session.commit()
        response = enroll(
            client, session, school.learner, school.paid, paymentId=refunded.payment_id
        )
        assert_error(response, 402, "The payment has not succeeded (it is refunded)")
        fresh = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        session.commit()
        data(enroll(client, session, school.learner, school.paid, paymentId=fresh.payment_id), 201)

    def test_an_admin_may_drop_an_instructor_may_not_a_stranger_sees_nothing(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        enrollment = make_enrollment(session, school.learner, school.free)
        session.commit()
        url = f"/api/enrollments/{enrollment.enrollment_id}/drop"
        assert_error(client.post(url, headers=auth(session, school.teacher)), 403, "Access denied")
        assert_error(
            client.post(url, headers=auth(session, school.other)), 404, "Enrollment not found"
        )
        assert data(client.post(url, headers=auth(session, school.admin)))["status"] == "dropped"
        assert [e.event_data["reason"] for e in events(session, EventType.ENROLLMENT_DROPPED)] == [
            "admin"
        ]

    def test_a_completed_course_cannot_be_dropped(
        self, client: TestClient, session: Session, school: School
    ) -> None:
        enrollment = make_enrollment(
            session, school.learner, school.free, status=EnrollmentStatus.COMPLETED
        )
        session.commit()
        response = client.post(
            f"/api/enrollments/{enrollment.enrollment_id}/drop",
            headers=auth(session, school.learner),
        )
        assert_error(response, 409, "A completed course cannot be dropped")
