"""Payments: who may pay for what, a payment's one transition out of pending, refunds,
Paystack's webhooks, and what the payer is told.

The API, the admin panel and the reconciliation job all come here. A call to Paystack is
never made inside a unit of work: callers open a short one to record what is about to
happen (a pending payment with our own reference, a refund asked for), call Paystack with
no transaction open, and open another to record the answer. Whatever happens in between (a
timeout, a crash), the pending row stays, and reconciliation settles it from Paystack's word.

Settling is one function for every path (card charge, webhook, status check, callback,
reconciliation): a conditional UPDATE moves the payment out of its state, so of two settlers
racing exactly one makes the transition and writes its analytics record and notice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import TokenCipher
from core.database import rows_changed
from core.errors import Conflict, DomainError, Forbidden, NotFound, PaymentRequired
from core.events import EventType
from core.logging import get_logger
from core.money import to_minor_units
from core.sql import insert_unless_present
from integrations.paystack import Checkout, PaystackError, Transaction, WebhookEvent
from models import (
    Course,
    Enrollment,
    EnrollmentStatus,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    Role,
    User,
)
from services.access import published_course
from services.analytics import record
from services.cards import CardSummary, InvalidPaymentDetails, seal_card
from services.enrollments import drop_after_refund, enroll_paid
from services.notifications import notify

log = get_logger("services.payments")

PENDING, SUCCESS, FAILED, REFUNDED = (
    PaymentStatus.PENDING,
    PaymentStatus.SUCCESS,
    PaymentStatus.FAILED,
    PaymentStatus.REFUNDED,
)


class TransactionNotFound(NotFound):
    message = "Transaction not found"


class FreeCourse(DomainError):
    status_code = 400
    message = "This course is free: enroll without a payment"


class AlreadyPaid(Conflict):
    message = "You have already paid for this course"


class AlreadyEnrolled(Conflict):
    message = "You are already enrolled in this course"


class CardPaymentInProgress(Conflict):
    message = "A card payment for this course is already being processed"


class PaymentDeclined(PaymentRequired):
    message = "Payment declined"


class NotRefundable(Conflict):
    message = "Only a successful payment can be refunded"


class RefundInProgress(Conflict):
    message = "A refund of this payment is already in progress"


# -- opening a payment ------------------------------------------------------------------------


def new_reference() -> str:
    """Our own reference: what Paystack accepts (letters, digits, ``-``, ``.``, ``=``)."""
    return f"tx-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class OpenedPayment:
    """A pending payment, committed before any gateway hears of it."""

    payment_id: int
    reference: str
    user_id: int
    course_id: int
    amount: Decimal
    currency: str
    email: str
    # An earlier checkout of the same payment, handed out again instead of a second one.
    checkout: Checkout | None = None

    @property
    def minor_amount(self) -> int:
        return to_minor_units(self.amount, self.currency)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"paymentId": self.payment_id, "userId": self.user_id, "courseId": self.course_id}


def payable_course(
    session: Session, *, payer: User, user_id: int, course_id: int, amount: Decimal
) -> tuple[User, Course]:
    """The learner and the course of a payment ``payer`` may make, or the rule it breaks."""
    if payer.role is not Role.ADMIN and payer.user_id != user_id:
        raise Forbidden()
    learner = payer if payer.user_id == user_id else session.get(User, user_id)
    if learner is None:
        raise InvalidPaymentDetails("is not a user of the platform", parameter="userId")
    course = published_course(session, course_id)
    if course.price <= 0:
        raise FreeCourse()
    # The price is the course's, never the client's: a different amount is refused.
    if amount != course.price:
        raise InvalidPaymentDetails(
            f"must be the course's price, {course.price:.2f}", parameter="amount"
        )
    _check_not_paid(session, user_id=user_id, course_id=course_id)
    return learner, course


def _any(session: Session, model: type[Any], *conditions: Any) -> bool:
    return bool(session.scalar(select(func.count()).select_from(model).where(*conditions)))


def _check_not_paid(session: Session, *, user_id: int, course_id: int) -> None:
    if _any(
        session,
        Payment,
        Payment.user_id == user_id,
        Payment.course_id == course_id,
        Payment.payment_status == SUCCESS,
    ):
        raise AlreadyPaid()
    if _any(
        session,
        Enrollment,
        Enrollment.user_id == user_id,
        Enrollment.course_id == course_id,
        Enrollment.status != EnrollmentStatus.DROPPED,
    ):
        raise AlreadyEnrolled()


def open_paystack_payment(
    session: Session,
    *,
    payer: User,
    user_id: int,
    course_id: int,
    amount: Decimal,
    currency: str,
    email: str | None,
    reuse_within: timedelta,
) -> OpenedPayment:
    """A pending Paystack payment. A checkout of the same course opened recently, at the same
    price, is handed out again: two open checkouts could both be paid."""
    learner, course = payable_course(
        session, payer=payer, user_id=user_id, course_id=course_id, amount=amount
    )
    email = email or learner.email
    earlier = session.scalars(
        select(Payment)
        .where(
            Payment.user_id == user_id,
            Payment.course_id == course_id,
            Payment.method == PaymentMethod.PAYSTACK,
            Payment.payment_status == PENDING,
            Payment.amount == course.price,
            Payment.currency == currency,
            Payment.authorization_url.is_not(None),
            Payment.created_at >= utcnow() - reuse_within,
        )
        .order_by(Payment.payment_id.desc())
        .limit(1)
    ).one_or_none()
    if earlier is not None and earlier.access_code and earlier.authorization_url:
        checkout = Checkout(earlier.transaction_id, earlier.access_code, earlier.authorization_url)
        return _opened(earlier, email, checkout)
    payment = _pending(session, user_id, course, currency, PaymentMethod.PAYSTACK)
    return _opened(payment, email)


def open_card_payment(
    session: Session,
    *,
    payer: User,
    user_id: int,
    course_id: int,
    amount: Decimal,
    currency: str,
    card: CardSummary,
    cipher: TokenCipher,
) -> OpenedPayment:
    learner, course = payable_course(
        session, payer=payer, user_id=user_id, course_id=course_id, amount=amount
    )
    # The partial unique index says the same to a concurrent second request.
    if _any(
        session,
        Payment,
        Payment.user_id == user_id,
        Payment.course_id == course_id,
        Payment.method == PaymentMethod.CARD,
        Payment.payment_status == PENDING,
    ):
        raise CardPaymentInProgress()
    payment = _pending(session, user_id, course, currency, PaymentMethod.CARD)
    payment.card_details = seal_card(cipher, card)
    session.flush()
    return _opened(payment, learner.email)


def _pending(
    session: Session, user_id: int, course: Course, currency: str, method: PaymentMethod
) -> Payment:
    reference = new_reference()
    payment = Payment(
        user_id=user_id,
        course_id=course.course_id,
        amount=course.price,
        currency=currency,
        transaction_id=reference,
        paystack_reference=reference,
        payment_status=PENDING,
        method=method,
    )
    session.add(payment)
    session.flush()
    return payment


def _opened(payment: Payment, email: str, checkout: Checkout | None = None) -> OpenedPayment:
    return OpenedPayment(
        payment_id=payment.payment_id,
        reference=payment.transaction_id,
        user_id=payment.user_id,
        course_id=payment.course_id,
        amount=payment.amount,
        currency=payment.currency,
        email=email,
        checkout=checkout,
    )


def record_checkout(session: Session, *, payment_id: int, checkout: Checkout) -> None:
    session.execute(
        update(Payment)
        .where(Payment.payment_id == payment_id)
        .values(access_code=checkout.access_code, authorization_url=checkout.authorization_url)
    )


# -- settling -----------------------------------------------------------------------------------


class Outcome(StrEnum):
    """What an attempt to settle (or to act on a webhook) came to."""

    SETTLED = "settled"
    # Already in that state: a replay, a second settler that lost the race.
    UNCHANGED = "unchanged"
    # The gateway's amount or currency is not the payment's: not trusted, flagged.
    MISMATCH = "mismatch"
    UNKNOWN_REFERENCE = "unknown_reference"
    # Nothing final to act on yet (a checkout still open).
    NOT_FINAL = "not_final"
    IGNORED = "ignored"
    REFUNDED = "refunded"


# The states each settled state may be reached from. A failed Paystack checkout can still be
# paid on the same page: Paystack's later "success" is money taken, and wins.
_FROM: dict[PaymentStatus, tuple[PaymentStatus, ...]] = {
    SUCCESS: (PENDING, FAILED),
    FAILED: (PENDING,),
}


def by_reference(session: Session, reference: str) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.transaction_id == reference)).one_or_none()


def settle(
    session: Session,
    *,
    reference: str,
    status: PaymentStatus,
    transaction: Transaction | None,
    base_url: str,
    note: str | None = None,
) -> Outcome:
    """Move the payment of ``reference`` to ``status`` (success or failed) exactly once.

    A success needs the gateway's ``transaction``, whose amount and currency must be the
    payment's own; a failure may come without one (``note`` then says why)."""
    payment = by_reference(session, reference)
    if payment is None:
        log.warning("settling an unknown reference", reference=reference)
        return Outcome.UNKNOWN_REFERENCE
    if status is SUCCESS and (transaction is None or not _amount_matches(payment, transaction)):
        _flag_mismatch(session, payment, transaction)
        return Outcome.MISMATCH
    now = utcnow()
    paid_at = (transaction.paid_at if transaction else None) or now
    response = (transaction.gateway_response if transaction else None) or note
    changed = rows_changed(
        session,
        update(Payment)
        .where(Payment.payment_id == payment.payment_id, Payment.payment_status.in_(_FROM[status]))
        .values(payment_status=status, payment_date=paid_at, gateway_response=response),
    )
    if not changed:
        return Outcome.UNCHANGED
    session.refresh(payment)
    if status is SUCCESS:
        _flag_if_paid_twice(session, payment)
    _record(session, payment)
    payment_settled(session, payment, base_url=base_url)
    if status is SUCCESS:
        # Paid means enrolled, in the same transaction: the learner never pays and waits.
        enroll_paid(session, payment, now=now, base_url=base_url)
    log.info("payment settled", reference=reference, status=status.value)
    return Outcome.SETTLED


