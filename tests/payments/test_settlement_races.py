"""A payment leaves pending exactly once, whoever settles it: the card charge, the webhook,
the status check, the callback, reconciliation. Settlers racing on one payment make one
transition (one analytics record, one receipt); when Paystack does not answer in time the
payment stays pending, and reconciliation later settles it from Paystack's word."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import sync_session_factory, units_of_work
from core.settings import Settings
from integrations.paystack import SyncPaystack, Transaction
from models import Course, Payment, PaymentMethod, PaymentStatus, User
from services import payments
from services.payments import Outcome
from services.reconciliation import Report, reconcile
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer
from tests.models.factories import make_payment
from tests.payments.conftest import (
    SLOW_PAYSTACK_SECONDS,
    Platform,
    Shop,
    analytics_of,
    eventually,
    notices_of,
    notifications_of,
    payment_row,
    receipt_subject,
)

T = TypeVar("T")
TIMED_OUT = "Paystack did not answer in time; the payment is pending and will be confirmed"


def race(*settlers: Callable[[], T]) -> list[T]:
    """Run the settlers at the same moment, each in its own thread."""
    start = threading.Barrier(len(settlers))

    def run(settler: Callable[[], T]) -> T:
        start.wait(timeout=10)
        return settler()

    with ThreadPoolExecutor(len(settlers)) as pool:
        return list(pool.map(run, settlers))


def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL's row locks are what is under test")


@pytest.fixture
def paid_unheard(
    platform: Platform, http: httpx.Client, browser: httpx.Client, shop: Shop
) -> dict[str, Any]:
    """A checkout paid on Paystack whose webhook never left (webhooks switched off): the
    platform's payment is still pending, Paystack's transaction a success."""
    platform.behave(webhooks=False)
    started: dict[str, Any] = data(shop.initiate(http, shop.paystack_body()), 201)
    assert platform.pay(browser, started["authorizationUrl"]).status_code == 303
    return started


@pytest.fixture
def reconciling(platform: Platform, engine: Engine) -> Iterator[Callable[[], Report]]:
    """Run reconciliation as the job worker does, on payments untouched for any time."""
    settings: Settings = platform.settings.model_copy(
        update={
            "paystack": platform.settings.paystack.model_copy(update={"reconcile_after_minutes": 0})
        }
    )
    units = units_of_work(sync_session_factory(engine))
    with httpx.Client() as client:
        paystack = SyncPaystack(settings.paystack, client)
        yield lambda: reconcile(units, paystack, settings)


def assert_settled_once(engine: Engine, reference: str) -> Payment:
    payment = payment_row(engine, reference)
    assert payment.payment_status is PaymentStatus.SUCCESS
    assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
    assert [event.event_type for event in notices_of(engine, payment.payment_id)] == [
        "payment.succeeded"
    ]
    return payment


class TestRacingSettlers:
    def test_two_settlers_of_one_payment_make_one_transition(
        self,
        platform: Platform,
        engine: Engine,
        backend: str,
        paid_unheard: dict[str, Any],
    ) -> None:
        postgresql_only(backend)
        reference = paid_unheard["transactionId"]
        transaction = Transaction.from_data(platform.verify(reference))
        units = units_of_work(sync_session_factory(engine))

        def settler() -> Outcome:
            with units() as session:
                return payments.settle(
                    session,
                    reference=reference,
                    status=PaymentStatus.SUCCESS,
                    transaction=transaction,
                    base_url="https://app.example.com",
                )

        outcomes = race(settler, settler)

        assert sorted(outcomes) == [Outcome.SETTLED, Outcome.UNCHANGED]
        assert_settled_once(engine, reference)

    def test_the_webhook_the_status_check_and_the_callback_settle_once(
        self,
        platform: Platform,
        shop: Shop,
        engine: Engine,
        backend: str,
        smtp_server: SmtpServer,
        paid_unheard: dict[str, Any],
    ) -> None:
        postgresql_only(backend)
        reference = paid_unheard["transactionId"]
        body = json.dumps({"event": "charge.success", "data": platform.verify(reference)}).encode()

        def webhook() -> httpx.Response:
            with platform.http() as client:
                return platform.post_webhook(client, body)

        def status() -> httpx.Response:
            with platform.http() as client:
                path = f"/api/payments/status/{reference}"
                return client.get(path, headers=shop.headers(shop.student))

        def callback() -> httpx.Response:
            with platform.http() as client:
                return client.get("/api/payments/callback", params={"reference": reference})

        hooked, checked, called_back = race(webhook, status, callback)

        assert data(hooked)["firstDelivery"] is True
        assert data(checked)["status"] == "success"
        assert called_back.status_code == 303
        assert "status=success" in called_back.headers["location"]
        payment = assert_settled_once(engine, reference)
        subject = receipt_subject(smtp_server, engine, shop.student)
        (receipt,) = notices_of(engine, payment.payment_id)
        assert subject == receipt.payload["subject"]
        assert notifications_of(engine, receipt.event_id) == ["email", "in_app"]


def first_payment(engine: Engine) -> Payment:
    with Session(engine) as session:
        (payment,) = session.scalars(select(Payment)).all()
    return payment


class TestPaystackTimesOut:
    def test_initialize_timing_out_answers_504_and_leaves_the_payment_pending(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        platform.behave(delaySeconds=SLOW_PAYSTACK_SECONDS)

        response = shop.initiate(http, shop.paystack_body())

        assert_error(response, 504, TIMED_OUT)
        payment = first_payment(engine)
        assert payment.payment_status is PaymentStatus.PENDING
        assert payment.authorization_url is None
        # Whatever Paystack made of it, nobody has paid yet: pending until abandoned.
        platform.behave(delaySeconds=0)
        assert reconciling().outcomes == {"not_final": 1}
        assert payment_row(engine, payment.transaction_id).payment_status is (PaymentStatus.PENDING)

    def test_a_checkout_paystack_made_too_late_is_settled_by_reconciliation(
        self,
        platform: Platform,
        http: httpx.Client,
        browser: httpx.Client,
        shop: Shop,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        platform.behave(delaySeconds=SLOW_PAYSTACK_SECONDS)
        assert_error(shop.initiate(http, shop.paystack_body()), 504, TIMED_OUT)
        payment = first_payment(engine)
        # Paystack makes the checkout after the platform stopped waiting; the payer pays on
        # it, and its webhook never reaches the platform.
        platform.behave(delaySeconds=0, webhooks=False)
        made = eventually(
            lambda: platform.sandbox_transaction(payment.transaction_id),
            timeout=SLOW_PAYSTACK_SECONDS,
            what="the sandbox's late checkout",
        )
        checkout = f"{platform.sandbox_url}/checkout/{made['access_code']}"
        assert platform.pay(browser, checkout).status_code == 303
        assert payment_row(engine, payment.transaction_id).payment_status is (PaymentStatus.PENDING)
        assert [d["outcome"] for d in platform.deliveries(payment.transaction_id)] == ["skipped"]

        report = reconciling()

        assert (report.asked, report.unreachable, report.outcomes) == (1, 0, {"settled": 1})
        assert_settled_once(engine, payment.transaction_id)
        assert reconciling().outcomes == {}  # nothing is pending any more

    def test_a_card_charge_timing_out_answers_504_and_charges_no_second_card(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        platform.behave(delaySeconds=SLOW_PAYSTACK_SECONDS, webhooks=False)

        response = shop.initiate(http, shop.card_body())

        assert_error(response, 504, TIMED_OUT)
        payment = first_payment(engine)
        assert payment.payment_status is PaymentStatus.PENDING
        assert payment.method is PaymentMethod.CARD
        # Only Paystack knows whether the card was charged: no second charge meanwhile.
        assert_error(
            shop.initiate(http, shop.card_body()),
            409,
            "A card payment for this course is already being processed",
        )

    def test_a_card_charged_too_late_is_settled_by_reconciliation(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        platform.behave(delaySeconds=SLOW_PAYSTACK_SECONDS, webhooks=False)
        assert_error(shop.initiate(http, shop.card_body()), 504, TIMED_OUT)
        payment = first_payment(engine)
        platform.behave(delaySeconds=0)
        eventually(
            lambda: (
                (platform.sandbox_transaction(payment.transaction_id) or {}).get("status")
                == "success"
            ),
            timeout=SLOW_PAYSTACK_SECONDS,
            what="the sandbox's late charge",
        )

        assert reconciling().outcomes == {"settled": 1}

        assert_settled_once(engine, payment.transaction_id)
        assert_error(
            shop.initiate(http, shop.card_body()), 409, "You have already paid for this course"
        )

    def test_the_status_check_answers_pending_while_paystack_is_down(
        self, platform: Platform, http: httpx.Client, shop: Shop, paid_unheard: dict[str, Any]
    ) -> None:
        reference = paid_unheard["transactionId"]
        platform.behave(failStatus=503)
        path = f"/api/payments/status/{reference}"

        assert data(http.get(path, headers=shop.headers(shop.student)))["status"] == "pending"

        platform.behave(failStatus=None)
        assert data(http.get(path, headers=shop.headers(shop.student)))["status"] == "success"


class TestPaystackRefuses:
    def test_a_refusal_at_initialize_fails_the_payment_and_answers_502(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        platform.behave(failStatus=400)

        assert_error(
            shop.initiate(http, shop.paystack_body()),
            502,
            "Paystack refused the payment: Sandbox outage",
        )

        with Session(engine) as session:
            (payment,) = session.scalars(select(Payment)).all()
        # A 4xx is Paystack's "no": certain to have taken nothing.
        assert payment.payment_status is PaymentStatus.FAILED
        platform.behave(failStatus=None)
        assert data(shop.initiate(http, shop.paystack_body()), 201)["status"] == "pending"

    def test_an_outage_at_initialize_leaves_the_payment_pending_and_answers_502(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        platform.behave(failStatus=503)

        assert_error(
            shop.initiate(http, shop.paystack_body()),
            502,
            "Paystack could not be reached; the payment is pending and will be confirmed",
        )

        with Session(engine) as session:
            (payment,) = session.scalars(select(Payment)).all()
        # A 5xx may come after the work was done: only Paystack knows, reconciliation asks.
        assert payment.payment_status is PaymentStatus.PENDING
        platform.behave(failStatus=None)
        assert data(shop.initiate(http, shop.paystack_body()), 201)["status"] == "pending"

    def test_a_refused_card_charge_answers_502_and_the_card_may_be_tried_again(
        self, platform: Platform, http: httpx.Client, shop: Shop
    ) -> None:
        platform.behave(failStatus=400)

        assert_error(
            shop.initiate(http, shop.card_body()),
            502,
            "Paystack refused the payment: Sandbox outage",
        )

        platform.behave(failStatus=None)
        assert data(shop.initiate(http, shop.card_body()), 201)["status"] == "success"

    def test_an_outage_at_a_card_charge_charges_no_second_card_until_it_is_known(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        platform.behave(failStatus=500)
        key = "card-during-an-outage"

        assert_error(
            shop.initiate(http, shop.card_body(), key=key),
            502,
            "Paystack could not be reached; the payment is pending and will be confirmed",
        )

        platform.behave(failStatus=None)
        # The 502 is not kept under the key: the retry runs, and meets the pending charge.
        retried = shop.initiate(http, shop.card_body(), key=key)
        assert_error(retried, 409, "A card payment for this course is already being processed")
        assert "idempotent-replayed" not in retried.headers
        # Paystack never heard of it: reconciliation fails it, and the card may pay.
        assert reconciling().outcomes == {"settled": 1}
        assert first_payment(engine).payment_status is PaymentStatus.FAILED
        assert data(shop.initiate(http, shop.card_body()), 201)["status"] == "success"


class TestReconciliation:
    def test_an_open_checkout_stays_pending_until_it_is_abandoned(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        started = data(shop.initiate(http, shop.paystack_body()), 201)
        reference = started["transactionId"]

        assert reconciling().outcomes == {"not_final": 1}
        assert payment_row(engine, reference).payment_status is PaymentStatus.PENDING

        abandoned = timedelta(minutes=platform.settings.paystack.abandon_after_minutes + 1)
        with Session(engine) as session, session.begin():
            session.execute(
                update(Payment)
                .where(Payment.transaction_id == reference)
                .values(created_at=utcnow() - abandoned, updated_at=utcnow() - abandoned)
            )
        assert reconciling().outcomes == {"settled": 1}

        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.FAILED
        assert payment.gateway_response == "Paystack: abandoned"
        assert analytics_of(engine, payment.payment_id) == ["payment.failed"]
        assert [n.event_type for n in notices_of(engine, payment.payment_id)] == ["payment.failed"]

    def test_a_card_payment_paystack_never_heard_of_is_failed(
        self,
        platform: Platform,
        shop: Shop,
        session: Session,
        engine: Engine,
        reconciling: Callable[[], Report],
    ) -> None:
        learner = session.get_one(User, shop.student)
        course = session.get_one(Course, shop.course)
        payment = make_payment(
            session, learner, course, transaction_id="tx-never-sent", method=PaymentMethod.CARD
        )
        session.commit()

        assert reconciling().outcomes == {"settled": 1}

        failed = payment_row(engine, payment.transaction_id)
        assert failed.payment_status is PaymentStatus.FAILED
        assert failed.gateway_response == "Paystack has no such transaction"

    def test_paystack_unreachable_leaves_the_payment_for_the_next_run(
        self,
        platform: Platform,
        engine: Engine,
        paid_unheard: dict[str, Any],
        reconciling: Callable[[], Report],
    ) -> None:
        platform.behave(failStatus=500)

        report = reconciling()

        assert (report.asked, report.unreachable, report.outcomes) == (1, 1, {})
        reference = paid_unheard["transactionId"]
        assert payment_row(engine, reference).payment_status is PaymentStatus.PENDING
        platform.behave(failStatus=None)
        assert reconciling().outcomes == {"settled": 1}
        assert_settled_once(engine, reference)
