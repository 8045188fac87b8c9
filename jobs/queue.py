"""The Huey instance: Redis when ``redis.url`` is set (shared by any number of workers),
SQLite under ``var/`` on the embedded default (no server to install).

Built from the settings of the app, worker or command that owns it, never at import time:
``jobs.runner.Jobs`` makes one and registers the platform's tasks on it.
"""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool

from core.settings import Settings


def make_huey(settings: Settings) -> Huey:
    config = settings.jobs
    if settings.redis.url:
        timeout = settings.redis.socket_timeout_seconds
        # Timeouts: an enqueue after a commit must never hang on a stalled Redis.
        pool = ConnectionPool.from_url(
            settings.redis.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return RedisHuey(
            config.queue_name, connection_pool=pool, utc=True, immediate=config.immediate
        )
    path = settings.path(config.sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(config.queue_name, filename=str(path), utc=True, immediate=config.immediate)
