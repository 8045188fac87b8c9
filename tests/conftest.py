"""Fixtures: real databases (SQLite and PostgreSQL), real Redis, the app, clean state per test.

Every test that asks for ``settings`` (or anything built on it) runs once per database
backend. PostgreSQL and Redis are used when reachable on 127.0.0.1; with ``CI=true`` they are
mandatory and their absence fails the run instead of skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import models
from api.app import create_app
from core import migrations
from core.database import make_sync_engine, sync_session_factory
from core.settings import Settings, get_settings
from tests.fakes.oauth_provider import (
    FACEBOOK_APP_ID,
    FACEBOOK_APP_SECRET,
    GOOGLE_CLIENT_ID,
    FakeProvider,
    ProviderServer,
)
from tests.fakes.smtp import SmtpServer

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("LMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LMS_TEST_REDIS", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgresql"]
# Obviously fake secrets, of the right shapes.
FAKE_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef"
FAKE_ENCRYPTION_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_settings(var_dir: Path, database_url: str, **sections: dict[str, object]) -> Settings:
    """Settings for a test: its own var/ folder and database, fake secrets, no Redis."""
    values: dict[str, dict[str, object]] = {
        "app": {"var_dir": str(var_dir), "environment": "test"},
        "database": {"url": database_url},
        "redis": {"url": ""},
        "security": {"jwt_secret": FAKE_JWT_SECRET, "encryption_key": FAKE_ENCRYPTION_KEY},
        "paystack": {"secret_key": "sk_test_not_real"},
        "jobs": {"sqlite_path": str(var_dir / "huey.db")},
        "storage": {"local_root": str(var_dir / "media")},
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
    tables = [table.name for table in models.Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f'DELETE FROM "{name}"'))


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
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return base_settings(tmp_path / "var", engine.url.render_as_string(hide_password=False))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def redis_url() -> str:
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


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a loopback port; its ``mailbox`` holds what arrived."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


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


@pytest.fixture
def auth_settings(
    settings: Settings, smtp_server: SmtpServer, provider_server: ProviderServer
) -> Settings:
    """The test database, the test SMTP server and the fake OAuth providers."""
    return settings.model_copy(
        update={
            "smtp": settings.smtp.model_copy(
                update={"host": "127.0.0.1", "port": smtp_server.port}
            ),
            "oauth": type(settings.oauth)(**oauth_settings(provider_server.base_url)),  # type: ignore[arg-type]
            "app": settings.app.model_copy(update={"frontend_url": "https://app.example.com"}),
        }
    )


@pytest.fixture
def jobs_inline(auth_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run tasks inline (Huey immediate mode) against the test database and SMTP server.

    Tasks read the process settings, as in the worker; here those point at this test's.
    """
    from jobs import context
    from jobs.queue import huey

    point_process_at(auth_settings, monkeypatch)
    huey.immediate = True
    yield
    huey.immediate = False
    get_settings.cache_clear()
    context.reset()


def point_process_at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks read the process settings, as in the worker; point those at this test's."""
    from jobs import context

    environment = {
        "LMS_DATABASE__URL": settings.database.url,
        "LMS_APP__VAR_DIR": str(settings.var_dir),
        "LMS_APP__FRONTEND_URL": settings.app.frontend_url,
        "LMS_SMTP__HOST": settings.smtp.host,
        "LMS_SMTP__PORT": str(settings.smtp.port),
        "LMS_SECURITY__JWT_SECRET": FAKE_JWT_SECRET,
        "LMS_SECURITY__ENCRYPTION_KEY": FAKE_ENCRYPTION_KEY,
        "LMS_NOTIFICATIONS__RETRY_BASE_SECONDS": "0.5",
        "LMS_NOTIFICATIONS__SWEEP_GRACE_SECONDS": "0",
        "LMS_REDIS__URL": settings.redis.url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    context.reset()


@pytest.fixture
def worker(
    auth_settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """A real Huey consumer (threads, in this process) on the real Redis."""
    from jobs.queue import huey, use_settings

    settings = auth_settings.model_copy(
        update={"redis": auth_settings.redis.model_copy(update={"url": redis_url})}
    )
    point_process_at(settings, monkeypatch)
    use_settings(settings)
    huey.flush()
    consumer = huey.create_consumer(
        workers=2,
        worker_type="thread",
        periodic=False,
        check_worker_health=False,
        scheduler_interval=1,
    )
    consumer.start()
    yield settings
    consumer.stop(graceful=True)
    huey.flush()
    use_settings(Settings())
    get_settings.cache_clear()


@pytest.fixture
def auth_client(auth_settings: Settings, jobs_inline: None) -> Iterator[TestClient]:
    with TestClient(create_app(auth_settings)) as test_client:
        yield test_client
