"""Money: ``payment_gateway`` holds every payment attempt, by Paystack or by card;
``payment_events`` every webhook Paystack sent, raw, as it arrived."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base, TimestampMixin, db_enum
from models.courses import Course
from models.enums import PaymentMethod, PaymentStatus, RefundStatus
from models.users import User

# One card payment at a time per learner and course: while one awaits the gateway's word, a
# second (a double click, a retry without the Idempotency-Key) would charge the card twice.
_PENDING_CARD = text("method = 'card' AND payment_status = 'pending'")


class Payment(TimestampMixin, Base):
    __tablename__ = "payment_gateway"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "uq_payment_gateway_one_pending_card",
            "user_id",
            "course_id",
            unique=True,
            sqlite_where=_PENDING_CARD,
            postgresql_where=_PENDING_CARD,
        ),
    )

    payment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # RESTRICT: payment records outlive nothing they belong to; they are never deleted.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="RESTRICT"), index=True
    )
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # ISO 4217; the contract answers with a currency next to every amount.
    currency: Mapped[str] = mapped_column(String(3), default="NGN", server_default="NGN")
    # Our own reference, made before any gateway hears of the payment; it is also the
    # reference Paystack knows it by (paystack_reference holds the same value).
    transaction_id: Mapped[str] = mapped_column(String(100), unique=True)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        db_enum(PaymentStatus, "payment_status", native=False),
        default=PaymentStatus.PENDING,
        server_default=PaymentStatus.PENDING.value,
    )
    # When the payment settled (succeeded or failed); null while pending.
    payment_date: Mapped[datetime | None] = mapped_column()
    method: Mapped[PaymentMethod] = mapped_column(
        db_enum(PaymentMethod, "payment_method", native=False)
    )
    # Never a card number or CVV: only what may be kept (brand, last four, expiry), as the
    # Fernet ciphertext of services.cards.seal_card, made with security.encryption_key.
    card_details: Mapped[str | None] = mapped_column(Text)
    paystack_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    # Paystack's hosted checkout for this payment, handed out again if the payer retries.
    access_code: Mapped[str | None] = mapped_column(String(100))
    authorization_url: Mapped[str | None] = mapped_column(String(500))
    # The gateway's last word on the charge ("Approved", "Declined", "Insufficient Funds").
    gateway_response: Mapped[str | None] = mapped_column(String(200))
    # Set when something about this payment needs a person: a webhook whose amount did not
    # match, a course paid twice, a refund Paystack refused. Shown in the admin panel.
    review_reason: Mapped[str | None] = mapped_column(String(255))
    refund_status: Mapped[RefundStatus | None] = mapped_column(
        db_enum(RefundStatus, "refund_status", native=False)
    )
    refund_reference: Mapped[str | None] = mapped_column(String(100))
    refunded_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")


class PaymentEvent(Base):
    """A webhook as Paystack sent it (signature checked), kept before it is acted on."""

    __tablename__ = "payment_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What makes two deliveries the same event (a replay, a retry): see
    # integrations.paystack.WebhookEvent.dedupe_key.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    # The raw body, byte for byte as signed (it never holds a card number: Paystack sends
    # the first six and last four digits at most).
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What processing made of it: settled, duplicate, mismatch, unknown_reference, ignored...
    outcome: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(255))
