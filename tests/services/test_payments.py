"""Payments: the card summary we may keep (sealed), what the payer hears once a payment has
settled, and the domain's rules on a real database: who may pay for what, one open checkout
and one card payment in flight at a time, a payment's one transition out of pending,
Paystack's word on a transaction, refunds, webhooks and the payments list."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import TokenCipher
from core.errors import Forbidden
from core.events import EventType
from integrations.paystack import Checkout, Transaction, WebhookEvent
from models import (
    Analytics,
    Course,
    CourseCatalog,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    Role,
    User,
)
from services import payments
from services.access import CourseNotFound
from services.cards import CardSummary, InvalidPaymentDetails, open_card, seal_card
from services.payments import (
    AlreadyEnrolled,
    AlreadyPaid,
    CardPaymentInProgress,
    FreeCourse,
    NotRefundable,
    Outcome,
    PaymentFilters,
    RefundInProgress,
    TransactionNotFound,
    payment_settled,
)
from tests.models.factories import make_course, make_enrollment, make_payment, make_user

BASE_URL = "https://learn.example.com"
VISA = CardSummary(brand="visa", last4="4081", expiry="12/29")


@pytest.fixture
def session(db: Session) -> Session:
    """These tests talk to the database through this one session only: each runs in a
    transaction that is rolled back afterwards (``db`` in tests/conftest.py), no wipe."""
    return db


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(Fernet.generate_key().decode())


@pytest.fixture
def payer(session: Session) -> User:
    return make_user(session)


@pytest.fixture
def course(session: Session) -> Course:
    return make_course(session, title="Introduction to Python")


def settle(session: Session, payment: Payment) -> list[OutboxEvent]:
    payment_settled(session, payment, base_url=BASE_URL)
    session.flush()
    return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.event_id)))


class TestPaymentSettled:
    def test_a_success_sends_a_receipt(self, session: Session, payer: User, course: Course) -> None:
        payment = make_payment(
            session, payer, course, payment_status=PaymentStatus.SUCCESS, transaction_id="tx_ok"
        )
        (event,) = settle(session, payment)
        assert event.event_type == EventType.PAYMENT_SUCCEEDED
        assert event.payload["user_id"] == payer.user_id
        assert event.payload["subject"] == "Receipt: Introduction to Python"
        assert event.payload["message"] == (
            "We received 49.99 NGN for Introduction to Python (transaction tx_ok)."
        )
        assert event.payload["link"] == f"{BASE_URL}/payments/tx_ok"

    def test_a_failure_says_nothing_was_charged(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=PaymentStatus.FAILED)
        (event,) = settle(session, payment)
        assert event.event_type == EventType.PAYMENT_FAILED
        assert event.payload["subject"] == "Payment failed: Introduction to Python"
        assert event.payload["message"] == (
            "Your payment of 49.99 NGN for Introduction to Python did not go through. "
            "You have not been charged; you can try again."
        )

    def test_a_refund_sends_a_refund_notice_not_a_failure(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(
            session, payer, course, payment_status=PaymentStatus.REFUNDED, transaction_id="tx_rf"
        )
        (event,) = settle(session, payment)
        assert event.event_type == EventType.PAYMENT_REFUNDED
        assert event.payload["subject"] == "Refund: Introduction to Python"
        assert event.payload["message"] == (
            "We refunded 49.99 NGN for Introduction to Python (transaction tx_rf). "
            "It can take a few days to reach your account."
        )
        assert "not been charged" not in event.payload["message"]

    def test_a_pending_payment_has_not_settled(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=PaymentStatus.PENDING)
        with pytest.raises(ValueError, match="a pending payment has not settled"):
            payment_settled(session, payment, base_url=BASE_URL)
        assert session.scalars(select(OutboxEvent)).all() == []


class TestCardSummary:
    def test_holds_brand_last_four_and_expiry_only(self) -> None:
        names = [field.name for field in dataclasses.fields(CardSummary)]
        assert names == ["brand", "last4", "expiry"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            VISA.last4 = "1111"  # type: ignore[misc]

    @pytest.mark.parametrize("brand", ["visa", "mastercard", "verve", "amex"])
    def test_accepts_card_brands(self, brand: str) -> None:
        assert CardSummary(brand=brand, last4="0000", expiry="01/30").brand == brand

    def test_refuses_a_full_card_number_as_last4(self) -> None:
        with pytest.raises(ValueError, match="last4"):
            CardSummary(brand="visa", last4="4111111111111111", expiry="12/29")

    @pytest.mark.parametrize(
        ("brand", "last4", "expiry", "wrong"),
        [
            ("Visa", "4081", "12/29", "brand"),
            ("visa card", "4081", "12/29", "brand"),
            ("", "4081", "12/29", "brand"),
            ("visa", "408", "12/29", "last4"),
            ("visa", "40a1", "12/29", "last4"),
            ("visa", "٤٠٨١", "12/29", "last4"),  # digits, but not ASCII ones
            ("visa", "4081", "13/29", "expiry"),
            ("visa", "4081", "00/29", "expiry"),
            ("visa", "4081", "1/29", "expiry"),
            ("visa", "4081", "12/2029", "expiry"),
        ],
    )
    def test_refuses_anything_else(self, brand: str, last4: str, expiry: str, wrong: str) -> None:
        with pytest.raises(ValueError, match=wrong):
            CardSummary(brand=brand, last4=last4, expiry=expiry)

    def test_refuses_values_that_are_not_text(self) -> None:
        with pytest.raises(ValueError, match="last4"):
            CardSummary(brand="visa", last4=4081, expiry="12/29")  # type: ignore[arg-type]


class TestSealCard:
    def test_round_trip(self, cipher: TokenCipher) -> None:
        assert open_card(cipher, seal_card(cipher, VISA)) == VISA

    def test_the_ciphertext_shows_nothing_of_the_card(self, cipher: TokenCipher) -> None:
        sealed = seal_card(cipher, VISA)
        # Fernet tokens are url-safe base64: no JSON and no "12/29" can be in them.
        assert not set(sealed) & set('{}":/ ')
        assert seal_card(cipher, VISA) != sealed  # a fresh IV each time

    def test_another_key_cannot_open_it(self, cipher: TokenCipher) -> None:
        sealed = seal_card(cipher, VISA)
        other = TokenCipher(Fernet.generate_key().decode())
        with pytest.raises(ValueError, match="not made with this key"):
            open_card(other, sealed)

    def test_opens_nothing_but_a_card_summary(self, cipher: TokenCipher) -> None:
        more = '{"brand": "visa", "expiry": "12/29", "last4": "4081", "number": "4111111111111111"}'
        for plaintext in (more, '{"brand": "visa"}', '["visa", "4081", "12/29"]', "visa"):
            with pytest.raises(ValueError, match="does not hold a card summary"):
                open_card(cipher, cipher.encrypt(plaintext))


# -- the domain's rules on a real database ---------------------------------------------------

PENDING, SUCCESS, FAILED, REFUNDED = (
    PaymentStatus.PENDING,
    PaymentStatus.SUCCESS,
    PaymentStatus.FAILED,
    PaymentStatus.REFUNDED,
)
ABANDON_AFTER = timedelta(hours=24)
PAID_AT = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, role=Role.ADMIN)


def paystack_said(
    reference: str,
    status: str = "success",
    *,
    amount: int = 4999,
    currency: str = "NGN",
    gateway_response: str | None = "Approved",
) -> Transaction:
    """What Paystack's verify (or a charge, or a webhook) says of ``reference``; by default
    the 49.99 NGN of make_course's price, paid."""
    paid_at = PAID_AT if status == "success" else None
    return Transaction(reference, status, amount, currency, paid_at, gateway_response)