def _amount_matches(payment: Payment, transaction: Transaction) -> bool:
    return transaction.currency.upper() == payment.currency and transaction.amount == (
        to_minor_units(payment.amount, payment.currency)
    )


def _flag(session: Session, payment_id: int, reason: str) -> None:
    session.execute(
        update(Payment).where(Payment.payment_id == payment_id).values(review_reason=reason[:255])
    )


def _flag_mismatch(session: Session, payment: Payment, transaction: Transaction | None) -> None:
    said = f"{transaction.amount} {transaction.currency}" if transaction else "nothing"
    expected = f"{to_minor_units(payment.amount, payment.currency)} {payment.currency}"
    reason = f"Paystack reported {said} (minor units) for a payment of {expected}: not settled"
    log.warning("payment amount mismatch", reference=payment.transaction_id, reported=said)
    _flag(session, payment.payment_id, reason)


def _flag_if_paid_twice(session: Session, payment: Payment) -> None:
    if _any(
        session,
        Payment,
        Payment.user_id == payment.user_id,
        Payment.course_id == payment.course_id,
        Payment.payment_status == SUCCESS,
        Payment.payment_id != payment.payment_id,
    ):
        log.warning("course paid twice", reference=payment.transaction_id)
        _flag(
            session, payment.payment_id, "This learner had already paid for this course: refund one"
        )


