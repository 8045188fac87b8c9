"""The JSON shapes Paystack answers with, built from the stored rows (one place for each, so
the verify answer, the charge answer and the webhooks can never drift apart)."""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.paystack_sandbox.store import Refund, Transaction

DOMAIN = "test"  # Paystack marks test-mode objects so; the sandbox never has live ones
INTEGRATION_ID = 100001  # the merchant's integration, as Paystack numbers it


def customer(email: str) -> dict[str, Any]:
    """Paystack's customer object; the id and code are derived from the email so one payer
    is the same customer on every transaction without a table of its own."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    return {
        "id": int(digest[:7], 16),
        "first_name": None,
        "last_name": None,
        "email": email,
        "customer_code": "CUS_" + digest[:15],
        "phone": None,
        "metadata": None,
        "risk_action": "default",
    }


def authorization(transaction: Transaction) -> dict[str, Any] | None:
    card = transaction.card
    if card is None:
        return None
    return {
        "authorization_code": transaction.authorization_code,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "channel": "card",
        "card_type": card.brand,
        "bank": "TEST BANK",
        "country_code": "NG",
        "brand": card.brand,
        "reusable": transaction.status in ("success", "reversed"),
        "account_name": None,
    }


def transaction_data(transaction: Transaction) -> dict[str, Any]:
    """``data`` of /transaction/verify, /charge and the ``charge.success`` webhook."""
    return {
        "id": transaction.id,
        "domain": DOMAIN,
        "status": transaction.status,
        "reference": transaction.reference,
        "amount": transaction.amount,
        "requested_amount": transaction.amount,
        "message": None,
        "gateway_response": transaction.gateway_response,
        "paid_at": transaction.paid_at,
        "paidAt": transaction.paid_at,
        "created_at": transaction.created_at,
        "createdAt": transaction.created_at,
        "channel": "card",
        "currency": transaction.currency,
        "ip_address": None,
        # Paystack answers an empty string for a transaction initialized without metadata.
        "metadata": "" if transaction.metadata is None else transaction.metadata,
        "fees": None,
        "customer": customer(transaction.email),
        "authorization": authorization(transaction),
        "plan": None,
    }


def refund_data(refund: Refund, transaction: Transaction) -> dict[str, Any]:
    """``data`` of POST /refund."""
    note = f"Refund for transaction {transaction.reference}"
    return {
        "transaction": transaction_data(transaction),
        "integration": INTEGRATION_ID,
        "deducted_amount": 0,
        "channel": None,
        "merchant_note": note,
        "customer_note": note,
        "status": refund.status,
        "refunded_by": None,
        "expected_at": None,
        "currency": refund.currency,
        "domain": DOMAIN,
        "amount": refund.amount,
        "fully_deducted": False,
        "id": refund.id,
        "createdAt": refund.created_at,
        "updatedAt": refund.processed_at or refund.created_at,
    }


def refund_event_data(refund: Refund, transaction: Transaction) -> dict[str, Any]:
    """``data`` of the ``refund.processed`` and ``refund.failed`` webhooks."""
    payer = customer(transaction.email)
    return {
        "status": refund.status,
        "transaction_reference": transaction.reference,
        "refund_reference": refund.refund_reference,
        "amount": refund.amount,
        "currency": refund.currency,
        "processor": transaction.card.brand if transaction.card else "card",
        "customer": {key: payer[key] for key in ("first_name", "last_name", "email")},
        "integration": INTEGRATION_ID,
        "domain": DOMAIN,
        "id": refund.id,
    }