def pending(session: Session, payer: User, course: Course, **values: Any) -> Payment:
    values = {"payment_status": PENDING, "method": PaymentMethod.PAYSTACK} | values
    return make_payment(session, payer, course, **values)


def payment_row(session: Session, payment_id: int) -> Payment:
    """The payment as the database holds it now."""
    session.expire_all()
    found = session.get(Payment, payment_id)
    assert found is not None
    return found


def reloaded(session: Session, payment: Payment) -> Payment:
    return payment_row(session, payment.payment_id)


def make_old(session: Session, payment_id: int, by: timedelta) -> None:
    """Made (and last changed) ``by`` ago."""
    moment = utcnow() - by
    session.execute(
        update(Payment)
        .where(Payment.payment_id == payment_id)
        .values(created_at=moment, updated_at=moment)
    )
    session.expire_all()


def analytics(session: Session, user: User) -> list[str]:
    """The payment records of a user (a success also writes its enrollment's)."""
    return list(
        session.scalars(
            select(Analytics.event_type)
            .where(Analytics.user_id == user.user_id, Analytics.event_type.like("payment.%"))
            .order_by(Analytics.analytic_id)
        )
    )


def notices(session: Session) -> list[tuple[str, str | None]]:
    """The payers' notices (a success also writes the enrollment's welcome)."""
    rows = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.event_type.like("payment.%"))
        .order_by(OutboxEvent.event_id)
    )
    return [(row.event_type, row.dedupe_key) for row in rows]


def count_payments(session: Session, user: User) -> int:
    query = select(func.count()).select_from(Payment).where(Payment.user_id == user.user_id)
    return int(session.scalar(query) or 0)


def settle_payment(
    session: Session,
    payment: Payment,
    status: PaymentStatus,
    transaction: Transaction | None = None,
    *,
    note: str | None = None,
) -> Outcome:
    return payments.settle(
        session,
        reference=payment.transaction_id,
        status=status,
        transaction=transaction,
        base_url=BASE_URL,
        note=note,
    )


