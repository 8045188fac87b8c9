"""A learner's whole journey over real HTTP, as the frontend drives it: register, sign in,
pay (or not, for a free course), enroll, work through every module, pass the quiz, and the
course is completed, with the ``course.completed`` event the certificate will hang on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.events import EventType
from models import Analytics, Enrollment, EnrollmentStatus, OutboxEvent, PaymentStatus, Quiz, Role
from tests.api.helpers import PASSWORD, data
from tests.models.factories import make_course, make_module, make_user
from tests.payments.conftest import APPROVED, EXPIRY_YEAR, TEST_CVV, Platform, payment_row
from tests.world import token_for

QUESTIONS = [
    {"question": "What does print() do?", "choices": ["Writes output", "Reads input"], "answer": 0},
    {"question": "Which is a list?", "choices": ["(1, 2)", "[1, 2]", "{1, 2}"], "answer": 1},
]


@dataclass
class Offer:
    course_id: int
    module_ids: list[int]
    price: Decimal


def a_course(session: Session, *, price: Decimal) -> Offer:
    """A published course of three modules and a two-question quiz."""
    teacher = make_user(session, role=Role.INSTRUCTOR)
    course = make_course(session, instructor=teacher, price=price)
    modules = [make_module(session, course, position=p, title=f"Part {p + 1}") for p in range(3)]
    session.add(Quiz(course_id=course.course_id, title="Check", questions=QUESTIONS, pass_mark=50))
    session.commit()
    return Offer(course.course_id, [m.module_id for m in modules], course.price)


def sign_up(http: httpx.Client, email: str) -> tuple[int, dict[str, str]]:
    body = {"email": email, "password": PASSWORD, "name": "Ada Learner"}
    user_id: int = data(http.post("/api/auth/user/register", json=body))["userId"]
    login = {"email": email, "password": PASSWORD}
    token = data(http.post("/api/auth/user/login", json=login))["token"]
    return user_id, {"Authorization": f"Bearer {token}"}


def learn_everything(
    http: httpx.Client, headers: dict[str, str], enrollment_id: int, offer: Offer
) -> dict[str, Any]:
    """Every module to the end, reported in steps as a player does, then the quiz (failed
    once, then passed): the passing attempt's answer."""
    mine = data(http.get("/api/enrollments?status=in_progress", headers=headers))
    assert [e["enrollmentId"] for e in mine["enrollments"]] == [enrollment_id]
    for step in (0.5, 1.0):
        for module_id in offer.module_ids:
            body = {
                "enrollmentId": enrollment_id,
                "moduleId": module_id,
                "progress": step,
                "timeSpent": 30,
            }
            answer = data(http.post("/api/progress/update", json=body, headers=headers))
            assert answer["courseCompleted"] is False, "the quiz is still to pass"
    standing = data(http.get(f"/api/progress/{enrollment_id}", headers=headers))
    assert standing["courseProgress"] == 1.0
    assert [m["timeSpent"] for m in standing["modules"]] == [60, 60, 60]
    [quiz] = data(http.get(f"/api/quizzes?courseId={offer.course_id}", headers=headers))["quizzes"]
    attempts = f"/api/quizzes/{quiz['quizId']}/attempts"
    failed = data(http.post(attempts, json={"answers": [1, 0]}, headers=headers), 201)
    assert (failed["passed"], failed["courseCompleted"]) == (False, False)
    passed: dict[str, Any] = data(
        http.post(attempts, json={"answers": [0, 1]}, headers=headers), 201
    )
    return passed


def assert_completed_once(engine: Engine, enrollment_id: int) -> None:
    with Session(engine) as session:
        enrollment = session.get_one(Enrollment, enrollment_id)
        assert enrollment.status is EnrollmentStatus.COMPLETED
        assert enrollment.completed_at is not None
        [event] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == EventType.COURSE_COMPLETED)
        ).all()
        assert event.payload["enrollment_id"] == enrollment_id
        completions = session.scalars(
            select(Analytics).where(Analytics.event_type == EventType.COURSE_COMPLETED.value)
        ).all()
        assert [row.course_id for row in completions] == [enrollment.course_id]


