"""Idempotency keys: the first request under a key runs, a retry gets its answer again.

A key belongs to one user and one request: the same key with another body (or on another
route) is refused, and so is a retry while the first request is still running (the draft
IETF "Idempotency-Key" header's rules). Answers are kept for ``KEEP``; the reconciliation
job forgets older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import rows_changed
from core.errors import Conflict
from core.sql import insert_unless_present
from models import IdempotencyKey

KEEP = timedelta(hours=24)


class KeyReused(Conflict):
    message = "This Idempotency-Key was already used for a different request"


class StillRunning(Conflict):
    message = "A request with this Idempotency-Key is still being processed; retry shortly"


def fingerprint(secret: bytes, route: str, body: dict[str, Any]) -> str:
    """A keyed digest of the request: equal for a retry, and no way back to a card number
    the body may carry (a plain hash of a card number can be reversed by trying them)."""
    canonical = json.dumps([route, body], sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def claim(
    session: Session, *, user_id: int, key: str, fingerprint: str
) -> tuple[int, dict[str, Any]] | None:
    """None when this request is the key's first (it runs); else the first answer."""
    values = {"user_id": user_id, "key": key, "fingerprint": fingerprint, "created_at": utcnow()}
    if insert_unless_present(session, IdempotencyKey, values, unique=["user_id", "key"]):
        return None
    first = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one()
    if not hmac.compare_digest(first.fingerprint, fingerprint):
        raise KeyReused()
    if first.status_code is None or first.response is None:
        raise StillRunning()
    return first.status_code, first.response


def remember(
    session: Session, *, user_id: int, key: str, status_code: int, response: dict[str, Any]
) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status_code=status_code, response=response)
    )


def release(session: Session, *, user_id: int, key: str) -> None:
    """The first request failed unexpectedly: the key is free for a retry."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code.is_(None),
        )
    )


def forget_before(session: Session, cutoff: datetime) -> int:
    return rows_changed(session, delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
