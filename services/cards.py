"""Cards: checking one before it is charged, and what the platform keeps of it.

A card number and its CVV are checked here and handed to the gateway in memory
(``integrations.paystack.CardToCharge``), never stored, logged or echoed. Of a card we keep
only what identifies it to its owner (brand, last four digits, expiry), encrypted with the
platform's key: ``payment_gateway.card_details`` holds nothing but ``seal_card``'s
ciphertext.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date

from core.crypto import TokenCipher
from core.errors import InvalidInput
from integrations.paystack import CardToCharge


class InvalidPaymentDetails(InvalidInput):
    message = "Invalid payment details"


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


# -- checking a card before any network call -------------------------------------------------

# Issuer prefixes, for the brand shown to the card's owner ("visa ending 4081").
_BRANDS = (
    ("verve", re.compile(r"^(506(0|1)|507(8|9)|6500)")),
    ("visa", re.compile(r"^4")),
    ("mastercard", re.compile(r"^(5[1-5]|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)")),
    ("amex", re.compile(r"^3[47]")),
)
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class CheckedCard:
    """A card that passed the checks: what goes to the gateway, and what we keep."""

    to_charge: CardToCharge
    summary: CardSummary


def _luhn(number: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _refuse(field: str, problem: str) -> InvalidPaymentDetails:
    return InvalidPaymentDetails(problem, parameter=f"cardDetails.{field}")


def check_card(
    number: str, expiry_month: str, expiry_year: str, cvv: str, *, today: date
) -> CheckedCard:
    """The card, or InvalidPaymentDetails naming the field. No message repeats what was sent."""
    if not _DIGITS.fullmatch(number) or not 12 <= len(number) <= 19:
        raise _refuse("number", "must be 12 to 19 digits, with no spaces")
    if not _luhn(number):
        raise _refuse("number", "is not a valid card number (check digit)")
    if (
        not _DIGITS.fullmatch(expiry_month)
        or len(expiry_month) > 2
        or not 1 <= int(expiry_month) <= 12
    ):
        raise _refuse("expiryMonth", "must be a month from 01 to 12")
    if not _DIGITS.fullmatch(expiry_year) or len(expiry_year) not in (2, 4):
        raise _refuse("expiryYear", "must be a year of 2 or 4 digits")
    month = int(expiry_month)
    year = int(expiry_year) + (2000 if len(expiry_year) == 2 else 0)
    if (year, month) < (today.year, today.month):
        raise _refuse("expiryYear", "the card has expired")
    if not _DIGITS.fullmatch(cvv) or len(cvv) not in (3, 4):
        raise _refuse("cvv", "must be 3 or 4 digits")
    brand = next((name for name, prefix in _BRANDS if prefix.match(number)), "card")
    return CheckedCard(
        to_charge=CardToCharge(
            number=number, cvv=cvv, expiry_month=f"{month:02d}", expiry_year=str(year)
        ),
        summary=CardSummary(brand=brand, last4=number[-4:], expiry=f"{month:02d}/{year % 100:02d}"),
    )
