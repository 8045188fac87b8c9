"""The payment flows that talk to Paystack: each a few short units of work around one call.

Every flow records what is about to happen before the call (a pending payment, a refund
asked for) and what came of it after, with no transaction open while Paystack is asked.
A timeout leaves the pending row for reconciliation; a refusal is recorded. The API and the
admin panel call these; the rules they apply are ``services.payments``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.crypto import TokenCipher
from core.database import AsyncUnitsOfWork
from core.errors import BadGateway, GatewayTimeout
from core.logging import get_logger
from core.settings import Settings
from integrations.cards import CardGateway
from integrations.paystack import (
    AsyncPaystack,
    PaystackError,
    PaystackRefused,
    PaystackTimeout,
    PaystackUnavailable,
    Transaction,
    TransactionNotFound,
    initialize_call,
    refund_call,
    verify_call,
)
from models import Payment, PaymentStatus, RefundStatus, User
from services import payments
from services.cards import check_card
from services.payments import OpenedPayment, Outcome

log = get_logger("services.payment_flows")


class PaystackDidNotAnswer(GatewayTimeout):
    message = "Paystack did not answer in time; the payment is pending and will be confirmed"


class PaystackFailed(BadGateway):
    message = "Paystack could not process the payment; try again shortly"


class PaystackUnreachable(BadGateway):
    message = "Paystack could not be reached; the payment is pending and will be confirmed"


@dataclass(frozen=True)
class Started:
    payment_id: int
    transaction_id: str
    status: PaymentStatus
    amount: Decimal
    currency: str
    access_code: str | None = None
    authorization_url: str | None = None


@dataclass(frozen=True)
class Gateways:
    """What the flows talk to, and the settings they need."""

    paystack: AsyncPaystack
    cards: CardGateway
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.settings.frontend_base

    @property
    def abandon_after(self) -> timedelta:
        return timedelta(minutes=self.settings.paystack.abandon_after_minutes)


async def _gateway_failed(
    units: AsyncUnitsOfWork, gateways: Gateways, opened: OpenedPayment, exc: PaystackError
) -> BadGateway | GatewayTimeout:
    """What the payer hears when Paystack failed them. Only a refusal is certain to have
    taken no money: the payment fails. Anything else (no answer in time, a 5xx, a dropped
    connection) may have: the payment stays pending and reconciliation asks Paystack."""
    if isinstance(exc, PaystackRefused):
        await _record_failure(units, gateways, opened, str(exc))
        return PaystackFailed(f"Paystack refused the payment: {exc.message}")
    log.warning("paystack's outcome unknown", reference=opened.reference, error=str(exc))
    if isinstance(exc, PaystackTimeout):
        return PaystackDidNotAnswer()
    return PaystackUnreachable()


async def start_paystack_payment(
    units: AsyncUnitsOfWork,
    gateways: Gateways,
    *,
    payer: User,
    user_id: int,
    course_id: int,
    amount: Decimal,
    email: str | None,
) -> Started:
    currency = gateways.settings.paystack.currency
    async with units() as session:
        opened = await session.run_sync(
            lambda s: payments.open_paystack_payment(
                s,
                payer=payer,
                user_id=user_id,
                course_id=course_id,
                amount=amount,
                currency=currency,
                email=email,
                reuse_within=gateways.abandon_after,
            )
        )
    checkout = opened.checkout
    if checkout is None:
        call = initialize_call(
            email=opened.email,
            amount=opened.minor_amount,
            reference=opened.reference,
            currency=opened.currency,
            callback_url=gateways.settings.paystack_callback_url,
            metadata=opened.metadata,
        )
        try:
            checkout = await gateways.paystack.send(call)
        except PaystackError as exc:
            raise await _gateway_failed(units, gateways, opened, exc) from exc
        async with units() as session:
            found = checkout
            await session.run_sync(
                lambda s: payments.record_checkout(s, payment_id=opened.payment_id, checkout=found)
            )
    return Started(
        payment_id=opened.payment_id,
        transaction_id=opened.reference,
        status=PaymentStatus.PENDING,
        amount=opened.amount,
        currency=opened.currency,
        access_code=checkout.access_code,
        authorization_url=checkout.authorization_url,
    )


async def _record_failure(
    units: AsyncUnitsOfWork, gateways: Gateways, opened: OpenedPayment, reason: str
) -> None:
    async with units() as session:
        await session.run_sync(
            lambda s: payments.settle(
                s,
                reference=opened.reference,
                status=PaymentStatus.FAILED,
                transaction=None,
                base_url=gateways.base_url,
                note=reason[:200],
            )
        )


async def pay_by_card(
    units: AsyncUnitsOfWork,
    gateways: Gateways,
    cipher: TokenCipher,
    *,
    payer: User,
    user_id: int,
    course_id: int,
    amount: Decimal,
    number: str,
    expiry_month: str,
    expiry_year: str,
    cvv: str,
    today: date,
) -> Started:
    """Charge a card; PaymentDeclined (402) once the failure is recorded."""
    card = check_card(number, expiry_month, expiry_year, cvv, today=today)
    currency = gateways.settings.paystack.currency
    async with units() as session:
        opened = await session.run_sync(
            lambda s: payments.open_card_payment(
                s,
                payer=payer,
                user_id=user_id,
                course_id=course_id,
                amount=amount,
                currency=currency,
                card=card.summary,
                cipher=cipher,
            )
        )
    try:
        result = await gateways.cards.charge(
            card.to_charge,
            email=opened.email,
            amount=opened.minor_amount,
            reference=opened.reference,
            currency=opened.currency,
            metadata=opened.metadata,
        )
    except PaystackError as exc:
        raise await _gateway_failed(units, gateways, opened, exc) from exc
    status = PaymentStatus.SUCCESS if result.status == "success" else PaymentStatus.FAILED
    async with units() as session:
        outcome = await session.run_sync(
            lambda s: payments.settle(
                s,
                reference=opened.reference,
                status=status,
                transaction=result,
                base_url=gateways.base_url,
                note=f"Paystack: {result.status}",
            )
        )
    if status is PaymentStatus.FAILED or outcome is Outcome.MISMATCH:
        raise payments.PaymentDeclined()
    return Started(
        payment_id=opened.payment_id,
        transaction_id=opened.reference,
        status=PaymentStatus.SUCCESS,
        amount=opened.amount,
        currency=opened.currency,
    )


async def verify(gateways: Gateways, reference: str) -> Transaction | None:
    """Paystack's word on ``reference``; None when Paystack has no such transaction.
    PaystackError when it could not be asked."""
    try:
        return await gateways.paystack.send(verify_call(reference))
    except TransactionNotFound:
        return None


async def refresh(units: AsyncUnitsOfWork, gateways: Gateways, payment: Payment) -> bool:
    """Ask Paystack about a payment whose outcome is open (pending, or a refund in flight)
    and act on the answer; whether it was asked. Not when nothing is open, nor when Paystack
    could not be asked: the caller answers with what it has, and reconciliation asks again
    later."""
    open_refund = payment.refund_status is RefundStatus.PENDING
    if payment.payment_status is not PaymentStatus.PENDING and not open_refund:
        return False
    try:
        transaction = await verify(gateways, payment.transaction_id)
    except PaystackError as exc:
        log.warning("paystack verify failed", reference=payment.transaction_id, error=str(exc))
        return False
    async with units() as session:
        await session.run_sync(
            lambda s: payments.apply_verification(
                s,
                reference=payment.transaction_id,
                transaction=transaction,
                abandon_after=gateways.abandon_after,
                base_url=gateways.base_url,
            )
        )
    return True


async def request_refund(
    units: AsyncUnitsOfWork, gateways: Gateways, *, actor: User, transaction_id: str
) -> Payment:
    """Ask Paystack to give the money back. The payment becomes refunded when Paystack
    confirms (its webhook, or a verification)."""
    async with units() as session:
        payment = await session.run_sync(
            lambda s: payments.begin_refund(s, actor=actor, transaction_id=transaction_id)
        )
    try:
        refund = await gateways.paystack.send(refund_call(payment.transaction_id))
    except PaystackUnavailable as exc:
        # Paystack may have queued it: the refund stays pending, confirmed by its webhook
        # or by reconciliation (which frees it to be asked again if Paystack never does).
        if isinstance(exc, PaystackTimeout):
            raise PaystackDidNotAnswer(
                "Paystack did not answer in time; the refund is pending"
            ) from exc
        raise PaystackUnreachable("Paystack could not be reached; the refund is pending") from exc
    except PaystackError as exc:
        reason = str(exc)
        async with units() as session:
            await session.run_sync(
                lambda s: payments.refund_refused(s, payment_id=payment.payment_id, reason=reason)
            )
        raise PaystackFailed(f"Paystack refused the refund: {reason}") from exc
    async with units() as session:
        await session.run_sync(
            lambda s: payments.refund_accepted(
                s, payment_id=payment.payment_id, refund_reference=refund.refund_id
            )
        )
        fresh = await session.get(Payment, payment.payment_id)
    assert fresh is not None
    return fresh