def _record(session: Session, payment: Payment) -> None:
    record(
        session,
        # The same event as the payer's notice (_NOTICES): one name per settled state.
        _NOTICES[payment.payment_status][0],
        user_id=payment.user_id,
        course_id=payment.course_id,
        data={
            "paymentId": payment.payment_id,
            "transactionId": payment.transaction_id,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "method": payment.method.value,
        },
    )


# -- what Paystack says of a transaction ----------------------------------------------------------


def apply_verification(
    session: Session,
    *,
    reference: str,
    transaction: Transaction | None,
    abandon_after: timedelta,
    base_url: str,
) -> Outcome:
    """Act on Paystack's verification of ``reference`` (None: Paystack has no such
    transaction). The one rule for the status check, the callback and reconciliation."""
    payment = by_reference(session, reference)
    if payment is None:
        return Outcome.UNKNOWN_REFERENCE
    state = transaction.status if transaction else "missing"
    overdue = payment.updated_at <= utcnow() - abandon_after
    if state == "success" and payment.refund_status is RefundStatus.PENDING and overdue:
        # Paystack has not refunded in all this time (its refund.failed lost, or the request
        # never reached it): the refund may be asked for again.
        refund_refused(session, payment_id=payment.payment_id, reason="Paystack never confirmed it")
        return Outcome.SETTLED
    if state == "success":
        return settle(
            session, reference=reference, status=SUCCESS, transaction=transaction, base_url=base_url
        )
    if state == "reversed":
        return confirm_refund(session, reference=reference, processed=True, base_url=base_url)
    # A card charge's failure is final; a checkout stays open for the payer to try again
    # until it is abandoned.
    final = payment.method is PaymentMethod.CARD or overdue
    if state in ("failed", "abandoned", "missing") and payment.payment_status is PENDING and final:
        note = "Paystack has no such transaction" if transaction is None else f"Paystack: {state}"
        return settle(
            session,
            reference=reference,
            status=FAILED,
            transaction=transaction,
            base_url=base_url,
            note=note,
        )
    return Outcome.NOT_FINAL


