"""Structured logs: every line carries the correlation id of the request (or job) that caused it.

structlog renders both our own events and the standard-library records of uvicorn, SQLAlchemy,
Huey and Alembic, so a log shipper sees one format. ``request_id`` is bound in a context
variable by the API middleware (and by the job wrapper for tasks a request caused).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from core.settings import Settings

REQUEST_ID_KEY = "request_id"


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(settings: Settings) -> None:
    shared = _processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.logging.json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.logging.level)
    # Alembic narrates its plugin set-up at INFO (`lms migrate` prints its own summary);
    # WeasyPrint each of its seven steps, for every certificate.
    for name in ("alembic", "weasyprint"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # httpx logs every URL it calls at INFO, query string included: OAuth providers take
    # access tokens in the query, and tokens never go to the logs.
    # aiosqlite logs every statement with its parameters at DEBUG (password hashes among them).
    for name in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The API middleware writes one line per request, with its id; uvicorn's own is redundant.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def current_request_id() -> str | None:
    """The correlation id of the work in progress, to hand on to the jobs it causes."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID_KEY)
    return str(value) if value is not None else None


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
