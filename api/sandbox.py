"""The offline Paystack sandbox, mounted where ``paystack.base_url`` points by default, so
the embedded platform takes payments (hosted checkout, cards, refunds, signed webhooks)
without a network. Settings refuse it in production."""

from __future__ import annotations

from fastapi import FastAPI

from core.errors import ConfigurationError
from core.settings import SANDBOX_MOUNT, Settings
from integrations.paystack_sandbox import SandboxConfig, create_sandbox


def mount_paystack_sandbox(app: FastAPI, settings: Settings) -> None:
    key = settings.paystack.secret_key
    if key is None:
        raise ConfigurationError("paystack.secret_key is not set: the sandbox signs with it")
    config = SandboxConfig(
        secret_key=key.get_secret_value(),
        state_path=settings.path(settings.paystack.sandbox_path),
        # The platform reaches it at its base URL: so do the payers' browsers.
        public_url=settings.paystack.base_url.rstrip("/"),
        webhook_url=settings.paystack_webhook_url,
        business_name=settings.app.name,
    )
    app.mount(SANDBOX_MOUNT, create_sandbox(config))
