"""The card gateway: where a card payment is charged. Paystack's Charge API implements it
(the same client and base URL as the hosted checkout); another processor would be another
class with the same method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from integrations.paystack import AsyncPaystack, CardToCharge, Transaction, charge_call


class CardGateway(Protocol):
    async def charge(
        self,
        card: CardToCharge,
        *,
        email: str,
        amount: int,
        reference: str,
        currency: str,
        metadata: Mapping[str, Any],
    ) -> Transaction:
        """Charge ``amount`` (minor units); the transaction says success or failed.
        PaystackError (or the gateway's equivalent) when it could not be asked."""
        ...


class PaystackCardGateway:
    def __init__(self, paystack: AsyncPaystack) -> None:
        self._paystack = paystack

    async def charge(
        self,
        card: CardToCharge,
        *,
        email: str,
        amount: int,
        reference: str,
        currency: str,
        metadata: Mapping[str, Any],
    ) -> Transaction:
        call = charge_call(
            card=card,
            email=email,
            amount=amount,
            reference=reference,
            currency=currency,
            metadata=metadata,
        )
        return await self._paystack.send(call)
