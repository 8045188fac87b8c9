"""A small world: two students, two instructors, an admin, and rows of every table belonging
to each of them. The data API's and the admin panel's permission tests both use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from models import (
    Analytics,
    Certificate,
    CertificateStatus,
    CourseCatalog,
    CourseReview,
    MediaType,
    Notification,
    NotificationLog,
    NotificationType,
    PaymentEvent,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    Role,
    User,
    UserAccount,
)
from models.media import MediaFile
from services.audit import record
from services.certificates import file_key, new_unique_id
from services.sessions import issue_refresh_token
from tests.conftest import FAKE_JWT_SECRET
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)


def token_for(session: Session, user_id: int) -> str:
    """An access token exactly like the ones sign-in issues, with a live sign-in (a refresh
    token family) behind it, committed (signing in for real costs an Argon2 hash)."""
    family = issue_refresh_token(session, user_id=user_id, lifetime=timedelta(days=1)).family_id
    session.commit()
    claims = {
        "sub": str(user_id),
        "aud": ["fastapi-users:auth"],
        "exp": utcnow() + timedelta(minutes=15),
        "sid": family,
    }
    return jwt.encode(claims, FAKE_JWT_SECRET, algorithm="HS256")


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)
    # The id of each table's row that belongs to each actor: rows[table][actor] = id.
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        if actor == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def add(self, table: str, actor: str, row_id: int) -> None:
        self.rows.setdefault(table, {})[actor] = row_id


def _student_history(
    session: Session, world: World, actor: str, student: User, course: object, module: object
) -> None:
    payment = make_payment(session, student, course)  # type: ignore[arg-type]
    enrollment = make_enrollment(session, student, course, payment_id=payment.payment_id)  # type: ignore[arg-type]
    progress = ProgressTracking(
        enrollment_id=enrollment.enrollment_id, module_id=module.module_id, progress=Decimal("50")
    )  # type: ignore[attr-defined]
    unique_id = new_unique_id()
    certificate = Certificate(
        user_id=student.user_id,
        course_id=course.course_id,  # type: ignore[attr-defined]
        unique_id=unique_id,
        status=CertificateStatus.VALID,
        learner_name=student.name,
        course_title=course.title,  # type: ignore[attr-defined]
        # A valid certificate whose file the world never rendered: its download is a 404.
        file_key=file_key(unique_id, 1),
        verification_url=f"http://127.0.0.1:8000/verify/{unique_id}",
    )
    notification = Notification(
        user_id=student.user_id, type=NotificationType.IN_APP, message=f"hello {actor}"
    )
    account = UserAccount(
        user_id=student.user_id,
        provider="google",
        provider_user_id=f"g-{actor}",
        access_token="ciphertext",
    )
    event = Analytics(
        user_id=student.user_id, course_id=course.course_id, event_type=EventType.MODULE_PROGRESS
    )  # type: ignore[attr-defined]
    review = CourseReview(
        enrollment_id=enrollment.enrollment_id,
        course_id=enrollment.course_id,
        user_id=student.user_id,
        rating=4,
        comment=f"Review by {actor}",
    )
    quiz_id = session.scalars(
        select(Quiz.quiz_id).where(Quiz.course_id == enrollment.course_id)
    ).one()
    attempt = QuizAttempt(
        enrollment_id=enrollment.enrollment_id,
        quiz_id=quiz_id,
        attempt_number=1,
        answers=[1],
        correct=1,
        total=1,
        score=Decimal(100),
        passed=True,
    )
    session.add_all([progress, certificate, notification, account, event, review, attempt])
    session.flush()
    log = NotificationLog(notification_id=notification.notification_id)
    session.add(log)
    session.flush()
    for table, row_id in [
        ("payment_gateway", payment.payment_id),
        ("enrollments", enrollment.enrollment_id),
        ("progress_tracking", progress.progress_id),
        ("certificates", certificate.certificate_id),
        ("notifications", notification.notification_id),
        ("notification_log", log.log_id),
        ("user_accounts", account.account_id),
        ("analytics", event.analytic_id),
        ("course_reviews", review.review_id),
        ("quiz_attempts", attempt.attempt_id),
    ]:
        world.add(table, actor, row_id)


def _instructor_catalog(
    session: Session, world: World, actor: str, instructor: User, *, published: bool
) -> tuple[object, object]:
    course = make_course(session, instructor=instructor, title=f"Course of {actor}")
    catalog = session.query(CourseCatalog).filter_by(course_id=course.course_id).one()
    catalog.is_active = published
    module = make_module(session, course, title=f"Module of {actor}")
    media = MediaFile(
        course_id=course.course_id,
        instructor_id=instructor.user_id,
        media_type=MediaType.IMAGE,
        media_url=f"https://cdn.example.com/{actor}.png",
        index=0,
    )
    quiz = Quiz(
        course_id=course.course_id,
        module_id=module.module_id,
        title=f"Quiz of {actor}",
        questions=[{"question": "2+2?", "choices": ["3", "4"], "answer": 1}],
    )
    session.add_all([media, quiz])
    session.flush()
    for table, row_id in [
        ("courses", course.course_id),
        ("course_catalog", catalog.catalog_id),
        ("course_modules", module.module_id),
        ("media_repository", media.media_id),
        ("quizzes", quiz.quiz_id),
    ]:
        world.add(table, actor, row_id)
    return course, module


@pytest.fixture
def world(session: Session) -> World:
    world = World()
    people = {
        "student_a": make_user(session, email="a@example.com", name="Student A"),
        "student_b": make_user(session, email="b@example.com", name="Student B"),
        "instructor_x": make_user(session, email="x@example.com", role=Role.INSTRUCTOR),
        "instructor_y": make_user(session, email="y@example.com", role=Role.INSTRUCTOR),
        "admin": make_user(session, email="root@example.com", role=Role.ADMIN),
    }
    for actor, user in people.items():
        world.users[actor] = user.user_id
        world.add("users", actor, user.user_id)
    course_x, module_x = _instructor_catalog(
        session, world, "instructor_x", people["instructor_x"], published=True
    )
    course_y, module_y = _instructor_catalog(
        session, world, "instructor_y", people["instructor_y"], published=False
    )
    # Student A learns from X, student B from Y.
    _student_history(session, world, "student_a", people["student_a"], course_x, module_x)
    _student_history(session, world, "student_b", people["student_b"], course_y, module_y)
    # What the admin panel logged of an admin's change.
    entry = record(
        session,
        actor=people["admin"],
        action="update",
        table_name="courses",
        row_id=course_x.course_id,  # type: ignore[attr-defined]
        changes={"title": "Course of instructor_x"},
    )
    world.add("audit_log", "admin", entry.audit_id)
    # A webhook Paystack sent about student A's payment, as the webhook route keeps it.
    event = PaymentEvent(
        dedupe_key="charge.success:1:success",
        event_type="charge.success",
        reference="tx-world",
        body='{"event":"charge.success","data":{"id":1,"status":"success"}}',
        outcome="settled",
    )
    session.add(event)
    session.flush()
    world.add("payment_events", "admin", event.event_id)
    session.commit()
    world.tokens = {actor: token_for(session, uid) for actor, uid in world.users.items()}
    return world