def due_for_reconciliation(
    session: Session, *, older_than: timedelta, recheck_failed: timedelta, limit: int = 200
) -> list[str]:
    """References of payments whose outcome Paystack should be asked for, untouched for
    ``older_than``: pending ones; successful ones with a refund in flight; and checkouts
    failed within ``recheck_failed`` (their page may still be paid, its webhook lost)."""
    now = utcnow()
    late_payment = (
        (Payment.payment_status == FAILED)
        & (Payment.method == PaymentMethod.PAYSTACK)
        & Payment.authorization_url.is_not(None)
        & (Payment.updated_at >= now - recheck_failed)
    )
    return list(
        session.scalars(
            select(Payment.transaction_id)
            .where(
                (Payment.payment_status == PENDING)
                | (
                    (Payment.payment_status == SUCCESS)
                    & (Payment.refund_status == RefundStatus.PENDING)
                )
                | late_payment,
                Payment.updated_at <= now - older_than,
            )
            .order_by(Payment.payment_id)
            .limit(limit)
        )
    )


# -- refunds ---------------------------------------------------------------------------------------


def begin_refund(session: Session, *, actor: User, transaction_id: str) -> Payment:
    """Mark a refund as asked for, once: a second ask while one is in flight is refused, so
    Paystack is never asked twice for the same money."""
    if actor.role is not Role.ADMIN:
        raise Forbidden()
    payment = by_reference(session, transaction_id)
    if payment is None:
        raise TransactionNotFound()
    changed = rows_changed(
        session,
        update(Payment)
        .where(
            Payment.payment_id == payment.payment_id,
            Payment.payment_status == SUCCESS,
            Payment.refund_status.is_(None) | (Payment.refund_status == RefundStatus.FAILED),
        )
        .values(refund_status=RefundStatus.PENDING, refund_reference=None),
    )
    if not changed:
        if payment.payment_status is SUCCESS:
            raise RefundInProgress()
        raise NotRefundable()
    session.refresh(payment)
    return payment


def refund_accepted(session: Session, *, payment_id: int, refund_reference: str) -> None:
    session.execute(
        update(Payment)
        .where(Payment.payment_id == payment_id)
        .values(refund_reference=refund_reference[:100] or None)
    )


def refund_refused(session: Session, *, payment_id: int, reason: str) -> bool:
    """Paystack said no to the refund (or never said yes): it can be asked for again, and an
    admin should look. False when no refund was in flight."""
    return bool(
        rows_changed(
            session,
            update(Payment)
            .where(Payment.payment_id == payment_id, Payment.refund_status == RefundStatus.PENDING)
            .values(
                refund_status=RefundStatus.FAILED, review_reason=f"Refund failed: {reason}"[:255]
            ),
        )
    )


def confirm_refund(session: Session, *, reference: str, processed: bool, base_url: str) -> Outcome:
    """Paystack's word on a refund (webhook or verification): processed makes the payment
    refunded (once), drops the learner from the course and tells them; failed is flagged."""
    payment = by_reference(session, reference)
    if payment is None:
        return Outcome.UNKNOWN_REFERENCE
    if not processed:
        refused = refund_refused(
            session, payment_id=payment.payment_id, reason="Paystack did not process it"
        )
        return Outcome.SETTLED if refused else Outcome.UNCHANGED
    changed = rows_changed(
        session,
        update(Payment)
        .where(Payment.payment_id == payment.payment_id, Payment.payment_status == SUCCESS)
        .values(
            payment_status=REFUNDED, refund_status=RefundStatus.PROCESSED, refunded_at=utcnow()
        ),
    )
    if not changed:
        return Outcome.UNCHANGED
    session.refresh(payment)
    # The money for the course is back with the learner, unless they paid for it twice.
    if not _any(
        session,
        Payment,
        Payment.user_id == payment.user_id,
        Payment.course_id == payment.course_id,
        Payment.payment_status == SUCCESS,
    ):
        drop_after_refund(session, user_id=payment.user_id, course_id=payment.course_id)
    _record(session, payment)
    payment_settled(session, payment, base_url=base_url)
    return Outcome.REFUNDED


# -- webhooks -----------------------------------------------------------------------------------


