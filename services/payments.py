"""Payments: what the platform keeps of a card, and what it tells the payer once a payment
has settled.

Of a card we keep only what identifies it to its owner (brand, last four digits, expiry),
encrypted with the platform's key: ``payment_gateway.card_details`` holds nothing but
``seal_card``'s ciphertext. A card number or a CVV has nowhere to go.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from core.crypto import TokenCipher
from core.events import EventType
from models import Course, Payment, PaymentStatus
from services.notifications import notify

# -- card details ------------------------------------------------------------------------------

# Each field of a card summary, its shape, and how to say it to a person.
_RULES = {
    "brand": (re.compile(r"[a-z]{2,20}"), "a lowercase word such as visa"),
    "last4": (re.compile(r"[0-9]{4}"), "exactly the last 4 digits"),
    "expiry": (re.compile(r"(0[1-9]|1[0-2])/[0-9]{2}"), "MM/YY with a month from 01 to 12"),
}


@dataclass(frozen=True, slots=True)
class CardSummary:
    """The most of a card the platform may keep: ``CardSummary("visa", "4081", "12/29")``."""

    brand: str
    last4: str
    expiry: str

    def __post_init__(self) -> None:
        for name, (pattern, shape) in _RULES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or pattern.fullmatch(value) is None:
                raise ValueError(f"card {name} must be {shape}")


def seal_card(cipher: TokenCipher, summary: CardSummary) -> str:
    """The ciphertext to store in ``Payment.card_details``."""
    return cipher.encrypt(json.dumps(asdict(summary), sort_keys=True))


def open_card(cipher: TokenCipher, ciphertext: str) -> CardSummary:
    """The card a ``seal_card`` ciphertext holds; ValueError for anything else."""
    try:
        values = json.loads(cipher.decrypt(ciphertext))
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, dict) or set(values) != set(_RULES):
        raise ValueError("the ciphertext does not hold a card summary")
    return CardSummary(brand=values["brand"], last4=values["last4"], expiry=values["expiry"])


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
    """Tell the payer how their payment ended: a receipt, a failure or a refund notice."""
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
    )
