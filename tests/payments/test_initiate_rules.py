"""Who may pay for what (POST /api/payments/initiate), the Idempotency-Key header, and
reading payments back (GET /api/payments, GET /api/payments/status/{transactionId})."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from models import Course, CourseCatalog, EnrollmentStatus, Payment, PaymentStatus, User
from tests.api.helpers import assert_error, data
from tests.models.factories import make_course, make_enrollment
from tests.payments.conftest import (
    DECLINED,
    Platform,
    Shop,
    count,
    payment_row,
)

INVALID_DETAILS = "Invalid payment details"
CONCURRENT = 20


def sandbox_charges(platform: Platform) -> int:
    return len(platform.sandbox_rows("transactions"))


def details(response: httpx.Response, message: str = INVALID_DETAILS) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = assert_error(response, 400, message)["error"]["details"]
    return problems


@pytest.fixture(params=["paystack", "card"])
def body_of(request: pytest.FixtureRequest, shop: Shop) -> Any:
    """Either method's request body (the rules before any payment are the same)."""
    return shop.paystack_body if request.param == "paystack" else shop.card_body


def both_methods(shop: Shop, **changes: Any) -> list[dict[str, Any]]:
    """The same request by Paystack checkout and by card: the rules before any payment
    are one for both."""
    return [shop.paystack_body(**changes), shop.card_body(**changes)]