def store_webhook(session: Session, *, event: WebhookEvent, body: bytes) -> int | None:
    """Keep the event raw before acting on it; None when it was received before (a replay)."""
    values = {
        "dedupe_key": event.dedupe_key(body),
        "event_type": event.event,
        "reference": event.reference,
        "body": body.decode("utf-8", errors="replace"),
        "received_at": utcnow(),
    }
    return insert_unless_present(session, PaymentEvent, values, unique=["dedupe_key"])


def process_webhook(
    session: Session, *, event_id: int, event: WebhookEvent, base_url: str
) -> Outcome:
    reference = event.reference
    if event.event == "charge.success" and reference:
        try:
            transaction = Transaction.from_data(event.data)
        except PaystackError:
            # Unreadable data: settle() flags it for a person, as a mismatch.
            transaction = None
        outcome = settle(
            session, reference=reference, status=SUCCESS, transaction=transaction, base_url=base_url
        )
    elif event.event in ("refund.processed", "refund.failed") and reference:
        outcome = confirm_refund(
            session,
            reference=reference,
            processed=event.event == "refund.processed",
            base_url=base_url,
        )
    else:
        outcome = Outcome.IGNORED
    session.execute(
        update(PaymentEvent).where(PaymentEvent.event_id == event_id).values(outcome=outcome.value)
    )
    return outcome


# -- reading --------------------------------------------------------------------------------------


def visible_payment(session: Session, *, viewer: User, transaction_id: str) -> Payment:
    """The payment, to its payer or an admin; to anyone else it does not exist."""
    payment = by_reference(session, transaction_id)
    if payment is None or (viewer.role is not Role.ADMIN and payment.user_id != viewer.user_id):
        raise TransactionNotFound()
    return payment


@dataclass(frozen=True)
class PaymentFilters:
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    user_id: int | None = None
    course_id: int | None = None
    needs_review: bool | None = None


def payments_page(
    session: Session, *, viewer: User, filters: PaymentFilters, limit: int, offset: int
) -> tuple[list[Payment], int]:
    """The viewer's own payments (an admin's: everyone's), newest first, and their count."""
    query: Select[tuple[Payment]] = select(Payment)
    if viewer.role is not Role.ADMIN:
        query = query.where(Payment.user_id == viewer.user_id)
    if filters.status is not None:
        query = query.where(Payment.payment_status == filters.status)
    if filters.method is not None:
        query = query.where(Payment.method == filters.method)
    if filters.user_id is not None:
        query = query.where(Payment.user_id == filters.user_id)
    if filters.course_id is not None:
        query = query.where(Payment.course_id == filters.course_id)
    if filters.needs_review is not None:
        flagged = Payment.review_reason.is_not(None)
        query = query.where(flagged if filters.needs_review else ~flagged)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Payment.payment_id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


# -- telling the payer ---------------------------------------------------------------------------

# Per settled status: the event, its subject and its message.
_NOTICES: dict[PaymentStatus, tuple[EventType, str, str]] = {
    PaymentStatus.SUCCESS: (
        EventType.PAYMENT_SUCCEEDED,
        "Receipt: {title}",
        "We received {amount} {currency} for {title} (transaction {transaction}).",
    ),
    PaymentStatus.FAILED: (
        EventType.PAYMENT_FAILED,
        "Payment failed: {title}",
        "Your payment of {amount} {currency} for {title} did not go through. "
        "You have not been charged; you can try again.",
    ),
    PaymentStatus.REFUNDED: (
        EventType.PAYMENT_REFUNDED,
        "Refund: {title}",
        "We refunded {amount} {currency} for {title} (transaction {transaction}). "
        "It can take a few days to reach your account.",
    ),
}


def payment_settled(session: Session, payment: Payment, *, base_url: str) -> None:
    """Tell the payer how their payment ended: a receipt, a failure or a refund notice, once
    per payment and state."""
    if payment.payment_status is PaymentStatus.PENDING:
        raise ValueError("a pending payment has not settled")
    event_type, subject, message = _NOTICES[payment.payment_status]
    course = session.get(Course, payment.course_id)
    values = {
        "title": course.title if course else "your course",
        "amount": payment.amount,
        "currency": payment.currency,
        "transaction": payment.transaction_id,
    }
    notify(
        session,
        event_type,
        user_id=payment.user_id,
        subject=subject.format(**values),
        message=message.format(**values),
        link=f"{base_url}/payments/{payment.transaction_id}",
        dedupe_key=f"payment:{payment.payment_id}:{payment.payment_status.value}",
    )
