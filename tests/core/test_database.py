"""One URL setting yields the sync and async engines, for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.database import database_urls, make_async_engine, make_sync_engine
from core.errors import ConfigurationError
from tests.conftest import base_settings


class TestUrls:
    def test_sqlite_relative_path_lives_beside_the_settings_file(self, tmp_path: Path) -> None:
        settings = base_settings(tmp_path, "sqlite:///var/lms.db")
        urls = database_urls(settings)
        assert urls.sync.drivername == "sqlite+pysqlite"
        assert urls.async_.drivername == "sqlite+aiosqlite"
        assert urls.sync.database is not None
        assert Path(urls.sync.database).is_absolute()
        assert urls.sync.database.endswith("var/lms.db")

    @pytest.mark.parametrize(
        "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"]
    )
    def test_postgresql_always_uses_psycopg3(self, url: str, tmp_path: Path) -> None:
        urls = database_urls(base_settings(tmp_path, url))
        assert urls.sync.drivername == urls.async_.drivername == "postgresql+psycopg"

    def test_other_databases_are_refused_clearly(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="Unsupported database URL"):
            database_urls(base_settings(tmp_path, "mysql://root@localhost/lms"))


class TestEngines:
    def test_sqlite_enforces_foreign_keys(self, tmp_path: Path) -> None:
        engine = make_sync_engine(base_settings(tmp_path, f"sqlite:///{tmp_path}/fk.db"))
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()

    async def _select_one(self, url: str, tmp_path: Path) -> int:
        engine = make_async_engine(base_settings(tmp_path, url))
        async with engine.connect() as conn:
            value = (await conn.execute(text("SELECT 1"))).scalar_one()
        await engine.dispose()
        return int(value)

    def test_async_engine_talks_to_the_same_database(
        self, settings: object, tmp_path: Path
    ) -> None:
        import asyncio

        from core.settings import Settings

        assert isinstance(settings, Settings)
        assert asyncio.run(self._select_one(settings.database.url, tmp_path)) == 1

    def test_a_savepoint_before_any_write_stays_inside_the_transaction(
        self, tmp_path: Path
    ) -> None:
        # Python's sqlite3 starts a transaction only at the first write: a savepoint taken
        # first would otherwise commit when released, beyond the reach of a rollback.
        engine = make_sync_engine(base_settings(tmp_path, f"sqlite:///{tmp_path}/sp.db"))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (body TEXT)"))
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM notes"))
            with conn.begin_nested():
                conn.execute(text("INSERT INTO notes VALUES ('kept only if committed')"))
            conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notes")).scalar() == 0
        engine.dispose()

    def test_the_async_engine_keeps_savepoints_nested_too(self, tmp_path: Path) -> None:
        import asyncio

        async def scenario() -> int:
            engine = make_async_engine(base_settings(tmp_path, f"sqlite:///{tmp_path}/asp.db"))
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE notes (body TEXT)"))
            async with engine.connect() as conn:
                async with conn.begin_nested():
                    await conn.execute(text("INSERT INTO notes VALUES ('not kept')"))
                await conn.rollback()
            async with engine.connect() as conn:
                count = (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one()
            await engine.dispose()
            return int(count)

        assert asyncio.run(scenario()) == 0
