"""The correlation id of the request that caused a task, bound to every log line of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from core.logging import REQUEST_ID_KEY


@contextmanager
def correlated(request_id: str | None) -> Iterator[None]:
    if request_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID_KEY: request_id}):
        yield
