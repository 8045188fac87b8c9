"""The Payment Service's request and answer shapes (the seed's contract, plus the checkout
link, paging and refunds)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import EmailStr, Field, field_serializer

from api.schemas.base import CamelModel, RowId
from core.clock import isoformat_z
from models import PaymentMethod, PaymentStatus, RefundStatus

# NUMERIC(10, 2): the largest amount a payment can hold.
Amount = Annotated[Decimal, Field(gt=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2)]


class CardDetails(CamelModel):
    # Lengths only here: the rules (digits, check digit, expiry) are services.cards', whose
    # messages never repeat the number.
    number: str = Field(max_length=19)
    expiry_month: str = Field(max_length=2)
    expiry_year: str = Field(max_length=4)
    cvv: str = Field(max_length=4)


class PaymentInitiate(CamelModel):
    user_id: RowId
    course_id: RowId
    amount: Amount
    method: PaymentMethod
    card_details: CardDetails | None = None
    paystack_email: EmailStr | None = Field(default=None, max_length=255)


class PaymentStarted(CamelModel):
    """201 of POST /api/payments/initiate: ``accessCode`` and ``authorizationUrl`` for
    Paystack (open the URL to pay), absent for a card."""

    payment_id: int
    transaction_id: str
    access_code: str | None = None
    authorization_url: str | None = None
    status: PaymentStatus
    message: str
    amount: float
    currency: str


class PaymentView(CamelModel):
    payment_id: int
    transaction_id: str
    status: PaymentStatus
    amount: float
    currency: str
    # When the payment settled; null while it is pending.
    payment_date: datetime | None
    method: PaymentMethod
    course_id: int
    user_id: int
    refund_status: RefundStatus | None = None
    # Why an admin should look at it (a mismatched webhook, a course paid twice); admins only.
    review_reason: str | None = None

    @field_serializer("payment_date")
    def _iso(self, value: datetime | None) -> str | None:
        return isoformat_z(value) if value else None


class PaymentPage(CamelModel):
    payments: list[PaymentView]
    total: int
    limit: int
    offset: int


class RefundStarted(CamelModel):
    payment_id: int
    transaction_id: str
    status: PaymentStatus
    refund_status: RefundStatus | None
    message: str


class WebhookReceived(CamelModel):
    received: bool
    # False when the event had been received before (a replay changes nothing).
    first_delivery: bool
