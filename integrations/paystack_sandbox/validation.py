"""Reading the callers' fields as Paystack does, each refusal a 400 naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from integrations.paystack_sandbox.config import SandboxError
from integrations.paystack_sandbox.store import NewTransaction, random_code

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
REFERENCE = re.compile(r"[A-Za-z0-9.=-]{1,100}")
# Only host[:port] (no user info, nothing that could end a CSP source or a header).
NETLOC = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
CURRENCIES = ("NGN", "GHS", "ZAR", "USD", "KES")
MIN_AMOUNT = 100  # kobo (or pesewas, cents): Paystack's smallest charge
MAX_AMOUNT = 10**13  # far above any real charge; keeps SQLite's integers safe


def read_new_transaction(body: Mapping[str, Any], *, callback: bool) -> NewTransaction:
    """The fields of /transaction/initialize (``callback``) or /charge."""
    return NewTransaction(
        email=read_email(body.get("email")),
        amount=read_amount(body.get("amount"), minimum=MIN_AMOUNT, name="Amount"),
        currency=read_currency(body.get("currency")),
        reference=read_reference(body.get("reference")),
        callback_url=read_callback_url(body.get("callback_url")) if callback else None,
        metadata=read_metadata(body.get("metadata")),
    )


def read_email(value: object) -> str:
    if value is None or value == "":
        raise SandboxError("Email is required")
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.fullmatch(value.strip()):
        raise SandboxError("Invalid Email Address Passed")
    return value.strip()


def read_amount(value: object, *, minimum: int, name: str) -> int:
    """An integer amount in the currency's smallest unit, sent as a number or digits."""
    if value is None or value == "":
        raise SandboxError(f"{name} is required")
    if isinstance(value, str) and re.fullmatch(r"\d{1,15}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_AMOUNT:
        raise SandboxError(
            f"Invalid {name.lower()} sent: an integer in kobo (smallest currency unit), "
            f"at least {minimum}"
        )
    return value


def read_currency(value: object) -> str:
    if value is None or value == "":
        return "NGN"
    if not isinstance(value, str) or value.strip().upper() not in CURRENCIES:
        raise SandboxError("Currency not supported by merchant")
    return value.strip().upper()


def read_reference(value: object) -> str:
    if value is None or value == "":
        return random_code(15)
    if not isinstance(value, str) or not REFERENCE.fullmatch(value):
        raise SandboxError("Invalid reference")
    return value


def read_callback_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not NETLOC.fullmatch(parts.netloc)
        or any(char.isspace() for char in str(value))
    ):
        raise SandboxError("Invalid callback_url: an http or https URL is expected")
    return str(value)


def read_metadata(value: object) -> Any:
    """A JSON object, or a string holding one (Paystack's docs send it stringified)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise SandboxError("Invalid metadata: a JSON object, or a string holding one")
    return value
