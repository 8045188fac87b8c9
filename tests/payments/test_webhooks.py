"""Paystack's webhooks at POST /api/payments/webhooks/paystack: only a body signed with the
secret key is believed, a charge whose amount or currency is not the payment's settles
nothing, and however often (and however concurrently) one event is delivered, the payment
settles once, with one analytics record and one receipt."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from integrations.paystack import signature
from models import Analytics, PaymentEvent, PaymentStatus
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer
from tests.payments.conftest import (
    Platform,
    Shop,
    analytics_of,
    charge_success,
    count,
    notices_of,
    notifications_of,
    payment_row,
    receipt_subject,
)

DELIVERIES = 10


@pytest.fixture
def checkout(http: httpx.Client, shop: Shop) -> dict[str, Any]:
    """A pending Paystack payment of the shop's course, checkout opened."""
    started: dict[str, Any] = data(shop.initiate(http, shop.paystack_body()), 201)
    return started


def paid_on_the_sandbox(
    platform: Platform, browser: httpx.Client, checkout: dict[str, Any]
) -> bytes:
    """Pay the checkout with webhooks switched off, and the charge.success body Paystack
    would have posted (built from the sandbox's own transaction)."""
    platform.behave(webhooks=False)
    assert platform.pay(browser, checkout["authorizationUrl"]).status_code == 303
    transaction = platform.verify(checkout["transactionId"])
    assert transaction["status"] == "success"
    return json.dumps({"event": "charge.success", "data": transaction}).encode()


def received(response: httpx.Response) -> dict[str, Any]:
    answer: dict[str, Any] = data(response)
    assert answer["received"] is True
    return answer


def _events(engine: Engine, reference: str) -> list[PaymentEvent]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(PaymentEvent)
                .where(PaymentEvent.reference == reference)
                .order_by(PaymentEvent.event_id)
            )
        )


class TestSignature:
    def test_a_forged_or_missing_signature_changes_nothing(
        self, platform: Platform, http: httpx.Client, checkout: dict[str, Any], engine: Engine
    ) -> None:
        body = charge_success(checkout["transactionId"])
        forgeries = {
            "another key": signature("sk_test_fake_forger_key", body),
            "none": "",
            "zeros": "0" * 128,
            "not hex": "not-hex",
            "truncated": signature("sk_test_not_real", body)[:-2],
        }

        for forgery, forged in forgeries.items():
            response = platform.post_webhook(http, body, signature=forged)

            assert response.status_code == 401, forgery
            assert_error(response, 401, "Invalid webhook signature")
        assert count(engine, PaymentEvent) == 0
        payment = payment_row(engine, checkout["transactionId"])
        assert payment.payment_status is PaymentStatus.PENDING
        assert payment.review_reason is None
        assert count(engine, Analytics) == 0

    def test_a_signature_of_another_body_is_refused(
        self, platform: Platform, http: httpx.Client, checkout: dict[str, Any], engine: Engine
    ) -> None:
        genuine = charge_success(checkout["transactionId"], amount=100)
        tampered = genuine.replace(b'"amount": 100', b'"amount": 500000')
        assert tampered != genuine

        response = platform.post_webhook(
            http, tampered, signature=signature("sk_test_not_real", genuine)
        )

        assert_error(response, 401, "Invalid webhook signature")
        assert count(engine, PaymentEvent) == 0
        assert payment_row(engine, checkout["transactionId"]).payment_status is (
            PaymentStatus.PENDING
        )

    def test_a_malformed_body_is_refused_before_its_signature_is_trusted(
        self, platform: Platform, http: httpx.Client, engine: Engine
    ) -> None:
        response = platform.post_webhook(http, b"{not json", signature="deadbeef")

        assert_error(response, 401, "Invalid webhook signature")
        assert count(engine, PaymentEvent) == 0


class TestAmountAndCurrency:
    @pytest.mark.parametrize(
        ("changes", "reported"),
        [
            pytest.param({"amount": 100}, "100 NGN", id="amount"),
            pytest.param({"amount": 499999}, "499999 NGN", id="one-kobo-short"),
            pytest.param({"currency": "USD"}, "500000 USD", id="currency"),
        ],
    )
    def test_a_charge_that_is_not_the_payments_does_not_settle_it_and_is_flagged(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        checkout: dict[str, Any],
        engine: Engine,
        changes: dict[str, Any],
        reported: str,
    ) -> None:
        reference = checkout["transactionId"]

        answer = received(platform.post_webhook(http, charge_success(reference, **changes)))

        assert answer["firstDelivery"] is True
        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.PENDING
        assert payment.payment_date is None
        assert payment.review_reason == (
            f"Paystack reported {reported} (minor units) for a payment of 500000 NGN: not settled"
        )
        assert analytics_of(engine, payment.payment_id) == []
        assert notices_of(engine, payment.payment_id) == []
        (event,) = _events(engine, reference)
        assert event.outcome == "mismatch"
        # An admin finds it among the payments to review; the payer is not shown why.
        flagged = data(
            http.get(
                "/api/payments", params={"needsReview": "true"}, headers=shop.headers(shop.admin)
            )
        )
        assert [row["transactionId"] for row in flagged["payments"]] == [reference]
        assert flagged["payments"][0]["reviewReason"] == payment.review_reason
        own = data(
            http.get(f"/api/payments/status/{reference}", headers=shop.headers(shop.student))
        )
        assert own.get("reviewReason") is None

    def test_a_charge_without_an_amount_does_not_settle_and_is_flagged(
        self, platform: Platform, http: httpx.Client, checkout: dict[str, Any], engine: Engine
    ) -> None:
        reference = checkout["transactionId"]
        body = json.dumps(
            {"event": "charge.success", "data": {"id": 9, "reference": reference}}
        ).encode()

        assert received(platform.post_webhook(http, body))["firstDelivery"] is True

        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.PENDING
        (event,) = _events(engine, reference)
        assert event.outcome == "mismatch"
        assert payment.review_reason is not None
        assert "Paystack reported nothing" in payment.review_reason


