"""Reconciliation (``services.reconciliation.reconcile``): payments whose outcome never
reached us are asked of Paystack and settled from its word.

The offline sandbox runs on uvicorn on a loopback port with its webhooks switched off, so
only reconciliation can settle what is paid there; the database is real (each backend) and
every unit of work commits. Transactions are made at the sandbox as Paystack would make them
for the platform: initialized under the payment's own reference, then paid by the payer on
the hosted checkout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import UnitsOfWork, sync_session_factory, units_of_work
from core.events import EventType
from core.settings import Settings
from integrations.paystack import SyncPaystack
from jobs import payments as payment_jobs
from jobs.tasks import PERIODIC, build_jobs
from models import (
    Analytics,
    IdempotencyKey,
    OutboxEvent,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from services import idempotency
from services.payments import new_reference
from services.reconciliation import Report, reconcile
from tests.conftest import free_port
from tests.fakes.paystack import sandbox_server
from tests.models.factories import make_course, make_payment, make_user

KEY = "sk_test_fake_reconcile_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
APPROVED = "4084084084084081"
NEXT_YEAR = str(datetime.now(UTC).year + 1)
ABANDON_AFTER = timedelta(minutes=60)
DEFAULT_BEHAVIOUR = {
    "delaySeconds": 0,
    "failStatus": None,
    "refundOutcome": "processed",
    "webhooks": False,
}


@dataclass(frozen=True)
class Sandbox:
    url: str

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(method, f"{self.url}{path}", headers=AUTH, timeout=5, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def behave(self, **changes: Any) -> None:
        self.call("PUT", "/_sandbox/behaviour", json=changes)

    def checkout(self, payment: Payment) -> str:
        """Initialize the payment's transaction, as the platform does; its checkout URL."""
        body = {
            "email": "ada@example.com",
            "amount": int(payment.amount * 100),
            "currency": payment.currency,
            "reference": payment.transaction_id,
        }
        return str(self.call("POST", "/transaction/initialize", json=body)["authorization_url"])

    def pay(self, authorization_url: str) -> None:
        """The payer on the hosted checkout, with an approved test card."""
        card = {"card_number": APPROVED, "expiry_month": "12", "expiry_year": NEXT_YEAR}
        answer = httpx.post(f"{authorization_url}/pay", data=card | {"cvv": "408"}, timeout=5)
        # No callback URL: the sandbox's own "Payment successful" page.
        assert answer.status_code == 200, answer.text
        assert "Payment successful" in answer.text

    def status(self, reference: str) -> str:
        return str(self.call("GET", f"/transaction/verify/{reference}")["status"])

    def charge(self, payment: Payment) -> None:
        card = {"number": APPROVED, "cvv": "408", "expiry_month": "12", "expiry_year": NEXT_YEAR}
        body = {
            "email": "ada@example.com",
            "amount": int(payment.amount * 100),
            "reference": payment.transaction_id,
            "card": card,
        }
        assert self.call("POST", "/charge", json=body)["status"] == "success"

    def refund(self, payment: Payment) -> None:
        """Refund it in full and wait (bounded) until the sandbox has processed it."""
        self.call("POST", "/refund", json={"transaction": payment.transaction_id})
        deadline = time.monotonic() + 5
        while self.status(payment.transaction_id) != "reversed":
            assert time.monotonic() < deadline, "the sandbox did not process the refund"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    state = tmp_path_factory.mktemp("sandbox") / "paystack-sandbox.db"
    with sandbox_server(state, secret_key=KEY) as url:
        yield Sandbox(url)


@pytest.fixture
def sandbox(served: Sandbox) -> Iterator[Sandbox]:
    served.behave(**DEFAULT_BEHAVIOUR)
    yield served
    served.behave(**DEFAULT_BEHAVIOUR)


