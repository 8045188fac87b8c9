"""Enrollments and progress under concurrent requests to the live platform: the database's
constraints and row locks decide, so nothing is doubled and nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.events import EventType
from models import (
    Analytics,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    PaymentStatus,
    ProgressTracking,
    Role,
)
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.payments.conftest import Platform
from tests.world import token_for

T = TypeVar("T")


def at_once(count: int, call: Callable[[httpx.Client, int], T], platform: Platform) -> list[T]:
    """``count`` calls released at the same moment, each on its own connection."""
    start = threading.Barrier(count)

    def one(index: int) -> T:
        with platform.http() as client:
            start.wait()
            return call(client, index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def events(engine: Engine, kind: EventType) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(Analytics.event_type == kind.value)
        return int(session.scalar(query) or 0)


class TestEnrollingAtOnce:
    def test_twenty_requests_make_one_enrollment_and_nineteen_409s(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        learner, course = make_user(session), make_course(session, price=Decimal(0))
        session.commit()
        headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
        body = {"courseId": course.course_id, "userId": learner.user_id}
        answers = at_once(
            20,
            lambda http, _: http.post("/api/enrollments/enroll", json=body, headers=headers),
            platform,
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201] + [409] * 19, [a.text for a in answers if a.status_code >= 500]
        assert {a.json()["error"]["message"] for a in answers if a.status_code == 409} == {
            "User already enrolled"
        }
        with Session(engine) as check:
            assert check.scalar(select(func.count()).select_from(Enrollment)) == 1
            welcomes = select(func.count()).where(
                OutboxEvent.event_type == EventType.ENROLLMENT_CREATED
            )
            assert check.scalar(welcomes) == 1
        assert events(engine, EventType.ENROLLMENT_CREATED) == 1

    def test_twenty_requests_with_one_payment_make_one_enrollment(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        learner, course = make_user(session), make_course(session, price=Decimal(5000))
        payment = make_payment(session, learner, course, payment_status=PaymentStatus.SUCCESS)
        session.commit()
        headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
        body = {"courseId": course.course_id, "paymentId": payment.payment_id}
        answers = at_once(
            20,
            lambda http, _: http.post("/api/enrollments/enroll", json=body, headers=headers),
            platform,
        )
        assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
        assert len({a.json()["data"]["enrollmentId"] for a in answers}) == 1
        assert events(engine, EventType.ENROLLMENT_CREATED) == 1


class TestReportingAtOnce:
    def test_fifty_updates_of_one_module_lose_no_second(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        learner, course = make_user(session), make_course(session)
        module = make_module(session, course)
        enrollment = make_enrollment(session, learner, course)
        session.commit()
        headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}

        def report(http: httpx.Client, index: int) -> int:
            body = {
                "enrollmentId": enrollment.enrollment_id,
                "moduleId": module.module_id,
                "progress": (index % 10) / 10,
                "timeSpent": 1,
            }
            return http.post("/api/progress/update", json=body, headers=headers).status_code

        assert at_once(50, report, platform) == [200] * 50
        with Session(engine) as check:
            row = check.scalars(select(ProgressTracking)).one()
            assert row.time_spent == 50
            assert row.progress == Decimal("90.00")
        assert events(engine, EventType.MODULE_PROGRESS) == 50

    @pytest.mark.parametrize("round_", range(3))
    def test_two_final_updates_at_once_complete_the_course_once(
        self, platform: Platform, session: Session, engine: Engine, round_: int
    ) -> None:
        """Two modules finished at the same moment, each the other's last: exactly one of
        them completes the course (never none, never both)."""
        teacher = make_user(session, role=Role.INSTRUCTOR)
        course = make_course(session, instructor=teacher)
        modules = [make_module(session, course, position=p) for p in range(2)]
        learner = make_user(session)
        enrollment = make_enrollment(session, learner, course)
        session.commit()
        headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}

        def finish(http: httpx.Client, index: int) -> bool:
            body = {
                "enrollmentId": enrollment.enrollment_id,
                "moduleId": modules[index].module_id,
                "progress": 1,
                "timeSpent": 1,
            }
            answer = http.post("/api/progress/update", json=body, headers=headers)
            assert answer.status_code == 200, answer.text
            completed: bool = answer.json()["data"]["courseCompleted"]
            return completed

        assert sorted(at_once(2, finish, platform)) == [False, True]
        with Session(engine) as check:
            assert check.get_one(Enrollment, enrollment.enrollment_id).status is (
                EnrollmentStatus.COMPLETED
            )
            completions = select(func.count()).where(
                OutboxEvent.event_type == EventType.COURSE_COMPLETED
            )
            assert check.scalar(completions) == 1
        assert events(engine, EventType.COURSE_COMPLETED) == 1
