"""Database engines and sessions.

One URL setting yields both engines: the async one serves FastAPI, the sync one serves Huey
jobs, Alembic and the CLI. SQLite (the embedded default) and PostgreSQL through
psycopg 3 are supported; both get the same constraints (foreign keys are switched on for
SQLite, which leaves them off by default).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
from sqlalchemy import CursorResult, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigurationError, DomainError
from core.logging import get_logger
from core.settings import Settings

log = get_logger("core.database")


@dataclass(frozen=True)
class DatabaseUrls:
    sync: URL
    async_: URL

    @property
    def is_sqlite(self) -> bool:
        return self.sync.get_backend_name() == "sqlite"


def database_urls(settings: Settings) -> DatabaseUrls:
    """The sync and async driver URLs for the configured database."""
    url = make_url(settings.database.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = settings.path(Path(database))
            path.parent.mkdir(parents=True, exist_ok=True)
            database = str(path)
        return DatabaseUrls(
            sync=url.set(drivername="sqlite+pysqlite", database=database),
            async_=url.set(drivername="sqlite+aiosqlite", database=database),
        )
    if backend in ("postgresql", "postgres"):
        # psycopg 3 speaks both: SQLAlchemy picks its async flavour for the async engine.
        pg = url.set(drivername="postgresql+psycopg")
        return DatabaseUrls(sync=pg, async_=pg)
    raise ConfigurationError(
        f"Unsupported database URL {url.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path or postgresql+psycopg://..."
    )


# The execution option of a unit of work that writes under concurrency (the session
# factories' ``writer``): on SQLite it takes the write lock when it begins (see
# ``_begin_writer``). Only the API's writing requests use it: a writer that holds the lock
# while another connection of the same flow waits for it would wait for itself.
WRITER = "lms_writer"


def _sqlite_pragmas(settings: Settings) -> Callable[[Any, Any], None]:
    busy_ms = round(settings.database.sqlite_busy_timeout_seconds * 1000)

    def connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the API, the worker and the dashboards read while one of them writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # How long a writer waits for another's write lock before giving up (then 503).
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        # LIKE is case-sensitive on PostgreSQL; make SQLite agree (ILIKE stays insensitive).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    return connect


def _begin_writer(connection: Any) -> None:
    """A writer's transaction takes SQLite's write lock as it begins.

    Python's sqlite3 driver begins only at the first write, as a DEFERRED transaction that
    has read already and asks for the write lock then. Under concurrent writers that ask
    fails at once with "database is locked", whatever the busy timeout: another writer
    committed after this transaction's snapshot, and waiting cannot make the snapshot
    current. ``BEGIN IMMEDIATE`` asks first (waiting up to the busy timeout), so writers
    queue instead of failing. Readers are untouched: with WAL they never wait.
    """
    writer = connection.get_execution_options().get(WRITER, False)
    if writer and not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_before_savepoint(connection: Any, _name: str) -> None:
    """Open the transaction before a savepoint when SQLite has not opened it yet.

    Python's sqlite3 driver begins a transaction only at the first write. A savepoint taken
    before any write would start a transaction of its own, and releasing it would commit:
    the rest of the unit of work could no longer roll that part back. Beginning here (the
    same deferred BEGIN the driver would issue) keeps the savepoint nested, as on
    PostgreSQL, without changing when ordinary transactions start.
    """
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def is_database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's lock outlasting the busy timeout: a moment's contention
    the client may retry (503), not a fault of the request or the server."""
    orig = getattr(exc, "orig", None)
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    # The primary code in the low byte: SQLITE_BUSY_SNAPSHOT and the like are busy too.
    code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _engine_options(settings: Settings, urls: DatabaseUrls) -> dict[str, Any]:
    # hide_parameters: statement parameters (password hashes, tokens) never reach logs or
    # error messages, even with echo on.
    options: dict[str, Any] = {
        "echo": settings.database.echo,
        "pool_pre_ping": True,
        "hide_parameters": True,
    }
    if not urls.is_sqlite:
        options |= {
            "pool_size": settings.database.pool_size,
            "max_overflow": settings.database.max_overflow,
            "pool_timeout": settings.database.pool_timeout_seconds,
        }
    return options


