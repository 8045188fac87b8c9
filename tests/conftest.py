"""Fixtures: real databases (SQLite and PostgreSQL), real Redis, the app, clean state per test.

Every test that asks for ``settings`` (or anything built on it) runs once per database
backend. PostgreSQL and Redis are used when reachable on 127.0.0.1; with ``CI=true`` they are
mandatory and their absence fails the run instead of skipping.

The suite runs in parallel (pytest-xdist): each worker process has its own PostgreSQL
database and SQLite file per backend, its own Redis database and Huey queue, and its own
loopback ports. Within a worker, what is expensive to build (a migrated database, an app, an
SMTP server) is built once per backend and reset between tests; a test that needs other
settings builds its own.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import models
from api.app import create_app
from api.state import AppState
from core import migrations
from core.database import make_sync_engine, sync_session_factory
from core.ratelimit import MemoryRateLimiter
from core.settings import Settings, get_settings
from jobs.runtime import Jobs
from jobs.tasks import build_jobs
from tests.fakes.oauth_provider import (
    FACEBOOK_APP_ID,
    FACEBOOK_APP_SECRET,
    GOOGLE_CLIENT_ID,
    FakeProvider,
    ProviderServer,
)
from tests.fakes.server import free_port
from tests.fakes.smtp import SmtpServer

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("LMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]
# "gw0", "gw1", ... under pytest-xdist; unset in a plain (single-process) run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
QUEUE_NAME = f"lms_test_{XDIST_WORKER or 'main'}"
REDIS_DATABASES = 16  # Redis's default number of databases
# Obviously fake secrets, of the right shapes.
FAKE_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef"
FAKE_ENCRYPTION_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="
# 32 bytes, url-safe base64: an Ed25519 seed that signs nothing outside the tests.
FAKE_SIGNING_KEY = "dGVzdC1vbmx5LWNlcnRpZmljYXRlLXNpZ25pbmctayE"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if reachable(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is required in CI but unreachable")
    pytest.skip(f"{name} at {host}:{port} is not reachable")


def worker_redis_url(base: str) -> str:
    """The Redis database of this test worker: the base URL's (15 by default) for the first
    worker or a plain run, one lower for each next worker (gw1 -> 14, ...). Tests that flush
    their database, or count its keys, so never touch another worker's."""
    index = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0
    if index >= REDIS_DATABASES:
        raise pytest.UsageError(f"at most {REDIS_DATABASES} test workers (one Redis database each)")
    parts = urlsplit(base)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - index) % REDIS_DATABASES}"))


REDIS_URL = worker_redis_url(os.environ.get("LMS_TEST_REDIS", "redis://127.0.0.1:6379/15"))


