"""Paying for a course on Paystack's hosted checkout, end to end over real HTTP: the
platform initializes a checkout with the sandbox, the payer's browser opens it and pays,
the sandbox posts its signed ``charge.success`` webhook to the platform, and the payment
is verified successful; the payer's browser comes back through the callback."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Payment, PaymentEvent, PaymentMethod, PaymentStatus, User
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer
from tests.payments.conftest import (
    APPROVED,
    DECLINED,
    INSUFFICIENT_FUNDS,
    Platform,
    Shop,
    analytics_of,
    count,
    eventually,
    notices_of,
    notifications_of,
    payment_row,
    receipt_subject,
)


def start_checkout(http: httpx.Client, shop: Shop, **changes: Any) -> dict[str, Any]:
    started: dict[str, Any] = data(shop.initiate(http, shop.paystack_body(**changes)), 201)
    return started


def webhook_settled(engine: Engine, reference: str) -> bool:
    """Whether a charge.success webhook for ``reference`` arrived and settled it (read from
    the database only: asking the status endpoint would verify and settle it itself)."""
    return (
        count(
            engine,
            PaymentEvent,
            PaymentEvent.reference == reference,
            PaymentEvent.event_type == "charge.success",
            PaymentEvent.outcome == "settled",
        )
        == 1
    )


def result_of(callback: httpx.Response) -> dict[str, list[str]]:
    """The query of the frontend result page the callback redirected to."""
    assert callback.status_code == 303, callback.text
    location = urlsplit(callback.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://app.example.com/payments/result"
    )
    return parse_qs(location.query)


class TestInitialize:
    def test_answers_a_pending_payment_with_a_checkout_on_the_sandbox(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        started = start_checkout(http, shop)

        assert started["status"] == "pending"
        assert started["message"] == "Payment initialized successfully with Paystack"
        assert started["amount"] == 5000.0
        assert started["currency"] == "NGN"
        assert started["authorizationUrl"] == (
            f"{platform.sandbox_url}/checkout/{started['accessCode']}"
        )
        payment = payment_row(engine, started["transactionId"])
        assert payment.payment_id == started["paymentId"]
        assert payment.payment_status is PaymentStatus.PENDING
        assert payment.method is PaymentMethod.PAYSTACK
        assert payment.payment_date is None
        assert payment.access_code == started["accessCode"]
        # Paystack was asked for the course's price in kobo, under our own reference.
        transaction = platform.verify(started["transactionId"])
        assert transaction["amount"] == 500000
        assert transaction["currency"] == "NGN"
        assert transaction["status"] == "abandoned"
        assert transaction["metadata"] == {
            "paymentId": started["paymentId"],
            "userId": shop.student,
            "courseId": shop.course,
        }

    def test_paystack_is_given_the_learners_email_by_default(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        started = start_checkout(http, shop)

        with Session(engine) as session:
            learner = session.get_one(User, shop.student)
        assert platform.verify(started["transactionId"])["customer"]["email"] == learner.email

    def test_paystack_email_is_the_email_paystack_is_given(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        started = start_checkout(http, shop, paystackEmail="payer@example.org")

        assert platform.verify(started["transactionId"])["customer"]["email"] == (
            "payer@example.org"
        )

    def test_a_second_initiate_hands_out_the_same_open_checkout(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        first = start_checkout(http, shop)
        again = start_checkout(http, shop)

        for name in ("paymentId", "transactionId", "accessCode", "authorizationUrl"):
            assert again[name] == first[name]
        assert count(engine, Payment, Payment.user_id == shop.student) == 1
        # Two open checkouts could both be paid: Paystack was asked for one only.
        mine = [
            row
            for row in platform.sandbox_rows("transactions")
            if row["reference"] == first["transactionId"]
        ]
        assert len(mine) == 1


class TestPayOnTheCheckout:
    def test_the_whole_flow_ends_in_a_verified_success_with_one_receipt(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
        smtp_server: SmtpServer,
    ) -> None:
        started = start_checkout(http, shop)
        reference = started["transactionId"]

        page = browser.get(started["authorizationUrl"])
        assert page.status_code == 200
        assert "NGN 5,000.00" in page.text
        paid = platform.pay(browser, started["authorizationUrl"], APPROVED)

        # The browser goes back to the platform's callback with the reference.
        assert paid.status_code == 303, paid.text
        back = urlsplit(paid.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == (
            f"{platform.base_url}/api/payments/callback"
        )
        assert parse_qs(back.query)["reference"] == [reference]
        # The signed webhook lands and settles the payment on its own.
        eventually(lambda: webhook_settled(engine, reference), what="the charge.success webhook")
        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert payment.payment_date is not None
        assert payment.gateway_response == "Approved"
        assert payment.review_reason is None

        status = data(
            http.get(f"/api/payments/status/{reference}", headers=shop.headers(shop.student))
        )
        assert status["status"] == "success"
        assert status["paymentId"] == started["paymentId"]
        assert status["method"] == "paystack"
        assert status["amount"] == 5000.0
        assert status["paymentDate"] is not None

        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        subject = receipt_subject(smtp_server, engine, shop.student)
        (receipt,) = notices_of(engine, payment.payment_id)
        assert receipt.event_type == "payment.succeeded"
        assert subject == receipt.payload["subject"]
        assert notifications_of(engine, receipt.event_id) == ["email", "in_app"]

        callback = http.get(paid.headers["location"])
        assert result_of(callback) == {"reference": [reference], "status": ["success"]}

    def test_a_paid_checkout_cannot_be_paid_again(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
    ) -> None:
        started = start_checkout(http, shop)
        assert platform.pay(browser, started["authorizationUrl"]).status_code == 303
        eventually(lambda: webhook_settled(engine, started["transactionId"]), what="the webhook")

        page = browser.get(started["authorizationUrl"])
        assert page.status_code == 200
        assert "Already paid" in page.text
        assert platform.pay(browser, started["authorizationUrl"]).status_code == 409
        payment = payment_row(engine, started["transactionId"])
        assert len(analytics_of(engine, payment.payment_id)) == 1

    def test_a_declined_card_keeps_the_checkout_open_for_another_card(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
    ) -> None:
        started = start_checkout(http, shop)
        reference = started["transactionId"]

        declined = platform.pay(browser, started["authorizationUrl"], DECLINED)
        assert declined.status_code == 200
        assert "Your card was declined" in declined.text
        # Declined on Paystack's page: the payer may still pay there, so nothing settles.
        status = data(
            http.get(f"/api/payments/status/{reference}", headers=shop.headers(shop.student))
        )
        assert status["status"] == "pending"
        short = platform.pay(browser, started["authorizationUrl"], INSUFFICIENT_FUNDS)
        assert "insufficient funds" in short.text
        assert payment_row(engine, reference).payment_status is PaymentStatus.PENDING

        assert platform.pay(browser, started["authorizationUrl"], APPROVED).status_code == 303
        eventually(lambda: webhook_settled(engine, reference), what="the webhook")
        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        assert [event.event_type for event in notices_of(engine, payment.payment_id)] == [
            "payment.succeeded"
        ]

    def test_the_callback_verifies_a_payment_whose_webhook_has_not_arrived(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
    ) -> None:
        platform.behave(webhooks=False)
        started = start_checkout(http, shop)
        paid = platform.pay(browser, started["authorizationUrl"])
        assert payment_row(engine, started["transactionId"]).payment_status is (
            PaymentStatus.PENDING
        )

        callback = http.get(paid.headers["location"])

        assert result_of(callback)["status"] == ["success"]
        payment = payment_row(engine, started["transactionId"])
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        assert count(engine, PaymentEvent, PaymentEvent.reference == payment.transaction_id) == 0


class TestCancel:
    def test_a_cancelled_checkout_comes_back_pending_and_can_still_be_paid(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
    ) -> None:
        started = start_checkout(http, shop)

        cancelled = browser.post(f"{started['authorizationUrl']}/cancel")
        assert cancelled.status_code == 303
        callback = http.get(cancelled.headers["location"])

        # Paystack calls an unpaid checkout "abandoned"; it is failed only once it is old.
        assert result_of(callback) == {
            "reference": [started["transactionId"]],
            "status": ["pending"],
        }
        payment = payment_row(engine, started["transactionId"])
        assert payment.payment_status is PaymentStatus.PENDING
        assert analytics_of(engine, payment.payment_id) == []
        assert notices_of(engine, payment.payment_id) == []
        again = start_checkout(http, shop)
        assert again["accessCode"] == started["accessCode"]
        assert platform.pay(browser, again["authorizationUrl"]).status_code == 303
        eventually(lambda: webhook_settled(engine, started["transactionId"]), what="the webhook")
        assert payment_row(engine, started["transactionId"]).payment_status is (
            PaymentStatus.SUCCESS
        )


class TestCallback:
    def test_an_unknown_reference_says_unknown(self, http: httpx.Client) -> None:
        callback = http.get("/api/payments/callback", params={"reference": "tx-nobody-knows"})

        assert result_of(callback) == {"reference": ["tx-nobody-knows"], "status": ["unknown"]}

    def test_a_malformed_reference_is_refused(self, http: httpx.Client) -> None:
        response = http.get("/api/payments/callback", params={"reference": "<script>"})

        body = assert_error(response, 400, "Invalid input data")
        assert [problem["field"] for problem in body["error"]["details"]] == ["reference"]
