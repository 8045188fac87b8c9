"""What a charge and a refund do besides answering, shared by the API and the checkout page:
an approved charge posts ``charge.success``; a refund settles after the answer and posts
``refund.processed`` or ``refund.failed``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import BackgroundTasks

from integrations.paystack_sandbox.cards import KeptCard, Outcome
from integrations.paystack_sandbox.config import RefundOutcome, SandboxConfig
from integrations.paystack_sandbox.payloads import refund_event_data, transaction_data
from integrations.paystack_sandbox.store import Refund, Store, Transaction
from integrations.paystack_sandbox.webhooks import WebhookSender


@dataclass(frozen=True)
class Sandbox:
    config: SandboxConfig
    store: Store
    webhooks: WebhookSender

    def attempt(
        self, transaction: Transaction, card: KeptCard, outcome: Outcome, tasks: BackgroundTasks
    ) -> Transaction | None:
        """Charge the card on the transaction; None when it was paid already."""
        charged = self.store.record_attempt(transaction.id, card, outcome)
        if charged is not None and charged.status == "success":
            delivery = self.webhooks.record(
                "charge.success", charged.reference, transaction_data(charged)
            )
            if delivery.outcome == "pending":
                tasks.add_task(self.webhooks.deliver, delivery.id)
        return charged

    def refund(
        self, transaction: Transaction, amount: int | None, tasks: BackgroundTasks
    ) -> Refund:
        """Queue a refund; it settles as the behaviour's ``refundOutcome`` says now."""
        refund = self.store.add_refund(transaction.id, amount)
        tasks.add_task(self.settle_refund, refund.id, self.store.behaviour().refund_outcome)
        return refund

    def settle_refund(self, refund_id: int, outcome: RefundOutcome) -> None:
        refund, transaction = self.store.finish_refund(refund_id, outcome)
        self.webhooks.send(
            f"refund.{refund.status}", transaction.reference, refund_event_data(refund, transaction)
        )
