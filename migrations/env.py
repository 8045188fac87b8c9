"""Alembic environment: the URL comes from the platform's settings, or from a connection the
caller hands over (``config.attributes["connection"]``, used by ``lms migrate`` and the tests)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

import models
from core.database import make_sync_engine
from core.settings import get_settings
from models.base import UTCDateTime

target_metadata = models.Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations name plain SQLAlchemy types so they never depend on application code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_sync_engine(get_settings())
    with engine.connect() as connection:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported: run `lms migrate`.")
run_migrations()