def make_sync_engine(settings: Settings) -> Engine:
    urls = database_urls(settings)
    engine = create_engine(urls.sync, **_engine_options(settings, urls))
    if urls.is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(settings))
        event.listen(engine, "begin", _begin_writer)
        event.listen(engine, "savepoint", _begin_before_savepoint)
    return engine


def make_async_engine(settings: Settings) -> AsyncEngine:
    urls = database_urls(settings)
    engine = create_async_engine(urls.async_, **_engine_options(settings, urls))
    if urls.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings))
        event.listen(engine.sync_engine, "begin", _begin_writer)
        event.listen(engine.sync_engine, "savepoint", _begin_before_savepoint)
    return engine


def sync_session_factory(
    engine: Engine, *, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``info`` is copied into each one (the task queue, say)."""
    return sessionmaker(engine, expire_on_commit=False, info=info or {})


def async_session_factory(
    engine: AsyncEngine, *, info: dict[str, Any] | None = None, writer: bool = False
) -> async_sessionmaker[Any]:
    """Sessions on ``engine``; ``writer`` ones queue for SQLite's write lock (``WRITER``)."""
    bind = engine.execution_options(**{WRITER: True}) if writer else engine
    return async_sessionmaker(bind, expire_on_commit=False, info=info or {})


def rows_changed(session: Session, statement: Any) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


_AFTER_COMMIT = "after_commit"
_AFTER_ROLLBACK = "after_rollback"


def after_commit(session: Session | AsyncSession, action: Callable[[], object]) -> None:
    """Run ``action`` once the unit of work has committed (never if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def after_rollback(session: Session | AsyncSession, action: Callable[[], object]) -> None:
    """Run ``action`` if the unit of work rolls back (never if it commits): the undo of a
    side effect outside the database, such as a file already written to storage."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)


def _run(actions: list[Callable[[], object]], what: str) -> None:
    for action in actions:
        try:
            action()
        except Exception:
            # The transaction's outcome is settled; a failed follow-up (an enqueue, a
            # clean-up) must not turn it into a different answer for the caller.
            log.exception(f"{what} action failed")


def run_after_commit(session: Session | AsyncSession) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    _run(session.info.pop(_AFTER_COMMIT, []), "after-commit")


def run_after_rollback(session: Session | AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    _run(session.info.pop(_AFTER_ROLLBACK, []), "after-rollback")


async def _follow_up(session: AsyncSession, run: Callable[[Session | AsyncSession], None]) -> None:
    """Run the follow-ups of an async unit of work in a worker thread: they talk to other
    systems (an enqueue to Redis, a file removed from S3) and must not hold up the loop."""
    if session.info.get(_AFTER_COMMIT) or session.info.get(_AFTER_ROLLBACK):
        await anyio.to_thread.run_sync(run, session)
    else:
        run(session)  # nothing to run: only the bookkeeping, no thread hop


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for a job, a CLI command or an admin action: commit once or roll back."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            if exc.keep_changes:
                session.commit()
                run_after_commit(session)
            else:
                session.rollback()
                run_after_rollback(session)
            raise
        except BaseException:
            session.rollback()
            run_after_rollback(session)
            raise
        run_after_commit(session)


@asynccontextmanager
async def async_unit_of_work(factory: async_sessionmaker[Any]) -> AsyncIterator[AsyncSession]:
    """The same unit of work for the API's requests and the admin panel's changes."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except DomainError as exc:
            if exc.keep_changes:
                await session.commit()
                await _follow_up(session, run_after_commit)
            else:
                await session.rollback()
                await _follow_up(session, run_after_rollback)
            raise
        except BaseException:
            await session.rollback()
            await _follow_up(session, run_after_rollback)
            raise
        await _follow_up(session, run_after_commit)


# A way to open short units of work, one after another: for a flow that writes, talks to
# an outside system with no transaction open, then writes again.
UnitsOfWork = Callable[[], AbstractContextManager[Session]]
AsyncUnitsOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def units_of_work(factory: sessionmaker[Session]) -> UnitsOfWork:
    return lambda: unit_of_work(factory)


def async_units_of_work(factory: async_sessionmaker[Any]) -> AsyncUnitsOfWork:
    return lambda: async_unit_of_work(factory)