class TestPayableCourse:
    def pay(
        self,
        session: Session,
        payer: User,
        course_id: int,
        *,
        user_id: int | None = None,
        amount: Decimal = Decimal("49.99"),
    ) -> tuple[User, Course]:
        return payments.payable_course(
            session,
            payer=payer,
            user_id=payer.user_id if user_id is None else user_id,
            course_id=course_id,
            amount=amount,
        )

    def test_a_learner_may_pay_for_a_published_paid_course(
        self, session: Session, payer: User, course: Course
    ) -> None:
        assert self.pay(session, payer, course.course_id) == (payer, course)

    def test_the_same_price_written_with_more_zeros_is_the_price(
        self, session: Session, payer: User, course: Course
    ) -> None:
        assert self.pay(session, payer, course.course_id, amount=Decimal("49.990"))[1] == course

    def test_a_learner_may_not_pay_for_someone_else(
        self, session: Session, payer: User, course: Course
    ) -> None:
        other = make_user(session)
        with pytest.raises(Forbidden) as caught:
            self.pay(session, payer, course.course_id, user_id=other.user_id)
        assert caught.value.status_code == 403

    def test_an_instructor_may_not_pay_for_someone_else(
        self, session: Session, payer: User, course: Course
    ) -> None:
        instructor = make_user(session, role=Role.INSTRUCTOR)
        with pytest.raises(Forbidden):
            self.pay(session, instructor, course.course_id, user_id=payer.user_id)

    def test_an_admin_may_pay_for_a_learner(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        learner, found = self.pay(session, admin, course.course_id, user_id=payer.user_id)
        assert (learner.user_id, found.course_id) == (payer.user_id, course.course_id)

    def test_an_admin_paying_for_nobody_is_told_so(
        self, session: Session, course: Course, admin: User
    ) -> None:
        with pytest.raises(InvalidPaymentDetails) as caught:
            self.pay(session, admin, course.course_id, user_id=10**9)
        assert caught.value.parameter == "userId"

    def test_an_unpublished_course_is_not_found(
        self, session: Session, payer: User, course: Course
    ) -> None:
        session.execute(
            update(CourseCatalog)
            .where(CourseCatalog.course_id == course.course_id)
            .values(is_active=False)
        )
        with pytest.raises(CourseNotFound) as caught:
            self.pay(session, payer, course.course_id)
        assert caught.value.status_code == 404

    def test_a_course_that_does_not_exist_is_not_found(self, session: Session, payer: User) -> None:
        with pytest.raises(CourseNotFound):
            self.pay(session, payer, 10**9)

    def test_a_free_course_needs_no_payment(self, session: Session, payer: User) -> None:
        free = make_course(session, price=Decimal("0"))
        with pytest.raises(FreeCourse) as caught:
            self.pay(session, payer, free.course_id, amount=Decimal("0"))
        assert caught.value.status_code == 400

    @pytest.mark.parametrize("amount", ["49.98", "50.00", "0.01", "4999"])
    def test_the_amount_must_be_the_courses_price(
        self, session: Session, payer: User, course: Course, amount: str
    ) -> None:
        with pytest.raises(InvalidPaymentDetails) as caught:
            self.pay(session, payer, course.course_id, amount=Decimal(amount))
        assert caught.value.parameter == "amount"
        assert caught.value.problem == "must be the course's price, 49.99"

    def test_a_course_paid_for_cannot_be_paid_again(
        self, session: Session, payer: User, course: Course
    ) -> None:
        make_payment(session, payer, course, payment_status=SUCCESS)
        with pytest.raises(AlreadyPaid) as caught:
            self.pay(session, payer, course.course_id)
        assert caught.value.status_code == 409

    @pytest.mark.parametrize("status", [PENDING, FAILED, REFUNDED])
    def test_other_payments_of_the_course_do_not_block(
        self, session: Session, payer: User, course: Course, status: PaymentStatus
    ) -> None:
        make_payment(session, payer, course, payment_status=status)
        assert self.pay(session, payer, course.course_id)[1] == course

    def test_another_learners_payment_does_not_block(
        self, session: Session, payer: User, course: Course
    ) -> None:
        make_payment(session, make_user(session), course, payment_status=SUCCESS)
        assert self.pay(session, payer, course.course_id)[1] == course

    @pytest.mark.parametrize("status", [EnrollmentStatus.IN_PROGRESS, EnrollmentStatus.COMPLETED])
    def test_an_enrolled_learner_cannot_pay(
        self, session: Session, payer: User, course: Course, status: EnrollmentStatus
    ) -> None:
        make_enrollment(session, payer, course, status=status)
        with pytest.raises(AlreadyEnrolled) as caught:
            self.pay(session, payer, course.course_id)
        assert caught.value.status_code == 409

    def test_a_dropped_enrollment_may_pay_again(
        self, session: Session, payer: User, course: Course
    ) -> None:
        refunded = make_payment(session, payer, course, payment_status=REFUNDED)
        make_enrollment(
            session, payer, course, status=EnrollmentStatus.DROPPED, payment_id=refunded.payment_id
        )
        assert self.pay(session, payer, course.course_id)[1] == course


class TestOpenPaystackPayment:
    def open(
        self,
        session: Session,
        payer: User,
        course: Course,
        *,
        email: str | None = None,
        currency: str = "NGN",
    ) -> payments.OpenedPayment:
        return payments.open_paystack_payment(
            session,
            payer=payer,
            user_id=payer.user_id,
            course_id=course.course_id,
            amount=course.price,
            currency=currency,
            email=email,
            reuse_within=ABANDON_AFTER,
        )

    def checkout(self, session: Session, opened: payments.OpenedPayment) -> Checkout:
        found = Checkout(
            opened.reference, f"ac_{opened.payment_id}", f"https://pay/{opened.reference}"
        )
        payments.record_checkout(session, payment_id=opened.payment_id, checkout=found)
        session.expire_all()
        return found

    def test_records_a_pending_payment_under_our_own_reference(
        self, session: Session, payer: User, course: Course
    ) -> None:
        opened = self.open(session, payer, course)
        payment = payment_row(session, opened.payment_id)
        assert opened.reference.startswith("tx-")
        assert payment.transaction_id == payment.paystack_reference == opened.reference
        assert (payment.payment_status, payment.method) == (PENDING, PaymentMethod.PAYSTACK)
        assert (payment.amount, payment.currency) == (Decimal("49.99"), "NGN")
        assert opened.checkout is None
        assert opened.email == payer.email
        assert opened.minor_amount == 4999
        assert opened.metadata == {
            "paymentId": opened.payment_id,
            "userId": payer.user_id,
            "courseId": course.course_id,
        }

    def test_an_email_given_is_the_one_paystack_hears(
        self, session: Session, payer: User, course: Course
    ) -> None:
        assert self.open(session, payer, course, email="ada@example.org").email == "ada@example.org"

    def test_references_are_never_repeated(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first, second = self.open(session, payer, course), self.open(session, payer, course)
        assert first.reference != second.reference

    def test_a_recent_checkout_is_handed_out_again(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first = self.open(session, payer, course)
        checkout = self.checkout(session, first)
        again = self.open(session, payer, course)
        assert (again.payment_id, again.reference) == (first.payment_id, first.reference)
        assert again.checkout == checkout
        assert count_payments(session, payer) == 1

    def test_a_checkout_older_than_the_reuse_window_is_not_reused(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first = self.open(session, payer, course)
        self.checkout(session, first)
        make_old(session, first.payment_id, ABANDON_AFTER + timedelta(minutes=1))
        again = self.open(session, payer, course)
        assert again.payment_id != first.payment_id
        assert again.checkout is None

    def test_a_pending_payment_without_a_checkout_is_not_reused(
        self, session: Session, payer: User, course: Course
    ) -> None:
        # Paystack never answered the first initialize: there is no link to hand out.
        first = self.open(session, payer, course)
        again = self.open(session, payer, course)
        assert again.payment_id != first.payment_id
        assert again.checkout is None

    def test_a_checkout_at_another_price_is_not_reused(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first = self.open(session, payer, course)
        self.checkout(session, first)
        course.price = Decimal("59.99")
        session.flush()
        again = self.open(session, payer, course)
        assert again.payment_id != first.payment_id
        assert again.amount == Decimal("59.99")

    def test_a_settled_checkout_is_not_reused(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first = self.open(session, payer, course)
        self.checkout(session, first)
        payments.settle(
            session, reference=first.reference, status=FAILED, transaction=None, base_url=BASE_URL
        )
        assert self.open(session, payer, course).payment_id != first.payment_id


class TestOpenCardPayment:
    def open(
        self, session: Session, payer: User, course: Course, cipher: TokenCipher
    ) -> payments.OpenedPayment:
        return payments.open_card_payment(
            session,
            payer=payer,
            user_id=payer.user_id,
            course_id=course.course_id,
            amount=course.price,
            currency="NGN",
            card=VISA,
            cipher=cipher,
        )

    def test_records_a_pending_card_payment_with_the_card_sealed(
        self, session: Session, payer: User, course: Course, cipher: TokenCipher
    ) -> None:
        opened = self.open(session, payer, course, cipher)
        payment = session.get(Payment, opened.payment_id)
        assert payment is not None
        assert (payment.payment_status, payment.method) == (PENDING, PaymentMethod.CARD)
        assert payment.card_details is not None
        assert open_card(cipher, payment.card_details) == VISA
        assert opened.email == payer.email

    def test_a_second_while_the_first_is_pending_is_refused(
        self, session: Session, payer: User, course: Course, cipher: TokenCipher
    ) -> None:
        self.open(session, payer, course, cipher)
        with pytest.raises(CardPaymentInProgress) as caught:
            self.open(session, payer, course, cipher)
        assert caught.value.status_code == 409
        assert count_payments(session, payer) == 1

    def test_once_the_first_has_failed_another_may_start(
        self, session: Session, payer: User, course: Course, cipher: TokenCipher
    ) -> None:
        first = self.open(session, payer, course, cipher)
        payments.settle(
            session, reference=first.reference, status=FAILED, transaction=None, base_url=BASE_URL
        )
        assert self.open(session, payer, course, cipher).payment_id != first.payment_id

    def test_a_pending_checkout_does_not_block_a_card_payment(
        self, session: Session, payer: User, course: Course, cipher: TokenCipher
    ) -> None:
        pending(session, payer, course)
        assert self.open(session, payer, course, cipher).reference


class TestOnePendingCardPaymentIndex:
    def test_the_database_refuses_a_second_pending_card_payment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        pending(session, payer, course, method=PaymentMethod.CARD)
        with pytest.raises(IntegrityError), session.begin_nested():
            pending(session, payer, course, method=PaymentMethod.CARD)
        assert count_payments(session, payer) == 1

    def test_allows_what_is_not_a_second_pending_card_payment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        pending(session, payer, course, method=PaymentMethod.CARD)
        pending(session, payer, course, method=PaymentMethod.PAYSTACK)
        pending(session, payer, course, method=PaymentMethod.PAYSTACK)
        make_payment(session, payer, course, payment_status=FAILED, method=PaymentMethod.CARD)
        pending(session, payer, make_course(session), method=PaymentMethod.CARD)
        pending(session, make_user(session), course, method=PaymentMethod.CARD)
        assert count_payments(session, payer) == 5


class TestASuccessEnrolls:
    """A successful payment enrolls its learner in the transaction that settles it."""

    def enrollments(self, session: Session, payer: User, course: Course) -> list[Enrollment]:
        session.expire_all()
        return list(
            session.scalars(
                select(Enrollment).where(
                    Enrollment.user_id == payer.user_id, Enrollment.course_id == course.course_id
                )
            )
        )

    def test_the_learner_is_enrolled_with_the_payment_once(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        [enrollment] = self.enrollments(session, payer, course)
        assert enrollment.status is EnrollmentStatus.IN_PROGRESS
        assert enrollment.payment_id == payment.payment_id
        welcomes = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == EventType.ENROLLMENT_CREATED)
        ).all()
        assert len(welcomes) == 1

    def test_a_failure_enrolls_nobody(self, session: Session, payer: User, course: Course) -> None:
        payment = pending(session, payer, course)
        settle_payment(session, payment, FAILED, None)
        assert self.enrollments(session, payer, course) == []

    def test_a_learner_already_enrolled_keeps_their_enrollment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        first = make_payment(session, payer, course, payment_status=SUCCESS)
        make_enrollment(session, payer, course, payment_id=first.payment_id)
        again = pending(session, payer, course)
        settle_payment(session, again, SUCCESS, paystack_said(again.transaction_id))
        [enrollment] = self.enrollments(session, payer, course)
        assert enrollment.payment_id == first.payment_id
        assert reloaded(session, again).review_reason is not None  # paid twice: refund one

    def test_a_dropped_learner_who_pays_again_is_back(
        self, session: Session, payer: User, course: Course
    ) -> None:
        refunded = make_payment(session, payer, course, payment_status=REFUNDED)
        make_enrollment(
            session, payer, course, payment_id=refunded.payment_id, status=EnrollmentStatus.DROPPED
        )
        payment = pending(session, payer, course)
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        [enrollment] = self.enrollments(session, payer, course)
        assert enrollment.status is EnrollmentStatus.IN_PROGRESS
        assert enrollment.payment_id == payment.payment_id


class TestSettle:
    def test_a_pending_payment_succeeds_once(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.SETTLED
        settled = reloaded(session, payment)
        assert settled.payment_status is SUCCESS
        assert settled.payment_date == PAID_AT
        assert settled.gateway_response == "Approved"
        assert settled.review_reason is None
        assert analytics(session, payer) == [EventType.PAYMENT_SUCCEEDED.value]
        assert notices(session) == [
            (EventType.PAYMENT_SUCCEEDED.value, f"payment:{payment.payment_id}:success")
        ]

    def test_the_analytics_record_says_what_was_paid(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        record = session.scalars(
            select(Analytics).where(
                Analytics.user_id == payer.user_id,
                Analytics.event_type == EventType.PAYMENT_SUCCEEDED.value,
            )
        ).one()
        assert record.course_id == course.course_id
        assert record.event_data == {
            "paymentId": payment.payment_id,
            "transactionId": payment.transaction_id,
            "amount": "49.99",
            "currency": "NGN",
            "method": "paystack",
        }

    def test_a_second_success_changes_nothing(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id)
        settle_payment(session, payment, SUCCESS, said)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.UNCHANGED
        assert analytics(session, payer) == [EventType.PAYMENT_SUCCEEDED.value]
        assert len(notices(session)) == 1

    def test_a_pending_payment_fails_with_a_note(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        outcome = settle_payment(session, payment, FAILED, note="Paystack: abandoned")
        assert outcome is Outcome.SETTLED
        failed = reloaded(session, payment)
        assert failed.payment_status is FAILED
        assert failed.gateway_response == "Paystack: abandoned"
        assert failed.payment_date is not None
        assert analytics(session, payer) == [EventType.PAYMENT_FAILED.value]
        assert [event for event, _ in notices(session)] == [EventType.PAYMENT_FAILED.value]

    def test_the_gateways_response_wins_over_the_note(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course, method=PaymentMethod.CARD)
        said = paystack_said(payment.transaction_id, "failed", gateway_response="Declined")
        settle_payment(session, payment, FAILED, said, note="Paystack: failed")
        assert reloaded(session, payment).gateway_response == "Declined"

    def test_a_failed_checkout_paid_later_succeeds(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        settle_payment(session, payment, FAILED, note="Paystack: abandoned")
        said = paystack_said(payment.transaction_id)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.SETTLED
        assert reloaded(session, payment).payment_status is SUCCESS
        assert analytics(session, payer) == [
            EventType.PAYMENT_FAILED.value,
            EventType.PAYMENT_SUCCEEDED.value,
        ]
        assert [key for _, key in notices(session)] == [
            f"payment:{payment.payment_id}:failed",
            f"payment:{payment.payment_id}:success",
        ]

    def test_a_success_never_becomes_a_failure(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        assert settle_payment(session, payment, FAILED, note="late") is Outcome.UNCHANGED
        assert reloaded(session, payment).payment_status is SUCCESS
        assert analytics(session, payer) == [EventType.PAYMENT_SUCCEEDED.value]

    def test_a_refunded_payment_does_not_succeed_again(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=REFUNDED)
        said = paystack_said(payment.transaction_id)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.UNCHANGED
        assert reloaded(session, payment).payment_status is REFUNDED

    @pytest.mark.parametrize(
        ("amount", "currency", "reported"),
        [(100, "NGN", "100 NGN"), (499900, "NGN", "499900 NGN"), (4999, "GHS", "4999 GHS")],
    )
    def test_another_amount_or_currency_is_flagged_not_settled(
        self,
        session: Session,
        payer: User,
        course: Course,
        amount: int,
        currency: str,
        reported: str,
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id, amount=amount, currency=currency)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.MISMATCH
        flagged = reloaded(session, payment)
        assert flagged.payment_status is PENDING
        assert flagged.review_reason == (
            f"Paystack reported {reported} (minor units) for a payment of 4999 NGN: not settled"
        )
        assert analytics(session, payer) == []
        assert notices(session) == []

    def test_a_success_without_the_gateways_word_is_not_trusted(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert settle_payment(session, payment, SUCCESS, None) is Outcome.MISMATCH
        flagged = reloaded(session, payment)
        assert flagged.payment_status is PENDING
        assert flagged.review_reason is not None
        assert flagged.review_reason.startswith("Paystack reported nothing")

    def test_the_currency_is_compared_in_any_case(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id, currency="ngn")
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.SETTLED

    def test_a_course_paid_twice_is_flagged_for_a_refund(
        self, session: Session, payer: User, course: Course
    ) -> None:
        earlier = make_payment(session, payer, course, payment_status=SUCCESS)
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id)
        assert settle_payment(session, payment, SUCCESS, said) is Outcome.SETTLED
        assert reloaded(session, payment).review_reason == (
            "This learner had already paid for this course: refund one"
        )
        assert reloaded(session, earlier).review_reason is None

    def test_one_success_is_not_flagged(
        self, session: Session, payer: User, course: Course
    ) -> None:
        make_payment(session, make_user(session), course, payment_status=SUCCESS)
        make_payment(session, payer, course, payment_status=FAILED)
        payment = pending(session, payer, course)
        settle_payment(session, payment, SUCCESS, paystack_said(payment.transaction_id))
        assert reloaded(session, payment).review_reason is None

    def test_an_unknown_reference_is_said_so(self, session: Session) -> None:
        outcome = payments.settle(
            session,
            reference="tx-nobody",
            status=SUCCESS,
            transaction=paystack_said("tx-nobody"),
            base_url=BASE_URL,
        )
        assert outcome is Outcome.UNKNOWN_REFERENCE
        assert notices(session) == []


class TestApplyVerification:
    def verify(
        self, session: Session, payment: Payment, transaction: Transaction | None
    ) -> Outcome:
        return payments.apply_verification(
            session,
            reference=payment.transaction_id,
            transaction=transaction,
            abandon_after=ABANDON_AFTER,
            base_url=BASE_URL,
        )

    def test_a_success_settles_the_payment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert self.verify(session, payment, paystack_said(payment.transaction_id)) is (
            Outcome.SETTLED
        )
        assert reloaded(session, payment).payment_status is SUCCESS

    def test_a_success_of_another_amount_is_a_mismatch(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id, amount=1)
        assert self.verify(session, payment, said) is Outcome.MISMATCH
        assert reloaded(session, payment).payment_status is PENDING

    def test_reversed_means_refunded(self, session: Session, payer: User, course: Course) -> None:
        payment = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        said = paystack_said(payment.transaction_id, "reversed")
        assert self.verify(session, payment, said) is Outcome.REFUNDED
        refunded = reloaded(session, payment)
        assert (refunded.payment_status, refunded.refund_status) == (
            REFUNDED,
            RefundStatus.PROCESSED,
        )

    @pytest.mark.parametrize("state", ["abandoned", "failed", "ongoing", "pending"])
    def test_a_young_checkout_stays_open(
        self, session: Session, payer: User, course: Course, state: str
    ) -> None:
        payment = pending(session, payer, course)
        said = paystack_said(payment.transaction_id, state, gateway_response=None)
        assert self.verify(session, payment, said) is Outcome.NOT_FINAL
        assert reloaded(session, payment).payment_status is PENDING
        assert notices(session) == []

    def test_an_abandoned_checkout_past_the_limit_fails(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        make_old(session, payment.payment_id, ABANDON_AFTER + timedelta(minutes=1))
        said = paystack_said(payment.transaction_id, "abandoned", gateway_response=None)
        assert self.verify(session, payment, said) is Outcome.SETTLED
        failed = reloaded(session, payment)
        assert failed.payment_status is FAILED
        assert failed.gateway_response == "Paystack: abandoned"

    def test_an_ongoing_checkout_past_the_limit_stays_open(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        make_old(session, payment.payment_id, ABANDON_AFTER * 2)
        said = paystack_said(payment.transaction_id, "ongoing", gateway_response=None)
        assert self.verify(session, payment, said) is Outcome.NOT_FINAL
        assert reloaded(session, payment).payment_status is PENDING

    def test_a_failed_card_charge_fails_at_once(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course, method=PaymentMethod.CARD)
        said = paystack_said(payment.transaction_id, "failed", gateway_response="Declined")
        assert self.verify(session, payment, said) is Outcome.SETTLED
        failed = reloaded(session, payment)
        assert (failed.payment_status, failed.gateway_response) == (FAILED, "Declined")

    def test_a_young_checkout_paystack_does_not_know_stays_open(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert self.verify(session, payment, None) is Outcome.NOT_FINAL
        assert reloaded(session, payment).payment_status is PENDING

    def test_an_old_payment_paystack_does_not_know_fails(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        make_old(session, payment.payment_id, ABANDON_AFTER + timedelta(minutes=1))
        assert self.verify(session, payment, None) is Outcome.SETTLED
        failed = reloaded(session, payment)
        assert failed.payment_status is FAILED
        assert failed.gateway_response == "Paystack has no such transaction"

    def test_a_failure_never_undoes_a_success(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        make_old(session, payment.payment_id, ABANDON_AFTER * 2)
        said = paystack_said(payment.transaction_id, "failed")
        assert self.verify(session, payment, said) is Outcome.NOT_FINAL
        assert reloaded(session, payment).payment_status is SUCCESS

    def test_an_unknown_reference_is_said_so(self, session: Session) -> None:
        outcome = payments.apply_verification(
            session,
            reference="tx-nobody",
            transaction=None,
            abandon_after=ABANDON_AFTER,
            base_url=BASE_URL,
        )
        assert outcome is Outcome.UNKNOWN_REFERENCE


class TestBeginRefund:
    def refund(self, session: Session, actor: User, payment: Payment) -> Payment:
        return payments.begin_refund(session, actor=actor, transaction_id=payment.transaction_id)

    @pytest.mark.parametrize("role", [Role.STUDENT, Role.INSTRUCTOR])
    def test_only_an_admin_may_refund(
        self, session: Session, payer: User, course: Course, role: Role
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        with pytest.raises(Forbidden):
            self.refund(session, make_user(session, role=role), payment)
        with pytest.raises(Forbidden):
            self.refund(session, payer, payment)
        assert reloaded(session, payment).refund_status is None

    def test_marks_the_refund_as_asked_for(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        asked = self.refund(session, admin, payment)
        assert asked.payment_id == payment.payment_id
        assert (asked.payment_status, asked.refund_status) == (SUCCESS, RefundStatus.PENDING)
        assert asked.refund_reference is None

    @pytest.mark.parametrize("status", [PENDING, FAILED, REFUNDED])
    def test_only_a_successful_payment_can_be_refunded(
        self, session: Session, payer: User, course: Course, admin: User, status: PaymentStatus
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=status)
        with pytest.raises(NotRefundable) as caught:
            self.refund(session, admin, payment)
        assert caught.value.status_code == 409
        assert reloaded(session, payment).refund_status is None

    def test_twice_is_refused_while_the_first_is_in_flight(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        self.refund(session, admin, payment)
        with pytest.raises(RefundInProgress) as caught:
            self.refund(session, admin, payment)
        assert caught.value.status_code == 409

    def test_a_refused_refund_may_be_asked_for_again(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        self.refund(session, admin, payment)
        payments.refund_accepted(session, payment_id=payment.payment_id, refund_reference="42")
        payments.refund_refused(session, payment_id=payment.payment_id, reason="no")
        again = self.refund(session, admin, payment)
        assert (again.refund_status, again.refund_reference) == (RefundStatus.PENDING, None)

    def test_an_unknown_transaction_is_not_found(self, session: Session, admin: User) -> None:
        with pytest.raises(TransactionNotFound) as caught:
            payments.begin_refund(session, actor=admin, transaction_id="tx-nobody")
        assert caught.value.status_code == 404


class TestRefundAnswers:
    def test_an_accepted_refund_keeps_paystacks_reference(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        payments.begin_refund(session, actor=admin, transaction_id=payment.transaction_id)
        payments.refund_accepted(session, payment_id=payment.payment_id, refund_reference="3141")
        assert reloaded(session, payment).refund_reference == "3141"

    def test_a_refused_refund_is_flagged_for_review(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        payments.begin_refund(session, actor=admin, transaction_id=payment.transaction_id)
        payments.refund_refused(session, payment_id=payment.payment_id, reason="Not paid")
        refused = reloaded(session, payment)
        assert (refused.payment_status, refused.refund_status) == (SUCCESS, RefundStatus.FAILED)
        assert refused.review_reason == "Refund failed: Not paid"


class TestConfirmRefund:
    def confirm(self, session: Session, payment: Payment, *, processed: bool = True) -> Outcome:
        return payments.confirm_refund(
            session, reference=payment.transaction_id, processed=processed, base_url=BASE_URL
        )

    def refund_in_flight(self, session: Session, payer: User, course: Course) -> Payment:
        payment = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        make_enrollment(session, payer, course, payment_id=payment.payment_id)
        return payment

    def enrollment(self, session: Session, payer: User, course: Course) -> Enrollment:
        session.expire_all()
        return session.scalars(
            select(Enrollment).where(
                Enrollment.user_id == payer.user_id, Enrollment.course_id == course.course_id
            )
        ).one()

    def test_a_processed_refund_refunds_and_drops_the_enrollment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = self.refund_in_flight(session, payer, course)
        assert self.confirm(session, payment) is Outcome.REFUNDED
        refunded = reloaded(session, payment)
        assert (refunded.payment_status, refunded.refund_status) == (
            REFUNDED,
            RefundStatus.PROCESSED,
        )
        assert refunded.refunded_at is not None
        assert self.enrollment(session, payer, course).status is EnrollmentStatus.DROPPED
        assert analytics(session, payer) == [EventType.PAYMENT_REFUNDED.value]
        assert notices(session) == [
            (EventType.PAYMENT_REFUNDED.value, f"payment:{payment.payment_id}:refunded")
        ]

    def test_a_second_confirmation_changes_nothing(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = self.refund_in_flight(session, payer, course)
        self.confirm(session, payment)
        refunded_at = reloaded(session, payment).refunded_at
        assert self.confirm(session, payment) is Outcome.UNCHANGED
        assert reloaded(session, payment).refunded_at == refunded_at
        assert analytics(session, payer) == [EventType.PAYMENT_REFUNDED.value]
        assert len(notices(session)) == 1

    def test_a_failed_refund_is_flagged_and_the_learner_keeps_the_course(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = self.refund_in_flight(session, payer, course)
        assert self.confirm(session, payment, processed=False) is Outcome.SETTLED
        refused = reloaded(session, payment)
        assert (refused.payment_status, refused.refund_status) == (SUCCESS, RefundStatus.FAILED)
        assert refused.review_reason == "Refund failed: Paystack did not process it"
        assert self.enrollment(session, payer, course).status is EnrollmentStatus.IN_PROGRESS
        assert notices(session) == []

    def test_a_failure_for_no_refund_in_flight_changes_nothing(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = self.refund_in_flight(session, payer, course)
        self.confirm(session, payment)
        assert self.confirm(session, payment, processed=False) is Outcome.UNCHANGED

    def test_a_failure_after_the_refund_was_processed_changes_no_state(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = self.refund_in_flight(session, payer, course)
        self.confirm(session, payment)
        self.confirm(session, payment, processed=False)
        refunded = reloaded(session, payment)
        assert (refunded.payment_status, refunded.refund_status) == (
            REFUNDED,
            RefundStatus.PROCESSED,
        )
        assert refunded.review_reason is None

    def test_a_pending_payment_cannot_be_refunded(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert self.confirm(session, payment) is Outcome.UNCHANGED
        assert reloaded(session, payment).payment_status is PENDING

    def test_a_completed_course_stays_completed(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        make_enrollment(
            session,
            payer,
            course,
            payment_id=payment.payment_id,
            status=EnrollmentStatus.COMPLETED,
        )
        assert self.confirm(session, payment) is Outcome.REFUNDED
        assert self.enrollment(session, payer, course).status is EnrollmentStatus.COMPLETED

    def test_refunding_one_of_two_payments_keeps_the_learner_enrolled(
        self, session: Session, payer: User, course: Course
    ) -> None:
        kept = make_payment(session, payer, course, payment_status=SUCCESS)
        make_enrollment(session, payer, course, payment_id=kept.payment_id)
        twice = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        assert self.confirm(session, twice) is Outcome.REFUNDED
        assert self.enrollment(session, payer, course).status is EnrollmentStatus.IN_PROGRESS

    def test_an_unknown_reference_is_said_so(self, session: Session) -> None:
        outcome = payments.confirm_refund(
            session, reference="tx-nobody", processed=True, base_url=BASE_URL
        )
        assert outcome is Outcome.UNKNOWN_REFERENCE


def webhook(event: str, data: dict[str, Any]) -> tuple[WebhookEvent, bytes]:
    body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
    return WebhookEvent.parse(body), body


_paystack_ids = itertools.count(1000)


def charge_success(reference: str, **changes: Any) -> tuple[WebhookEvent, bytes]:
    data = {
        "id": next(_paystack_ids),
        "status": "success",
        "reference": reference,
        "amount": 4999,
        "currency": "NGN",
        "paid_at": "2025-06-01T12:30:00.000Z",
        "gateway_response": "Approved",
    }
    return webhook("charge.success", data | changes)


def refund_event(payment: Payment, status: str) -> tuple[WebhookEvent, bytes]:
    data = {"id": 77, "status": status, "transaction_reference": payment.transaction_id}
    return webhook(f"refund.{status}", data)


class TestStoreWebhook:
    def test_keeps_the_event_raw(self, session: Session, payer: User, course: Course) -> None:
        payment = pending(session, payer, course)
        event, body = charge_success(payment.transaction_id)
        event_id = payments.store_webhook(session, event=event, body=body)
        assert event_id is not None
        stored = session.get(PaymentEvent, event_id)
        assert stored is not None
        assert stored.body == body.decode()
        assert (stored.event_type, stored.reference) == ("charge.success", payment.transaction_id)
        assert stored.dedupe_key == event.dedupe_key(body)
        assert stored.outcome is None

    def test_a_replay_is_stored_once(self, session: Session, payer: User, course: Course) -> None:
        payment = pending(session, payer, course)
        event, body = charge_success(payment.transaction_id)
        assert payments.store_webhook(session, event=event, body=body) is not None
        assert payments.store_webhook(session, event=event, body=body) is None
        # Paystack's retry of the same event, its bytes not identical (another key order).
        retry = json.dumps({"data": dict(event.data), "event": event.event}).encode()
        assert payments.store_webhook(session, event=WebhookEvent.parse(retry), body=retry) is None
        assert session.scalar(select(func.count()).select_from(PaymentEvent)) == 1

    def test_another_state_of_the_same_object_is_another_event(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        processed, failed = refund_event(payment, "processed"), refund_event(payment, "failed")
        assert payments.store_webhook(session, event=processed[0], body=processed[1]) is not None
        assert payments.store_webhook(session, event=failed[0], body=failed[1]) is not None


class TestProcessWebhook:
    def process(self, session: Session, event: WebhookEvent, body: bytes) -> Outcome:
        event_id = payments.store_webhook(session, event=event, body=body)
        assert event_id is not None
        outcome = payments.process_webhook(
            session, event_id=event_id, event=event, base_url=BASE_URL
        )
        stored = session.get(PaymentEvent, event_id)
        assert stored is not None
        session.refresh(stored)
        assert stored.outcome == outcome.value
        return outcome

    def test_a_charge_success_settles_the_payment(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert self.process(session, *charge_success(payment.transaction_id)) is Outcome.SETTLED
        settled = reloaded(session, payment)
        assert settled.payment_status is SUCCESS
        assert settled.payment_date == PAID_AT

    def test_a_charge_success_for_a_settled_payment_is_unchanged(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(session, payer, course, payment_status=SUCCESS)
        assert self.process(session, *charge_success(payment.transaction_id)) is Outcome.UNCHANGED

    def test_a_charge_of_another_amount_is_a_mismatch(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        assert (
            self.process(session, *charge_success(payment.transaction_id, amount=100))
            is Outcome.MISMATCH
        )
        assert reloaded(session, payment).payment_status is PENDING

    @pytest.mark.parametrize("changes", [{"amount": "a lot"}, {"amount": None}])
    def test_a_charge_whose_data_cannot_be_read_is_a_mismatch(
        self, session: Session, payer: User, course: Course, changes: dict[str, Any]
    ) -> None:
        payment = pending(session, payer, course)
        event, body = charge_success(payment.transaction_id, **changes)
        assert self.process(session, event, body) is Outcome.MISMATCH
        flagged = reloaded(session, payment)
        assert flagged.payment_status is PENDING
        assert flagged.review_reason is not None

    def test_a_charge_of_a_reference_we_never_made(self, session: Session) -> None:
        assert self.process(session, *charge_success("tx-nobody")) is Outcome.UNKNOWN_REFERENCE

    def test_a_processed_refund_refunds(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        assert self.process(session, *refund_event(payment, "processed")) is Outcome.REFUNDED
        assert reloaded(session, payment).payment_status is REFUNDED

    def test_a_failed_refund_is_flagged(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = make_payment(
            session, payer, course, payment_status=SUCCESS, refund_status=RefundStatus.PENDING
        )
        assert self.process(session, *refund_event(payment, "failed")) is Outcome.SETTLED
        assert reloaded(session, payment).refund_status is RefundStatus.FAILED

    @pytest.mark.parametrize(
        ("event", "data"),
        [
            ("transfer.success", {"id": 1, "reference": "tx-1"}),
            ("charge.dispute.create", {"id": 2, "reference": "tx-2"}),
            ("charge.success", {"id": 3}),
            ("refund.processed", {"id": 4}),
        ],
    )
    def test_other_events_are_ignored(
        self, session: Session, event: str, data: dict[str, Any]
    ) -> None:
        assert self.process(session, *webhook(event, data)) is Outcome.IGNORED


class TestPaymentsPage:
    @pytest.fixture
    def rows(self, session: Session, payer: User, course: Course) -> dict[str, Payment]:
        other = make_user(session)
        second = make_course(session)
        return {
            "mine_pending": pending(session, payer, course),
            "mine_success": make_payment(session, payer, course, payment_status=SUCCESS),
            "mine_flagged": make_payment(
                session,
                payer,
                second,
                payment_status=FAILED,
                method=PaymentMethod.PAYSTACK,
                review_reason="look",
            ),
            "theirs": make_payment(session, other, course, payment_status=SUCCESS),
        }

    def page(
        self,
        session: Session,
        viewer: User,
        *,
        limit: int = 50,
        offset: int = 0,
        **filters: Any,
    ) -> tuple[list[str], int]:
        found, total = payments.payments_page(
            session, viewer=viewer, filters=PaymentFilters(**filters), limit=limit, offset=offset
        )
        return [payment.transaction_id for payment in found], total

    def names(self, rows: dict[str, Payment], *keys: str) -> list[str]:
        return [rows[key].transaction_id for key in keys]

    def test_a_learner_sees_their_own_newest_first(
        self, session: Session, payer: User, rows: dict[str, Payment]
    ) -> None:
        assert self.page(session, payer) == (
            self.names(rows, "mine_flagged", "mine_success", "mine_pending"),
            3,
        )

    def test_a_learner_cannot_see_someone_elses_by_filtering(
        self, session: Session, payer: User, rows: dict[str, Payment]
    ) -> None:
        assert self.page(session, payer, user_id=rows["theirs"].user_id) == ([], 0)

    def test_an_admin_sees_everyones(
        self, session: Session, admin: User, course: Course, rows: dict[str, Payment]
    ) -> None:
        assert self.page(session, admin, course_id=course.course_id) == (
            self.names(rows, "theirs", "mine_success", "mine_pending"),
            3,
        )
        assert self.page(session, admin, user_id=rows["theirs"].user_id) == (
            self.names(rows, "theirs"),
            1,
        )

    def test_filters(self, session: Session, payer: User, rows: dict[str, Payment]) -> None:
        assert self.page(session, payer, status=SUCCESS)[0] == self.names(rows, "mine_success")
        assert self.page(session, payer, method=PaymentMethod.CARD)[0] == self.names(
            rows, "mine_success"
        )
        assert self.page(session, payer, needs_review=True)[0] == self.names(rows, "mine_flagged")
        assert self.page(session, payer, needs_review=False)[0] == self.names(
            rows, "mine_success", "mine_pending"
        )
        course_id = rows["mine_flagged"].course_id
        assert self.page(session, payer, course_id=course_id)[0] == self.names(rows, "mine_flagged")

    def test_pages_and_counts_them_all(
        self, session: Session, payer: User, rows: dict[str, Payment]
    ) -> None:
        assert self.page(session, payer, limit=2) == (
            self.names(rows, "mine_flagged", "mine_success"),
            3,
        )
        assert self.page(session, payer, limit=2, offset=2) == (
            self.names(rows, "mine_pending"),
            3,
        )


class TestVisiblePayment:
    def test_to_its_payer_and_to_an_admin(
        self, session: Session, payer: User, course: Course, admin: User
    ) -> None:
        payment = pending(session, payer, course)
        for viewer in (payer, admin):
            found = payments.visible_payment(
                session, viewer=viewer, transaction_id=payment.transaction_id
            )
            assert found.payment_id == payment.payment_id

    def test_to_anyone_else_it_does_not_exist(
        self, session: Session, payer: User, course: Course
    ) -> None:
        payment = pending(session, payer, course)
        with pytest.raises(TransactionNotFound):
            payments.visible_payment(
                session, viewer=make_user(session), transaction_id=payment.transaction_id
            )
        with pytest.raises(TransactionNotFound):
            payments.visible_payment(session, viewer=payer, transaction_id="tx-nobody")
