"""The Huey instance: Redis when ``redis.url`` is set (shared by any number of workers),
SQLite under ``var/`` on the embedded default (no server to install).

Tasks are declared on the module-level ``huey`` built from the process settings, which the
worker (``lms worker``) and the API processes share.
"""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool

from core.settings import Settings, get_settings

QUEUE_NAME = "lms"


def make_huey(settings: Settings) -> Huey:
    if settings.redis.url:
        timeout = settings.redis.socket_timeout_seconds
        # Timeouts: an enqueue after a commit must never hang the API on a stalled Redis.
        pool = ConnectionPool.from_url(
            settings.redis.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return RedisHuey(QUEUE_NAME, connection_pool=pool, utc=True)
    path = settings.path(settings.jobs.sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path), utc=True)


huey = make_huey(get_settings())


def use_settings(settings: Settings) -> None:
    """Point the shared instance at the queue ``settings`` name (tests, and a worker started
    with settings other than the process's)."""
    huey.storage = make_huey(settings).storage
