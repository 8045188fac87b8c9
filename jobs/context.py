"""What a task needs from the process: a unit of work on the database, the settings, and the
correlation id of the request that caused it (bound to every log line of the task)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import structlog
from sqlalchemy.orm import Session, sessionmaker

from core.database import make_sync_engine, sync_session_factory, unit_of_work
from core.logging import REQUEST_ID_KEY
from core.settings import get_settings


@lru_cache(maxsize=1)
def _sessions() -> sessionmaker[Session]:
    return sync_session_factory(make_sync_engine(get_settings()))


def reset() -> None:
    """Forget the engine (after the process settings change: tests, forked workers)."""
    _sessions.cache_clear()


@contextmanager
def job_unit_of_work() -> Iterator[Session]:
    with unit_of_work(_sessions()) as session:
        yield session


@contextmanager
def correlated(request_id: str | None) -> Iterator[None]:
    if request_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID_KEY: request_id}):
        yield