def with_paystack(settings: Settings, base_url: str, **changes: Any) -> Settings:
    paystack = settings.paystack.model_copy(
        update={
            "base_url": base_url,
            "secret_key": SecretStr(KEY),
            "timeout_seconds": 2,
            # Every payment still open is due at once; a checkout is abandoned after an hour.
            "reconcile_after_minutes": 0,
            "abandon_after_minutes": int(ABANDON_AFTER.total_seconds() // 60),
        }
        | changes
    )
    return settings.model_copy(update={"paystack": paystack})


@pytest.fixture
def own_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return with_paystack(settings, sandbox.url)


@pytest.fixture
def units(engine: Engine) -> UnitsOfWork:
    return units_of_work(sync_session_factory(engine))


def run(units: UnitsOfWork, settings: Settings) -> Report:
    with httpx.Client() as http:
        return reconcile(units, SyncPaystack(settings.paystack, http), settings)


@dataclass(frozen=True)
class Made:
    payment_id: int
    user_id: int
    course_id: int


def make(
    engine: Engine, *, age: timedelta = timedelta(minutes=1), **values: Any
) -> tuple[Made, Payment]:
    """A committed payment of 5000.00 NGN, made (and last changed) ``age`` ago."""
    with Session(engine, expire_on_commit=False) as session:
        payer = make_user(session)
        course = make_course(session, price=Decimal("5000.00"))
        values = {
            "payment_status": PaymentStatus.PENDING,
            "method": PaymentMethod.PAYSTACK,
            # Our own reference, as Paystack accepts it (the factory's default has a "_").
            "transaction_id": new_reference(),
        } | values
        payment = make_payment(session, payer, course, **values)
        moment = utcnow() - age
        session.execute(
            update(Payment)
            .where(Payment.payment_id == payment.payment_id)
            .values(created_at=moment, updated_at=moment)
        )
        session.commit()
        return Made(payment.payment_id, payer.user_id, course.course_id), payment


def stored(engine: Engine, made: Made) -> Payment:
    with Session(engine) as session:
        payment = session.get(Payment, made.payment_id)
        assert payment is not None
        session.expunge(payment)
        return payment


def recorded(engine: Engine, made: Made) -> tuple[list[str], list[str]]:
    """The analytics records and the notices of the payment's learner."""
    with Session(engine) as session:
        records = session.scalars(
            select(Analytics.event_type)
            .where(Analytics.user_id == made.user_id)
            .order_by(Analytics.analytic_id)
        )
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.event_id))
        return list(records), [
            event.event_type for event in events if event.payload["user_id"] == made.user_id
        ]


class TestPaidAtPaystack:
    def test_a_pending_payment_paid_at_paystack_is_settled(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine)
        sandbox.pay(sandbox.checkout(payment))
        report = run(units, own_settings)
        assert (report.asked, report.unreachable, report.outcomes) == (1, 0, {"settled": 1})
        settled = stored(engine, made)
        assert settled.payment_status is PaymentStatus.SUCCESS
        assert settled.gateway_response == "Approved"
        assert settled.payment_date is not None
        # Settling made the enrollment too (its record and its welcome).
        assert recorded(engine, made) == (
            [EventType.PAYMENT_SUCCEEDED.value, EventType.ENROLLMENT_CREATED.value],
            [EventType.PAYMENT_SUCCEEDED.value, EventType.ENROLLMENT_CREATED.value],
        )

    def test_a_second_run_changes_nothing(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine)
        sandbox.pay(sandbox.checkout(payment))
        run(units, own_settings)
        # A settled payment is no longer due: Paystack is not even asked.
        assert run(units, own_settings).asked == 0
        assert len(recorded(engine, made)[1]) == 2  # the receipt and the welcome, once


