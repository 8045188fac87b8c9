"""The Progress Service: a player's report (the seed's update), where a learner stands (the
seed's read, plus the whole course and each module), and the completion rule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from models import (
    Analytics,
    Course,
    CourseModule,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from services.progress import course_progress, record_progress, to_fraction, to_percent
from tests.api.helpers import TIMESTAMP, assert_error, data, invalid_fields
from tests.models.factories import make_course, make_enrollment, make_module, make_user
from tests.world import token_for

SEED_KEYS = {"progressId", "enrollmentId", "moduleId", "progress", "lastAccessed", "timeSpent"}
BASE_URL = "https://app.example.com"


def auth(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


@dataclass
class Classroom:
    learner: User
    teacher: User
    course: Course
    modules: list[CourseModule]
    enrollment: Enrollment


@pytest.fixture
def room(session: Session) -> Classroom:
    teacher = make_user(session, role=Role.INSTRUCTOR)
    course = make_course(session, instructor=teacher)
    modules = [make_module(session, course, position=p, title=f"Lesson {p}") for p in range(3)]
    learner = make_user(session)
    enrollment = make_enrollment(session, learner, course)
    session.commit()
    return Classroom(learner, teacher, course, modules, enrollment)


def report(
    client: TestClient,
    session: Session,
    room: Classroom,
    module: CourseModule,
    progress: object,
    time_spent: object = 0,
    *,
    enrollment_id: int | None = None,
    as_user: User | None = None,
) -> object:
    body = {
        "enrollmentId": enrollment_id or room.enrollment.enrollment_id,
        "moduleId": module.module_id,
        "progress": progress,
        "timeSpent": time_spent,
    }
    return client.post(
        "/api/progress/update", json=body, headers=auth(session, as_user or room.learner)
    )


def stored(session: Session, room: Classroom, module: CourseModule) -> ProgressTracking:
    session.expire_all()
    return session.scalars(
        select(ProgressTracking).where(
            ProgressTracking.enrollment_id == room.enrollment.enrollment_id,
            ProgressTracking.module_id == module.module_id,
        )
    ).one()


class TestConversion:
    @pytest.mark.parametrize(
        ("fraction", "percent"),
        [(0, "0.00"), (0.75, "75.00"), (0.12345, "12.34"), (0.99999, "99.99"), (1, "100.00")],
    )
    def test_a_fraction_is_stored_as_a_percentage_cut_to_two_decimals(
        self, fraction: float, percent: str
    ) -> None:
        assert to_percent(fraction) == Decimal(percent)

    def test_a_percentage_is_answered_as_a_fraction(self) -> None:
        assert to_fraction(Decimal("75.00")) == 0.75
        assert to_fraction(None) == 0.0


class TestUpdate:
    def test_answers_the_seeds_shape_and_stores_a_percentage(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        body = data(report(client, session, room, room.modules[0], 0.75, 30))
        assert body["message"] == "Progress updated successfully"
        assert body["courseCompleted"] is False
        row = stored(session, room, room.modules[0])
        assert body["progressId"] == row.progress_id
        assert (row.progress, row.time_spent) == (Decimal("75.00"), 30)

    def test_time_is_added_progress_never_goes_back_and_last_accessed_moves(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        data(report(client, session, room, room.modules[0], 0.6, 30))
        first = stored(session, room, room.modules[0]).last_accessed
        body = data(report(client, session, room, room.modules[0], 0.2, 45))
        row = stored(session, room, room.modules[0])
        assert body["progressId"] == row.progress_id
        assert (row.progress, row.time_spent) == (Decimal("60.00"), 75)
        assert row.last_accessed >= first

    def test_each_update_is_recorded_for_analytics_in_the_modules_course(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        data(report(client, session, room, room.modules[1], 0.5, 12))
        [row] = session.scalars(
            select(Analytics).where(Analytics.event_type == EventType.MODULE_PROGRESS.value)
        ).all()
        assert (row.user_id, row.course_id) == (room.learner.user_id, room.course.course_id)
        assert row.event_data == {
            "enrollmentId": room.enrollment.enrollment_id,
            "moduleId": room.modules[1].module_id,
            "progress": 0.5,
            "timeSpent": 12,
        }

    @pytest.mark.parametrize(
        ("progress", "time_spent", "field"),
        [
            (1.5, 0, "progress"),
            (-0.1, 0, "progress"),
            ("half", 0, "progress"),
            (None, 0, "progress"),
            (0.5, -1, "timeSpent"),
            (0.5, 3601, "timeSpent"),
            (0.5, 1.5, "timeSpent"),
            (0.5, "ten", "timeSpent"),
        ],
    )
    def test_out_of_range_numbers_are_400_naming_the_field(
        self,
        client: TestClient,
        session: Session,
        room: Classroom,
        progress: object,
        time_spent: object,
        field: str,
    ) -> None:
        response = report(client, session, room, room.modules[0], progress, time_spent)
        assert invalid_fields(response) == [field]

    @pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
    def test_non_finite_numbers_are_400(
        self, client: TestClient, session: Session, room: Classroom, token: str
    ) -> None:
        raw = (
            f'{{"enrollmentId": {room.enrollment.enrollment_id}, '
            f'"moduleId": {room.modules[0].module_id}, "progress": {token}, "timeSpent": 1}}'
        )
        response = client.post(
            "/api/progress/update",
            content=raw,
            headers=auth(session, room.learner) | {"Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert session.scalars(select(ProgressTracking)).all() == []

    def test_a_module_of_another_course_is_400_naming_the_module(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        elsewhere = make_module(session, make_course(session))
        session.commit()
        body = assert_error(
            report(client, session, room, elsewhere, 0.5), 400, "Invalid input data"
        )
        assert body["error"]["details"] == [
            {"field": "moduleId", "message": "is not a module of this enrollment's course"}
        ]

    def test_someone_elses_enrollment_is_404_and_a_dropped_one_409(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        stranger = make_user(session)
        session.commit()
        response = report(client, session, room, room.modules[0], 0.5, as_user=stranger)
        assert_error(response, 404, "Enrollment not found")
        room.enrollment.status = EnrollmentStatus.DROPPED
        session.commit()
        assert_error(
            report(client, session, room, room.modules[0], 0.5),
            409,
            "This enrollment was dropped: enroll again to continue the course",
        )
        assert session.scalars(select(ProgressTracking)).all() == []


class TestRead:
    def test_has_the_seeds_shape_for_the_module_accessed_last_plus_the_course(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        data(report(client, session, room, room.modules[2], 1, 600))
        data(report(client, session, room, room.modules[0], 0.5, 60))
        for viewer in (room.learner, room.teacher):
            body = data(
                client.get(
                    f"/api/progress/{room.enrollment.enrollment_id}",
                    headers=auth(session, viewer),
                )
            )
            assert set(body) >= SEED_KEYS
            assert body["moduleId"] == room.modules[0].module_id
            assert (body["progress"], body["timeSpent"]) == (0.5, 60)
            assert TIMESTAMP.match(body["lastAccessed"])
            assert body["courseProgress"] == 0.5  # (50 + 0 + 100) / 3
            assert [m["moduleId"] for m in body["modules"]] == [m.module_id for m in room.modules]
            assert [m["progress"] for m in body["modules"]] == [0.5, 0.0, 1.0]
            assert body["modules"][1]["lastAccessed"] is None

    def test_is_404_before_anything_was_recorded_and_to_strangers(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        url = f"/api/progress/{room.enrollment.enrollment_id}"
        assert_error(
            client.get(url, headers=auth(session, room.learner)), 404, "Progress not found"
        )
        data(report(client, session, room, room.modules[0], 0.5))
        stranger = make_user(session, role=Role.INSTRUCTOR)
        session.commit()
        assert_error(client.get(url, headers=auth(session, stranger)), 404, "Progress not found")


class TestCourseProgress:
    def test_modules_weigh_by_duration_when_every_module_has_one(self, db: Session) -> None:
        course = make_course(db)
        long, short = (
            make_module(db, course, duration=90),
            make_module(db, course, position=1, duration=10),
        )
        enrollment = make_enrollment(db, make_user(db), course)
        db.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=long.module_id,
                progress=Decimal(50),
            )
        )
        db.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=short.module_id,
                progress=Decimal(100),
            )
        )
        db.flush()
        assert course_progress(db, [enrollment.enrollment_id]) == {enrollment.enrollment_id: 0.55}

    def test_modules_weigh_equally_when_one_has_no_duration(self, db: Session) -> None:
        course = make_course(db)
        timed, untimed = make_module(db, course, duration=90), make_module(db, course, position=1)
        enrollment = make_enrollment(db, make_user(db), course)
        db.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=timed.module_id,
                progress=Decimal(50),
            )
        )
        db.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=untimed.module_id,
                progress=Decimal(100),
            )
        )
        db.flush()
        assert course_progress(db, [enrollment.enrollment_id]) == {enrollment.enrollment_id: 0.75}

    def test_a_course_without_modules_is_at_zero(self, db: Session) -> None:
        enrollment = make_enrollment(db, make_user(db), make_course(db))
        assert course_progress(db, [enrollment.enrollment_id]) == {enrollment.enrollment_id: 0.0}


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block (savepoints aside)."""
    statements: list[str] = []

    def counted(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", counted)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", counted)


