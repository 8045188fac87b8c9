"""The embedded SQLite database under concurrent writers: writes wait their turn instead of
failing, and a lock that outlasts the busy timeout is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from api.app import create_app
from core.settings import Settings
from tests.api.helpers import assert_error
from tests.world import World, world

__all__ = ["world"]

WRITERS = 16
REQUESTS_EACH = 4


@pytest.fixture
def sqlite_settings(settings: Settings, backend: str) -> Settings:
    if backend != "sqlite":
        pytest.skip("SQLite's locking only")
    return settings.model_copy(
        update={"ratelimit": settings.ratelimit.model_copy(update={"enabled": False})}
    )


def database_file(settings: Settings) -> Path:
    return Path(make_url(settings.database.url).database or "")


async def _patch_concurrently(settings: Settings, world: World) -> Counter[int]:
    app = create_app(settings)
    course = world.rows["courses"]["instructor_x"]
    headers = world.headers("instructor_x")
    statuses: Counter[int] = Counter()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def writer(number: int) -> None:
            for turn in range(REQUESTS_EACH):
                # A create that reads (the course, the next index) before it writes.
                response = await client.post(
                    "/api/data/media-repository",
                    json={
                        "courseId": course,
                        "mediaType": "image",
                        "mediaUrl": f"https://cdn.example.com/{number}/{turn}.png",
                    },
                    headers=headers,
                )
                statuses[response.status_code] += 1

        await asyncio.gather(*(writer(number) for number in range(WRITERS)))
    await app.state.lms.close()
    return statuses


class TestConcurrentWriters:
    def test_sixteen_writers_on_a_file_database_all_succeed(
        self, sqlite_settings: Settings, world: World
    ) -> None:
        statuses = asyncio.run(_patch_concurrently(sqlite_settings, world))
        assert statuses == Counter({201: WRITERS * REQUESTS_EACH})


class TestLockTimeout:
    def test_a_lock_held_past_the_busy_timeout_is_503_with_retry_after(
        self, sqlite_settings: Settings, world: World
    ) -> None:
        settings = sqlite_settings.model_copy(
            update={
                "database": sqlite_settings.database.model_copy(
                    update={"sqlite_busy_timeout_seconds": 0.05}
                )
            }
        )
        course = world.rows["courses"]["instructor_x"]
        # Another process holds the write lock for longer than this one waits.
        holder = sqlite3.connect(database_file(settings), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:

            async def patch() -> httpx.Response:
                app = create_app(settings)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    response = await client.patch(
                        f"/api/data/courses/{course}",
                        json={"description": "while locked"},
                        headers=world.headers("instructor_x"),
                    )
                await app.state.lms.close()
                return response

            response = asyncio.run(patch())
        finally:
            holder.rollback()
            holder.close()
        assert_error(response, 503, "The database is busy; try again shortly")
        assert response.headers["Retry-After"] == "1"


class TestReadersDuringAWrite:
    def test_a_read_is_answered_while_another_process_holds_the_write_lock(
        self, sqlite_settings: Settings, world: World
    ) -> None:
        # GET requests begin as readers: with WAL they never queue behind a writer.
        course = world.rows["courses"]["instructor_x"]
        holder = sqlite3.connect(database_file(sqlite_settings), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:

            async def read() -> httpx.Response:
                app = create_app(sqlite_settings)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    response = await client.get(
                        f"/api/data/courses/{course}", headers=world.headers("instructor_x")
                    )
                await app.state.lms.close()
                return response

            response = asyncio.run(read())
        finally:
            holder.rollback()
            holder.close()
        assert response.status_code == 200, response.text
