"""The data's own rules, enforced by the database on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from models import (
    Analytics,
    Certificate,
    Course,
    CourseCatalog,
    CourseModule,
    CourseReview,
    MediaFile,
    MediaType,
    Notification,
    NotificationLog,
    NotificationType,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    Role,
    User,
    UserAccount,
)
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)


def rejected(session: Session, action: Callable[[], object]) -> None:
    """The database refuses ``action``; the session is usable again afterwards."""

    def act_and_flush() -> None:
        action()
        session.flush()

    savepoint = session.begin_nested()
    with pytest.raises((IntegrityError, StatementError)):
        act_and_flush()
    savepoint.rollback()


class TestUniqueness:
    def test_email_and_username_are_unique(self, session: Session) -> None:
        make_user(session, email="a@example.com", username="a")
        rejected(session, lambda: make_user(session, email="a@example.com"))
        rejected(session, lambda: make_user(session, username="a"))

    def test_a_student_enrolls_in_a_course_once(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        make_enrollment(session, student, course)
        rejected(session, lambda: make_enrollment(session, student, course))

    def test_a_payment_pays_for_one_enrollment_and_free_ones_need_none(
        self, session: Session
    ) -> None:
        student, course, other = make_user(session), make_course(session), make_course(session)
        payment = make_payment(session, student, course)
        make_enrollment(session, student, course, payment_id=payment.payment_id)
        rejected(
            session, lambda: make_enrollment(session, student, other, payment_id=payment.payment_id)
        )
        # Free enrollments (no payment) are many.
        make_enrollment(session, student, other)
        make_enrollment(session, make_user(session), other)

    def test_one_review_per_enrollment_rated_1_to_5(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        enrollment = make_enrollment(session, student, course)

        def review(rating: int) -> None:
            session.add(
                CourseReview(
                    enrollment_id=enrollment.enrollment_id,
                    course_id=course.course_id,
                    user_id=student.user_id,
                    rating=rating,
                )
            )

        rejected(session, lambda: review(0))
        rejected(session, lambda: review(6))
        review(5)
        session.flush()
        rejected(session, lambda: review(4))

    def test_a_quiz_attempt_number_is_taken_once(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        enrollment = make_enrollment(session, student, course)
        quiz = Quiz(course_id=course.course_id, title="Check", questions=[])
        session.add(quiz)
        session.flush()

        def attempt() -> None:
            session.add(
                QuizAttempt(
                    enrollment_id=enrollment.enrollment_id,
                    quiz_id=quiz.quiz_id,
                    attempt_number=1,
                    answers=[],
                    correct=0,
                    total=0,
                    score=Decimal(0),
                    passed=False,
                )
            )

        attempt()
        session.flush()
        rejected(session, attempt)

    def test_transaction_ids_are_unique(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        make_payment(session, student, course, transaction_id="tx_1")
        rejected(session, lambda: make_payment(session, student, course, transaction_id="tx_1"))

    def test_one_certificate_per_learner_and_course_and_unique_ids(self, session: Session) -> None:
        student, course, other = make_user(session), make_course(session), make_course(session)
        session.add(
            Certificate(user_id=student.user_id, course_id=course.course_id, unique_id="c1")
        )
        session.flush()
        rejected(
            session,
            lambda: session.add(
                Certificate(user_id=student.user_id, course_id=course.course_id, unique_id="c2")
            ),
        )
        rejected(
            session,
            lambda: session.add(
                Certificate(user_id=student.user_id, course_id=other.course_id, unique_id="c1")
            ),
        )

    def test_one_progress_row_per_enrollment_and_module(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        enrollment, module = make_enrollment(session, student, course), make_module(session, course)
        row = {"enrollment_id": enrollment.enrollment_id, "module_id": module.module_id}
        session.add(ProgressTracking(**row))
        session.flush()
        rejected(session, lambda: session.add(ProgressTracking(**row)))

    def test_module_positions_and_media_indexes_are_unique_per_course(
        self, session: Session
    ) -> None:
        course = make_course(session)
        make_module(session, course, position=1)
        rejected(session, lambda: make_module(session, course, position=1))
        media = {
            "course_id": course.course_id,
            "instructor_id": course.instructor_id,
            "media_type": MediaType.IMAGE,
            "media_url": "/m/1.png",
            "index": 0,
        }
        session.add(MediaFile(**media))
        session.flush()
        rejected(session, lambda: session.add(MediaFile(**media)))

    def test_one_catalog_entry_per_course(self, session: Session) -> None:
        course = make_course(session)
        rejected(session, lambda: session.add(CourseCatalog(course_id=course.course_id)))


class TestChecks:
    @pytest.mark.parametrize("rating", [Decimal("-0.01"), Decimal("5.01")])
    def test_rating_stays_between_0_and_5(self, session: Session, rating: Decimal) -> None:
        rejected(session, lambda: make_course(session, rating=rating))

    def test_rating_bounds_are_allowed(self, session: Session) -> None:
        assert make_course(session, rating=Decimal("0")).rating == 0
        assert make_course(session, rating=Decimal("5")).rating == 5

    def test_price_is_never_negative(self, session: Session) -> None:
        rejected(session, lambda: make_course(session, price=Decimal("-1")))
        assert make_course(session, price=Decimal("0")).price == 0

    @pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5")])
    def test_payment_amount_is_positive(self, session: Session, amount: Decimal) -> None:
        student, course = make_user(session), make_course(session)
        rejected(session, lambda: make_payment(session, student, course, amount=amount))

    @pytest.mark.parametrize("progress", [Decimal("-1"), Decimal("100.01")])
    def test_progress_stays_between_0_and_100(self, session: Session, progress: Decimal) -> None:
        student, course = make_user(session), make_course(session)
        enrollment, module = make_enrollment(session, student, course), make_module(session, course)
        rejected(
            session,
            lambda: session.add(
                ProgressTracking(
                    enrollment_id=enrollment.enrollment_id,
                    module_id=module.module_id,
                    progress=progress,
                )
            ),
        )

    def test_enums_refuse_unknown_values_even_in_raw_sql(self, session: Session) -> None:
        rejected(
            session,
            lambda: session.execute(
                text(
                    "INSERT INTO users (username, email, name, role, password_hash) "
                    "VALUES ('x', 'x@example.com', 'X', 'superuser', '!')"
                )
            ),
        )

    def test_enums_refuse_unknown_values_through_the_orm(self, session: Session) -> None:
        rejected(session, lambda: make_user(session, role="superuser"))
        user = make_user(session)
        rejected(
            session,
            lambda: session.add(Notification(user_id=user.user_id, type="sms", message="hi")),
        )


class TestDeleteRules:
    def test_deleting_a_user_removes_their_oauth_links_and_notifications(
        self, session: Session
    ) -> None:
        user = make_user(session)
        session.add(UserAccount(user_id=user.user_id, provider="google", provider_user_id="g1"))
        notification = Notification(
            user_id=user.user_id, type=NotificationType.IN_APP, message="Hello"
        )
        session.add(notification)
        session.flush()
        session.add(NotificationLog(notification_id=notification.notification_id))
        session.flush()
        session.execute(delete(User).where(User.user_id == user.user_id))
        for model in (UserAccount, Notification, NotificationLog):
            assert session.scalars(select(model)).all() == []

    def test_a_course_with_learners_cannot_be_deleted(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        make_enrollment(session, student, course)
        rejected(
            session,
            lambda: session.execute(delete(Course).where(Course.course_id == course.course_id)),
        )

    def test_an_instructor_with_courses_cannot_be_deleted(self, session: Session) -> None:
        course = make_course(session)
        rejected(
            session,
            lambda: session.execute(delete(User).where(User.user_id == course.instructor_id)),
        )

    def test_a_student_with_payments_cannot_be_deleted(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        make_payment(session, student, course)
        rejected(
            session, lambda: session.execute(delete(User).where(User.user_id == student.user_id))
        )

    def test_a_module_with_progress_cannot_be_deleted(self, session: Session) -> None:
        student, course = make_user(session), make_course(session)
        enrollment, module = make_enrollment(session, student, course), make_module(session, course)
        session.add(
            ProgressTracking(enrollment_id=enrollment.enrollment_id, module_id=module.module_id)
        )
        session.flush()
        rejected(
            session,
            lambda: session.execute(
                delete(CourseModule).where(CourseModule.module_id == module.module_id)
            ),
        )

    def test_deleting_a_course_removes_its_catalog_entry_modules_and_media(
        self, session: Session
    ) -> None:
        course = make_course(session)
        make_module(session, course)
        session.add(
            MediaFile(
                course_id=course.course_id,
                instructor_id=course.instructor_id,
                media_type=MediaType.VIDEO,
                media_url="/m/v.mp4",
                index=0,
            )
        )
        session.flush()
        session.execute(delete(Course).where(Course.course_id == course.course_id))
        for model in (CourseCatalog, CourseModule, MediaFile):
            assert session.scalars(select(model)).all() == []

    def test_analytics_outlive_their_course_and_user_anonymised(self, session: Session) -> None:
        course = make_course(session)
        student = make_user(session)
        session.add(
            Analytics(course_id=course.course_id, user_id=student.user_id, event_type="view")
        )
        session.flush()
        session.execute(delete(Course).where(Course.course_id == course.course_id))
        session.execute(delete(User).where(User.user_id == student.user_id))
        event = session.scalars(select(Analytics)).one()
        session.refresh(event)
        assert (event.course_id, event.user_id, event.event_type) == (None, None, "view")


class TestTimestamps:
    def test_timestamps_come_back_timezone_aware_utc(self, session: Session) -> None:
        lagos = timezone(timedelta(hours=1))
        moment = datetime(2025, 7, 28, 19, 7, tzinfo=lagos)
        user = make_user(session)
        session.add(Analytics(user_id=user.user_id, event_type="login", recorded_at=moment))
        session.commit()
        session.expire_all()
        event = session.scalars(select(Analytics)).one()
        assert event.recorded_at == datetime(2025, 7, 28, 18, 7, tzinfo=UTC)
        assert event.recorded_at.utcoffset() == timedelta(0)
        created = session.scalars(select(User.created_at)).one()
        assert created.tzinfo is not None

    def test_server_side_defaults_are_utc_too(self, session: Session) -> None:
        session.execute(
            text(
                "INSERT INTO users (username, email, name, password_hash) "
                "VALUES ('raw', 'raw@example.com', 'R', '!')"
            )
        )
        user = session.scalars(select(User).where(User.username == "raw")).one()
        assert user.role is Role.STUDENT
        assert user.is_active is True
        assert abs(user.created_at - datetime.now(UTC)) < timedelta(minutes=1)

    def test_naive_datetimes_are_refused(self, session: Session) -> None:
        rejected(
            session,
            lambda: session.add(
                Analytics(event_type="x", recorded_at=datetime(2025, 1, 1))  # noqa: DTZ001
            ),
        )
