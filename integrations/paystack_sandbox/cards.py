"""Card numbers as the sandbox reads them: Paystack's published test cards, Luhn, expiry, CVV.

A full card number and a CVV live only in the caller's hands while ``read_card`` runs; what
comes out (``KeptCard``) is what may be stored and shown: last 4 digits, brand and expiry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class InvalidCard(Exception):
    """The card cannot be charged as entered; the message names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Outcome(StrEnum):
    """What the imaginary bank answers; the value is Paystack's ``gateway_response``."""

    APPROVED = "Approved"
    DECLINED = "Declined"
    INSUFFICIENT_FUNDS = "Insufficient Funds"


@dataclass(frozen=True)
class PublishedCard:
    number: str
    brand: str
    outcome: Outcome

    @property
    def grouped(self) -> str:
        return " ".join(self.number[i : i + 4] for i in range(0, len(self.number), 4))


# Paystack's published test cards (https://paystack.com/docs/payments/test-payments).
TEST_CARDS = (
    PublishedCard("4084084084084081", "Visa", Outcome.APPROVED),
    PublishedCard("4242424242424242", "Visa", Outcome.APPROVED),
    PublishedCard("4084080000005408", "Visa", Outcome.DECLINED),
    PublishedCard("4000000000000002", "Visa", Outcome.DECLINED),
    PublishedCard("4084080000670037", "Visa", Outcome.INSUFFICIENT_FUNDS),
)
_OUTCOMES = {card.number: card.outcome for card in TEST_CARDS}
TEST_CVV = "408"


@dataclass(frozen=True)
class KeptCard:
    """All the sandbox keeps of a card."""

    last4: str
    brand: str
    exp_month: str  # "01".."12", as Paystack answers it
    exp_year: str  # four digits


def read_card(
    number: object, expiry_month: object, expiry_year: object, cvv: object, *, today: date
) -> tuple[KeptCard, Outcome]:
    """Check a card as entered and say what the bank answers. Raises ``InvalidCard``."""
    digits = _digits(number).replace(" ", "").replace("-", "")
    if not re.fullmatch(r"\d{12,19}", digits) or not _luhn_valid(digits):
        raise InvalidCard("Invalid card number")
    month, year = _expiry(expiry_month, expiry_year)
    if (year, month) < (today.year, today.month):
        raise InvalidCard("Card has expired (expiry month and year)")
    if not re.fullmatch(r"\d{3,4}", _digits(cvv)):
        raise InvalidCard("Invalid CVV: it has 3 or 4 digits")
    kept = KeptCard(
        last4=digits[-4:], brand=_brand(digits), exp_month=f"{month:02d}", exp_year=str(year)
    )
    return kept, _OUTCOMES.get(digits, Outcome.APPROVED)


def _digits(value: object) -> str:
    """JSON callers send numbers or strings; anything else is not a card field."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    return str(value).strip()


def _expiry(expiry_month: object, expiry_year: object) -> tuple[int, int]:
    month_text, year_text = _digits(expiry_month), _digits(expiry_year)
    if not re.fullmatch(r"\d{1,2}", month_text) or not 1 <= int(month_text) <= 12:
        raise InvalidCard("Invalid expiry month: use 01 to 12")
    if re.fullmatch(r"\d{2}", year_text):
        return int(month_text), 2000 + int(year_text)
    if re.fullmatch(r"\d{4}", year_text):
        return int(month_text), int(year_text)
    raise InvalidCard("Invalid expiry year")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "american express"
    if digits.startswith(("5060", "5061", "5078", "5079", "6500")):
        return "verve"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    return "unknown"