class TestUnpaidCheckouts:
    def test_a_checkout_unpaid_past_the_limit_fails(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=ABANDON_AFTER + timedelta(minutes=5))
        sandbox.checkout(payment)
        assert run(units, own_settings).outcomes == {"settled": 1}
        failed = stored(engine, made)
        assert failed.payment_status is PaymentStatus.FAILED
        assert failed.gateway_response == "Paystack: abandoned"
        assert recorded(engine, made) == (
            [EventType.PAYMENT_FAILED.value],
            [EventType.PAYMENT_FAILED.value],
        )

    def test_a_young_unpaid_checkout_is_left_open(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=timedelta(minutes=5))
        sandbox.checkout(payment)
        assert run(units, own_settings).outcomes == {"not_final": 1}
        assert stored(engine, made).payment_status is PaymentStatus.PENDING
        assert recorded(engine, made) == ([], [])

    def test_an_old_payment_paystack_never_heard_of_fails(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, _ = make(engine, age=ABANDON_AFTER * 2)
        assert run(units, own_settings).outcomes == {"settled": 1}
        failed = stored(engine, made)
        assert failed.payment_status is PaymentStatus.FAILED
        assert failed.gateway_response == "Paystack has no such transaction"

    def test_a_young_payment_paystack_never_heard_of_is_left(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, _ = make(engine, age=timedelta(minutes=5))
        assert run(units, own_settings).outcomes == {"not_final": 1}
        assert stored(engine, made).payment_status is PaymentStatus.PENDING


class TestWhatIsDue:
    def test_a_payment_changed_recently_is_not_asked_about(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=timedelta(minutes=5))
        sandbox.pay(sandbox.checkout(payment))
        patient = with_paystack(own_settings, sandbox.url, reconcile_after_minutes=10)
        assert run(units, patient) == Report()
        assert stored(engine, made).payment_status is PaymentStatus.PENDING

    def test_a_checkout_failed_as_abandoned_is_not_asked_about_again(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=ABANDON_AFTER * 2)
        sandbox.checkout(payment)
        assert run(units, own_settings).outcomes == {"settled": 1}
        assert stored(engine, made).payment_status is PaymentStatus.FAILED
        assert run(units, own_settings).asked == 0

    def test_a_failed_checkout_paid_later_within_a_day_is_settled(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        # Failed as abandoned, then paid on the page it still had open, its webhook lost:
        # the money was taken, so the learner must get the course.
        made, payment = make(engine, age=ABANDON_AFTER * 2, authorization_url="https://x.test/c")
        checkout = sandbox.checkout(payment)
        assert run(units, own_settings).outcomes == {"settled": 1}
        assert stored(engine, made).payment_status is PaymentStatus.FAILED
        sandbox.pay(checkout)
        assert run(units, own_settings).outcomes == {"settled": 1}
        assert stored(engine, made).payment_status is PaymentStatus.SUCCESS

    def test_a_checkout_failed_more_than_a_day_ago_is_not_asked_about(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        make(
            engine,
            age=ABANDON_AFTER * 2,
            payment_status=PaymentStatus.FAILED,
            authorization_url="https://x.test/c",
        )
        assert run(units, own_settings).asked == 0

    @pytest.mark.parametrize("status", [PaymentStatus.SUCCESS, PaymentStatus.FAILED])
    def test_settled_payments_are_not_asked_about(
        self,
        engine: Engine,
        units: UnitsOfWork,
        sandbox: Sandbox,
        own_settings: Settings,
        status: PaymentStatus,
    ) -> None:
        make(engine, payment_status=status)
        assert run(units, own_settings).asked == 0


class TestPaystackUnreachable:
    def test_a_closed_port_is_counted_and_nothing_changes(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=ABANDON_AFTER * 2)
        sandbox.pay(sandbox.checkout(payment))
        nowhere = with_paystack(own_settings, f"http://127.0.0.1:{free_port()}")
        assert run(units, nowhere) == Report(asked=1, unreachable=1, outcomes={})
        assert stored(engine, made).payment_status is PaymentStatus.PENDING
        assert recorded(engine, made) == ([], [])

    def test_an_outage_is_counted_and_asked_again_next_time(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine, age=ABANDON_AFTER * 2)
        sandbox.pay(sandbox.checkout(payment))
        sandbox.behave(failStatus=503)
        assert run(units, own_settings) == Report(asked=1, unreachable=1, outcomes={})
        assert stored(engine, made).payment_status is PaymentStatus.PENDING
        sandbox.behave(failStatus=None)
        assert run(units, own_settings).outcomes == {"settled": 1}
        assert stored(engine, made).payment_status is PaymentStatus.SUCCESS

    def test_one_unreachable_answer_does_not_stop_the_others(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        _, paid_payment = make(engine)
        sandbox.pay(sandbox.checkout(paid_payment))
        make(engine, age=timedelta(minutes=5))
        report = run(units, own_settings)
        assert (report.asked, report.outcomes) == (2, {"settled": 1, "not_final": 1})


class TestRefunds:
    def test_a_refund_in_flight_that_paystack_reversed_is_refunded(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(
            engine,
            method=PaymentMethod.CARD,
            payment_status=PaymentStatus.SUCCESS,
            refund_status=RefundStatus.PENDING,
        )
        sandbox.charge(payment)
        sandbox.refund(payment)
        assert run(units, own_settings).outcomes == {"refunded": 1}
        refunded = stored(engine, made)
        assert (refunded.payment_status, refunded.refund_status) == (
            PaymentStatus.REFUNDED,
            RefundStatus.PROCESSED,
        )
        assert refunded.refunded_at is not None
        assert recorded(engine, made)[1] == [EventType.PAYMENT_REFUNDED.value]

    def test_a_refund_paystack_has_not_processed_yet_stays_in_flight(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(
            engine,
            method=PaymentMethod.CARD,
            payment_status=PaymentStatus.SUCCESS,
            refund_status=RefundStatus.PENDING,
        )
        sandbox.charge(payment)
        assert run(units, own_settings).outcomes == {"unchanged": 1}
        kept = stored(engine, made)
        assert (kept.payment_status, kept.refund_status) == (
            PaymentStatus.SUCCESS,
            RefundStatus.PENDING,
        )

    def test_a_refund_paystack_never_confirmed_can_be_asked_for_again(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        # Asked a day ago; Paystack's refund.failed was lost, or the request never reached it.
        made, payment = make(
            engine,
            age=ABANDON_AFTER * 2,
            method=PaymentMethod.CARD,
            payment_status=PaymentStatus.SUCCESS,
            refund_status=RefundStatus.PENDING,
        )
        sandbox.charge(payment)
        assert run(units, own_settings).outcomes == {"settled": 1}
        kept = stored(engine, made)
        assert (kept.payment_status, kept.refund_status) == (
            PaymentStatus.SUCCESS,
            RefundStatus.FAILED,
        )
        assert kept.review_reason == "Refund failed: Paystack never confirmed it"


class TestIdempotencyKeys:
    def test_keys_older_than_a_day_are_forgotten(
        self, engine: Engine, units: UnitsOfWork, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        with Session(engine) as session:
            user = make_user(session)
            now = utcnow()
            for key, made_at in (
                ("old", now - idempotency.KEEP - timedelta(minutes=1)),
                ("fresh", now - idempotency.KEEP + timedelta(minutes=5)),
            ):
                session.add(
                    IdempotencyKey(
                        user_id=user.user_id, key=key, fingerprint="f" * 64, created_at=made_at
                    )
                )
            session.commit()
        assert run(units, own_settings) == Report()
        with Session(engine) as session:
            assert list(session.scalars(select(IdempotencyKey.key))) == ["fresh"]

    def test_are_forgotten_even_when_paystack_is_unreachable(
        self, engine: Engine, units: UnitsOfWork, own_settings: Settings
    ) -> None:
        make(engine)
        with Session(engine) as session:
            user = make_user(session)
            old = utcnow() - idempotency.KEEP * 2
            session.add(
                IdempotencyKey(user_id=user.user_id, key="k", fingerprint="f", created_at=old)
            )
            session.commit()
        nowhere = with_paystack(own_settings, f"http://127.0.0.1:{free_port()}")
        assert run(units, nowhere).unreachable == 1
        with Session(engine) as session:
            assert list(session.scalars(select(IdempotencyKey.key))) == []


class TestTheScheduledTask:
    def test_reconcile_payments_is_registered_every_five_minutes(self) -> None:
        (entry,) = [entry for entry in PERIODIC if entry[0] == "reconcile_payments"]
        _, schedule, task = entry
        assert task is payment_jobs.reconcile_payments
        assert [
            minute for minute in range(60) if schedule(datetime(2025, 1, 1, 9, minute, tzinfo=UTC))
        ] == (list(range(0, 60, 5)))

    def test_the_worker_runs_it_on_the_platforms_settings(
        self, engine: Engine, sandbox: Sandbox, own_settings: Settings
    ) -> None:
        made, payment = make(engine)
        sandbox.pay(sandbox.checkout(payment))
        jobs = build_jobs(own_settings)
        try:
            due = [task for task in jobs.huey.read_periodic(datetime(2025, 1, 1, 9, 5, tzinfo=UTC))]
            (task,) = [task for task in due if task.name == "reconcile_payments"]
            assert "reconcile_payments" not in {
                task.name
                for task in jobs.huey.read_periodic(datetime(2025, 1, 1, 9, 6, tzinfo=UTC))
            }
            jobs.huey.execute(task)
        finally:
            jobs.close()
        assert stored(engine, made).payment_status is PaymentStatus.SUCCESS
