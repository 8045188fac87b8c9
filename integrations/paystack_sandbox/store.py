"""The sandbox's state in one SQLite file: transactions, refunds, webhook deliveries and the
behaviour switches, so several processes see the same payments and they survive restarts.

Every operation opens its own connection (WAL, so readers never wait for a writer); a change
that reads before it writes runs in ``BEGIN IMMEDIATE`` so two requests cannot both refund the
same money. Of a card only ``KeptCard`` is ever written: no full number, no CVV.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from integrations.paystack_sandbox.cards import KeptCard, Outcome
from integrations.paystack_sandbox.config import Behaviour, RefundOutcome, SandboxError

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    access_code TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    callback_url TEXT,
    metadata TEXT,
    status TEXT NOT NULL,
    gateway_response TEXT,
    created_at TEXT NOT NULL,
    paid_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    card_last4 TEXT,
    card_brand TEXT,
    card_exp_month TEXT,
    card_exp_year TEXT,
    authorization_code TEXT
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL REFERENCES transactions (id),
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    refund_reference TEXT NOT NULL,
    created_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    reference TEXT NOT NULL,
    body BLOB NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE TABLE IF NOT EXISTS behaviour (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value TEXT NOT NULL
);
"""
# Statuses after which no card may be charged again on the same transaction.
PAID = ("success", "reversed")
# A refund that is not failed holds its amount: pending ones count against what is left.
HOLDING_REFUNDS = ("pending", "processed")
BUSY_TIMEOUT_SECONDS = 10
T = TypeVar("T")


