"""The queue: Huey on SQLite in var/ by default, on Redis when redis.url is set."""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey, SqliteHuey

from jobs.queue import make_huey
from tests.conftest import base_settings


def test_embedded_default_queues_in_sqlite_under_var(tmp_path: Path) -> None:
    settings = base_settings(tmp_path / "var", "sqlite:///var/lms.db")
    huey = make_huey(settings)
    assert isinstance(huey, SqliteHuey)
    assert huey.utc is True

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    assert len(huey) == 1
    assert huey.execute(huey.dequeue()) == 5
    assert result.get() == 5
    assert (tmp_path / "var" / "huey.db").exists()


def test_redis_queue_when_configured(tmp_path: Path, redis_url: str) -> None:
    settings = base_settings(tmp_path, "sqlite:///var/lms.db", redis={"url": redis_url})
    huey = make_huey(settings)
    assert isinstance(huey, RedisHuey)
    huey.flush()

    @huey.task()
    def double(n: int) -> int:
        return n * 2

    double(21)
    assert len(huey) == 1
    assert huey.execute(huey.dequeue()) == 42
    huey.flush()