def base_settings(var_dir: Path, database_url: str, **sections: dict[str, object]) -> Settings:
    """Settings for a test: its own var/ folder and database, fake secrets, no Redis."""
    values: dict[str, dict[str, object]] = {
        "app": {"var_dir": str(var_dir), "environment": "test"},
        "database": {"url": database_url},
        "redis": {"url": ""},
        "security": {"jwt_secret": FAKE_JWT_SECRET, "encryption_key": FAKE_ENCRYPTION_KEY},
        "paystack": {
            "secret_key": "sk_test_not_real",
            "sandbox_path": str(var_dir / "paystack-sandbox.db"),
        },
        # A queue of this test process's own (parallel test workers share one Redis).
        "jobs": {"sqlite_path": str(var_dir / "huey.db"), "queue_name": QUEUE_NAME},
        "storage": {"local_root": str(var_dir / "media")},
        "certificates": {"signing_key": FAKE_SIGNING_KEY},
    }
    for section, overrides in sections.items():
        values.setdefault(section, {}).update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class PostgresDatabases:
    """Creates throw-away databases on the local server and drops them afterwards."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, prefix: str = "lms_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


def fresh_database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """An empty database of the given backend (not migrated)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'lms.db'}"
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return databases.create()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_engine(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """One database per backend for the whole session, upgraded to head once."""
    url = fresh_database_url(backend, tmp_path_factory, request)
    engine = make_sync_engine(base_settings(tmp_path_factory.mktemp("var"), url))
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    """Empty every table, children first. DELETE of a test's few rows takes a few
    milliseconds; PostgreSQL's TRUNCATE takes 25 times longer, or more on slow disks (it
    makes new files for every table). Ids go on counting (no RESTART IDENTITY): a test uses
    the ids of the rows it made, never assumes they start at 1."""
    with engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test (paths under test commit for real)."""
    yield migrated_engine
    _wipe(migrated_engine)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with sync_session_factory(engine)() as session:
        yield session


@pytest.fixture
def db(migrated_engine: Engine) -> Iterator[Session]:
    """A session whose every change is rolled back after the test: no wipe needed.

    The session is bound to one connection with an outer transaction open; the session's
    own transactions are savepoints inside it (SQLAlchemy's ``join_transaction_mode=
    "create_savepoint"``), so a service may ``flush()``, a test may ``commit()`` or
    ``rollback()`` (a failed flush, say), and at the end the outer transaction is rolled
    back. On SQLite the engine's ``_begin_before_savepoint`` (core/database.py) opens that
    outer transaction before the first savepoint, as PostgreSQL's BEGIN does.

    Only for code that talks to the database through this session alone: what another
    connection (an app, a task, a second session) writes or reads cannot see these rows and
    is not rolled back. Such tests use ``session`` (the database is emptied after them).
    """
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return base_settings(tmp_path / "var", engine.url.render_as_string(hide_password=False))


def reset_app(client: TestClient) -> TestClient:
    """Hand a shared app's client to the next test as if it were new: no cookies, fresh
    rate-limit counters (in memory: these apps have no Redis), no task left queued."""
    client.cookies.clear()
    state: AppState = client.app.state.lms  # type: ignore[attr-defined]
    assert state.redis is None, "a shared app counts requests in memory, reset here"
    state.limiter = MemoryRateLimiter()
    state.jobs.huey.flush()
    return client


@pytest.fixture(scope="session")
def shared_settings(migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The default test settings of one backend, for the apps shared by many tests."""
    url = migrated_engine.url.render_as_string(hide_password=False)
    return base_settings(tmp_path_factory.mktemp("var"), url)


@pytest.fixture(scope="session")
def shared_client(shared_settings: Settings) -> Iterator[TestClient]:
    # Building an app (its routes, its engines) costs more than most tests: one per backend.
    with TestClient(create_app(shared_settings)) as test_client:
        yield test_client


@pytest.fixture
def client(engine: Engine, shared_client: TestClient) -> TestClient:
    """The app on default test settings (shared by the tests of a backend, reset for each);
    the database is emptied after the test."""
    return reset_app(shared_client)


@pytest.fixture
def redis_url() -> str:
    """This worker's own Redis database (see ``worker_redis_url``)."""
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the process-wide settings (used by the ``lms`` commands) at the test database."""
    monkeypatch.setenv("LMS_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("LMS_APP__VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("LMS_REDIS__URL", "")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(shared_smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """A real SMTP server on a loopback port; its ``mailbox`` holds what arrived during this
    test. One server serves the whole run: a test may stop it (an outage) and it is started
    again, on the same port, after that test."""
    shared_smtp_server.mailbox.clear()
    yield shared_smtp_server
    if not shared_smtp_server.running:
        shared_smtp_server.start()


@pytest.fixture(scope="session")
def provider_server() -> Iterator[ProviderServer]:
    server = ProviderServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def oauth_provider(provider_server: ProviderServer) -> Iterator[FakeProvider]:
    provider_server.provider.tokens.clear()
    provider_server.provider.down = False
    return provider_server.provider


def oauth_settings(base_url: str) -> dict[str, object]:
    return {
        "google_userinfo_url": f"{base_url}/google/userinfo",
        "google_tokeninfo_url": f"{base_url}/google/tokeninfo",
        "google_client_id": GOOGLE_CLIENT_ID,
        "facebook_graph_url": f"{base_url}/facebook",
        "facebook_app_id": FACEBOOK_APP_ID,
        "facebook_app_secret": FACEBOOK_APP_SECRET,
    }


@pytest.fixture(scope="session")
def shared_auth_settings(
    shared_settings: Settings, shared_smtp_server: SmtpServer, provider_server: ProviderServer
) -> Settings:
    settings = shared_settings
    return settings.model_copy(
        update={
            "smtp": settings.smtp.model_copy(
                update={"host": "127.0.0.1", "port": shared_smtp_server.port}
            ),
            "jobs": settings.jobs.model_copy(update={"immediate": True}),
            "notifications": settings.notifications.model_copy(
                update={"retry_base_seconds": 0.5, "sweep_grace_seconds": 0}
            ),
            "oauth": type(settings.oauth)(**oauth_settings(provider_server.base_url)),  # type: ignore[arg-type]
            "app": settings.app.model_copy(update={"frontend_url": "https://app.example.com"}),
        }
    )


@pytest.fixture
def auth_settings(
    engine: Engine, smtp_server: SmtpServer, shared_auth_settings: Settings
) -> Settings:
    """The test database, the test SMTP server (its mailbox emptied for this test) and the
    fake OAuth providers; tasks run inline, after the commit of what enqueued them, with
    short retry and sweep delays. One object per backend (its var/ folder is shared too):
    ``auth_client`` is an app built from exactly these settings."""
    return shared_auth_settings


@pytest.fixture
def jobs_inline(auth_settings: Settings) -> Iterator[Jobs]:
    """The platform's tasks on this test's settings, run inline (Huey's immediate mode):
    what a test emits in ``jobs_inline.unit_of_work()`` is delivered when that commits,
    exactly as an app built from ``auth_settings`` delivers what its requests emit."""
    jobs = build_jobs(auth_settings)
    yield jobs
    jobs.close()


@pytest.fixture
def worker(auth_settings: Settings, redis_url: str) -> Iterator[Jobs]:
    """A real Huey consumer (threads, in this process) on the real Redis; an app built from
    ``worker.settings`` enqueues onto the queue it consumes."""
    settings = auth_settings.model_copy(
        update={
            "redis": auth_settings.redis.model_copy(update={"url": redis_url}),
            "jobs": auth_settings.jobs.model_copy(update={"immediate": False}),
        }
    )
    jobs = build_jobs(settings)
    jobs.huey.flush()
    consumer = jobs.huey.create_consumer(
        workers=2,
        worker_type="thread",
        periodic=False,
        check_worker_health=False,
        scheduler_interval=1,
    )
    consumer.start()
    yield jobs
    consumer.stop(graceful=True)
    jobs.huey.flush()
    jobs.close()


@pytest.fixture(scope="session")
def shared_auth_client(shared_auth_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(shared_auth_settings)) as test_client:
        yield test_client


@pytest.fixture
def auth_client(auth_settings: Settings, shared_auth_client: TestClient) -> TestClient:
    """The app on ``auth_settings``, shared by the tests of a backend and reset for each."""
    return reset_app(shared_auth_client)
