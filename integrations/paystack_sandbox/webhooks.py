"""Signed webhooks, posted after the answer and recorded in the state file.

As Paystack: the body is ``{"event": ..., "data": ...}`` and ``x-paystack-signature`` is the
hex HMAC-SHA512 of the exact body bytes with the secret key. A delivery is tried a few times
(a connection error or a non-2xx answer) and every attempt is counted on its record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from core.logging import get_logger
from integrations.paystack_sandbox.store import Delivery, Store

# Waits between attempts: three attempts in under a second, enough for a receiver that is
# restarting, short enough that a test never waits long.
RETRY_DELAYS = (0.2, 0.5)

log = get_logger("integrations.paystack_sandbox")


def sign(body: bytes, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


class WebhookSender:
    def __init__(self, store: Store, *, url: str, secret_key: str, timeout: float) -> None:
        self._store = store
        self._url = url
        self._secret_key = secret_key
        self._timeout = timeout

    def record(self, event: str, reference: str, data: dict[str, Any]) -> Delivery:
        """Store the event's body; it is ``pending`` (post it with ``deliver``) or, with
        webhooks switched off, ``skipped``."""
        body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
        outcome = "pending" if self._store.behaviour().webhooks else "skipped"
        return self._store.add_delivery(event, reference, body, outcome)

    def deliver(self, delivery_id: int) -> Delivery:
        """POST the stored body until a 2xx, at most ``len(RETRY_DELAYS) + 1`` times."""
        delivery = self._store.delivery(delivery_id)
        if delivery is None:
            raise LookupError(f"no webhook delivery {delivery_id}")
        for delay in (*RETRY_DELAYS, None):
            delivery = self._store.record_delivery(
                delivery_id, status_code=self._post(delivery.body)
            )
            if delivery.outcome == "delivered" or delay is None:
                break
            time.sleep(delay)
        return delivery

    def send(self, event: str, reference: str, data: dict[str, Any]) -> None:
        """Record and deliver now: for code already running after the answer."""
        delivery = self.record(event, reference, data)
        if delivery.outcome == "pending":
            self.deliver(delivery.id)

    def _post(self, body: bytes) -> int | None:
        headers = {
            "Content-Type": "application/json",
            "x-paystack-signature": sign(body, self._secret_key),
        }
        try:
            with httpx.Client(timeout=self._timeout) as client:
                return client.post(self._url, content=body, headers=headers).status_code
        except httpx.HTTPError as error:
            log.warning("sandbox webhook not delivered", url=self._url, error=type(error).__name__)
            return None