class TestWhoMayPay:
    def test_a_student_may_not_pay_for_someone_else(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        for body in both_methods(shop, userId=shop.other_student):
            assert_error(shop.initiate(http, body), 403, "Access denied")
        assert count(engine, Payment) == 0

    def test_an_admin_may_pay_for_any_learner(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine, body_of: Any
    ) -> None:
        started = data(shop.initiate(http, body_of(), as_user=shop.admin), 201)

        payment = payment_row(engine, started["transactionId"])
        assert payment.user_id == shop.student
        with Session(engine) as session:
            learner = session.get_one(User, shop.student)
        # The learner's receipt, and Paystack's customer, are the learner's.
        assert platform.verify(started["transactionId"])["customer"]["email"] == learner.email
        status = http.get(
            f"/api/payments/status/{started['transactionId']}", headers=shop.headers(shop.student)
        )
        assert data(status)["userId"] == shop.student

    def test_an_admin_paying_for_nobody_is_told_so(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        response = shop.initiate(http, shop.paystack_body(userId=10**9), as_user=shop.admin)

        assert details(response) == [
            {"field": "userId", "message": "is not a user of the platform"}
        ]
        assert count(engine, Payment) == 0

    def test_without_a_token_it_is_a_401(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        response = http.post("/api/payments/initiate", json=shop.paystack_body())

        assert_error(response, 401, "Authentication required")
        assert count(engine, Payment) == 0


class TestWhatMayBePaidFor:
    def test_the_amount_must_be_the_courses_price(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        charges = sandbox_charges(platform)

        for amount in (4999.99, 5000.01, 1):
            for body in both_methods(shop, amount=amount):
                assert details(shop.initiate(http, body)) == [
                    {"field": "amount", "message": "must be the course's price, 5000.00"}
                ], body
        assert count(engine, Payment) == 0
        assert sandbox_charges(platform) == charges

    def test_an_amount_that_is_no_amount_is_refused(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        for amount in (0, -5000, 5000.001, "five", 10**9, None):
            response = shop.initiate(http, shop.paystack_body(amount=amount))

            assert [problem["field"] for problem in details(response)] == ["amount"], amount
        assert count(engine, Payment) == 0

    def test_a_free_course_is_enrolled_in_without_paying(
        self, platform: Platform, http: httpx.Client, shop: Shop, session: Session, engine: Engine
    ) -> None:
        free = make_course(session, price=Decimal("0"))
        session.commit()

        for body in both_methods(shop, courseId=free.course_id, amount=0.01):
            response = shop.initiate(http, body)

            assert_error(response, 400, "This course is free: enroll without a payment")
        assert count(engine, Payment) == 0

    def test_an_unpublished_or_unknown_course_is_not_found(
        self, platform: Platform, http: httpx.Client, shop: Shop, session: Session, engine: Engine
    ) -> None:
        session.execute(
            update(CourseCatalog)
            .where(CourseCatalog.course_id == shop.course)
            .values(is_active=False)
        )
        session.commit()

        for body in both_methods(shop) + both_methods(shop, courseId=10**9):
            assert_error(shop.initiate(http, body), 404, "Course not found")
        assert count(engine, Payment) == 0

    def test_a_course_paid_for_is_not_paid_again(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        data(shop.initiate(http, shop.card_body()), 201)

        for body in both_methods(shop):
            response = shop.initiate(http, body)

            assert_error(response, 409, "You have already paid for this course")
        assert count(engine, Payment) == 1

    def test_a_learner_enrolled_already_does_not_pay(
        self, platform: Platform, http: httpx.Client, shop: Shop, session: Session, engine: Engine
    ) -> None:
        learner = session.get_one(User, shop.student)
        make_enrollment(session, learner, session.get_one(Course, shop.course))
        session.commit()

        for body in both_methods(shop):
            response = shop.initiate(http, body)

            assert_error(response, 409, "You are already enrolled in this course")
        assert count(engine, Payment) == 0

    def test_a_learner_who_dropped_the_course_may_pay_again(
        self, platform: Platform, http: httpx.Client, shop: Shop, session: Session
    ) -> None:
        learner = session.get_one(User, shop.student)
        course = session.get_one(Course, shop.course)
        make_enrollment(session, learner, course, status=EnrollmentStatus.DROPPED)
        session.commit()

        assert data(shop.initiate(http, shop.card_body()), 201)["status"] == "success"


class TestMethod:
    def test_paystack_takes_no_card(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        body = shop.paystack_body(cardDetails=shop.card_body()["cardDetails"])

        assert details(shop.initiate(http, body)) == [
            {"field": "cardDetails", "message": "is for card payments only"}
        ]
        assert count(engine, Payment) == 0

    def test_a_card_payment_needs_the_card(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        body = shop.card_body()
        del body["cardDetails"]

        assert details(shop.initiate(http, body)) == [
            {"field": "cardDetails", "message": "is required to pay by card"}
        ]
        assert count(engine, Payment) == 0

    def test_an_unknown_method_is_refused(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        for method in ("bitcoin", "", None, "PAYSTACK", 1):
            response = shop.initiate(http, shop.paystack_body(method=method))

            assert [problem["field"] for problem in details(response)] == ["method"], method
        assert count(engine, Payment) == 0

    def test_a_paystack_email_must_be_an_email(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        response = shop.initiate(http, shop.paystack_body(paystackEmail="not-an-email"))

        assert [problem["field"] for problem in details(response)] == ["paystackEmail"]


class TestIdempotencyKey:
    def test_a_retry_gets_the_first_answer_again(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine, body_of: Any
    ) -> None:
        charges = sandbox_charges(platform)
        first = shop.initiate(http, body_of(), key="attempt-1")
        again = shop.initiate(http, body_of(), key="attempt-1")

        assert first.status_code == again.status_code == 201
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["data"] == first.json()["data"]
        assert count(engine, Payment) == 1
        assert sandbox_charges(platform) == charges + 1

    def test_another_body_under_the_same_key_is_a_409(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        data(shop.initiate(http, shop.paystack_body(), key="attempt-1"), 201)

        response = shop.initiate(http, shop.card_body(), key="attempt-1")

        assert_error(response, 409, "This Idempotency-Key was already used for a different request")
        assert count(engine, Payment) == 1

    def test_a_declined_card_retried_is_declined_again_without_a_second_charge(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        charges = sandbox_charges(platform)
        first = shop.initiate(http, shop.card_body(DECLINED), key="attempt-1")
        again = shop.initiate(http, shop.card_body(DECLINED), key="attempt-1")

        assert_error(first, 402, "Payment declined")
        assert_error(again, 402, "Payment declined")
        assert again.headers["Idempotent-Replayed"] == "true"
        assert count(engine, Payment) == 1
        assert sandbox_charges(platform) == charges + 1

    def test_a_refusal_before_any_payment_is_replayed_too(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        wrong = shop.card_body(amount=1)
        assert_error(shop.initiate(http, wrong, key="attempt-1"), 400, INVALID_DETAILS)

        again = shop.initiate(http, wrong, key="attempt-1")

        assert_error(again, 400, INVALID_DETAILS)
        assert again.headers["Idempotent-Replayed"] == "true"

    def test_keys_are_each_users_own(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        mine = data(shop.initiate(http, shop.card_body(), key="1"), 201)
        theirs = shop.initiate(
            http, shop.card_body(userId=shop.other_student), as_user=shop.other_student, key="1"
        )

        assert "Idempotent-Replayed" not in theirs.headers
        assert data(theirs, 201)["paymentId"] != mine["paymentId"]
        assert count(engine, Payment) == 2

    def test_a_malformed_key_is_refused(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        for key in ("", "with space", "x" * 256, "é"):
            headers = {**shop.headers(shop.student), "Idempotency-Key": key}
            response = http.post(
                "/api/payments/initiate", json=shop.paystack_body(), headers=_encoded(headers)
            )

            assert [problem["field"] for problem in details(response)] == ["Idempotency-Key"]
        assert count(engine, Payment) == 0

    def test_concurrent_requests_under_one_key_make_one_payment(
        self, platform: Platform, shop: Shop, engine: Engine, backend: str, body_of: Any
    ) -> None:
        if backend != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL's row locks are what is under test")
        charges = sandbox_charges(platform)
        start = threading.Barrier(CONCURRENT)

        def initiate(_: int) -> httpx.Response:
            with platform.http() as client:
                start.wait(timeout=10)
                return shop.initiate(client, body_of(), key="double-click")

        with ThreadPoolExecutor(CONCURRENT) as pool:
            responses = list(pool.map(initiate, range(CONCURRENT)))

        assert count(engine, Payment) == 1
        assert sandbox_charges(platform) == charges + 1
        created = [r for r in responses if r.status_code == 201]
        assert created, [r.text for r in responses]
        assert {r.json()["data"]["paymentId"] for r in created} == {
            payment_row(engine, created[0].json()["data"]["transactionId"]).payment_id
        }
        for response in responses:
            if response.status_code != 201:
                assert_error(
                    response,
                    409,
                    "A request with this Idempotency-Key is still being processed; retry shortly",
                )

    def test_concurrent_card_payments_without_a_key_charge_once(
        self, platform: Platform, shop: Shop, engine: Engine, backend: str
    ) -> None:
        if backend != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL's row locks are what is under test")
        charges = sandbox_charges(platform)
        start = threading.Barrier(5)

        def pay(_: int) -> httpx.Response:
            with platform.http() as client:
                start.wait(timeout=10)
                return shop.initiate(client, shop.card_body())

        with ThreadPoolExecutor(5) as pool:
            responses = list(pool.map(pay, range(5)))

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201, 409, 409, 409, 409], [r.text for r in responses]
        assert count(engine, Payment) == 1
        assert sandbox_charges(platform) == charges + 1


def _encoded(headers: dict[str, str]) -> dict[bytes, bytes]:
    # As bytes: httpx refuses to send a header value that is not ASCII ("é").
    return {name.encode(): value.encode() for name, value in headers.items()}


class TestListing:
    @pytest.fixture
    def ledger(
        self, platform: Platform, http: httpx.Client, shop: Shop, session: Session
    ) -> dict[str, Any]:
        """Four payments, oldest first: the student's declined card and paid card for the
        course, the other student's open checkout of it, the student's open checkout of a
        second course."""
        second = make_course(session, price=Decimal("1200.50"))
        session.commit()
        other = shop.other_student
        assert_error(shop.initiate(http, shop.card_body(DECLINED)), 402, "Payment declined")
        paid = data(shop.initiate(http, shop.card_body()), 201)
        theirs = data(shop.initiate(http, shop.paystack_body(userId=other), as_user=other), 201)
        second_checkout = data(
            shop.initiate(http, shop.paystack_body(courseId=second.course_id, amount=1200.50)),
            201,
        )
        return {
            "paid": paid,
            "theirs": theirs,
            "second": second_checkout,
            "second_course": second.course_id,
        }

    def listed(self, http: httpx.Client, shop: Shop, user: int, **params: Any) -> dict[str, Any]:
        page: dict[str, Any] = data(
            http.get("/api/payments", params=params, headers=shop.headers(user))
        )
        return page

    def test_a_student_sees_their_own_newest_first(
        self, http: httpx.Client, shop: Shop, ledger: dict[str, Any]
    ) -> None:
        page = self.listed(http, shop, shop.student)

        assert page["total"] == 3
        assert [row["status"] for row in page["payments"]] == ["pending", "success", "failed"]
        assert {row["userId"] for row in page["payments"]} == {shop.student}
        assert page["payments"][0]["courseId"] == ledger["second_course"]
        assert page["payments"][0]["amount"] == 1200.5
        assert page["payments"][2]["paymentDate"] is not None
        # Filters narrow the caller's own payments; they never widen them.
        assert self.listed(http, shop, shop.student, userId=shop.other_student)["total"] == 0

    def test_an_admin_sees_everyones_and_filters(
        self, http: httpx.Client, shop: Shop, ledger: dict[str, Any]
    ) -> None:
        admin = shop.admin

        everyone = self.listed(http, shop, admin)
        assert everyone["total"] == 4
        ids = [row["paymentId"] for row in everyone["payments"]]
        assert ids == sorted(ids, reverse=True)

        def statuses(**params: Any) -> list[str]:
            return [row["status"] for row in self.listed(http, shop, admin, **params)["payments"]]

        assert statuses(status="failed") == ["failed"]
        assert statuses(status="pending") == ["pending", "pending"]
        assert statuses(method="card") == ["success", "failed"]
        assert statuses(method="paystack", userId=shop.other_student) == ["pending"]
        assert statuses(courseId=ledger["second_course"]) == ["pending"]
        assert statuses(needsReview="true") == []
        assert len(statuses(needsReview="false")) == 4
        page = self.listed(http, shop, admin, limit=2, offset=1)
        assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
        assert [row["paymentId"] for row in page["payments"]] == ids[1:3]

    def test_a_bad_filter_is_a_400(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        for name, value in (
            ("status", "lost"),
            ("method", "cash"),
            ("limit", 0),
            ("offset", -1),
            ("userId", "me"),
            ("needsReview", "maybe"),
        ):
            response = http.get(
                "/api/payments", params={name: value}, headers=shop.headers(shop.admin)
            )

            body = assert_error(response, 400, "Invalid input data")
            assert [problem["field"] for problem in body["error"]["details"]] == [name]


class TestStatus:
    def test_the_payer_and_an_admin_see_it_another_student_does_not(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        paid = data(shop.initiate(http, shop.card_body()), 201)
        path = f"/api/payments/status/{paid['transactionId']}"

        own = data(http.get(path, headers=shop.headers(shop.student)))
        assert own["status"] == "success"
        assert own["transactionId"] == paid["transactionId"]
        assert data(http.get(path, headers=shop.headers(shop.admin)))["userId"] == shop.student
        assert_error(
            http.get(path, headers=shop.headers(shop.other_student)), 404, "Transaction not found"
        )

    def test_an_unknown_transaction_is_not_found(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        response = http.get("/api/payments/status/tx-unknown", headers=shop.headers(shop.admin))

        assert_error(response, 404, "Transaction not found")

    def test_without_a_token_it_is_a_401(self, platform: Platform, http: httpx.Client) -> None:
        assert_error(http.get("/api/payments/status/tx-unknown"), 401, "Authentication required")

    def test_a_pending_checkout_is_verified_and_stays_pending_while_open(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        started = data(shop.initiate(http, shop.paystack_body()), 201)

        status = http.get(
            f"/api/payments/status/{started['transactionId']}", headers=shop.headers(shop.student)
        )

        assert data(status)["status"] == "pending"
        assert data(status)["paymentDate"] is None
        assert payment_row(engine, started["transactionId"]).payment_status is (
            PaymentStatus.PENDING
        )