def timestamp() -> str:
    """Paystack's shape: ISO-8601 in UTC with milliseconds and a Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def random_code(length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class NewTransaction:
    reference: str
    email: str
    amount: int
    currency: str
    callback_url: str | None
    metadata: Any  # a JSON object, or None when the caller sent none


@dataclass(frozen=True)
class Transaction:
    id: int
    reference: str
    access_code: str
    email: str
    amount: int
    currency: str
    callback_url: str | None
    metadata: Any
    status: str
    gateway_response: str | None
    created_at: str
    paid_at: str | None
    card: KeptCard | None
    authorization_code: str | None

    @property
    def paid(self) -> bool:
        return self.status in PAID


@dataclass(frozen=True)
class Refund:
    id: int
    transaction_id: int
    amount: int
    currency: str
    status: str  # pending | processed | failed
    refund_reference: str
    created_at: str
    processed_at: str | None


@dataclass(frozen=True)
class Delivery:
    id: int
    event: str
    reference: str
    body: bytes
    outcome: str  # pending | delivered | failed | skipped
    status_code: int | None
    attempts: int
    created_at: str
    delivered_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "reference": self.reference,
            "outcome": self.outcome,
            "statusCode": self.status_code,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "deliveredAt": self.delivered_at,
        }


class Store:
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            # WAL is a property of the file: set once, every later connection uses it.
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    # -- connections --------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- behaviour ----------------------------------------------------------------------

    def behaviour(self) -> Behaviour:
        with self._connection() as db:
            row = db.execute("SELECT value FROM behaviour WHERE id = 1").fetchone()
        return Behaviour().updated(json.loads(row["value"])) if row else Behaviour()

    def save_behaviour(self, behaviour: Behaviour) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT INTO behaviour (id, value) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                (json.dumps(behaviour.to_json()),),
            )

    # -- transactions -------------------------------------------------------------------

    def add_transaction(self, new: NewTransaction) -> Transaction:
        metadata = None if new.metadata is None else json.dumps(new.metadata)
        try:
            with self._connection() as db:
                cursor = db.execute(
                    "INSERT INTO transactions (reference, access_code, email, amount, currency, "
                    "callback_url, metadata, status, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'abandoned', ?)",
                    (
                        new.reference,
                        random_code(15),
                        new.email,
                        new.amount,
                        new.currency,
                        new.callback_url,
                        metadata,
                        timestamp(),
                    ),
                )
                row_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            raise SandboxError("Duplicate Transaction Reference") from None
        return _require(self.transaction(id=row_id))

    def transaction(
        self, *, id: int | None = None, reference: str | None = None, access_code: str | None = None
    ) -> Transaction | None:
        column, value = _one_key(id=id, reference=reference, access_code=access_code)
        with self._connection() as db:
            row = db.execute(f"SELECT * FROM transactions WHERE {column} = ?", (value,)).fetchone()  # noqa: S608 (column is one of three names)
        return _transaction(row) if row else None

    def record_attempt(
        self, transaction_id: int, card: KeptCard, outcome: Outcome
    ) -> Transaction | None:
        """One charge attempt; None when the transaction was already paid (no second charge)."""
        approved = outcome is Outcome.APPROVED
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE transactions SET status = ?, gateway_response = ?, "
                "paid_at = CASE WHEN ? THEN ? ELSE paid_at END, attempts = attempts + 1, "
                "card_last4 = ?, card_brand = ?, card_exp_month = ?, card_exp_year = ?, "
                "authorization_code = ? WHERE id = ? AND status NOT IN (?, ?)",
                (
                    "success" if approved else "failed",
                    outcome.value,
                    approved,
                    timestamp(),
                    card.last4,
                    card.brand,
                    card.exp_month,
                    card.exp_year,
                    "AUTH_" + random_code(10),
                    transaction_id,
                    *PAID,
                ),
            )
        if cursor.rowcount == 0:
            return None
        return _require(self.transaction(id=transaction_id))

    # -- refunds ------------------------------------------------------------------------

    def add_refund(self, transaction_id: int, amount: int | None) -> Refund:
        """A pending refund of ``amount`` (default: all that is left). Only a paid
        transaction can be refunded, and never more than was paid."""
        with self._writing() as db:
            found = db.execute("SELECT * FROM transactions WHERE id = ?", (transaction_id,))
            transaction = _transaction(found.fetchone())
            if transaction.status == "reversed":
                raise SandboxError("Transaction has been fully reversed")
            if transaction.status != "success":
                raise SandboxError("Transaction has not been paid")
            remaining = transaction.amount - _held(db, transaction_id)
            if remaining <= 0:
                raise SandboxError("Transaction has been fully reversed")
            amount = remaining if amount is None else amount
            if amount > remaining:
                raise SandboxError(
                    f"Refund amount cannot be more than the amount left to refund ({remaining})"
                )
            cursor = db.execute(
                "INSERT INTO refunds (transaction_id, amount, currency, status, "
                "refund_reference, created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                (
                    transaction_id,
                    amount,
                    transaction.currency,
                    "RFD_" + random_code(12),
                    timestamp(),
                ),
            )
            return _refund(
                db.execute("SELECT * FROM refunds WHERE id = ?", (cursor.lastrowid,)).fetchone()
            )

    def finish_refund(self, refund_id: int, outcome: RefundOutcome) -> tuple[Refund, Transaction]:
        """Settle a pending refund; a transaction refunded in full becomes ``reversed``."""
        with self._writing() as db:
            db.execute(
                "UPDATE refunds SET status = ?, processed_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (outcome.value, timestamp(), refund_id),
            )
            refund = _refund(
                db.execute("SELECT * FROM refunds WHERE id = ?", (refund_id,)).fetchone()
            )
            processed = db.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM refunds "
                "WHERE transaction_id = ? AND status = 'processed'",
                (refund.transaction_id,),
            ).fetchone()[0]
            db.execute(
                "UPDATE transactions SET status = 'reversed' "
                "WHERE id = ? AND status = 'success' AND amount <= ?",
                (refund.transaction_id, processed),
            )
            row = db.execute("SELECT * FROM transactions WHERE id = ?", (refund.transaction_id,))
            return refund, _transaction(row.fetchone())

    # -- webhook deliveries -------------------------------------------------------------

    def add_delivery(self, event: str, reference: str, body: bytes, outcome: str) -> Delivery:
        with self._connection() as db:
            cursor = db.execute(
                "INSERT INTO deliveries (event, reference, body, outcome, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (event, reference, body, outcome, timestamp()),
            )
            row_id = cursor.lastrowid
        return _require(self.delivery(row_id or 0))

    def record_delivery(self, delivery_id: int, *, status_code: int | None) -> Delivery:
        """One more POST of a delivery; a 2xx makes it delivered, anything else failed."""
        delivered = status_code is not None and 200 <= status_code < 300
        with self._connection() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, status_code = ?, outcome = ?, "
                "delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END WHERE id = ?",
                (
                    status_code,
                    "delivered" if delivered else "failed",
                    delivered,
                    timestamp(),
                    delivery_id,
                ),
            )
        return _require(self.delivery(delivery_id))

    def delivery(self, delivery_id: int) -> Delivery | None:
        with self._connection() as db:
            row = db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return _delivery(row) if row else None

    def deliveries(self, reference: str | None = None) -> list[Delivery]:
        query, values = "SELECT * FROM deliveries", tuple[str, ...]()
        if reference is not None:
            query, values = query + " WHERE reference = ?", (reference,)
        with self._connection() as db:
            rows = db.execute(query + " ORDER BY id", values).fetchall()
        return [_delivery(row) for row in rows]


def _require(value: T | None) -> T:
    if value is None:
        raise RuntimeError("a row just written is gone")
    return value


def _one_key(**keys: object) -> tuple[str, object]:
    given = [(column, value) for column, value in keys.items() if value is not None]
    if len(given) != 1:
        raise TypeError("look a transaction up by exactly one of id, reference, access_code")
    return given[0]


def _held(db: sqlite3.Connection, transaction_id: int) -> int:
    row = db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM refunds "
        "WHERE transaction_id = ? AND status IN (?, ?)",
        (transaction_id, *HOLDING_REFUNDS),
    ).fetchone()
    return int(row[0])


def _transaction(row: sqlite3.Row) -> Transaction:
    card = None
    if row["card_last4"] is not None:
        card = KeptCard(
            last4=row["card_last4"],
            brand=row["card_brand"],
            exp_month=row["card_exp_month"],
            exp_year=row["card_exp_year"],
        )
    return Transaction(
        id=row["id"],
        reference=row["reference"],
        access_code=row["access_code"],
        email=row["email"],
        amount=row["amount"],
        currency=row["currency"],
        callback_url=row["callback_url"],
        metadata=None if row["metadata"] is None else json.loads(row["metadata"]),
        status=row["status"],
        gateway_response=row["gateway_response"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        card=card,
        authorization_code=row["authorization_code"],
    )


def _refund(row: sqlite3.Row) -> Refund:
    return Refund(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (Row has no iteration of keys)


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        event=row["event"],
        reference=row["reference"],
        body=bytes(row["body"]),
        outcome=row["outcome"],
        status_code=row["status_code"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
    )
