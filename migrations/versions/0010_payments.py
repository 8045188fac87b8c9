"""Payments: hosted checkouts, the gateway's word, reviews, refunds, webhooks, idempotency.

``payment_gateway`` gains the Paystack checkout it was given (access code, authorization
URL), the gateway's last response, a reason for an admin to look at it, and its refund
(status, Paystack's reference, when it was confirmed); a partial unique index allows one
pending card payment per learner and course. ``payment_events`` keeps every signed webhook
raw, once (``dedupe_key``); ``idempotency_keys`` the first answer to a keyed request.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING_CARD = sa.text("method = 'card' AND payment_status = 'pending'")


_COLUMNS = (
    ("access_code", sa.String(100)),
    ("authorization_url", sa.String(500)),
    ("gateway_response", sa.String(200)),
    ("review_reason", sa.String(255)),
    ("refund_status", sa.String(20)),
    ("refund_reference", sa.String(100)),
    ("refunded_at", sa.DateTime(timezone=True)),
)
_REFUND_CHECK = "refund_status IN ('pending', 'processed', 'failed')"

payments = sa.table(
    "payment_gateway",
    sa.column("payment_id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("method", sa.String),
    sa.column("payment_status", sa.String),
    sa.column("review_reason", sa.String),
)


def _sqlite() -> bool:
    # Plain ALTER TABLE on SQLite: a batch rebuild would drop payment_gateway, which
    # enrollments reference, and SQLite cannot switch foreign keys off inside the migration's
    # transaction. A column CHECK can be added (and dropped) with its column.
    return op.get_bind().dialect.name == "sqlite"


def _add_columns() -> None:
    for name, type_ in _COLUMNS:
        if name == "refund_status" and _sqlite():
            op.execute(
                "ALTER TABLE payment_gateway ADD COLUMN refund_status VARCHAR(20) "
                f"CONSTRAINT ck_payment_gateway_refund_status CHECK ({_REFUND_CHECK})"
            )
            continue
        op.add_column("payment_gateway", sa.Column(name, type_, nullable=True))
    if not _sqlite():
        op.create_check_constraint(
            op.f("ck_payment_gateway_refund_status"), "payment_gateway", sa.text(_REFUND_CHECK)
        )


def _fail_extra_pending_cards() -> None:
    """Before the index: of several pending card payments of one learner and course (no
    card flow made any before this revision), all but the newest become failed, marked for
    an admin to look at."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(payments.c.payment_id, payments.c.user_id, payments.c.course_id)
        .where(payments.c.method == "card", payments.c.payment_status == "pending")
        .order_by(payments.c.payment_id.desc())
    ).all()
    seen: set[tuple[int, int]] = set()
    for payment_id, user_id, course_id in rows:
        if (user_id, course_id) in seen:
            bind.execute(
                payments.update()
                .where(payments.c.payment_id == payment_id)
                .values(
                    payment_status="failed",
                    review_reason="Failed by migration 0010: a newer card payment of this "
                    "learner for this course was pending",
                )
            )
        seen.add((user_id, course_id))


def upgrade() -> None:
    _add_columns()
    _fail_extra_pending_cards()
    op.create_index(
        "uq_payment_gateway_one_pending_card",
        "payment_gateway",
        ["user_id", "course_id"],
        unique=True,
        sqlite_where=_PENDING_CARD,
        postgresql_where=_PENDING_CARD,
    )
    op.create_table(
        "payment_events",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("note", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_payment_events_dedupe_key")),
    )
    op.create_index(op.f("ix_payment_events_reference"), "payment_events", ["reference"])
    op.create_table(
        "idempotency_keys",
        sa.Column("idempotency_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idempotency_id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("payment_events")
    op.drop_index("uq_payment_gateway_one_pending_card", table_name="payment_gateway")
    if not _sqlite():
        op.drop_constraint(
            op.f("ck_payment_gateway_refund_status"), "payment_gateway", type_="check"
        )
    for name, _ in reversed(_COLUMNS):
        op.drop_column("payment_gateway", name)