class TestTheHotPath:
    def test_an_update_is_two_statements_and_a_module_at_100_two_more(self, db: Session) -> None:
        course = make_course(db)
        modules = [make_module(db, course, position=p) for p in range(2)]
        learner = make_user(db)
        enrollment = make_enrollment(db, learner, course)
        db.flush()

        def update(fraction: float) -> None:
            record_progress(
                db,
                learner=learner,
                enrollment_id=enrollment.enrollment_id,
                module_id=modules[0].module_id,
                fraction=fraction,
                seconds=5,
                now=utcnow(),
                base_url=BASE_URL,
            )
            db.flush()

        engine = db.get_bind().engine  # type: ignore[union-attr]
        with statements_run(engine) as statements:
            for fraction in (0.1, 0.5, 0.9):
                update(fraction)
        # Per update: the upsert (with its checks) and the analytics row.
        assert len(statements) == 6, statements
        with statements_run(engine) as statements:
            update(1)
        # Plus the enrollment's lock and the completion check (another module is left).
        assert len(statements) == 4, statements


class TestCompletion:
    def test_the_last_module_at_100_completes_the_enrollment_once(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        for module in room.modules[:-1]:
            assert data(report(client, session, room, module, 1))["courseCompleted"] is False
        assert data(report(client, session, room, room.modules[-1], 1))["courseCompleted"] is True
        assert data(report(client, session, room, room.modules[-1], 1))["courseCompleted"] is False
        session.expire_all()
        enrollment = session.get_one(Enrollment, room.enrollment.enrollment_id)
        assert enrollment.status is EnrollmentStatus.COMPLETED
        assert enrollment.completed_at is not None
        completions = session.scalars(
            select(Analytics).where(Analytics.event_type == EventType.COURSE_COMPLETED.value)
        ).all()
        assert [(row.user_id, row.course_id) for row in completions] == [
            (room.learner.user_id, room.course.course_id)
        ]
        [emitted] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == EventType.COURSE_COMPLETED)
        ).all()
        assert emitted.payload["enrollment_id"] == room.enrollment.enrollment_id
        assert emitted.payload["course_id"] == room.course.course_id

    def test_a_quiz_not_passed_holds_it_back_and_a_draft_quiz_does_not(
        self, client: TestClient, session: Session, room: Classroom
    ) -> None:
        question = {"question": "2 + 2?", "choices": ["3", "4"], "answer": 1}
        quiz = Quiz(course_id=room.course.course_id, title="Check", questions=[question])
        session.add_all([quiz, Quiz(course_id=room.course.course_id, title="Draft", questions=[])])
        session.flush()
        session.add(
            QuizAttempt(
                enrollment_id=room.enrollment.enrollment_id,
                quiz_id=quiz.quiz_id,
                attempt_number=1,
                answers=[0],
                correct=0,
                total=1,
                score=Decimal(0),
                passed=False,
            )
        )
        session.commit()
        for module in room.modules:
            assert data(report(client, session, room, module, 1))["courseCompleted"] is False
        session.add(
            QuizAttempt(
                enrollment_id=room.enrollment.enrollment_id,
                quiz_id=quiz.quiz_id,
                attempt_number=2,
                answers=[1],
                correct=1,
                total=1,
                score=Decimal(100),
                passed=True,
            )
        )
        session.commit()
        assert data(report(client, session, room, room.modules[0], 1))["courseCompleted"] is True
