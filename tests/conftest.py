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

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("LMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LMS_TEST_REDIS", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgresql"]


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
        "security": {"jwt_secret": "test-jwt-secret-not-real", "encryption_key": "x" * 44},
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
