"""Money: ``payment_gateway`` holds every payment attempt, by Paystack or by card."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, db_enum
from models.courses import Course
from models.enums import PaymentMethod, PaymentStatus
from models.users import User


class Payment(TimestampMixin, Base):
    __tablename__ = "payment_gateway"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

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
    transaction_id: Mapped[str] = mapped_column(String(100), unique=True)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        db_enum(PaymentStatus, "payment_status", native=False),
        default=PaymentStatus.PENDING,
        server_default=PaymentStatus.PENDING.value,
    )
    # When the payment succeeded; null while pending.
    payment_date: Mapped[datetime | None] = mapped_column()
    method: Mapped[PaymentMethod] = mapped_column(
        db_enum(PaymentMethod, "payment_method", native=False)
    )
    # Never a card number or CVV: only what may be kept (brand, last four, expiry), as the
    # Fernet ciphertext of services.payments.seal_card, made with security.encryption_key.
    card_details: Mapped[str | None] = mapped_column(Text)
    paystack_reference: Mapped[str | None] = mapped_column(String(100), unique=True)

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")
