"""The audit log: each change made in the admin panel, recorded in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEntry, User

# Values that never reach the log, whatever the table declares hidden.
_SECRET_NAMES = frozenset({"password", "password_hash", "token", "card_details"})


def _loggable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def record(
    session: Session,
    *,
    actor: User,
    action: str,
    table_name: str,
    row_id: Any,
    changes: Mapping[str, Any] | None = None,
    hidden: Iterable[str] = (),
) -> AuditEntry:
    """Log ``action`` on a row; secret fields are named as changed but their values are not."""
    secret = _SECRET_NAMES | frozenset(hidden)
    logged = {
        name: "(changed)" if name in secret else _loggable(value)
        for name, value in (changes or {}).items()
    }
    entry = AuditEntry(
        user_id=actor.user_id,
        actor_email=actor.email,
        action=action,
        table_name=table_name,
        row_id=None if row_id is None else str(row_id),
        changes=logged,
    )
    session.add(entry)
    session.flush()
    return entry
