"""Card details encrypted: ``payment_gateway.card_details`` becomes a Fernet ciphertext (Text)
of brand, last four and expiry, made with ``security.encryption_key``.

Existing rows keep only their brand, last four and expiry, encrypted; a row that does not
hold a valid summary (a card number, a CVV, a malformed value) is cleared, and so is every
row when no key can be had: card data is never left in the clear. The downgrade decrypts back
to JSON (or clears what it cannot decrypt).

The key comes from the settings the caller hands over (``config.attributes["settings"]``),
else from the process's settings, as ``lms migrate`` reads them. The card rules are copied
here, not imported: a migration is a snapshot, and must do the same thing however
``services/payments.py`` changes later.

Revision ID: 0006
Revises: 0005
"""

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.dialects import postgresql

from core.errors import ConfigurationError
from core.settings import Settings, get_settings

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (the key, or None when there is none; the old value) -> the new value, or None to clear it
Converter = Callable[[Fernet | None, Any], Any]
log = logging.getLogger("alembic.runtime.migration")

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CARD_RULES = {
    "brand": re.compile(r"[a-z]{2,20}"),
    "last4": re.compile(r"[0-9]{4}"),
    "expiry": re.compile(r"(0[1-9]|1[0-2])/[0-9]{2}"),
}


def _fernet() -> Fernet | None:
    """The platform's key: from the settings the caller handed over, else the process's."""
    settings: Settings | None = context.config.attributes.get("settings")
    try:
        key = (settings or get_settings()).security.encryption_key
    except (ConfigurationError, ValueError):
        return None
    # A malformed key fails here (ValueError): better than destroying data with it.
    return Fernet(key.get_secret_value().encode()) if key is not None else None


def _summary(details: Any) -> dict[str, str] | None:
    """Brand, last four and expiry of a stored value; None unless all three are valid."""
    if not isinstance(details, dict):
        return None
    summary = {name: details.get(name) for name in CARD_RULES}
    if not all(
        isinstance(value, str) and CARD_RULES[name].fullmatch(value)
        for name, value in summary.items()
    ):
        return None
    return {name: str(value) for name, value in summary.items()}


def _seal(fernet: Fernet | None, details: Any) -> str | None:
    summary = _summary(details)
    if fernet is None or summary is None:
        return None
    return fernet.encrypt(json.dumps(summary, sort_keys=True).encode()).decode()


def _open(fernet: Fernet | None, ciphertext: Any) -> dict[str, str] | None:
    if fernet is None or not isinstance(ciphertext, str):
        return None
    try:
        return _summary(json.loads(fernet.decrypt(ciphertext.encode())))
    except (InvalidToken, ValueError):
        return None


def _convert(old_type: Any, new_type: Any, convert: Converter, temporary: str) -> None:
    """Write every value, converted (None clears it), into a new column that then replaces
    the old one: no value is cast from one form to the other. A new column, not a changed
    type, because SQLite changes a type by rebuilding the table, and dropping the old table
    is refused while enrollments point at its payments (ON DELETE RESTRICT)."""
    op.add_column("payment_gateway", sa.Column(temporary, new_type, nullable=True))
    table = sa.table(
        "payment_gateway",
        sa.column("payment_id", sa.Integer),
        sa.column("card_details", old_type),
        sa.column(temporary, new_type),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(table.c.payment_id, table.c.card_details).where(table.c.card_details.is_not(None))
    ).all()
    fernet = _fernet() if rows else None
    converted = [(payment_id, convert(fernet, value)) for payment_id, value in rows]
    kept = [{"id": payment_id, "value": value} for payment_id, value in converted if value]
    if kept:
        connection.execute(
            sa.update(table)
            .where(table.c.payment_id == sa.bindparam("id"))
            .values({temporary: sa.bindparam("value")}),
            kept,
        )
    if len(kept) < len(rows):
        reason = "no encryption key" if fernet is None else "not a readable card summary"
        log.warning("card details of %d payments cleared: %s", len(rows) - len(kept), reason)
    op.drop_column("payment_gateway", "card_details")
    op.alter_column("payment_gateway", temporary, new_column_name="card_details")


def upgrade() -> None:
    _convert(JSON_TYPE, sa.Text(), _seal, "card_details_sealed")


def downgrade() -> None:
    _convert(sa.Text(), JSON_TYPE, _open, "card_details_opened")
