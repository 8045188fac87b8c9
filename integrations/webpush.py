"""Web push (the PWA's notifications) through pywebpush, signed with the platform's VAPID key."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from pywebpush import WebPushException, webpush

from core.settings import WebPushSettings


class PushFailed(Exception):
    """The push service refused or failed; the message says only its status."""


class SubscriptionGone(Exception):
    """The push service forgot this subscription (the user revoked it): stop using it."""


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


def _as_der_b64(key: str) -> str:
    """pywebpush takes a url-safe base64 DER key; operators usually hold a PEM file."""
    if not key.lstrip().startswith("-----BEGIN"):
        return key
    loaded = serialization.load_pem_private_key(key.encode(), password=None)
    der = loaded.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.urlsafe_b64encode(der).decode().rstrip("=")


class WebPusher:
    def __init__(self, settings: WebPushSettings) -> None:
        if not settings.enabled or settings.vapid_private_key is None:
            raise RuntimeError("web push needs both VAPID keys")
        self._settings = settings
        self._private_key = _as_der_b64(settings.vapid_private_key.get_secret_value())

    def send(self, target: PushTarget, message: dict[str, Any]) -> None:
        try:
            webpush(
                subscription_info={
                    "endpoint": target.endpoint,
                    "keys": {"p256dh": target.p256dh, "auth": target.auth},
                },
                data=json.dumps(message),
                vapid_private_key=self._private_key,
                vapid_claims={"sub": self._settings.subject},
                timeout=self._settings.timeout_seconds,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                raise SubscriptionGone(target.endpoint) from exc
            # Only the status: the push service's answer is not ours to store or show.
            raise PushFailed(f"push service answered {status}") from None