class TestReplays:
    def test_one_event_delivered_concurrently_settles_once_with_one_receipt(
        self,
        platform: Platform,
        browser: httpx.Client,
        shop: Shop,
        checkout: dict[str, Any],
        engine: Engine,
        smtp_server: SmtpServer,
    ) -> None:
        body = paid_on_the_sandbox(platform, browser, checkout)
        start = threading.Barrier(DELIVERIES)

        def deliver(_: int) -> httpx.Response:
            with platform.http() as client:
                start.wait(timeout=10)
                return platform.post_webhook(client, body)

        with ThreadPoolExecutor(DELIVERIES) as pool:
            responses = list(pool.map(deliver, range(DELIVERIES)))

        firsts = [received(response)["firstDelivery"] for response in responses]
        assert sorted(firsts) == [False] * (DELIVERIES - 1) + [True]
        payment = payment_row(engine, checkout["transactionId"])
        assert payment.payment_status is PaymentStatus.SUCCESS
        (event,) = _events(engine, payment.transaction_id)
        assert event.outcome == "settled"
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        subject = receipt_subject(smtp_server, engine, shop.student)
        (receipt,) = notices_of(engine, payment.payment_id)
        assert receipt.event_type == "payment.succeeded"
        assert subject == receipt.payload["subject"]
        assert notifications_of(engine, receipt.event_id) == ["email", "in_app"]

    def test_a_replay_answers_first_delivery_false_and_changes_nothing(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        checkout: dict[str, Any],
        engine: Engine,
    ) -> None:
        body = paid_on_the_sandbox(platform, browser, checkout)

        assert received(platform.post_webhook(http, body))["firstDelivery"] is True
        assert received(platform.post_webhook(http, body))["firstDelivery"] is False
        # The same event (its id and status), serialized differently, is the same event.
        reserialized = json.dumps(json.loads(body), indent=2, sort_keys=True).encode()
        assert received(platform.post_webhook(http, reserialized))["firstDelivery"] is False

        payment = payment_row(engine, checkout["transactionId"])
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert count(engine, PaymentEvent) == 1
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        assert len(notices_of(engine, payment.payment_id)) == 1

    def test_the_sandbox_resending_a_delivered_webhook_changes_nothing(
        self,
        platform: Platform,
        browser: httpx.Client,
        checkout: dict[str, Any],
        engine: Engine,
    ) -> None:
        reference = checkout["transactionId"]
        assert platform.pay(browser, checkout["authorizationUrl"]).status_code == 303
        (delivery,) = platform.delivered(reference)

        resent = platform.sandbox(f"/_sandbox/webhooks/{delivery['id']}/resend", "POST")

        assert resent["statusCode"] == 200
        assert resent["attempts"] == delivery["attempts"] + 1
        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert count(engine, PaymentEvent) == 1
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        assert len(notices_of(engine, payment.payment_id)) == 1


class TestOtherEvents:
    def test_an_unknown_event_is_kept_and_acknowledged(
        self, platform: Platform, http: httpx.Client, engine: Engine
    ) -> None:
        body = json.dumps(
            {"event": "transfer.success", "data": {"id": 4321, "reference": "TRF_sandbox1"}}
        ).encode()

        answer = received(platform.post_webhook(http, body))

        assert answer["firstDelivery"] is True
        (event,) = _events(engine, "TRF_sandbox1")
        assert event.event_type == "transfer.success"
        assert event.outcome == "ignored"
        assert event.body == body.decode()
        assert received(platform.post_webhook(http, body))["firstDelivery"] is False
        assert count(engine, PaymentEvent) == 1

    def test_a_charge_of_an_unknown_reference_is_kept_and_acknowledged(
        self, platform: Platform, http: httpx.Client, engine: Engine
    ) -> None:
        received(platform.post_webhook(http, charge_success("tx-not-ours")))

        (event,) = _events(engine, "tx-not-ours")
        assert event.outcome == "unknown_reference"
        assert count(engine, Analytics) == 0

    def test_a_signed_body_that_is_not_an_event_is_a_400(
        self, platform: Platform, http: httpx.Client, engine: Engine
    ) -> None:
        not_events = [
            (b"{not json", "the body is not JSON"),
            (b"", "the body is not JSON"),
            (b"\xff\xfe", "the body is not JSON"),
            (b"[1, 2]", "the body has no event name"),
            (b'{"data": {}}', "the body has no event name"),
            (b'{"event": 7}', "the body has no event name"),
        ]

        for body, problem in not_events:
            response = platform.post_webhook(http, body)

            answer = assert_error(response, 400, "Invalid input data")
            assert answer["error"]["details"] == [{"field": "body", "message": problem}], body
        assert count(engine, PaymentEvent) == 0
