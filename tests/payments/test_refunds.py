"""Refunds (POST /api/payments/{transactionId}/refund, admins): Paystack is asked once; the
payment becomes refunded when Paystack's ``refund.processed`` webhook says so, the learner
is dropped from the course and told; a refund Paystack refuses is flagged for a person."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Enrollment, EnrollmentStatus, Payment, PaymentStatus, RefundStatus
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer
from tests.payments.conftest import (
    DECLINED,
    Platform,
    Shop,
    analytics_of,
    eventually,
    mails_to,
    notices_of,
    payment_row,
)

REFUND_STARTED = "Refund requested; the payment becomes refunded once Paystack confirms it"


@pytest.fixture
def paid(platform: Platform, http: httpx.Client, shop: Shop, session: Session) -> dict[str, Any]:
    """The student paid for the course by card, which enrolled them in it."""
    started: dict[str, Any] = data(shop.initiate(http, shop.card_body()), 201)
    platform.delivered(started["transactionId"])  # the charge's own webhook is in
    return started


def refund(
    http: httpx.Client, shop: Shop, reference: str, user: int | None = None
) -> httpx.Response:
    who = shop.admin if user is None else user
    return http.post(f"/api/payments/{reference}/refund", headers=shop.headers(who))


def refunds_of(platform: Platform, reference: str) -> list[dict[str, Any]]:
    transaction = platform.sandbox_transaction(reference)
    assert transaction is not None
    return [r for r in platform.sandbox_rows("refunds") if r["transaction_id"] == transaction["id"]]


def enrollment_status(engine: Engine, shop: Shop) -> EnrollmentStatus:
    with Session(engine) as session:
        return session.scalars(
            select(Enrollment.status).where(
                Enrollment.user_id == shop.student, Enrollment.course_id == shop.course
            )
        ).one()


def settled_refund(engine: Engine, reference: str, status: RefundStatus) -> Payment:
    """The payment once its refund is ``status`` (Paystack's webhook comes after its answer)."""

    def settled() -> Payment | None:
        payment = payment_row(engine, reference)
        return payment if payment.refund_status is status else None

    return eventually(settled, what=f"the refund to be {status.value}")


class TestRefund:
    def test_a_refund_paystack_processes_refunds_the_payment_and_drops_the_learner(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        smtp_server: SmtpServer,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]
        mails_to(smtp_server, engine, shop.student, 2)  # the receipt and the welcome

        response = refund(http, shop, reference)

        assert response.status_code == 202, response.text
        assert response.json()["data"] == {
            "paymentId": paid["paymentId"],
            "transactionId": reference,
            "status": "success",
            "refundStatus": "pending",
            "message": REFUND_STARTED,
        }
        payment = settled_refund(engine, reference, RefundStatus.PROCESSED)
        assert payment.payment_status is PaymentStatus.REFUNDED
        assert payment.refunded_at is not None
        assert payment.refund_reference
        (asked,) = refunds_of(platform, reference)
        assert (asked["amount"], asked["status"]) == (500000, "processed")
        assert enrollment_status(engine, shop) is EnrollmentStatus.DROPPED
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded", "payment.refunded"]
        assert [n.event_type for n in notices_of(engine, payment.payment_id)] == [
            "payment.succeeded",
            "payment.refunded",
        ]
        subjects = mails_to(smtp_server, engine, shop.student, 3)
        assert sorted(subject.split(" ")[0] for subject in subjects) == [
            "Receipt:",
            "Refund:",
            "Welcome",
        ]
        status = data(
            http.get(f"/api/payments/status/{reference}", headers=shop.headers(shop.student))
        )
        assert (status["status"], status["refundStatus"]) == ("refunded", "processed")
        # Refunded is final: nothing more to give back.
        assert_error(
            refund(http, shop, reference), 409, "Only a successful payment can be refunded"
        )

    def test_a_refund_webhook_delivered_again_changes_nothing(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]
        assert refund(http, shop, reference).status_code == 202
        payment = settled_refund(engine, reference, RefundStatus.PROCESSED)
        (delivery,) = [d for d in platform.delivered(reference) if d["event"] == "refund.processed"]

        resent = platform.sandbox(f"/_sandbox/webhooks/{delivery['id']}/resend", "POST")

        assert resent["statusCode"] == 200
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded", "payment.refunded"]
        assert len(notices_of(engine, payment.payment_id)) == 2

    def test_only_an_admin_refunds(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]

        for user in (shop.student, shop.other_student):
            assert_error(refund(http, shop, reference, user), 403, "Access denied")

        assert_error(http.post(f"/api/payments/{reference}/refund"), 401, "Authentication required")
        assert refunds_of(platform, reference) == []
        assert payment_row(engine, reference).refund_status is None

    def test_an_unknown_transaction_is_not_found(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        assert_error(refund(http, shop, "tx-unknown"), 404, "Transaction not found")


class TestWhatCannotBeRefunded:
    def test_a_pending_payment(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        started = data(shop.initiate(http, shop.paystack_body()), 201)

        response = refund(http, shop, started["transactionId"])

        assert_error(response, 409, "Only a successful payment can be refunded")
        assert payment_row(engine, started["transactionId"]).refund_status is None

    def test_a_failed_payment(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        assert shop.initiate(http, shop.card_body(DECLINED)).status_code == 402
        with Session(engine) as session:
            (payment,) = session.scalars(select(Payment)).all()

        response = refund(http, shop, payment.transaction_id)

        assert_error(response, 409, "Only a successful payment can be refunded")

    def test_a_second_refund_while_the_first_is_in_flight(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]
        # Paystack processes the refund, but its word does not reach the platform yet.
        platform.behave(webhooks=False)
        assert refund(http, shop, reference).status_code == 202

        response = refund(http, shop, reference)

        assert_error(response, 409, "A refund of this payment is already in progress")
        eventually(lambda: refunds_of(platform, reference)[0]["status"] == "processed")
        assert len(refunds_of(platform, reference)) == 1
        payment = payment_row(engine, reference)
        assert (payment.payment_status, payment.refund_status) == (
            PaymentStatus.SUCCESS,
            RefundStatus.PENDING,
        )


class TestRefused:
    def test_a_refund_paystack_fails_is_flagged_and_may_be_asked_again(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]
        platform.behave(refundOutcome="failed")

        assert refund(http, shop, reference).status_code == 202

        payment = settled_refund(engine, reference, RefundStatus.FAILED)
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert payment.review_reason == "Refund failed: Paystack did not process it"
        assert enrollment_status(engine, shop) is EnrollmentStatus.IN_PROGRESS
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        flagged = data(
            http.get(
                "/api/payments", params={"needsReview": "true"}, headers=shop.headers(shop.admin)
            )
        )
        assert [row["refundStatus"] for row in flagged["payments"]] == ["failed"]

        platform.behave(refundOutcome="processed")
        assert refund(http, shop, reference).status_code == 202
        refunded = settled_refund(engine, reference, RefundStatus.PROCESSED)
        assert refunded.payment_status is PaymentStatus.REFUNDED
        assert [r["status"] for r in refunds_of(platform, reference)] == ["failed", "processed"]

    def test_paystack_refusing_to_take_the_refund_answers_502_and_flags_it(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        paid: dict[str, Any],
    ) -> None:
        reference = paid["transactionId"]
        platform.behave(failStatus=400)

        response = refund(http, shop, reference)

        assert_error(response, 502, "Paystack refused the refund: Sandbox outage")
        payment = payment_row(engine, reference)
        assert (payment.payment_status, payment.refund_status) == (
            PaymentStatus.SUCCESS,
            RefundStatus.FAILED,
        )
        assert payment.review_reason == "Refund failed: Sandbox outage"
        assert refunds_of(platform, reference) == []