class TestTheWholeJourney:
    def test_register_pay_by_card_enroll_learn_pass_the_quiz_and_complete(
        self, platform: Platform, http: httpx.Client, session: Session, engine: Engine
    ) -> None:
        offer = a_course(session, price=Decimal("5000.00"))
        user_id, headers = sign_up(http, "ada.paid@example.com")
        card = {"number": APPROVED, "expiryMonth": "12", "expiryYear": EXPIRY_YEAR, "cvv": TEST_CVV}
        payment = {
            "userId": user_id,
            "courseId": offer.course_id,
            "amount": float(offer.price),
            "method": "card",
            "cardDetails": card,
        }
        paid = data(http.post("/api/payments/initiate", json=payment, headers=headers), 201)
        assert payment_row(engine, paid["transactionId"]).payment_status is PaymentStatus.SUCCESS
        # The payment has enrolled the learner already; the frontend's enroll call that
        # follows answers with that enrollment.
        body = {"courseId": offer.course_id, "userId": user_id, "paymentId": paid["paymentId"]}
        enrolled = data(http.post("/api/enrollments/enroll", json=body, headers=headers), 200)
        assert enrolled["message"] == "Enrollment successful"
        passed = learn_everything(http, headers, enrolled["enrollmentId"], offer)
        assert (passed["passed"], passed["courseCompleted"]) == (True, True)
        assert_completed_once(engine, enrolled["enrollmentId"])
        seen = data(http.get(f"/api/enrollments/{enrolled['enrollmentId']}", headers=headers))
        assert seen["status"] == "completed"

    def test_register_enroll_in_a_free_course_learn_pass_the_quiz_and_complete(
        self, platform: Platform, http: httpx.Client, session: Session, engine: Engine
    ) -> None:
        offer = a_course(session, price=Decimal(0))
        user_id, headers = sign_up(http, "ada.free@example.com")
        body = {"courseId": offer.course_id, "userId": user_id, "paymentId": None}
        enrolled = data(http.post("/api/enrollments/enroll", json=body, headers=headers), 201)
        passed = learn_everything(http, headers, enrolled["enrollmentId"], offer)
        assert (passed["passed"], passed["courseCompleted"]) == (True, True)
        assert_completed_once(engine, enrolled["enrollmentId"])


def open_checkout(
    http: httpx.Client, session: Session
) -> tuple[Offer, dict[str, str], dict[str, Any]]:
    """A learner who has opened Paystack's checkout for a paid course: the course, their
    headers and the 201 of ``initiate``."""
    offer = a_course(session, price=Decimal("5000.00"))
    learner = make_user(session)
    session.commit()
    headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
    body = {
        "userId": learner.user_id,
        "courseId": offer.course_id,
        "amount": float(offer.price),
        "method": "paystack",
    }
    started = data(http.post("/api/payments/initiate", json=body, headers=headers), 201)
    return offer, headers, started


class TestEnrollingWithAPendingCheckout:
    def test_the_checkout_is_verified_with_paystack_first(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        session: Session,
        engine: Engine,
    ) -> None:
        """The learner paid on Paystack's page but its webhook has not arrived: enrolling
        asks Paystack, which settles the payment (and so enrolls them)."""
        platform.behave(webhooks=False)
        offer, headers, started = open_checkout(http, session)
        assert platform.pay(browser, started["authorizationUrl"]).status_code < 400
        assert payment_row(engine, started["transactionId"]).payment_status is PaymentStatus.PENDING
        enroll = {"courseId": offer.course_id, "paymentId": started["paymentId"]}
        enrolled = data(http.post("/api/enrollments/enroll", json=enroll, headers=headers), 200)
        assert payment_row(engine, started["transactionId"]).payment_status is PaymentStatus.SUCCESS
        with Session(engine) as check:
            enrollment = check.get_one(Enrollment, enrolled["enrollmentId"])
            assert enrollment.payment_id == started["paymentId"]

    def test_a_checkout_still_open_is_402(
        self, platform: Platform, http: httpx.Client, session: Session
    ) -> None:
        offer, headers, started = open_checkout(http, session)
        enroll = {"courseId": offer.course_id, "paymentId": started["paymentId"]}
        answer = http.post("/api/enrollments/enroll", json=enroll, headers=headers)
        assert answer.status_code == 402, answer.text
        assert answer.json()["error"]["message"] == "The payment has not succeeded (it is pending)"
