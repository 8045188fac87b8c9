"""Paystack's API: initialize a hosted checkout, verify a transaction, charge a card, refund,
and check a webhook's signature.

One client, whose base URL is a setting: the offline sandbox on the embedded default,
Paystack itself with a live key. Each call is built and read here once (``_Call``); the
async client sends it for the API and the admin panel, the sync one for the job worker.
Amounts are integer minor units (kobo): ``core.money`` converts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from core.settings import PaystackSettings

T = TypeVar("T")


class PaystackError(Exception):
    """Paystack could not do what was asked."""


class PaystackUnavailable(PaystackError):
    """No usable answer: a network error, a 5xx, or something other than Paystack's JSON."""


class PaystackTimeout(PaystackUnavailable):
    """No answer in time: the call may or may not have taken effect."""


class PaystackRefused(PaystackError):
    """Paystack answered, and said no (a 4xx with its message)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class TransactionNotFound(PaystackRefused):
    """Paystack has no transaction with this reference."""


@dataclass(frozen=True)
class Checkout:
    reference: str
    access_code: str
    authorization_url: str


@dataclass(frozen=True)
class Transaction:
    """What Paystack says of a transaction (verify, a charge, a webhook's data)."""

    reference: str
    # success, failed, abandoned, ongoing, pending, reversed, ...
    status: str
    amount: int
    currency: str
    paid_at: datetime | None
    gateway_response: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Transaction:
        try:
            return cls(
                reference=str(data["reference"]),
                status=str(data["status"]),
                amount=int(data["amount"]),
                currency=str(data.get("currency") or ""),
                paid_at=_timestamp(data.get("paid_at") or data.get("paidAt")),
                gateway_response=_text(data.get("gateway_response")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PaystackUnavailable(f"unexpected transaction from Paystack: {exc}") from exc


@dataclass(frozen=True)
class Refund:
    refund_id: str
    status: str


@dataclass(frozen=True)
class CardToCharge:
    """A card on its way to the gateway. Its number and CVV live only in memory, for this
    one call: never in a repr, a log line, or the database."""

    number: str = field(repr=False)
    cvv: str = field(repr=False)
    expiry_month: str
    expiry_year: str


def _text(value: Any) -> str | None:
    return str(value)[:200] if value not in (None, "") else None


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# -- webhooks -----------------------------------------------------------------------------


def signature(secret_key: str, body: bytes) -> str:
    """The ``x-paystack-signature`` of ``body``: hex HMAC-SHA512 with the secret key."""
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def signature_matches(secret_key: str, body: bytes, header: str | None) -> bool:
    # compare_digest: the time taken says nothing about how much of a guess was right. As
    # bytes, so a header of any characters is simply not a match.
    if not header:
        return False
    expected = signature(secret_key, body).encode()
    return hmac.compare_digest(expected, header.lower().encode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class WebhookEvent:
    event: str
    data: Mapping[str, Any]

    @classmethod
    def parse(cls, body: bytes) -> WebhookEvent:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("the body is not JSON") from exc
        if not isinstance(document, dict) or not isinstance(document.get("event"), str):
            raise ValueError("the body has no event name")
        data = document.get("data")
        return cls(event=document["event"][:50], data=data if isinstance(data, dict) else {})

    @property
    def reference(self) -> str | None:
        """The transaction it is about: ``reference`` of a charge, ``transaction_reference``
        of a refund."""
        value = self.data.get("reference") or self.data.get("transaction_reference")
        if value is None and isinstance(self.data.get("transaction"), dict):
            value = self.data["transaction"].get("reference")
        return str(value)[:100] if value is not None else None

    def dedupe_key(self, body: bytes) -> str:
        """Two deliveries of one event share this: the event, the object it is about and its
        state. Without an id, the body's digest (a byte-identical replay)."""
        identity = self.data.get("id")
        if identity is None:
            return f"{self.event}:sha256:{hashlib.sha256(body).hexdigest()}"
        return f"{self.event}:{identity}:{self.data.get('status', '')}"[:200]


# -- calls ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call(Generic[T]):
    method: str
    path: str
    read: Callable[[dict[str, Any]], T]
    body: dict[str, Any] | None = None


def _checkout(data: dict[str, Any]) -> Checkout:
    try:
        return Checkout(
            reference=str(data["reference"]),
            access_code=str(data["access_code"]),
            authorization_url=str(data["authorization_url"]),
        )
    except KeyError as exc:
        raise PaystackUnavailable(f"Paystack's checkout lacks {exc}") from exc


def _refund(data: dict[str, Any]) -> Refund:
    return Refund(refund_id=str(data.get("id", "")), status=str(data.get("status", "pending")))


def initialize_call(
    *,
    email: str,
    amount: int,
    reference: str,
    currency: str,
    callback_url: str,
    metadata: Mapping[str, Any],
) -> _Call[Checkout]:
    body = {
        "email": email,
        "amount": amount,
        "reference": reference,
        "currency": currency,
        "callback_url": callback_url,
        "metadata": dict(metadata),
    }
    return _Call("POST", "/transaction/initialize", _checkout, body)


def verify_call(reference: str) -> _Call[Transaction]:
    return _Call("GET", f"/transaction/verify/{reference}", Transaction.from_data)


def charge_call(
    *,
    card: CardToCharge,
    email: str,
    amount: int,
    reference: str,
    currency: str,
    metadata: Mapping[str, Any],
) -> _Call[Transaction]:
    body = {
        "email": email,
        "amount": amount,
        "reference": reference,
        "currency": currency,
        "metadata": dict(metadata),
        "card": {
            "number": card.number,
            "cvv": card.cvv,
            "expiry_month": card.expiry_month,
            "expiry_year": card.expiry_year,
        },
    }
    return _Call("POST", "/charge", Transaction.from_data, body)


def refund_call(reference: str) -> _Call[Refund]:
    return _Call("POST", "/refund", _refund, {"transaction": reference})


class _Client:
    def __init__(self, settings: PaystackSettings) -> None:
        self._settings = settings

    def _request(self, call: _Call[Any]) -> dict[str, Any]:
        key = self._settings.secret_key
        if key is None:
            raise PaystackUnavailable("paystack.secret_key is not set")
        return {
            "method": call.method,
            "url": self._settings.base_url.rstrip("/") + call.path,
            "json": call.body,
            "headers": {"Authorization": f"Bearer {key.get_secret_value()}"},
            "timeout": self._settings.timeout_seconds,
        }

    @staticmethod
    def _read(call: _Call[T], response: httpx.Response) -> T:
        try:
            document = response.json()
        except ValueError:
            document = None
        if response.status_code >= 500 or not isinstance(document, dict):
            raise PaystackUnavailable(f"Paystack answered {response.status_code}")
        message = str(document.get("message") or "Paystack refused the request")[:200]
        if response.status_code >= 400 or document.get("status") is not True:
            if call.path.startswith("/transaction/verify/") and "not found" in message.lower():
                raise TransactionNotFound(message, response.status_code)
            raise PaystackRefused(message, response.status_code)
        data = document.get("data")
        if not isinstance(data, dict):
            raise PaystackUnavailable("Paystack's answer has no data")
        return call.read(data)


def _failure(exc: httpx.HTTPError) -> PaystackUnavailable:
    if isinstance(exc, httpx.TimeoutException):
        return PaystackTimeout("Paystack did not answer in time")
    return PaystackUnavailable(f"Paystack could not be reached ({type(exc).__name__})")


class AsyncPaystack(_Client):
    """For the API and the admin panel: shares the app's HTTP connection pool."""

    def __init__(self, settings: PaystackSettings, http: httpx.AsyncClient) -> None:
        super().__init__(settings)
        self._http = http

    async def send(self, call: _Call[T]) -> T:
        try:
            response = await self._http.request(**self._request(call))
        except httpx.HTTPError as exc:
            raise _failure(exc) from exc
        return self._read(call, response)


class SyncPaystack(_Client):
    """For the job worker's threads."""

    def __init__(self, settings: PaystackSettings, http: httpx.Client) -> None:
        super().__init__(settings)
        self._http = http

    def send(self, call: _Call[T]) -> T:
        try:
            response = self._http.request(**self._request(call))
        except httpx.HTTPError as exc:
            raise _failure(exc) from exc
        return self._read(call, response)
