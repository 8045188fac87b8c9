"""Payments: the card summary we may keep (sealed), and what the payer hears once a payment
has settled."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import TokenCipher
from core.events import EventType
from models import Course, OutboxEvent, Payment, PaymentStatus, User
from services.payments import CardSummary, open_card, payment_settled, seal_card
from tests.models.factories import make_course, make_payment, make_user

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
