"""An offline Paystack: the same API, signed webhooks and a hosted checkout page, so the
platform's Paystack client runs unchanged against it on one machine without a network.

``create_sandbox(SandboxConfig(...))`` gives an ASGI app, served alone or mounted (the
platform mounts it at ``/sandbox/paystack``). Its state is one SQLite file. Only test keys
(``sk_test_...``) are accepted and no card number or CVV is ever kept.
"""

from integrations.paystack_sandbox.app import create_sandbox
from integrations.paystack_sandbox.cards import TEST_CARDS, Outcome, PublishedCard
from integrations.paystack_sandbox.config import Behaviour, RefundOutcome, SandboxConfig
from integrations.paystack_sandbox.webhooks import sign

__all__ = [
    "TEST_CARDS",
    "Behaviour",
    "Outcome",
    "PublishedCard",
    "RefundOutcome",
    "SandboxConfig",
    "create_sandbox",
    "sign",
]
